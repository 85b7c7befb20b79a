"""Training runs started from the browser: one per user, a few at a time, bounded in steps and seconds.

Each run is :func:`segdemo.training.run_training` in a background thread; the Train tab polls its state.
A global semaphore caps concurrent runs (the others wait in a queue and see their position), so a whole
classroom pressing "Train" cannot exhaust a 2-core machine.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from segdemo.errors import InputError
from segdemo.training import TrainConfig, normalize, run_training

#: Limits (environment variables override them).
MAX_STEPS = int(os.environ.get("SEGDEMO_TRAIN_MAX_STEPS", "400"))
MAX_SECONDS = float(os.environ.get("SEGDEMO_TRAIN_MAX_SECONDS", "180"))
MAX_CONCURRENT = int(os.environ.get("SEGDEMO_TRAIN_CONCURRENT", "1"))
SIZES = (64, 96, 128)
PREVIEW_SCENES = 4
HISTORY = 5  # previous runs kept per user for the comparison plot

_slots = threading.BoundedSemaphore(MAX_CONCURRENT)
_lock = threading.Lock()
_waiting: list[str] = []  # run ids in the queue, oldest first


@dataclass
class Run:
    """One training run and everything the tab shows about it."""

    id: str
    config: TrainConfig
    label: str
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    steps: list[tuple[int, float]] = field(default_factory=list)  # (step, loss)
    vals: list[tuple[int, float]] = field(default_factory=list)  # (step, val mIoU)
    previews: list[np.ndarray] = field(default_factory=list)  # predicted masks of the preview scenes
    state: str = "queued"  # queued, running, done, stopped, failed
    error: str | None = None
    started: float | None = None
    finished: float | None = None
    checkpoint: str | None = None
    best: dict[str, Any] = field(default_factory=dict)
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def queue_position(self) -> int:
        with _lock:
            return _waiting.index(self.id) + 1 if self.id in _waiting else 0

    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started

    def steps_per_second(self) -> float:
        return len(self.steps) / self.elapsed() if self.elapsed() > 0 else 0.0


_runs: dict[str, list[Run]] = {}  # user -> runs, newest last


def make_config(model: str, loss: str, augment: str, size: int, steps: int, seed: int) -> tuple[TrainConfig, list]:
    """A bounded :class:`TrainConfig` for a browser run, and the notices about what was clamped."""
    from segdemo.losses import list_losses
    from segdemo.models import list_models

    if model not in list_models():
        raise InputError("err.unknown_model", "There is no model {name}.", name=model)
    if loss not in list_losses():
        raise InputError("err.train_loss", "Unknown loss {name}.", name=loss)
    if int(size) not in SIZES:
        raise InputError("err.train_size", "Image size must be one of {sizes}.", sizes=", ".join(map(str, SIZES)))
    notices = []
    steps = int(steps)
    if steps > MAX_STEPS:
        notices.append(("train.notice_clamped", {"asked": steps, "limit": MAX_STEPS}))
        steps = MAX_STEPS
    if steps < 1:
        raise InputError("err.train_steps", "Train for at least one step.")
    config = TrainConfig(model=model, loss=loss, augment=augment, size=int(size), batch_size=8, epochs=1,
                         steps_per_epoch=steps, val_size=16, eval_every=max(5, steps // 10), seed=int(seed),
                         time_budget=MAX_SECONDS, threads=1, lr=3e-3)
    return config, notices


def start(user: str, config: TrainConfig, notices: list | None = None, label: str | None = None) -> Run:
    """Start a run for ``user`` in the background; refuses a second concurrent run of the same user."""
    with _lock:
        runs = _runs.setdefault(user, [])
        if runs and runs[-1].active:
            raise InputError("err.train_busy", "You already have a run in progress; stop it first.")
        run = Run(id=f"{user}-{len(runs)}-{time.monotonic_ns()}", config=config,
                  label=label or f"{config.model} · {config.loss}", notices=list(notices or []))
        runs.append(run)
        del runs[:-HISTORY]
        _waiting.append(run.id)
    run.thread = threading.Thread(target=_work, args=(run,), daemon=True, name=f"train-{run.id}")
    run.thread.start()
    return run


def _preview_batch(size: int) -> torch.Tensor:
    from segdemo.data import SynthScenes

    scenes = SynthScenes(PREVIEW_SCENES, size=size, seed=TrainConfig().val_seed)
    return torch.stack([scenes[i][0] for i in range(PREVIEW_SCENES)])


def _work(run: Run) -> None:
    acquired = False
    try:
        while not acquired:
            acquired = _slots.acquire(timeout=0.2)
            if run.stop_event.is_set():
                run.state = "stopped"
                return
        with _lock:
            _waiting.remove(run.id)
        run.state, run.started = "running", time.perf_counter()
        previews = normalize(_preview_batch(run.config.size))

        def on_event(event: dict[str, Any]) -> None:
            if event["type"] == "step":
                run.steps.append((event["step"], event["loss"]))
                return
            run.vals.append((event["step"], event["miou"]))
            model = event["model"]
            was_training = model.training
            model.eval()
            with torch.inference_mode():
                run.previews = list(model(previews).argmax(1).numpy().astype(np.uint8))
            model.train(was_training)

        result = run_training(run.config, on_event=on_event, should_stop=run.stop_event.is_set)
        run.best = {k: v for k, v in result.best_metrics.items() if k != "per_class_iou"}
        run.checkpoint = _save(run, result)
        run.state = "stopped" if run.stop_event.is_set() else "done"
    except Exception as exc:  # noqa: BLE001 - the tab shows it; the app keeps serving
        run.state, run.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        run.finished = time.perf_counter()
        with _lock:
            if run.id in _waiting:
                _waiting.remove(run.id)
        if acquired:
            _slots.release()


def _save(run: Run, result: Any) -> str:
    from segdemo.checkpoints import save_checkpoint
    from segdemo.palette import scene_classes
    from segdemo.training import build_card

    folder = tempfile.mkdtemp(prefix="segdemo-train-")
    card = build_card(run.config, result.model, scene_classes(), result.best_metrics, result.steps, result.seconds)
    save_checkpoint(result.model, f"{folder}/{run.config.model}", card)
    return f"{folder}/{run.config.model}"


def stop(user: str) -> Run | None:
    """Ask the user's current run to stop (it keeps its best model); returns it, or None."""
    run = current(user)
    if run is not None and run.active:
        run.stop_event.set()
    return run


def current(user: str) -> Run | None:
    with _lock:
        runs = _runs.get(user) or []
        return runs[-1] if runs else None


def runs_of(user: str) -> list[Run]:
    with _lock:
        return list(_runs.get(user) or [])


def wait(run: Run, timeout: float | None = None) -> None:
    """Block until ``run`` ends (tests, the API)."""
    if run.thread is not None:
        run.thread.join(timeout)
