"""Training runs started from the browser: one per user, a few at a time, bounded in steps and seconds.

Each run is :func:`segdemo.training.run_training` in a background thread; the Train tab polls its state.
Runs wait in one FIFO queue for a global number of slots (``SEGDEMO_TRAIN_CONCURRENT``) and see their
position, so a whole classroom pressing "Train" cannot exhaust a 2-core machine. A finished run's model is
saved in the project's checkpoint format and stays usable in that browser session (:func:`session_models`).

Users are opaque strings (the Gradio session hash); nothing here imports gradio.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from segdemo.errors import InputError
from segdemo.strings import LANGS, t
from segdemo.tempfiles import temp_dir
from segdemo.training import TrainConfig, normalize, run_training

#: Limits per run and for the whole server (environment variables override them at start-up).
MAX_STEPS = int(os.environ.get("SEGDEMO_TRAIN_MAX_STEPS", "300"))
# A whole class trains at once: the runs share the cores (each slower) instead of queueing for one slot
# (python -m segdemo.tools.trainload --users 30 measures it); the time budget leaves room for that sharing.
MAX_SECONDS = float(os.environ.get("SEGDEMO_TRAIN_MAX_SECONDS", "300"))
MAX_CONCURRENT = int(os.environ.get("SEGDEMO_TRAIN_CONCURRENT", "30"))
MAX_QUEUE = int(os.environ.get("SEGDEMO_TRAIN_QUEUE", "40"))
#: Nice levels a run's threads are lowered by: training is background work, so a class's sliders and Segment
#: clicks get the cores first and the runs take what is left (alone on the server a run is as fast).
TRAIN_NICE = int(os.environ.get("SEGDEMO_TRAIN_NICE", "10"))
# Runs waiting from one client address: one machine opening forty tabs must not fill the queue. A class
# behind one NAT address shares this cap (raise it there; on a LAN every student has an address).
MAX_QUEUE_PER_ADDRESS = int(os.environ.get("SEGDEMO_TRAIN_QUEUE_PER_ADDRESS", "8"))
SIZES = (64, 96, 128)
MAX_SEED = 2**31 - 1
PREVIEW_SCENES = 4
HISTORY = 5  # runs kept per user for the comparison plot and the Segment tab
SESSION_TTL = float(os.environ.get("SEGDEMO_TRAIN_SESSION_TTL", str(3 * 3600)))  # idle seconds before eviction
MAX_SESSIONS = 300  # sessions with stored runs; the least recently used idle ones go first
SESSION_PREFIX = "session:"
#: Checkpoints kept on disk for all sessions together; past it the oldest finished runs lose their files
#: (their curves stay). A small model's checkpoint is a few MB: this bounds the Train tab's disk use.
MAX_STORED_CHECKPOINTS = int(os.environ.get("SEGDEMO_TRAIN_MAX_CHECKPOINTS", "60"))

_cond = threading.Condition()  # guards everything below; notified whenever a slot or the queue changes
_waiting: list[str] = []  # run ids in the queue, oldest first
_running: set[str] = set()
_runs: dict[str, list[Run]] = {}  # user -> runs, newest last
_seen: dict[str, float] = {}  # user -> monotonic time of the last look at their runs


@dataclass
class Run:
    """One training run and everything the tab shows about it (written by its thread, read by the tab)."""

    id: str
    user: str
    config: TrainConfig
    address: str | None = None  # the client's network address (for the per-address queue cap)
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    steps: list[tuple[int, float]] = field(default_factory=list)  # (step, training loss)
    vals: list[tuple[int, float]] = field(default_factory=list)  # (step, val mIoU)
    previews: np.ndarray | None = None  # (PREVIEW_SCENES, H, W) uint8 predicted classes
    previews_made: int = 0  # how many times ``previews`` was set
    state: str = "queued"  # queued, running, done, stopped, failed
    error: str | None = None
    started: float | None = None  # perf_counter when the slot was obtained
    finished: float | None = None
    stem: str | None = None  # checkpoint path without extension, once saved
    best: dict[str, Any] = field(default_factory=dict)  # best val metrics (miou, pixel_accuracy, step)
    stop_event: threading.Event = field(default_factory=threading.Event)
    discard: bool = False  # the session ended: delete the files once the thread is done
    thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def label(self) -> str:
        """Internal ids (``unet · ce · light``); the tab shows :func:`run_label` in the reader's language."""
        return f"{self.config.model} · {self.config.loss} · {self.config.augment}"

    def display_label(self, lang: str) -> str:
        """``U-Net · 交叉熵 · 轻度`` in the reader's language (legends, lists)."""
        from segdemo.models.registry import get_card

        name = get_card(self.config.model).display
        return " · ".join([name.get(lang, name["en"]), t(f"common.loss.{self.config.loss}", lang),
                           t(f"augment.preset.{self.config.augment}", lang)])

    def queue_position(self) -> int:
        """1 for the next run to start, 0 when not waiting."""
        with _cond:
            return _waiting.index(self.id) + 1 if self.id in _waiting else 0

    def elapsed(self) -> float:
        """Seconds since the run got its slot (0 while queued)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started

    def steps_per_second(self) -> float:
        elapsed = self.elapsed()
        return len(self.steps) / elapsed if elapsed > 0 else 0.0

    def remaining(self) -> float:
        """Estimated seconds left: the slower of the step count and the time budget decides."""
        if not self.active or self.started is None:
            return 0.0
        rate = self.steps_per_second()
        by_steps = (self.config.steps_per_epoch - len(self.steps)) / rate if rate > 0 else float("inf")
        by_time = (self.config.time_budget or float("inf")) - self.elapsed()
        left = min(by_steps, by_time)
        return max(0.0, left) if left != float("inf") else 0.0

    def version(self) -> tuple:
        """Changes whenever something drawn from this run changes (for caching plots)."""
        return self.id, self.state, len(self.steps), len(self.vals), self.previews_made

    def previews_version(self) -> tuple:
        """Changes whenever the run's predictions of the preview scenes (:func:`preview_grid`) may change."""
        return self.id, self.previews_made

    def summary(self) -> dict[str, Any]:
        """The final (or current) numbers, JSON-friendly: what the ``/train`` API returns."""
        return {
            "state": self.state, "model": self.config.model, "loss": self.config.loss,
            "augment": self.config.augment, "size": self.config.size, "seed": self.config.seed,
            "task": self.config.task, "warm_start": self.config.warm_start is not None,
            "steps_done": len(self.steps), "steps_planned": self.config.steps_per_epoch,
            "seconds": round(self.elapsed(), 1),
            "first_val_miou": round(self.vals[0][1], 4) if self.vals else None,
            "best_val_miou": round(self.best["miou"], 4) if "miou" in self.best else None,
            "best_pixel_accuracy": round(self.best["pixel_accuracy"], 4) if "pixel_accuracy" in self.best else None,
            "checkpoint": SESSION_PREFIX + self.id if self.stem else None,
        }


def presets() -> list[str]:
    """The augmentation presets offered (the Augment tab's catalogue; just ``none`` if it is missing)."""
    try:
        from segdemo.augment import PRESETS
    except ImportError:
        return ["none"]
    return list(PRESETS) or ["none"]


#: The classroom recipe, chosen by measurement (``python -m segdemo.tools.bench train``): from scratch the
#: full five-shape task stays at val mIoU ~0.2 after 150 steps whatever the schedule; discs and squares
#: (larger, fewer objects), an encoder copied from the shipped model of the same architecture and a one-cycle
#: learning rate reach ~0.8 in 100 steps, and the loss, augmentation and architecture still change the curve.
TASK = "easy"
SCHEDULE = "onecycle"
LR = 3e-3
DEFAULT_STEPS = 100


def warm_start_stem(model: str) -> str | None:
    """The shipped checkpoint whose encoder starts a run of ``model`` (small variant), or None."""
    from segdemo.serving import checkpoint_dir

    stem = checkpoint_dir() / model
    if not stem.with_suffix(".safetensors").is_file() or not stem.with_suffix(".json").is_file():
        return None
    import json

    card = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    return str(stem) if card.get("variant") == "small" and _has_named_encoder(model) else None


@functools.cache
def _has_named_encoder(model: str) -> bool:
    # Warm start copies the modules training.ENCODER_PREFIXES names; an architecture without them starts fresh
    # (the tab's notice says so) instead of failing its run.
    from segdemo.models import create_model
    from segdemo.training import encoder_keys

    return bool(encoder_keys(create_model(model, 2).state_dict()))


def make_config(model: str, loss: str, augment: str, size: int, steps: int, seed: int, warm: bool = True
                ) -> tuple[TrainConfig, list[tuple[str, dict[str, Any]]]]:
    """A bounded :class:`TrainConfig` (small variant) for a browser run, and notices about what was clamped.

    Args:
        model: registry name, e.g. ``"unet"``.
        loss: a name of :func:`segdemo.losses.list_losses`.
        augment: a preset of :func:`presets`.
        size: image side, one of :data:`SIZES`.
        steps: optimizer steps, 1.. (more than :data:`MAX_STEPS` is clamped with notice ``train.notice_clamped``).
        seed: 0..2**31-1.
        warm: start the encoder from the shipped checkpoint of ``model`` (notice ``train.notice_scratch``
            when there is none: the run starts from random weights).

    Raises:
        InputError: ``err.unknown_model``, ``err.train_loss``, ``err.train_augment``, ``err.train_size``,
            ``err.train_steps`` or ``err.train_seed``.
    """
    from segdemo.losses import list_losses
    from segdemo.models import list_models

    if model not in list_models():
        raise InputError("err.unknown_model", "There is no model {name}.", name=model)
    if loss not in list_losses():
        raise InputError("err.train_loss", "Unknown loss {name}.", name=loss)
    if augment not in presets():
        raise InputError("err.train_augment", "Unknown augmentation preset {name}; choose one of {names}.",
                         name=augment, names=", ".join(presets()))
    if int(size) not in SIZES:
        raise InputError("err.train_size", "Image size must be one of {sizes}.", sizes=", ".join(map(str, SIZES)))
    if not 0 <= int(seed) <= MAX_SEED:
        raise InputError("err.train_seed", "The seed must be between 0 and {max}.", max=MAX_SEED)
    notices: list[tuple[str, dict[str, Any]]] = []
    steps = int(steps)
    if steps < 1:
        raise InputError("err.train_steps", "Train for at least one step.")
    if steps > MAX_STEPS:
        notices.append(("train.notice_clamped", {"asked": steps, "limit": MAX_STEPS}))
        steps = MAX_STEPS
    stem = warm_start_stem(model) if warm else None
    if warm and stem is None:
        notices.append(("train.notice_scratch", {"model": model}))
    # One epoch of `steps` fresh batches; validate ~10 times on 16 held-out scenes (cheap, yet a curve).
    config = TrainConfig(model=model, variant="small", loss=loss, augment=augment, size=int(size), batch_size=8,
                         epochs=1, steps_per_epoch=steps, val_size=16, eval_every=max(5, steps // 10),
                         seed=int(seed), time_budget=MAX_SECONDS, lr=LR, schedule=SCHEDULE, task=TASK,
                         warm_start=stem)
    # threads stays None: torch's setting is process-wide, set once by serving.start().
    return config, notices


def start(user: str, config: TrainConfig, notices: list | None = None, address: str | None = None) -> Run:
    """Queue a run for ``user`` and start its thread (it trains once a slot is free).

    Args:
        address: the client's network address; at most :data:`MAX_QUEUE_PER_ADDRESS` runs wait per address.

    Raises:
        InputError: ``err.train_busy`` (this user already has a queued or running run),
            ``err.train_queue_full`` (:data:`MAX_QUEUE` runs are already waiting) or
            ``err.train_queue_full_address`` (this address already has its share of the queue).
    """
    _evict_idle()
    dropped: list[Run] = []
    with _cond:
        _seen[user] = time.monotonic()
        runs = _runs.setdefault(user, [])
        if runs and runs[-1].active:
            raise InputError("err.train_busy", "You already have a run in progress; stop it first.")
        if len(_waiting) >= MAX_QUEUE:
            raise InputError("err.train_queue_full", "{n} runs are already waiting; try again in a few minutes.",
                             n=len(_waiting))
        if address is not None:
            mine = sum(1 for runs_ in _runs.values() for r in runs_ if r.address == address and r.id in _waiting)
            if mine >= MAX_QUEUE_PER_ADDRESS:
                raise InputError("err.train_queue_full_address", "The queue is full for your network address: "
                                 "{n} runs from it are already waiting (limit {limit}); try again when one has "
                                 "started.", n=mine, limit=MAX_QUEUE_PER_ADDRESS)
        run = Run(id=uuid.uuid4().hex[:12], user=user, config=config, notices=list(notices or []),
                  address=address)
        runs.append(run)
        dropped, runs[:] = runs[:-HISTORY], runs[-HISTORY:]
        _waiting.append(run.id)
        _cond.notify_all()
    for old in dropped:
        _delete_files(old)
    run.thread = threading.Thread(target=_work, args=(run,), daemon=True, name=f"train-{run.id}")
    run.thread.start()
    return run


def _take_slot(run: Run) -> bool:
    """Wait until ``run`` is first in the queue and a slot is free (True), or it was stopped (False)."""
    with _cond:
        while True:
            if run.stop_event.is_set():
                if run.id in _waiting:
                    _waiting.remove(run.id)
                _cond.notify_all()
                return False
            if _waiting and _waiting[0] == run.id and len(_running) < MAX_CONCURRENT:
                _waiting.pop(0)
                _running.add(run.id)
                _cond.notify_all()
                return True
            _cond.wait(timeout=0.25)


@functools.lru_cache(maxsize=len(SIZES))
def preview_scenes(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The 4 fixed validation scenes every run predicts: images ``(4, H, W, 3)`` uint8, truths ``(4, H, W)``."""
    from segdemo.data import render_scene

    scenes = [render_scene(TrainConfig().val_seed, i, size, TASK) for i in range(PREVIEW_SCENES)]
    images, truths = np.stack([s.image for s in scenes]), np.stack([s.mask for s in scenes])
    images.flags.writeable = truths.flags.writeable = False  # shared by every run: cached
    return images, truths


def _work(run: Run) -> None:
    from segdemo.serving import TRAIN_START_SECONDS, lower_thread_priority, yield_to_requests

    lower_thread_priority(TRAIN_NICE)  # before any torch work: its OpenMP threads inherit it
    acquired = False
    try:
        acquired = _take_slot(run)
        if not acquired:
            run.state = "stopped"
            return
        run.state, run.started = "running", time.perf_counter()
        images, _ = preview_scenes(run.config.size)
        batch = normalize(torch.from_numpy(images.copy()).permute(0, 3, 1, 2).float() / 255.0)  # (4, 3, H, W)

        def pause(longest: float | None = None) -> None:
            # nice covers the cores, not the GIL: a run also waits between batches while others' requests
            # run; not once stopped, when its student waits for the result
            if not run.stop_event.is_set():
                yield_to_requests(run.stop_event.is_set, longest)

        def on_event(event: dict[str, Any]) -> None:
            if event["type"] == "step":
                run.steps.append((event["step"], event["loss"]))
                return
            run.vals.append((event["step"], event["miou"]))
            pause()  # the live predictions are a forward pass too
            model = event["model"]
            was_training = model.training
            model.eval()
            with torch.inference_mode():
                run.previews = model(batch).argmax(1).numpy().astype(np.uint8)  # (4, H, W)
            run.previews_made += 1
            model.train(was_training)

        pause(TRAIN_START_SECONDS)  # building the model holds the GIL too: after a class's burst, not during it
        if run.stop_event.is_set():  # stopped before it started, as a queued run can be: nothing to keep
            run.state = "stopped"
            return
        result = run_training(run.config, on_event=on_event, should_stop=run.stop_event.is_set, pause=pause)
        run.best = {k: v for k, v in result.best_metrics.items() if k != "per_class_iou"}
        run.stem = _save(run, result)
        run.state = "stopped" if run.stop_event.is_set() else "done"
        _cap_checkpoints()
    except Exception as exc:  # noqa: BLE001 - the tab shows it; the app keeps serving
        run.state, run.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        run.finished = time.perf_counter()
        with _cond:
            if run.id in _waiting:
                _waiting.remove(run.id)
            _running.discard(run.id)
            _cond.notify_all()
        if run.discard:
            _delete_files(run)


def _save(run: Run, result: Any) -> str:
    from segdemo.checkpoints import save_checkpoint
    from segdemo.palette import scene_classes
    from segdemo.training import build_card

    folder = str(temp_dir("train-"))
    card = build_card(run.config, result.model, scene_classes(), result.best_metrics, result.steps, result.seconds)
    card["source"] = "segdemo Train tab"
    stem = os.path.join(folder, f"{run.config.model}-{run.id}")
    save_checkpoint(result.model, stem, card)
    return stem


def _cap_checkpoints() -> None:
    """Delete the files of the oldest finished runs beyond :data:`MAX_STORED_CHECKPOINTS`."""
    with _cond:
        stored = sorted((r for runs in _runs.values() for r in runs if r.stem and not r.active),
                        key=lambda r: r.finished or 0.0)
    for old in stored[:max(0, len(stored) - MAX_STORED_CHECKPOINTS)]:
        _delete_files(old)


def _delete_files(run: Run) -> None:
    if run.stem:
        shutil.rmtree(os.path.dirname(run.stem), ignore_errors=True)
        run.stem = None


def stop(user: str) -> Run | None:
    """Ask the user's current run to stop (it keeps its best model); returns that run, or None."""
    run = current(user)
    if run is not None and run.active:
        run.stop_event.set()
        with _cond:
            _cond.notify_all()
    return run


def _evict_idle(now: float | None = None) -> None:
    """Forget sessions idle for :data:`SESSION_TTL`, and the oldest idle ones beyond :data:`MAX_SESSIONS`.

    Browsers close without telling us (Gradio's unload event costs a stream per page), so sessions
    are let go by age; a session with a queued or running run is never evicted.
    """
    now = time.monotonic() if now is None else now
    with _cond:
        idle = sorted((seen, user) for user, seen in _seen.items()
                      if not any(run.active for run in _runs.get(user, [])))
        excess = max(0, len(_seen) - MAX_SESSIONS)
        gone = [user for i, (seen, user) in enumerate(idle) if i < excess or now - seen > SESSION_TTL]
    for user in gone:
        end_session(user)


def end_session(user: str) -> None:
    """The browser session ended: stop its run and delete its checkpoints (now, or when the thread ends)."""
    with _cond:
        runs = _runs.pop(user, [])
        _seen.pop(user, None)
    for run in runs:
        run.discard = True
        run.stop_event.set()
        if not run.active:
            _delete_files(run)
    with _cond:
        _cond.notify_all()


def shutdown(timeout: float = 30.0) -> None:
    """End every session and wait for the training threads (when the server stops).

    A daemon training thread still inside torch when the process exits can abort it
    ("terminate called without an active exception"), so runs are stopped and joined first.
    """
    with _cond:
        users = list(_runs)
        threads = [run.thread for runs in _runs.values() for run in runs if run.thread is not None]
    for user in users:
        end_session(user)
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def current(user: str) -> Run | None:
    """The user's newest run, or None."""
    with _cond:
        if user in _seen:
            _seen[user] = time.monotonic()
        runs = _runs.get(user) or []
        return runs[-1] if runs else None


def runs_of(user: str) -> list[Run]:
    """The user's runs, oldest first (at most :data:`HISTORY`)."""
    with _cond:
        return list(_runs.get(user) or [])


def load() -> dict[str, int]:
    """Server-wide counts: ``{"running": r, "waiting": w, "slots": MAX_CONCURRENT}``."""
    with _cond:
        return {"running": len(_running), "waiting": len(_waiting), "slots": MAX_CONCURRENT}


def wait(run: Run, timeout: float | None = None) -> None:
    """Block until ``run``'s thread ends (tests, the API)."""
    if run.thread is not None:
        run.thread.join(timeout)


# --- the session's trained models, for the Segment tab ---------------------------------------------------


@dataclass(frozen=True)
class SessionModel:
    """A model trained in this browser session, as the Segment tab's picker shows it."""

    key: str  # "session:<run id>"
    model: str  # registry name
    display: dict[str, str]  # {"en": ..., "zh": ...}
    stem: str  # checkpoint path without extension (load with segdemo.checkpoints.load_checkpoint)
    miou: float | None
    params: int | None
    size: int | None = None  # the side of the scenes it was trained on


def session_models(user: str) -> list[SessionModel]:
    """The finished runs of ``user`` that have a checkpoint, newest first."""
    from segdemo.models.registry import get_card

    out = []
    for number, run in reversed(list(enumerate(runs_of(user), start=1))):
        if run.active or not run.stem:
            continue
        name = get_card(run.config.model).display
        key = "train.run_name_scored" if "miou" in run.best else "train.run_name"
        display = {lang: t(key, lang, number=number, model=name[lang], loss=t(f"common.loss.{run.config.loss}", lang),
                           score=f"{run.best.get('miou', 0):.2f}") for lang in LANGS}
        out.append(SessionModel(SESSION_PREFIX + run.id, run.config.model, display, run.stem,
                                run.best.get("miou"), None, run.config.size))
    return out


def session_checkpoint(user: str, key: str) -> str:
    """The checkpoint stem of ``key`` (``"session:<run id>"``) if it belongs to ``user``.

    Raises:
        InputError: ``err.unknown_model`` for another user's key, a deleted run or a malformed key.
    """
    for item in session_models(user):
        if item.key == key:
            return item.stem
    raise InputError("err.unknown_model", "There is no model {name}.", name=key)


def checkpoint_files(run: Run) -> list[str]:
    """The two files of a run's checkpoint (weights and card) for downloading, or ``[]``."""
    if not run.stem:
        return []
    return [f"{run.stem}.safetensors", f"{run.stem}.json"]


def preview_grid(run: Run | None, size: int = 64, tile: int = 128) -> np.ndarray:
    """The 4 validation scenes as a ``(3*tile + 2*gap, 4*tile + 3*gap, 3)`` uint8 grid.

    Rows: the image, its ground truth, the run's latest prediction (grey until the first validation).
    """
    from segdemo.palette import SCENE_PALETTE, colorize

    size = run.config.size if run is not None else size
    images, truths = preview_scenes(size)
    preds = run.previews if run is not None and run.previews is not None else None
    rows = [list(images), [colorize(m, SCENE_PALETTE) for m in truths],
            [colorize(m, SCENE_PALETTE) for m in preds] if preds is not None
            else [np.full_like(images[0], 200)] * PREVIEW_SCENES]
    scale = max(1, tile // size)
    gap = 6
    height, width = size * scale, size * scale
    grid = np.full((3 * height + 2 * gap, PREVIEW_SCENES * width + (PREVIEW_SCENES - 1) * gap, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, picture in enumerate(row):
            y, x = r * (height + gap), c * (width + gap)
            grid[y:y + height, x:x + width] = picture.repeat(scale, axis=0).repeat(scale, axis=1)
    return grid
