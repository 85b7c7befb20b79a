"""The classroom training recipe: the easy task, one-cycle schedule, encoder warm start, offline VOC weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segdemo.data import TASKS, SynthScenes, render_scene
from segdemo.lessons import train as train_lesson
from segdemo.training import TrainConfig, encoder_keys, run_training, warm_start_encoder


def test_easy_task_has_only_discs_and_squares_and_larger_objects():
    masks = np.stack([render_scene(5, i, 64, "easy").mask for i in range(40)])
    assert set(np.unique(masks).tolist()) == {0, 1, 2}
    full = np.stack([render_scene(5, i, 64).mask for i in range(40)])
    assert set(np.unique(full).tolist()) == {0, 1, 2, 3, 4, 5}
    # larger objects: more foreground per scene on average although there are fewer of them
    assert (masks > 0).mean() > (full > 0).mean()
    assert TASKS["easy"]["kinds"] == (1, 2)


def test_the_default_task_is_unchanged_and_unknown_tasks_are_refused():
    a, b = render_scene(3, 7, 32), render_scene(3, 7, 32, "shapes")
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    with pytest.raises(ValueError, match="task must be one of"):
        render_scene(0, 0, 32, "hard")
    with pytest.raises(ValueError, match="task must be one of"):
        SynthScenes(4, 32, task="hard")


def test_one_cycle_rises_to_the_peak_then_anneals_to_almost_zero():
    config = TrainConfig(model="unet", options={"init_features": 4}, size=32, batch_size=2, epochs=1,
                         steps_per_epoch=12, val_size=2, lr=0.01, schedule="onecycle", augment="none",
                         channels_last=False)
    lrs = []
    run_training(config, on_event=lambda e: lrs.append(e["lr"]) if e["type"] == "step" else None)
    assert len(lrs) == 12
    peak = int(np.argmax(lrs))
    assert 1 <= peak <= 5 and lrs[peak] == pytest.approx(0.01, rel=0.05)
    assert lrs[0] < 0.002 and lrs[-1] < 0.001  # warm-up from lr/25, annealed towards lr/1e4
    with pytest.raises(ValueError, match="schedule must be one of"):
        run_training(TrainConfig(schedule="cosine"))


def test_warm_start_copies_the_encoder_only(tmp_path):
    from segdemo.checkpoints import save_checkpoint
    from segdemo.models import create_model

    torch.manual_seed(0)
    source = create_model("unet", 6, variant="small")
    with torch.no_grad():
        for p in source.parameters():
            p.fill_(0.5)
    save_checkpoint(source, tmp_path / "src", {"model": "unet", "variant": "small", "num_classes": 6,
                                                "options": {"init_features": 8}})
    target = create_model("unet", 6, variant="small")
    copied = warm_start_encoder(target, str(tmp_path / "src"))
    state = target.state_dict()
    encoder = set(encoder_keys(state))
    assert copied == len(encoder) and any(k.startswith("bottleneck.") for k in encoder)
    assert not any(k.startswith(("decoder", "upconv", "conv.")) for k in encoder)
    parameters = {name for name, _ in target.named_parameters()}
    assert all(torch.all(state[k] == 0.5) for k in encoder & parameters)
    assert not torch.all(state["conv.weight"] == 0.5)  # the head is fresh


def test_warm_start_reads_a_checkpoint_once_until_it_changes(tmp_path, monkeypatch):
    import os

    from segdemo import training
    from segdemo.checkpoints import save_checkpoint
    from segdemo.models import create_model

    card = {"model": "unet", "variant": "small", "num_classes": 6, "options": {"init_features": 8}}
    source = create_model("unet", 6, variant="small")
    save_checkpoint(source, tmp_path / "src", card)
    loads = []
    monkeypatch.setattr(training, "load_checkpoint", lambda stem: loads.append(stem) or real(stem))
    real = __import__("segdemo.checkpoints", fromlist=["load_checkpoint"]).load_checkpoint
    for _ in range(3):
        warm_start_encoder(create_model("unet", 6, variant="small"), str(tmp_path / "src"))
    assert len(loads) == 1  # each Train-tab run starts from the same shipped weights
    with torch.no_grad():
        for p in source.parameters():
            p.fill_(0.25)
    save_checkpoint(source, tmp_path / "src", {**card, "note": "retrained"})  # a new version of the files
    os.utime(tmp_path / "src.json", ns=(1, 1))  # even within the clock's resolution: the size moved too
    target = create_model("unet", 6, variant="small")
    warm_start_encoder(target, str(tmp_path / "src"))
    assert len(loads) == 2 and torch.all(target.state_dict()["bottleneck.bottleneckconv1.weight"] == 0.25)


def test_make_config_uses_the_recipe_and_says_when_there_is_nothing_to_start_from(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGDEMO_CHECKPOINT_DIR", str(tmp_path))
    config, notices = train_lesson.make_config("unet", "ce", "light", 64, 50, 0)
    assert (config.task, config.schedule, config.warm_start) == ("easy", "onecycle", None)
    assert notices == [("train.notice_scratch", {"model": "unet"})]
    config, notices = train_lesson.make_config("unet", "ce", "light", 64, 50, 0, warm=False)
    assert config.warm_start is None and notices == []


def test_make_config_warm_starts_from_the_shipped_small_model():
    from segdemo.serving import checkpoint_dir

    if not (checkpoint_dir() / "unet.safetensors").is_file():
        pytest.skip("no shipped U-Net checkpoint")
    config, notices = train_lesson.make_config("unet", "ce", "light", 64, 50, 0)
    assert config.warm_start == str(checkpoint_dir() / "unet") and notices == []


def test_run_labels_use_the_readers_words():
    config, _ = train_lesson.make_config("unet", "ce", "light", 64, 10, 0, warm=False)
    run = train_lesson.Run(id="x", user="u", config=config)
    assert run.display_label("zh") == "U-Net · 交叉熵 · 轻度（用于训练）"
    assert "ce" not in run.display_label("zh")


# ---------------------------------------------------------------- offline VOC weights
@pytest.fixture
def no_cache(tmp_path, monkeypatch):
    from segdemo.models import pretrained

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    pretrained.online.cache_clear()
    yield pretrained
    pretrained.online.cache_clear()


def test_offline_without_cache_the_voc_models_are_unavailable_with_one_message(no_cache, monkeypatch):
    from segdemo import serving
    from segdemo.strings import t
    from segdemo.ui.segment import _label, card_markdown

    monkeypatch.setenv("SEGDEMO_OFFLINE", "1")
    voc = [c for c in serving.choices() if c.key.startswith("pretrained:")]
    assert voc and not any(c.available or c.cached for c in voc)
    key = "pretrained:deeplabv3_mobilenet_v3_large_voc"
    assert t("segment.unavailable", "zh") in _label(serving.choice(key), "zh")
    card = card_markdown(key, "en")
    assert "deeplabv3_mobilenet_v3_large-fc3c493d.pth" in card and "no internet" in card
    assert t("segment.needs_download", "en") not in card
    error = serving.unavailable_error(key)
    assert error.key == "err.weights_unavailable" and str(no_cache.cache_dir()) == error.params["folder"]


def test_online_without_cache_they_download_once(no_cache, monkeypatch):
    from segdemo import serving

    monkeypatch.setenv("SEGDEMO_OFFLINE", "0")
    voc = [c for c in serving.choices() if c.key.startswith("pretrained:")]
    assert all(c.available and not c.cached for c in voc)


def test_the_network_probe_decides_once(no_cache, monkeypatch):
    import socket

    calls = []

    def refuse(address, timeout):
        calls.append(address)
        raise OSError("unreachable")

    monkeypatch.delenv("SEGDEMO_OFFLINE", raising=False)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert no_cache.online() is False and no_cache.online() is False
    assert calls == list(no_cache.PROBE_HOSTS)  # both hosts tried, once
