"""The training loop, shared by the CLI (``python -m segdemo.train``) and the Train tab.

As in the course: Adam, ``ReduceLROnPlateau``, a train loop and a validation loop. Added:
a loss chosen by name (:mod:`segdemo.losses`), the augmentation pipeline of
:mod:`segdemo.augment`, validation mIoU from :mod:`segdemo.metrics` every epoch, the best
checkpoint saved in the project's format, resume, seeding, device auto-detection, and a
step/time budget. Progress is reported through a callback so that the CLI can draw a tqdm
bar and the web app live curves from the same loop.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import random
import shlex
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from segdemo.checkpoints import (
    card_path,
    load_checkpoint,
    load_train_state,
    save_checkpoint,
    save_train_state,
)
from segdemo.data import IMAGENET_NORMALIZATION, SynthScenes
from segdemo.losses import create_loss
from segdemo.metrics import ConfusionMatrix
from segdemo.models import create_model
from segdemo.models.complexity import count_params
from segdemo.models.registry import resolve_options
from segdemo.palette import scene_classes
from segdemo.strings import both

#: ImageNet statistics: every model in the zoo sees inputs normalised this way.
NORMALIZATION = IMAGENET_NORMALIZATION  # what the cards record
ZOO_TARGET_MIOU = 0.80  # a shipped checkpoint below this says so on its card (issue: every network, trained)
SCHEDULES = ("plateau", "onecycle")
#: Top-level modules that make up a model's encoder (what a warm start copies); the decoder/head stays fresh.
#: Top-level module names that hold a model's encoder (Fast-SCNN names its two encoder stages).
ENCODER_PREFIXES = ("encoder", "bottleneck", "backbone", "learning_to_downsample", "global_feature_extractor")


def encoder_keys(state: dict[str, torch.Tensor]) -> list[str]:
    """The entries of a state dict that belong to the encoder (see :data:`ENCODER_PREFIXES`)."""
    return [k for k in state if k.split(".", 1)[0].startswith(ENCODER_PREFIXES)]


def _version(stem: str | Path) -> tuple[int, int] | None:
    try:
        stat = card_path(stem).stat()
    except OSError:
        return None  # load_checkpoint says what is missing
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=8)
def _weights(stem: str, version: tuple[int, int] | None) -> dict[str, torch.Tensor]:  # version: the cache key
    # Every Train-tab run starts from a shipped checkpoint: loaded, hash-checked and built once, not per run
    # (~45 ms of each run's start). The loaded model is not kept, so its state dict (detached tensors) needs
    # no copy: the tensors are only read (load_state_dict copies them).
    return dict(load_checkpoint(stem).model.state_dict())


def warm_start_encoder(model: nn.Module, stem: str) -> int:
    """Copy the encoder weights of checkpoint ``stem`` into ``model``; returns how many tensors were copied.

    Raises:
        ValueError: the checkpoint is another architecture, or ``model`` has no encoder modules.
    """
    source = _weights(str(stem), _version(stem))
    target = model.state_dict()
    keys = [k for k in encoder_keys(target) if k in source and source[k].shape == target[k].shape]
    if not keys:
        raise ValueError(f"{stem} has no encoder weights that fit this model")
    model.load_state_dict({k: source[k] for k in keys}, strict=False)
    return len(keys)


@dataclass
class TrainConfig:
    """Everything that defines a run; stored in the checkpoint card as its recipe."""

    model: str = "unet"
    variant: str = "small"
    options: dict[str, Any] = field(default_factory=dict)  # builder options over the variant's
    loss: str = "ce"  # a name of segdemo.losses.LOSSES
    augment: str = "light"  # a preset of segdemo.augment.PRESETS
    size: int = 128  # training and validation image side, pixels
    batch_size: int = 8
    epochs: int = 10
    steps_per_epoch: int = 100
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 4  # ReduceLROnPlateau: epochs without a better val mIoU before halving the lr
    schedule: str = "plateau"  # "plateau" (halve on a val plateau) or "onecycle" (warm up to lr, anneal to ~0)
    seed: int = 0
    task: str = "shapes"  # which scenes (segdemo.data.TASKS): "shapes" (all five) or "easy" (discs and squares)
    train_scenes: int | None = None  # cycle over this many scenes (overfitting demos); None = all fresh
    val_size: int = 200  # held-out synthetic scenes
    val_seed: int = 1_000_003  # far from any training seed, so no scene is shared
    max_steps: int | None = None  # stop after this many optimizer steps in total
    time_budget: float | None = None  # stop after this many seconds of training
    device: str = "auto"  # "auto" picks CUDA when available, else CPU
    threads: int | None = None  # torch CPU threads (default: torch's choice)
    channels_last: bool = True  # faster convolutions on CPU
    eval_every: int | None = None  # validate every N steps as well as every epoch
    out: str | None = None  # checkpoint stem, e.g. "checkpoints/unet"
    resume: bool = False  # continue from <out>'s weights and optimizer state
    warm_start: str | None = None  # checkpoint stem whose encoder weights start the run (the rest is fresh)

    def to_command(self) -> str:
        """The ``python -m segdemo.train`` command line that reproduces this run."""
        defaults = TrainConfig()
        parts = ["python", "-m", "segdemo.train"]
        for f in dataclasses.fields(self):
            value, default = getattr(self, f.name), getattr(defaults, f.name)
            if f.name in ("device", "threads") or (value == default and f.name not in ("model", "variant")):
                continue
            flag = "--" + f.name.replace("_", "-")
            if f.name == "options":
                # JSON for everything but plain strings, so lists and booleans parse back as themselves
                parts += [flag, ",".join(f"{k}={v if isinstance(v, str) else json.dumps(v, separators=(',', ':'))}"
                                         for k, v in value.items())]
            elif isinstance(value, bool):
                parts.append(flag if value else "--no-" + flag[2:])
            else:
                parts += [flag, str(value)]
        return shlex.join(parts)


@dataclass
class TrainResult:
    """What a run produced: the best model and its metrics, and the curves."""

    model: nn.Module
    best_metrics: dict[str, Any]
    history: list[dict[str, Any]]
    steps: int
    seconds: float
    stopped_early: bool
    card: dict[str, Any] | None = None


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (data is seeded by index separately)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"`` → CUDA if available, else CPU; anything else is passed to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def normalize(images: torch.Tensor) -> torch.Tensor:
    """ImageNet-normalise a ``(N, 3, H, W)`` batch in [0, 1]."""
    mean = images.new_tensor(NORMALIZATION["mean"]).view(1, 3, 1, 1)
    std = images.new_tensor(NORMALIZATION["std"]).view(1, 3, 1, 1)
    return (images - mean) / std


def make_datasets(config: TrainConfig):
    """The training stream and the fixed held-out set, both synthetic scenes.

    Every training sample is a fresh scene (index ``i`` of a long seeded stream), so the model
    never sees the same image twice; the validation scenes come from another seed.
    """
    total = config.epochs * config.steps_per_epoch * config.batch_size
    pipeline = None
    if config.augment != "none":
        from segdemo.augment import build_pipeline

        pipeline = build_pipeline(config.augment, size=config.size, normalize=False, seed=config.seed)
    train = SynthScenes(total, size=config.size, seed=config.seed, transform=pipeline, task=config.task)
    # the same held-out scenes at every validation, in every run: rendered once
    val = SynthScenes(config.val_size, size=config.size, seed=config.val_seed, task=config.task, cache=True)
    return train, val


@torch.inference_mode()
def evaluate(model: nn.Module, loader, num_classes: int, device: torch.device,
             channels_last: bool = True) -> dict[str, Any]:
    """Validation metrics from one confusion matrix summed over the whole set."""
    was_training = model.training
    model.eval()
    accumulator = ConfusionMatrix(num_classes)
    for images, masks in loader:
        images = normalize(images.to(device))
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        accumulator.update(model(images).argmax(1).cpu(), masks)
    model.train(was_training)
    metrics = accumulator.compute()
    return {
        "miou": float(metrics["miou"]),
        "pixel_accuracy": float(metrics["pixel_accuracy"]),
        "per_class_iou": [None if math.isnan(v) else float(v) for v in metrics["iou"]],
    }


def _paced(batches: Iterable[Any], wait: Callable[[], Any]) -> Iterator[Any]:
    """``batches``, calling ``wait()`` before each is made (rendering a batch is work too)."""
    batches = iter(batches)
    while True:
        wait()
        try:
            yield next(batches)
        except StopIteration:
            return


def run_training(
    config: TrainConfig,
    *,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    pause: Callable[[], Any] | None = None,
) -> TrainResult:
    """Train ``config.model`` on synthetic scenes; save the best checkpoint if ``config.out``.

    Args:
        config: the run.
        on_event: called with ``{"type": "step", ...}`` after every step and
            ``{"type": "val", ..., "model": model}`` after every validation (used for progress bars,
            curves and live predictions).
        should_stop: polled every step; returning True ends the run cleanly (the best model so
            far is kept, and validated once more if it never was).
        pause: called before every training and validation batch and may block: the app's runs wait there
            while interactive requests are in flight (``serving.yield_to_requests``).

    Returns:
        A :class:`TrainResult` with the best (highest val mIoU) weights loaded.
    """

    emit = on_event or (lambda event: None)
    stop = should_stop or (lambda: False)
    wait = pause or (lambda: None)
    if config.threads:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    device = pick_device(config.device)
    classes = scene_classes()
    num_classes = len(classes["names"])

    model = create_model(config.model, num_classes, variant=config.variant, **config.options)
    if config.warm_start and not config.resume:
        warm_start_encoder(model, config.warm_start)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {config.schedule!r}")
    # mode="max": the scheduler watches val mIoU, which should go up.
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                                           patience=config.patience)
    per_step = None
    if config.schedule == "onecycle":
        # Short runs learn most per step when the lr rises to its peak and anneals to ~0 by the last step
        # (Smith & Topin 2019); a plateau schedule never gets to lower the lr in 150 steps.
        total = config.epochs * config.steps_per_epoch
        if config.max_steps is not None:
            total = min(total, config.max_steps)
        per_step = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=max(2, total),
                                                       pct_start=0.25)
    start_epoch, step = 0, 0
    # Beside the checkpoint, under its own name (an earlier ".train" stem overwrote the card).
    state_path = Path(f"{config.out}.train-state") if config.out else None
    previous: dict[str, Any] = {}
    if config.resume:
        if not config.out or not Path(f"{config.out}.json").exists():
            raise ValueError("--resume needs --out pointing at an existing checkpoint")
        loaded = load_checkpoint(config.out)
        model.load_state_dict(loaded.model.state_dict())
        previous = loaded.card
        if state_path and Path(f"{state_path}.json").exists():
            extra = load_train_state(optimizer, state_path)
            start_epoch, step = extra["epoch"], extra["step"]
        # The moments are restored, the learning rate is the one asked for now: lowering it is
        # the usual reason to resume, and the old run's plateau schedule may have decayed it to nothing.
        for group in optimizer.param_groups:
            group["lr"] = config.lr
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    loss_fn = create_loss(config.loss)

    train_set, val_set = make_datasets(config)
    generator = torch.Generator().manual_seed(config.seed)
    val_loader = DataLoader(val_set, batch_size=16, shuffle=False)
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"miou": -1.0}
    best_state: dict[str, torch.Tensor] | None = None
    if previous.get("metrics") and previous.get("validation") == validation_spec(config):
        # A resumed run only replaces the checkpoint when it beats it on the same val set.
        best = {**previous["metrics"], "step": previous.get("recipe", {}).get("steps_done", step)}
        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    started, first_step = time.perf_counter(), step
    stopped_early = False

    val_seconds = 0.0  # the last validation's duration: the budget keeps room for the final one

    def validate(epoch: int) -> None:
        nonlocal best, best_state, val_seconds
        val_started = time.perf_counter()
        metrics = evaluate(model, _paced(val_loader, wait), num_classes, device, config.channels_last)
        val_seconds = time.perf_counter() - val_started
        if per_step is None:
            scheduler.step(metrics["miou"])
        record = {"type": "val", "epoch": epoch, "step": step,
                  "seconds": time.perf_counter() - started, **metrics}
        history.append(record)
        emit({**record, "model": model})  # e.g. live predictions; a listener restores the train mode it changes
        if metrics["miou"] > best["miou"]:
            best = {**metrics, "epoch": epoch, "step": step}
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if config.out:  # saved at once, so an interrupted run still leaves its best model
                seconds = time.perf_counter() - started
                save_checkpoint(model, config.out,
                                build_card(config, model, classes, best, step, seconds, previous, first_step))

    def out_of_budget() -> bool:
        # The time budget covers the whole run: stop early enough for the final validation to fit in it.
        return (
            (config.max_steps is not None and step >= config.max_steps)
            or (config.time_budget is not None
                and time.perf_counter() - started + val_seconds >= config.time_budget)
        )

    model.train()
    for epoch in range(start_epoch, config.epochs):
        # Each epoch reads its own slice of the stream: fresh scenes every step.
        first = epoch * config.steps_per_epoch * config.batch_size
        indices = range(first, first + config.steps_per_epoch * config.batch_size)
        if config.train_scenes:
            indices = [i % config.train_scenes for i in indices]
        loader = DataLoader(torch.utils.data.Subset(train_set, indices), batch_size=config.batch_size,
                            shuffle=False, generator=generator, drop_last=True)
        for images, masks in _paced(loader, wait):
            if stop() or out_of_budget():
                stopped_early = True
                break
            images = normalize(images.to(device))
            if config.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            loss = loss_fn(model(images), masks.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            lr = optimizer.param_groups[0]["lr"]  # the rate this step used (before the schedule moves it)
            if per_step is not None and per_step.last_epoch < per_step.total_steps - 1:
                per_step.step()
            step += 1
            emit({"type": "step", "epoch": epoch, "step": step, "loss": float(loss.detach()),
                  "lr": lr, "seconds": time.perf_counter() - started})
            if config.eval_every and step % config.eval_every == 0:
                validate(epoch)
        # Not twice at the same step (eval_every may divide the epoch), but always at least once.
        if (not stopped_early or not history) and (not history or history[-1]["step"] != step):
            validate(epoch)
        if config.out and state_path:
            save_train_state(optimizer, state_path, {"epoch": epoch + 1, "step": step})
        if stopped_early:
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    seconds = time.perf_counter() - started
    result = TrainResult(model=model, best_metrics=best, history=history, steps=step,
                         seconds=seconds, stopped_early=stopped_early)
    if config.out:
        card = build_card(config, model, classes, best, step, seconds, previous, first_step)
        save_checkpoint(model, config.out, card)
        result.card = card
    return result


def validation_spec(config: TrainConfig) -> dict[str, Any]:
    """The held-out set a run is measured on, as written in its card."""
    spec = {"data": "SynthScenes", "n": config.val_size, "seed": config.val_seed, "size": config.size}
    return spec if config.task == "shapes" else {**spec, "task": config.task}


def commands_of(card: dict[str, Any]) -> list[str]:
    """The training commands recorded in a checkpoint card, oldest first."""
    return [c for c in card.get("command", "").split(" && ") if c]


def build_card(config: TrainConfig, model: nn.Module, classes: dict[str, Any], best: dict[str, Any],
               steps: int, seconds: float, previous: dict[str, Any] | None = None,
               first_step: int = 0) -> dict[str, Any]:
    """The checkpoint card of a run (see :mod:`segdemo.checkpoints`).

    Args:
        previous: the card this run resumed from; its commands come first in ``command``, so the
            card always holds the whole chain that reproduces the weights.
        first_step: the step this run started at (a resume with its optimizer state continues the count);
            ``steps_total`` adds this run's steps to the previous card's.
    """

    before = (previous or {}).get("recipe", {})
    steps_total = int(before.get("steps_total", before.get("steps_done", 0))) + steps - first_step
    card = {
        "model": config.model,
        "variant": config.variant,
        "options": resolve_options(config.model, config.variant, **config.options),
        "num_classes": len(classes["names"]),
        "classes": classes,
        "normalization": NORMALIZATION,
        "params": count_params(model),
        "recipe": {
            **dataclasses.asdict(config),
            "data": "SynthScenes",
            "optimizer": "Adam",
            "scheduler": (f"OneCycleLR(max_lr={config.lr}, pct_start=0.25) per step" if config.schedule == "onecycle"
                          else f"ReduceLROnPlateau(mode=max, factor=0.5, patience={config.patience}) on val mIoU"),
            "steps_done": steps,
            "steps_total": steps_total,
            "train_seconds": round(seconds, 1),
            "device": str(pick_device(config.device)),
        },
        "command": " && ".join([*commands_of(previous or {}), config.to_command()]),
        "validation": validation_spec(config),
        "metrics": {k: best[k] for k in ("miou", "pixel_accuracy", "per_class_iou") if k in best},
    }
    if config.out and best.get("miou", 1.0) < ZOO_TARGET_MIOU:  # written by the run, so a --resume keeps it true
        # four decimals: 0.7996 must not read as "0.800, below 0.80"
        card["note"] = both("train.card_below_target", miou=f"{best['miou']:.4f}", steps=f"{steps_total:,}",
                            target=f"{ZOO_TARGET_MIOU:.2f}")
    return card
