"""The shipped models opened up: float32 copies, ASPP branches silenced, other output strides, FCN's
score maps stage by stage, the feature maps of each stage, and boundary quality.

The Segment tab's models (:mod:`segdemo.serving`) are optimised for speed: BatchNorm folded, bfloat16,
no gradients. Looking inside needs the float32 modules as trained (gradients for the effective receptive
field, hooks on named layers), so this module keeps its own small cache of them, loaded with
:func:`segdemo.checkpoints.load_checkpoint`. Hooks are added and removed under one lock per model, so two
requests never see each other's.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segdemo import serving
from segdemo.checkpoints import load_checkpoint
from segdemo.data import SynthScenes
from segdemo.errors import InputError
from segdemo.metrics import ConfusionMatrix
from segdemo.models import create_model
from segdemo.models.deeplab import ASPP
from segdemo.models.layers import crop_to

#: ASPP's five branches in the order of ``ASPP.convs``.
ASPP_BRANCHES = ("conv1x1", "rate1", "rate2", "rate3", "pooling")
OUTPUT_STRIDES = (8, 16, 32)
#: Boundary tolerance (px) of the boundary F-score.
BOUNDARY_TOLERANCE = 2


@dataclass
class Loaded:
    """A shipped model as trained (float32, eval, no parameter gradients), its card and a hook lock."""

    key: str
    model: nn.Module
    card: dict[str, Any]
    lock: threading.Lock

    @property
    def name(self) -> str:
        return self.card["model"]


def _stem(key: str) -> Path:
    kind, _, name = key.partition(":")
    if kind != "shipped" or not name or Path(name).name != name:
        raise InputError("err.unknown_model", "There is no model {name}.", name=key)
    return serving.checkpoint_dir() / name


@functools.lru_cache(maxsize=12)
def load(key: str) -> Loaded:
    """The float32 model of a ``"shipped:<name>"`` key (cached)."""
    checkpoint = load_checkpoint(_stem(key))
    model = checkpoint.model.float().eval().requires_grad_(False)
    return Loaded(key, model, checkpoint.card, threading.Lock())


def shipped_keys(family: str | None = None) -> list[str]:
    """Keys of the shipped checkpoints (of registry models in ``family``, or of model ``family``'s name)."""
    keys = []
    for card in serving.shipped():
        if family is None or card["model"] == family or card["model"].startswith(family):
            keys.append(f"shipped:{Path(card['stem']).name}")
    return keys


def to_input(image: np.ndarray, card: dict[str, Any]) -> torch.Tensor:
    """``(H, W, 3)`` uint8 → normalised ``(1, 3, H, W)`` float32 with the card's statistics."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    mean = torch.tensor(card["normalization"]["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(card["normalization"]["std"]).view(1, 3, 1, 1)
    x = torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0) / 255.0
    return (x - mean) / std


def palette_of(card: dict[str, Any]) -> np.ndarray:
    return np.asarray(card["classes"]["palette"], dtype=np.uint8)


# ---------------------------------------------------------------- ASPP
def aspp_of(model: nn.Module) -> nn.Module:
    """The ASPP module of a DeepLabV3 (``classifier[0]``) or DeepLabV3+ (``aspp``)."""
    for module in model.modules():
        if isinstance(module, ASPP):
            return module
    raise InputError("err.inside_no_aspp", "{model} has no ASPP module.", model=type(model).__name__)


@contextlib.contextmanager
def silenced(loaded: Loaded, branch: int | None) -> Iterator[nn.Module]:
    """``loaded.model`` with ASPP branch ``branch`` (index in :data:`ASPP_BRANCHES`) giving zeros.

    The branch's output (after its ReLU) is replaced by zeros, as if the branch did not exist, while the
    projection that follows keeps its trained weights: what the rest of the network loses without it.
    """
    if branch is None:
        with loaded.lock:
            yield loaded.model
        return
    if not 0 <= int(branch) < len(ASPP_BRANCHES):
        raise ValueError(f"branch must be in 0..{len(ASPP_BRANCHES) - 1}, got {branch}")
    with loaded.lock:
        handle = aspp_of(loaded.model).convs[int(branch)].register_forward_hook(lambda m, i, out: torch.zeros_like(out))
        try:
            yield loaded.model
        finally:
            handle.remove()


def aspp_rates_px(loaded: Loaded) -> list[int]:
    """The three atrous rates of ASPP in *image* pixels (rate × output stride)."""
    aspp = aspp_of(loaded.model)
    stride = loaded.model.backbone.output_stride
    return [int(rate) * stride for rate in aspp.rates]


# ---------------------------------------------------------------- output stride
@functools.lru_cache(maxsize=6)
def at_output_stride(key: str, output_stride: int) -> tuple[nn.Module, tuple[int, ...], bool]:
    """The same DeepLab weights rebuilt at another output stride (dilation traded for stride).

    Convolution weights do not depend on stride or dilation, so the trained state dict loads unchanged.
    ASPP's rates follow the feature map (:func:`segdemo.models.deeplab.aspp_rates`); where a rate would
    become fractional (odd rates at output stride 32) it is rounded up.

    Returns:
        ``(model, ASPP rates used, rounded?)``.
    """
    if output_stride not in OUTPUT_STRIDES:
        raise ValueError(f"output_stride must be one of {OUTPUT_STRIDES}, got {output_stride}")
    base = load(key)
    options = dict(base.card["options"])
    rates = [int(r) for r in options.get("rates", (6, 12, 18))]
    rounded = output_stride == 32 and any(r % 2 for r in rates)
    if rounded:  # rates are given at stride 16: at 32 they halve; keep them whole and at least 1
        options["rates"] = [2 * max(1, round(r / 2 + 0.01)) for r in rates]
    model = create_model(base.name, base.card["num_classes"], **{**options, "output_stride": output_stride})
    model.load_state_dict(base.model.state_dict())
    model = model.float().eval().requires_grad_(False)
    return model, tuple(aspp_of(model).rates), rounded


# ---------------------------------------------------------------- boundary quality
def boundaries(labels: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)`` labels → bool ``(N, H, W)``: pixels whose right or lower neighbour differs."""
    edge = torch.zeros_like(labels, dtype=torch.bool)
    edge[:, :, :-1] |= labels[:, :, :-1] != labels[:, :, 1:]
    edge[:, :-1, :] |= labels[:, :-1, :] != labels[:, 1:, :]
    return edge


def boundary_counts(pred: torch.Tensor, truth: torch.Tensor, tolerance: int = BOUNDARY_TOLERANCE) -> np.ndarray:
    """``[matched predicted, predicted, matched true, true]`` boundary pixel counts (summed over the batch).

    A predicted boundary pixel is matched if a true one lies within ``tolerance`` px (Chebyshev), and
    the other way round: the counts of the boundary F-score (Csurka et al. 2013, Perazzi et al. 2016).
    """
    bp, bt = boundaries(pred), boundaries(truth)
    size = 2 * tolerance + 1

    def near(edges: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(edges[:, None].float(), size, stride=1, padding=tolerance)[:, 0] > 0

    return np.array([int((bp & near(bt)).sum()), int(bp.sum()), int((bt & near(bp)).sum()), int(bt.sum())])


def boundary_f(counts: np.ndarray) -> float:
    """Boundary F-score from :func:`boundary_counts` (1.0 when neither side has a boundary)."""
    matched_p, total_p, matched_t, total_t = (float(c) for c in counts)
    if total_p == 0 and total_t == 0:
        return 1.0
    precision = matched_p / total_p if total_p else 0.0
    recall = matched_t / total_t if total_t else 0.0
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@torch.inference_mode()
def evaluate(model: nn.Module, card: dict[str, Any], count: int | None = None, batch: int = 20) -> dict[str, float]:
    """mIoU and boundary F-score of ``model`` on the card's validation scenes (or the first ``count``)."""

    spec = card["validation"]
    scenes = SynthScenes(count or spec["n"], size=spec["size"], seed=spec["seed"])
    matrix = ConfusionMatrix(card["num_classes"])
    counts = np.zeros(4, dtype=np.int64)
    for start in range(0, len(scenes), batch):
        images, masks = zip(*(scenes[i] for i in range(start, min(len(scenes), start + batch))), strict=True)
        x = torch.stack(images)
        mean = torch.tensor(card["normalization"]["mean"]).view(1, 3, 1, 1)
        std = torch.tensor(card["normalization"]["std"]).view(1, 3, 1, 1)
        pred = model((x - mean) / std).argmax(1)
        truth = torch.stack(masks)
        matrix.update(pred, truth)
        counts += boundary_counts(pred, truth)
    return {"miou": float(matrix.compute()["miou"]), "boundary_f": boundary_f(counts), "scenes": len(scenes)}


def timed(model: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``(model(x), milliseconds)`` without gradients."""
    with torch.inference_mode():
        start = time.perf_counter()
        out = model(x)
        return out, (time.perf_counter() - start) * 1000.0


# ---------------------------------------------------------------- hooks: stages and FCN score maps
def stage_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules whose outputs are a model's stages, input side first.

    Named for the zoo's U-Net, FCN and DeepLab models; for others the direct children (and theirs, one
    level down) that output feature maps.
    """
    named = dict(model.named_modules())
    wanted: list[str]
    if "encoder1" in named:  # U-Net
        wanted = [f"encoder{i}" for i in range(1, 5)] + ["bottleneck"] + [f"decoder{i}" for i in range(4, 0, -1)]
    elif "backbone.features" in named and "score_fr" in named:  # FCN: the five pools, fc7, the scores
        features = named["backbone.features"]
        wanted = [f"backbone.features.{i}" for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)]
        wanted += ["relu7", "score_fr"]
    elif "backbone.layer1" in named:  # DeepLab
        wanted = ["backbone.maxpool"] + [f"backbone.layer{i}" for i in range(1, 5)]
        wanted += ["aspp" if "aspp" in named else "classifier.0"]
        wanted += ["fuse"] if "fuse" in named else []
    else:
        wanted = [name for name, _ in model.named_children()]
        wanted += [f"{name}.{child}" for name, module in model.named_children() for child, _ in module.named_children()]
    return [(name, named[name]) for name in wanted if name in named]


def record(loaded: Loaded, x: torch.Tensor, names: list[str]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Run ``loaded.model`` on ``x`` and keep the outputs of the named modules (forward hooks).

    Returns:
        ``({name: output}, logits)``; a module that returns a tuple or dict keeps its first tensor.
    """
    named = dict(loaded.model.named_modules())
    outputs: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(module, inputs, out):
            if isinstance(out, dict):
                out = next(iter(out.values()))
            if isinstance(out, (tuple, list)):
                out = out[0]
            outputs[name] = out.detach().clone()  # inplace ReLUs after a hooked module would change it
        return hook

    with loaded.lock, torch.inference_mode():
        handles = [named[name].register_forward_hook(keep(name)) for name in names if name in named]
        try:
            logits = loaded.model(x)
        finally:
            for handle in handles:
                handle.remove()
    return outputs, logits


def fcn_score_maps(loaded: Loaded, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """FCN's class scores at each stage: ``score_fr`` (1/32), after fusing pool4 (1/16) and pool3 (1/8),
    and the final upsampled output, recorded with forward hooks.

    Returns:
        ``[(stage, (1, K, h, w))]``: ``"1/32"``, ``"1/16"``, ``"1/8"`` (as the model has them), ``"out"``.
    """
    names = ["score_fr", "upscore2", "score_pool4", "upscore_pool4", "score_pool3"]
    maps, logits = record(loaded, x, names)
    if "score_fr" not in maps:
        raise InputError("err.inside_not_fcn", "{model} is not an FCN.", model=loaded.name)
    stages = [("1/32", maps["score_fr"])]
    if "score_pool4" in maps:  # the sum the forward computes: upsampled coarse scores + pool4's scores
        fused16 = crop_to(maps["upscore2"], maps["score_pool4"].shape[-2:]) + maps["score_pool4"]
        stages.append(("1/16", fused16))
    if "score_pool3" in maps:
        fused8 = crop_to(maps["upscore_pool4"], maps["score_pool3"].shape[-2:]) + maps["score_pool3"]
        stages.append(("1/8", fused8))
    stages.append(("out", logits))
    return stages
