"""Browser training runs without gradio: learning, stop, queue and limits, the session's models."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
import torch

from segdemo.errors import InputError
from segdemo.lessons import train as train_lesson
from segdemo.ui import train as train_ui


def tiny(steps: int = 30, **overrides):
    """A U-Net with 4 base features on 64×64 scenes, validated on 8 scenes every 10 steps."""
    config, notices = train_lesson.make_config("unet", "ce", "none", 64, steps, 0)
    config.options, config.warm_start = {"init_features": 4}, None
    config.val_size, config.eval_every, config.lr = 8, 10, 5e-3
    config.task, config.schedule = "shapes", "plateau"  # the loop itself, not the tab's easier default recipe
    for key, value in overrides.items():
        setattr(config, key, value)
    return config, notices


def fake_training(config, *, on_event=None, should_stop=None, pause=None):
    """Stands in for run_training in the queue tests: a step every 10 ms until stopped or done."""
    from segdemo.training import TrainResult

    model = torch.nn.Conv2d(3, 6, 1)
    for step in range(1, config.steps_per_epoch + 1):
        pause()
        if should_stop():
            break
        time.sleep(0.01)
        on_event({"type": "step", "step": step, "loss": 1.0 / step})
    on_event({"type": "val", "step": step, "miou": 0.5, "model": model})
    return TrainResult(model, {"miou": 0.5, "pixel_accuracy": 0.9}, [], step, 0.1, True)


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(train_lesson, "run_training", fake_training)
    monkeypatch.setattr(train_lesson, "_save", lambda run, result: None)
    yield
    for user in list(train_lesson._runs):
        train_lesson.end_session(user)


def until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


@pytest.mark.slow
def test_thirty_steps_beat_the_untrained_model():
    from torch.utils.data import DataLoader

    from segdemo.models import create_model
    from segdemo.training import evaluate, make_datasets, seed_everything

    config, _ = tiny(30)
    seed_everything(config.seed)  # the same initial weights as the run's
    untrained = create_model("unet", 6, variant="small", **config.options)
    before = evaluate(untrained, DataLoader(make_datasets(config)[1], batch_size=16), 6, torch.device("cpu"))["miou"]
    threads = torch.get_num_threads()
    run = train_lesson.start("learner", config)
    train_lesson.wait(run, 120)
    # Regression: the run set torch's (process-wide) threads to 1 for every request of the server.
    assert torch.get_num_threads() == threads
    try:
        assert run.state == "done" and len(run.steps) == 30
        assert run.best["miou"] > before + 0.03  # measured: 0.133 -> 0.196
        assert run.steps[-1][1] < run.steps[0][1]
        assert run.previews.shape == (train_lesson.PREVIEW_SCENES, 64, 64)
        summary = run.summary()
        assert summary["steps_done"] == 30 and summary["best_val_miou"] == pytest.approx(run.best["miou"], abs=1e-4)
        # the checkpoint is in the project's format and is this session's model
        from segdemo.checkpoints import load_checkpoint

        (item,) = train_lesson.session_models("learner")
        assert item.key == summary["checkpoint"] and item.model == "unet"
        miou = f"{run.best['miou']:.2f}"  # the validation score, named so next to a scene's own mIoU
        assert item.display == {"en": f"Your run 1: U-Net · Cross-entropy · val mIoU {miou}",
                                "zh": f"你的第 1 次训练：U-Net · 交叉熵 · 验证集 mIoU {miou}"}
        checkpoint = load_checkpoint(train_lesson.session_checkpoint("learner", item.key))
        assert checkpoint.card["recipe"]["steps_done"] == 30 and checkpoint.card["num_classes"] == 6
        with pytest.raises(InputError, match="no model"):
            train_lesson.session_checkpoint("somebody-else", item.key)
        # ... which the Segment tab offers to this user only, and scores on a scene
        from segdemo import serving
        from segdemo.lessons import segment as segment_lesson

        assert item.key in [c.key for c in serving.choices("learner")]
        assert item.key not in [c.key for c in serving.choices("somebody-else")] + [c.key for c in serving.choices()]
        image, truth = segment_lesson.scene(0, 64)
        result = segment_lesson.run(item.key, image, truth, "learner")
        assert result.segmentation.labels.shape == truth.shape and 0.0 <= result.miou <= 1.0
        with pytest.raises(InputError, match="no model"):
            segment_lesson.run(item.key, image, None, "somebody-else")
        with pytest.raises(InputError, match="no model"):
            segment_lesson.run("session:/etc/passwd", image, None, "learner")  # never a path of the caller's choice
        files = train_lesson.checkpoint_files(run)
        assert [os.path.splitext(f)[1] for f in files] == [".safetensors", ".json"]
    finally:
        train_lesson.end_session("learner")
    assert not os.path.exists(files[0])  # the session's files go with it
    assert train_lesson.session_models("learner") == []


def test_stop_ends_a_real_run_and_keeps_its_model():
    config, _ = tiny(300)
    run = train_lesson.start("stopper", config)
    try:
        until(lambda: len(run.steps) >= 3, 60)
        train_lesson.stop("stopper")
        train_lesson.wait(run, 10)
        assert not run.thread.is_alive()
        assert run.state == "stopped" and len(run.steps) < 300 and run.stem and run.vals
    finally:
        train_lesson.end_session("stopper")


@pytest.mark.parametrize(
    "args, message",
    [
        (("resnet", "ce", "none", 64, 10, 0), "no model resnet"),
        (("unet", "hinge", "none", 64, 10, 0), "Unknown loss hinge"),
        (("unet", "ce", "wild", 64, 10, 0), "preset wild"),
        (("unet", "ce", "none", 1000, 10, 0), "one of 64, 96, 128"),
        (("unet", "ce", "none", 64, 0, 0), "at least one step"),
        (("unet", "ce", "none", 64, 10, -1), "seed"),
    ],
)
def test_bad_settings_are_refused(args, message):
    with pytest.raises(InputError, match=message):
        train_lesson.make_config(*args)


def test_too_many_steps_are_clamped_with_a_notice():
    config, notices = train_lesson.make_config("unet", "ce", "none", 64, train_lesson.MAX_STEPS + 100, 0)
    assert config.steps_per_epoch == train_lesson.MAX_STEPS and config.time_budget == train_lesson.MAX_SECONDS
    assert notices == [("train.notice_clamped", {"asked": train_lesson.MAX_STEPS + 100, "limit": train_lesson.MAX_STEPS})]
    assert train_lesson.make_config("unet", "ce", "none", 64, 20, 0)[1] == []


def test_augmentation_falls_back_to_none_without_the_catalogue(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_augment(name, *args, **kwargs):
        if name == "segdemo.augment":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_augment)
    assert train_lesson.presets() == ["none"]


def test_one_run_per_user_and_a_fifo_queue(fake, monkeypatch):
    monkeypatch.setattr(train_lesson, "MAX_CONCURRENT", 1)
    first = train_lesson.start("a", tiny(10_000)[0])
    until(lambda: first.state == "running")
    with pytest.raises(InputError, match="already have a run"):
        train_lesson.start("a", tiny(10)[0])
    second, third = train_lesson.start("b", tiny(10_000)[0]), train_lesson.start("c", tiny(10_000)[0])
    assert (second.queue_position(), third.queue_position()) == (1, 2)
    assert train_lesson.load() == {"running": 1, "waiting": 2, "slots": 1}
    train_lesson.stop("b")  # leaving the queue: never trains, the one behind moves up
    train_lesson.wait(second, 5)
    assert second.state == "stopped" and second.started is None and third.queue_position() == 1
    train_lesson.stop("a")
    until(lambda: third.state == "running")
    assert first.state == "stopped" and third.queue_position() == 0
    train_lesson.stop("c")
    train_lesson.wait(third, 5)


def test_the_queue_is_bounded(fake, monkeypatch):
    monkeypatch.setattr(train_lesson, "MAX_CONCURRENT", 1)
    monkeypatch.setattr(train_lesson, "MAX_QUEUE", 1)
    train_lesson.start("a", tiny(10_000)[0])
    until(lambda: train_lesson.load()["running"] == 1)
    train_lesson.start("b", tiny(10_000)[0])
    with pytest.raises(InputError, match="1 runs are already waiting"):
        train_lesson.start("c", tiny(10)[0])


def test_history_is_bounded_and_ending_a_session_stops_its_run(fake, monkeypatch, tmp_path):
    monkeypatch.setattr(train_lesson, "HISTORY", 2)
    monkeypatch.setattr(train_lesson, "_save", lambda run, result: str(tmp_path / run.id / "m"))
    for _ in range(3):
        run = train_lesson.start("h", tiny(3)[0])
        train_lesson.wait(run, 5)
    assert len(train_lesson.runs_of("h")) == 2 and [m.key for m in train_lesson.session_models("h")][0] == "session:" + run.id
    live = train_lesson.start("h", tiny(10_000)[0])
    until(lambda: live.state == "running")
    train_lesson.end_session("h")
    train_lesson.wait(live, 5)
    assert live.state == "stopped" and train_lesson.runs_of("h") == []


def test_shutdown_stops_and_joins_every_run(fake, monkeypatch):
    # A training thread still inside torch when the process exits can abort it (exit code 134).
    monkeypatch.setattr(train_lesson, "MAX_CONCURRENT", 1)
    runs = [train_lesson.start(user, tiny(10_000)[0]) for user in ("s1", "s2")]  # one running, one waiting
    until(lambda: train_lesson.load() == {"running": 1, "waiting": 1, "slots": 1})
    train_lesson.shutdown(timeout=5)
    assert all(not run.thread.is_alive() and run.state == "stopped" for run in runs)
    assert train_lesson.load()["running"] == 0 and train_lesson.runs_of("s1") == []


def test_preview_grid_stacks_image_truth_and_prediction(fake):
    config = tiny(3)[0]
    run = train_lesson.start("p", config)
    train_lesson.wait(run, 5)
    run.previews = np.zeros((train_lesson.PREVIEW_SCENES, 64, 64), np.uint8)
    grid = train_lesson.preview_grid(run, tile=128)
    assert grid.shape == (3 * 128 + 2 * 6, 4 * 128 + 3 * 6, 3) and grid.dtype == np.uint8
    images, truths = train_lesson.preview_scenes(64)
    np.testing.assert_array_equal(grid[:128:2, :128:2], images[0])  # nearest-neighbour ×2
    from segdemo.palette import SCENE_PALETTE

    assert (grid[2 * 134:2 * 134 + 128, :128] == SCENE_PALETTE[0]).all()  # all-background prediction
    assert train_lesson.preview_grid(None).shape == grid.shape  # before any run: grey predictions


def test_state_is_thread_safe_under_concurrent_starts(fake):
    errors = []

    def go(user):
        try:
            train_lesson.wait(train_lesson.start(user, tiny(2)[0]), 5)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(f"u{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors and all(train_lesson.current(f"u{i}").state == "done" for i in range(8))


def test_idle_sessions_are_forgotten_but_not_running_ones(fake, monkeypatch, tmp_path):
    monkeypatch.setattr(train_lesson, "_save", lambda run, result: str(tmp_path / run.id / "m"))
    (tmp_path / "x").mkdir()
    old = train_lesson.start("old", tiny(2)[0])
    train_lesson.wait(old, 5)
    live = train_lesson.start("live", tiny(10_000)[0])
    until(lambda: live.state == "running")
    train_lesson._seen["old"] = train_lesson._seen["live"] = time.monotonic() - train_lesson.SESSION_TTL - 1
    train_lesson._evict_idle()
    assert train_lesson.runs_of("old") == [] and train_lesson.session_models("old") == []
    assert train_lesson.runs_of("live") == [live] and live.active
    train_lesson.stop("live")
    train_lesson.wait(live, 5)


def test_a_run_trains_at_a_lower_cpu_priority_than_requests(fake, monkeypatch):
    import os
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread nice is Linux's")
    seen = {}

    def niced_training(config, **kwargs):
        import threading

        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return fake_training(config, **kwargs)

    monkeypatch.setattr(train_lesson, "run_training", niced_training)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    run = train_lesson.start("niced", tiny(5)[0])
    train_lesson.wait(run, 10)
    assert seen["nice"] == min(19, base + train_lesson.TRAIN_NICE)
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # the process (and the request threads) keep theirs


def test_a_run_steps_aside_while_requests_are_in_flight(fake, monkeypatch):
    from segdemo import serving

    monkeypatch.setattr(serving, "TRAIN_YIELD_SECONDS", 0.3)
    monkeypatch.setattr(serving, "TRAIN_START_SECONDS", 0.0)  # the wait before starting: the next test
    with serving.FOREGROUND.working():  # a student's request being worked on
        run = train_lesson.start("p", tiny(10_000)[0])
        until(lambda: run.state == "running")
        time.sleep(0.9)
        busy_steps = len(run.steps)
    time.sleep(0.3)
    free_steps = len(run.steps) - busy_steps
    train_lesson.stop("p")
    train_lesson.wait(run, 5)
    assert busy_steps <= 4  # one step per 0.3 s wait (~3 in 0.9 s), not one every 10 ms (~90)
    assert free_steps >= 5  # the request done: a step every 10 ms again


def test_a_run_starts_after_a_burst_of_requests_and_a_stop_meanwhile_ends_it_unbuilt(fake, monkeypatch):
    from segdemo import serving

    monkeypatch.setattr(serving, "TRAIN_START_SECONDS", 5.0)
    started = []
    monkeypatch.setattr(train_lesson, "run_training", lambda *a, **k: started.append(1) or fake_training(*a, **k))
    with serving.FOREGROUND.working():  # a class's burst being served
        run = train_lesson.start("b", tiny(10_000)[0])
        until(lambda: run.state == "running")
        time.sleep(0.4)
        assert not started  # it waits for the burst to end before it builds anything
        assert train_ui.status_text(run, "en").startswith("**Starting…** The run gives way to the other requests")
        assert train_ui.status_text(run, "zh").startswith("**正在启动……** 训练先让服务器上的其他请求优先处理")
    until(lambda: started and len(run.steps) >= 3, timeout=3)  # the burst over: it starts at once
    train_lesson.stop("b")
    train_lesson.wait(run, 5)

    with serving.FOREGROUND.working():
        second = train_lesson.start("b", tiny(10_000)[0])
        until(lambda: second.state == "running")
        began = time.perf_counter()
        train_lesson.stop("b")  # the student gives up before it started
        train_lesson.wait(second, 5)
        assert time.perf_counter() - began < 1.0 and len(started) == 1  # never built
    assert second.state == "stopped" and not second.steps and not second.stem
    assert train_ui.status_text(second, "en").startswith("Stopped before it started")
    assert train_ui.status_text(second, "zh").startswith("在开始训练前就停止了")
