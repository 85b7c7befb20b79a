"""What the Inside tab computes, without gradio: receptive fields, dilation and ASPP, output stride,
upsampling and the feature maps of each stage, on the shipped checkpoints and the current image.

The pure pieces live in :mod:`segdemo.lessons.inside_rf` (receptive fields), :mod:`.inside_ops`
(dilation, upsampling, drawing) and :mod:`.inside_models` (the models opened up); this module puts them
together into what each section shows. Pictures are ``(H, W, 3)`` uint8 arrays; the UI adds the words.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from segdemo import serving
from segdemo.errors import InputError
from segdemo.lessons import inside_models as models
from segdemo.lessons import inside_ops as ops
from segdemo.lessons.inside_rf import Field, Layer, effective_rf, mass_radius, trace_receptive_field
from segdemo.lessons.segment import miou
from segdemo.models.layers import upsample_logits
from segdemo.palette import colorize

#: Longest side the tab works at: every figure stays within ~2 s on two cores (see the benchmark).
WORK_SIDE = 256
#: Side of the synthetic scenes (the FCNs' training size; the others see larger objects than they learnt).
SCENE_SIZE = 192
#: Models compared in the receptive-field section, in this order, if shipped.
RF_MODELS = ("fcn32s", "fcn8s", "unet", "deeplabv3")
MAX_RF_MODELS = 4
ERF_MASS = 0.9
#: The model of the ASPP and output-stride sections, and the FCNs of the upsampling lab.
DEEPLAB = "deeplabv3"
FCNS = ("fcn32s", "fcn16s", "fcn8s")
TOP_CHANNELS = 4
TILE = 72


def ablation_path(name: str = DEEPLAB) -> Path:
    """Where ``python -m segdemo.tools.ablation`` stores its numbers: next to the checkpoint's card."""
    return serving.checkpoint_dir() / f"{name}.ablation.json"


def stored_ablation(name: str = DEEPLAB) -> dict[str, Any] | None:
    """The stored ASPP ablation and output-stride table, or None if the script has not been run."""
    try:
        return json.loads(ablation_path(name).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def key_of(name: str) -> str:
    return f"shipped:{name}"


def available(names: tuple[str, ...]) -> list[str]:
    """The keys of ``names`` that are shipped, in that order."""
    shipped = set(models.shipped_keys())
    return [key_of(n) for n in names if key_of(n) in shipped]


def work_image(image: np.ndarray) -> np.ndarray:
    """The image at most :data:`WORK_SIDE` px on its longer side (and at least 32 on its shorter)."""
    from PIL import Image

    height, width = image.shape[:2]
    scale = min(1.0, WORK_SIDE / max(height, width))
    scale = max(scale, 32 / min(height, width))
    if scale == 1.0:
        return np.ascontiguousarray(image)
    size = (max(32, round(width * scale)), max(32, round(height * scale)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize(size, Image.Resampling.BILINEAR))


def check_point(image: np.ndarray, point: tuple[float, float] | None) -> tuple[int, int]:
    """A clicked ``(y, x)`` inside the image; the centre when none."""
    height, width = image.shape[:2]
    if point is None:
        return height // 2, width // 2
    y, x = int(round(float(point[0]))), int(round(float(point[1])))
    if not (0 <= y < height and 0 <= x < width):
        raise InputError("err.inside_point", "The point ({x}, {y}) is outside the {w}×{h} image.",
                         x=x, y=y, w=width, h=height)
    return y, x


def marked(image: np.ndarray, point: tuple[int, int]) -> np.ndarray:
    """The image with the clicked point drawn (what the user clicks on)."""
    out = np.array(image)
    ops.draw_dot(out, point, 3, (255, 255, 255))
    return ops.draw_dot(out, point, 1, (230, 40, 40))


def labels_picture(logits: torch.Tensor, card: dict[str, Any], side: int | None = None) -> np.ndarray:
    """Arg-max colours of ``(1, K, h, w)`` scores, enlarged (nearest) so the longer side is ``side``."""
    labels = logits[0].argmax(0).numpy()
    picture = colorize(labels, models.palette_of(card))
    return enlarge_to(picture, side) if side else picture


def enlarge_to(picture: np.ndarray, side: int) -> np.ndarray:
    """Nearest-neighbour resize so that the longer side is ``side`` (crisp cells)."""
    height, width = picture.shape[:2]
    scale = side / max(height, width)
    rows = np.minimum((np.arange(max(1, round(height * scale))) / scale).astype(int), height - 1)
    cols = np.minimum((np.arange(max(1, round(width * scale))) / scale).astype(int), width - 1)
    return picture[rows][:, cols]


# ---------------------------------------------------------------- 1 · receptive field
@functools.lru_cache(maxsize=16)
def theory(key: str) -> tuple[Field, tuple[Layer, ...]]:
    """The theoretical receptive field of a shipped model's output, and its layers (cached)."""
    loaded = models.load(key)
    with loaded.lock:
        trace = trace_receptive_field(loaded.model)
    return trace.output, tuple(trace.layers)


@dataclass
class FieldView:
    """One model's receptive field at the clicked pixel."""

    key: str
    picture: np.ndarray  # image dimmed, ERF in colour, theoretical square, ERF disc
    theory: Field
    erf_radius: float  # px holding ERF_MASS of the gradient
    predicted: int  # class whose logit was differentiated
    class_name: dict[str, str]
    ms: float


def field_picture(image: np.ndarray, erf: np.ndarray, point: tuple[int, int], side: float, radius: float) -> np.ndarray:
    """The image dimmed with the ERF in colour over it, the theoretical square (cyan), the disc holding
    ``ERF_MASS`` of the gradient (white) and the clicked point (red)."""
    peak = float(erf.max()) or 1.0
    strength = np.sqrt(erf / peak)  # a square root shows the tails, which hold most of the mass
    out = ops.blend((image * 0.45).astype(np.uint8), ops.heat(strength, "inferno", 0.0, 1.0), np.clip(strength * 1.5, 0, 0.9))
    ops.draw_box(out, point, side, (0, 220, 255), width=2)
    if np.isfinite(radius):
        ops.draw_ring(out, point, max(radius, 1.0), (255, 255, 255))
    return ops.draw_dot(out, point, 2, (255, 40, 40))


def receptive_fields(keys: list[str], image: np.ndarray, point: tuple[int, int]) -> list[FieldView]:
    """Theoretical and effective receptive field of each model's output at ``point`` ``(y, x)``."""
    import time

    if not keys:
        raise InputError("err.inside_no_models", "Choose at least one model.")
    if len(keys) > MAX_RF_MODELS:
        raise InputError("err.inside_too_many", "Choose at most {n} models.", n=MAX_RF_MODELS)
    views = []
    for key in keys:
        start = time.perf_counter()
        loaded = models.load(key)
        field, _ = theory(key)
        with loaded.lock:
            erf, cls = effective_rf(loaded.model, models.to_input(image, loaded.card), point)
        radius = mass_radius(erf, point, ERF_MASS)
        side = max(image.shape[:2]) * 3 if field.is_global and field.size > 4 * max(image.shape[:2]) else field.size
        names = loaded.card["classes"]
        views.append(FieldView(key, field_picture(image, erf, point, side, radius), field, radius, cls,
                               {"en": names["names"][cls], "zh": names.get("names_zh", names["names"])[cls]},
                               (time.perf_counter() - start) * 1000.0))
    return views


# ---------------------------------------------------------------- 2 · dilation and ASPP
TAP_COLOURS = ((255, 80, 80), (80, 220, 120), (90, 160, 255), (255, 210, 60))


def taps_picture(image: np.ndarray, point: tuple[int, int], rates_px: list[int]) -> np.ndarray:
    """The 3×3 taps of each rate (in image pixels) around ``point``, one colour per rate, and the square
    each one spans."""
    scale = 2  # drawn on the image enlarged ×2, so that taps a few pixels apart stay apart
    out = (image * 0.6).astype(np.uint8).repeat(scale, 0).repeat(scale, 1)
    center = (point[0] * scale + scale // 2, point[1] * scale + scale // 2)
    for rate, colour in zip(rates_px, TAP_COLOURS, strict=False):
        ops.draw_box(out, center, scale * (2 * rate + 1), colour, width=1)
        for tap in ops.dilation_taps(center, rate * scale):
            ops.draw_dot(out, tuple(tap), 1, colour)
    return out


def coverage_picture(rates: list[int], cell: int = 12) -> tuple[np.ndarray, int, int]:
    """The coverage of a stack of dilated 3×3 convolutions as a picture (never-read pixels in dark red).

    Returns:
        ``(picture, pixels never read, pixels in the square)``.
    """
    counts = ops.coverage(rates)
    picture = ops.heat(np.log1p(counts), "viridis")
    picture[counts == 0] = (90, 0, 20)
    cell = max(2, min(cell, 300 // counts.shape[0]))
    picture = picture.repeat(cell, 0).repeat(cell, 1)
    picture[::cell] = picture[:, ::cell] = (30, 30, 30)  # a grid: one square per input pixel
    return picture, int((counts == 0).sum()), int(counts.size)


def parse_rates(text: str) -> list[int]:
    """``"1, 2, 5"`` → ``[1, 2, 5]``; InputError for anything else."""
    try:
        rates = [int(part) for part in str(text).replace("，", ",").split(",") if part.strip()]
        ops.coverage(rates)
    except ValueError:
        raise InputError("err.inside_rates", "{text} is not a list of 1 to 8 dilation rates ≥ 1 (sum ≤ 64), "
                         "e.g. 1, 2, 5.", text=text) from None
    return rates


@dataclass
class Variant:
    """One version of DeepLabV3 on the current image: a silenced ASPP branch or an output stride."""

    label: str  # branch name or "os8" ...
    picture: np.ndarray
    ms: float
    miou: float | None
    boundary_f: float | None
    detail: dict[str, Any]


def _score(logits: torch.Tensor, truth: np.ndarray | None, num_classes: int) -> tuple[float | None, float | None]:
    if truth is None:
        return None, None

    pred = logits[0].argmax(0)
    truth_t = torch.from_numpy(np.array(truth, dtype=np.int64))  # a copy: scenes are read-only
    return miou(pred.numpy(), truth, num_classes), models.boundary_f(models.boundary_counts(pred[None], truth_t[None]))


def aspp_variants(image: np.ndarray, truth: np.ndarray | None, key: str | None = None) -> list[Variant]:
    """DeepLabV3 on ``image`` whole, then with each ASPP branch silenced in turn (``ms``: the head's time
    when the backbone ran once for all)."""
    key = key or key_of(DEEPLAB)
    loaded = models.load(key)
    x = models.to_input(image, loaded.card)
    head = getattr(loaded.model, "classifier", None)
    features = None
    if isinstance(head, torch.nn.Sequential):  # DeepLabV3: the backbone's map is the same for every variant
        features, _ = models.timed(lambda inp: loaded.model.backbone(inp)["out"], x)
    out = []
    for branch in (None, *range(len(models.ASPP_BRANCHES))):
        with models.silenced(loaded, branch) as model:
            if features is None:
                logits, ms = models.timed(model, x)
            else:
                logits, ms = models.timed(lambda f: upsample_logits(head(f), x.shape[-2:]), features)
        miou, bf = _score(logits, truth, loaded.card["num_classes"])
        out.append(Variant("full" if branch is None else models.ASPP_BRANCHES[branch], labels_picture(logits, loaded.card),
                           ms, miou, bf, {}))
    return out


def stride_variants(image: np.ndarray, truth: np.ndarray | None, key: str | None = None) -> list[Variant]:
    """The same DeepLabV3 weights at output stride 8, 16 and 32 on ``image``."""
    key = key or key_of(DEEPLAB)
    card = models.load(key).card
    x = models.to_input(image, card)
    out = []
    for stride in models.OUTPUT_STRIDES:
        model, rates, rounded = models.at_output_stride(key, stride)
        logits, ms = models.timed(model, x)
        miou, bf = _score(logits, truth, card["num_classes"])
        height, width = image.shape[:2]
        out.append(Variant(f"os{stride}", labels_picture(logits, card), ms, miou, bf,
                           {"stride": stride, "rates": rates, "rounded": rounded,
                            "map": (-(-height // stride), -(-width // stride))}))
    return out


# ---------------------------------------------------------------- 4 · upsampling
@dataclass
class Upsampled:
    method: str
    constant: np.ndarray  # picture of ×8 on a constant map
    features: np.ndarray  # picture of ×8 on the model's 1/8 score map
    ripple: float  # relative ripple on the constant map


def upsampling_lab(image: np.ndarray, random_kernels: bool = False, key: str | None = None) -> list[Upsampled]:
    """Each method of :data:`inside_ops.UPSAMPLERS` applied three times (×8) to a constant 8×8 map and to
    FCN-8s's 1/8 score map of ``image`` (its largest score per pixel)."""
    key = key or key_of("fcn8s")
    loaded = models.load(key)
    scores = dict(models.fcn_score_maps(loaded, models.to_input(image, loaded.card)))
    coarse = scores.get("1/8", scores["1/32"])
    constant = torch.ones(1, 1, 8, 8)
    seed = 0 if random_kernels else None
    out = []
    for method in ops.UPSAMPLERS:
        flat, feat = constant, coarse
        for step in range(3):
            flat = ops.upsample2x(flat, method, None if seed is None else seed + step)
            feat = ops.upsample2x(feat, method, None if seed is None else seed + step)
        flat_np = flat[0, 0].numpy()
        mean = float(np.abs(flat_np[4:-4, 4:-4]).mean()) or 1.0
        constant_picture = enlarge_to(ops.heat(flat_np, "gray", 0.0, 2.0 * mean), 192)
        top = feat[0].amax(0).numpy()
        out.append(Upsampled(method, constant_picture, enlarge_to(ops.heat(top, "magma"), 192),
                             ops.ripple(flat_np, border=4)))
    return out


def fcn_stages(image: np.ndarray, side: int = 160) -> list[tuple[str, str, np.ndarray | None, tuple[int, int] | None]]:
    """``(model, stage, picture or None, (h, w))`` for FCN-32s/16s/8s, four stages each (1/32, 1/16,
    1/8, output; None where a model has no such stage), so that a 4-column grid aligns the stages."""
    rows = []
    for key in available(FCNS):
        loaded = models.load(key)
        maps = dict(models.fcn_score_maps(loaded, models.to_input(image, loaded.card)))
        for stage in ("1/32", "1/16", "1/8", "out"):
            scores = maps.get(stage)
            rows.append((loaded.name, stage, None if scores is None else labels_picture(scores, loaded.card, side),
                         None if scores is None else tuple(scores.shape[-2:])))
    return rows


# ---------------------------------------------------------------- 5 · feature maps
@dataclass
class Stage:
    name: str
    picture: np.ndarray  # the most active channels side by side
    size: tuple[int, int]
    channels: int
    stride: float  # input side / map side
    top: list[int]  # their indices


def feature_maps(key: str, image: np.ndarray, top: int = TOP_CHANNELS) -> list[Stage]:
    """The ``top`` most active channels (largest mean activation) of each stage of model ``key`` on ``image``."""
    loaded = models.load(key)
    stages = models.stage_modules(loaded.model)
    maps, _ = models.record(loaded, models.to_input(image, loaded.card), [name for name, _ in stages])
    out = []
    for name, _ in stages:
        fmap = maps.get(name)
        if fmap is None or fmap.dim() != 4:
            continue
        fmap = fmap[0].float()  # (C, h, w)
        order = fmap.mean(dim=(1, 2)).argsort(descending=True)[:top].tolist()
        out.append(Stage(name, _tile_grid([F.interpolate(fmap[c][None, None], size=(TILE, TILE), mode="nearest")[0, 0]
                                           .numpy() for c in order]),
                         tuple(fmap.shape[-2:]), int(fmap.shape[0]), image.shape[0] / fmap.shape[-2], order))
    return out


def _tile_grid(tiles: list[np.ndarray], gap: int = 3) -> np.ndarray:
    """Square ``(h, w)`` maps as a 2-column grid of viridis pictures with white gaps (2×2 for four)."""
    columns = 2 if len(tiles) > 1 else 1
    rows = -(-len(tiles) // columns)
    side = tiles[0].shape[0]
    out = np.full((rows * side + (rows - 1) * gap, columns * side + (columns - 1) * gap, 3), 255, np.uint8)
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        out[row * (side + gap):row * (side + gap) + side, col * (side + gap):col * (side + gap) + side] = \
            ops.heat(tile, "viridis")
    return out
