"""The training loop and CLI: a tiny run learns, checkpoints are complete, resume and budgets work."""

from __future__ import annotations

import json

import pytest
import torch

from segdemo.checkpoints import load_checkpoint
from segdemo.train import build_parser, main
from segdemo.training import TrainConfig, evaluate, normalize, pick_device, run_training

TINY = dict(model="unet", variant="small", options={"init_features": 4}, size=48, batch_size=4,
            val_size=8, threads=1, augment="none", lr=5e-3)


def test_tiny_run_overfits_and_saves_a_complete_card(tmp_path):
    """On 4 scenes, validated on the same 4, loss falls and mIoU rises in seconds (the issue: < 30 s)."""
    losses: list[float] = []
    config = TrainConfig(**{**TINY, "val_size": 4}, epochs=3, steps_per_epoch=15, train_scenes=4, val_seed=0,
                         out=str(tmp_path / "tiny"))
    result = run_training(config, on_event=lambda e: losses.append(e["loss"]) if e["type"] == "step" else None)
    assert result.steps == 45 and len(losses) == 45
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.2
    vals = [h["miou"] for h in result.history]
    assert len(vals) == 3 and max(vals[1:]) > vals[0]
    card = json.loads((tmp_path / "tiny.json").read_text())
    for key in ("model", "options", "classes", "normalization", "recipe", "metrics", "sha256", "date", "command"):
        assert key in card
    assert card["recipe"]["seed"] == 0 and card["recipe"]["loss"] == "ce"
    assert card["validation"] == {"data": "SynthScenes", "n": 4, "seed": 0, "size": 48}
    assert card["metrics"]["miou"] == pytest.approx(result.best_metrics["miou"])
    assert card["command"].startswith("python -m segdemo.train --model unet")
    loaded = load_checkpoint(tmp_path / "tiny").model
    # The saved weights (fp16) reproduce the best model's predictions.
    from segdemo.data import SynthScenes

    loader = torch.utils.data.DataLoader(SynthScenes(4, size=48, seed=config.val_seed), batch_size=8)
    again = evaluate(loaded, loader, 6, torch.device("cpu"))
    assert again["miou"] == pytest.approx(result.best_metrics["miou"], abs=0.01)


def test_the_card_command_reproduces_the_config():
    config = TrainConfig(model="fcn8s", loss="focal", size=96, epochs=2, options={"width": 4}, seed=3)
    args = build_parser().parse_args(config.to_command().split()[3:])
    assert TrainConfig(**vars(args)) == config


def test_the_card_command_round_trips_list_and_boolean_options():
    """``rates=[1,2,3]`` and ``separable=false`` come back as a list and a bool, not as strings."""
    import shlex

    config = TrainConfig(model="deeplabv3plus", options={"width": 4, "rates": [1, 2, 3], "separable": False,
                                                         "backbone": "small"})
    command = config.to_command()
    assert "rates=[1,2,3]" in command and "separable=false" in command
    assert TrainConfig(**vars(build_parser().parse_args(shlex.split(command)[3:]))) == config


def test_stop_and_step_budget():
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    result = run_training(TrainConfig(**TINY, epochs=2, steps_per_epoch=10), should_stop=stop)
    assert result.stopped_early and result.steps == 3 and result.history  # validated once at the end
    result = run_training(TrainConfig(**TINY, epochs=2, steps_per_epoch=10, max_steps=4))
    assert result.steps == 4


def test_resume_continues_from_the_saved_state(tmp_path):
    out = str(tmp_path / "run")
    run_training(TrainConfig(**TINY, epochs=1, steps_per_epoch=5, out=out))
    # Regression: the optimizer state was written to "<out>.json", over the checkpoint card.
    assert json.loads((tmp_path / "run.json").read_text())["model"] == "unet"
    resumed = run_training(TrainConfig(**TINY, epochs=2, steps_per_epoch=5, out=out, resume=True))
    assert resumed.steps == 10  # 5 restored + 5 new
    assert [h["epoch"] for h in resumed.history] == [1]
    card = json.loads((tmp_path / "run.json").read_text())
    assert card["recipe"]["steps_total"] == 10
    # A tiny run is far below the zoo's target: the card says so itself, with its numbers, in both languages.
    miou = f"{card['metrics']['miou']:.4f}"
    assert miou in card["note"]["en"] and miou in card["note"]["zh"] and "10" in card["note"]["en"]
    with pytest.raises(ValueError, match="resume"):
        run_training(TrainConfig(**TINY, out=str(tmp_path / "none"), resume=True))


def test_resume_keeps_a_better_checkpoint_and_records_the_chain(tmp_path):
    """Regressions: a resumed run started from best = -1, so its first (worse) validation overwrote the
    shipped checkpoint; the card lost the earlier commands; the restored lr ignored ``--lr``."""
    out = str(tmp_path / "run")
    first = run_training(TrainConfig(**{**TINY, "val_size": 4}, epochs=1, steps_per_epoch=20, train_scenes=4,
                                     val_seed=0, out=out))
    card = json.loads((tmp_path / "run.json").read_text())
    weights = load_checkpoint(out).model.state_dict()
    lrs: list[float] = []
    # lr 1.0 wrecks the model: the resumed run must not replace the better checkpoint.
    resumed = run_training(TrainConfig(**{**TINY, "val_size": 4, "lr": 1.0}, epochs=2, steps_per_epoch=5,
                                       train_scenes=4, val_seed=0, out=out, resume=True),
                           on_event=lambda e: lrs.append(e["lr"]) if e["type"] == "step" else None)
    assert lrs and lrs[0] == 1.0
    assert resumed.history[-1]["miou"] < first.best_metrics["miou"]
    again = json.loads((tmp_path / "run.json").read_text())
    assert again["metrics"]["miou"] == pytest.approx(card["metrics"]["miou"])
    kept = load_checkpoint(out).model.state_dict()
    assert all(torch.equal(kept[k], weights[k]) for k in weights)
    first_command, second_command = again["command"].split(" && ")
    assert first_command == card["command"] and "--resume" in second_command and "--lr 1.0" in second_command


def test_validation_runs_once_per_step(tmp_path):
    """Regression: with eval_every dividing the epoch, the epoch's last step was validated twice."""
    result = run_training(TrainConfig(**TINY, epochs=2, steps_per_epoch=4, eval_every=2))
    assert [h["step"] for h in result.history] == [2, 4, 6, 8]


def test_cli_prints_the_summary(tmp_path, capsys):
    code = main(["--model", "unet", "--options", "init_features=4", "--size", "40", "--batch-size", "2",
                 "--epochs", "1", "--steps-per-epoch", "3", "--val-size", "4", "--threads", "1",
                 "--augment", "none", "--out", str(tmp_path / "cli")])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["steps"] == 3 and 0.0 <= summary["miou"] <= 1.0
    assert main(["--model", "nope", "--epochs", "1"]) == 2  # unknown model: a message, not a traceback


def test_helpers():
    assert pick_device("cpu").type == "cpu"
    assert pick_device().type in ("cpu", "cuda")
    x = torch.full((1, 3, 2, 2), 0.485)
    assert normalize(x)[0, 0].abs().max() < 1e-6
