"""Previews of a pipeline: a seeded grid of augmented pairs, what each sample's transforms did, and
pictures that show the mask moved with the image (coloured mask, overlay, mask contours on the image).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segdemo.augment.catalogue import IGNORE_INDEX
from segdemo.augment.pipeline import Step, build
from segdemo.errors import InputError

# Parameters albumentations records that say nothing to a student (arrays, shapes, fill values).
_HIDDEN = {"shape", "interpolation", "fill", "fill_mask", "matrix", "bbox_matrix", "output_shape", "map_x",
           "map_y", "mask_interpolation", "crop_coords", "pad_params", "kernel", "noise_map", "dx", "dy",
           "tiles", "border_mode"}
_ALWAYS = {"Resize", "Normalize"}  # applied to every sample: not worth repeating under each


@dataclass
class Sample:
    """One augmented pair.

    Attributes:
        image: ``(S, S, 3)`` uint8.
        mask: ``(S, S)`` uint8 class ids, 255 where a border came in.
        applied: ``[(transform name, {param: value})]`` in the order they ran.
        unchanged: image and mask are exactly the resized original: nothing ran, or what ran had no
            effect (``RandomRotate90`` drawing 0 turns, a flip undone by another flip and a transpose…).
    """

    image: np.ndarray
    mask: np.ndarray
    applied: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    unchanged: bool = False


def _short(value: Any) -> Any | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), 2)
    if isinstance(value, dict) and value.keys() == {"x", "y"}:  # Affine's uniform scale {"x": s, "y": s}
        x, y = _short(value["x"]), _short(value["y"])
        return x if x == y else (x, y)
    if isinstance(value, (tuple, list)) and 0 < len(value) <= 4 and all(np.isscalar(v) for v in value):
        return tuple(_short(v) for v in value)
    return None


def summarize_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The readable part of what albumentations recorded for one applied transform."""
    out = {}
    for key, value in params.items():
        if key in _HIDDEN:
            continue
        short = _short(value)
        if short is not None:
            out[key] = short
    return out


def format_applied(applied: list[tuple[str, dict[str, Any]]]) -> str:
    """``"HorizontalFlip · Affine(rotate=-12.3, scale=1.05)"``, or ``"—"`` when nothing ran."""
    parts = []
    for name, params in applied:
        inner = ", ".join(f"{k}={v}" for k, v in params.items())
        parts.append(f"{name}({inner})" if inner else name)
    return " · ".join(parts) if parts else "—"


def check_pair(image: np.ndarray, mask: np.ndarray | None, name: str = "mask") -> tuple[np.ndarray, np.ndarray]:
    """Validate a user's image and mask and return them as uint8 (a missing mask is all background).

    Raises:
        InputError: ``err.folder_size_mismatch`` (sizes differ), ``err.mask_labels`` (labels above 255),
            ``err.augment_mask_negative`` (negative labels).
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    if mask is None:
        return image, np.zeros(image.shape[:2], dtype=np.uint8)
    mask = np.asarray(mask)
    if mask.shape != image.shape[:2]:
        raise InputError("err.folder_size_mismatch",
                         "{name}: the mask is {mask_w}×{mask_h} but the image is {image_w}×{image_h}.",
                         name=name, mask_w=mask.shape[1] if mask.ndim > 1 else 0, mask_h=mask.shape[0],
                         image_w=image.shape[1], image_h=image.shape[0])
    if mask.size and mask.min() < 0:
        raise InputError("err.augment_mask_negative", "{name} has negative labels.", name=name)
    if mask.size and mask.max() > 255:
        raise InputError("err.mask_labels", "{name} has labels above 255.", name=name)
    return image, mask.astype(np.uint8)


def augment_grid(image: np.ndarray, mask: np.ndarray, steps: list[Step], *, n: int = 8, seed: int = 0,
                 size: int = 256) -> list[Sample]:
    """``n`` augmented pairs from one seeded pipeline (the same seed always gives the same grid).

    Args:
        image: ``(H, W, 3)`` uint8.
        mask: ``(H, W)`` uint8 class ids.
        steps: the pipeline (without Resize/Normalize, which :func:`~segdemo.augment.pipeline.build` adds).
        n: number of samples, 1..64.
        seed: seed of the Compose.
        size: output side.

    Returns:
        ``n`` :class:`Sample`s, each ``size``×``size``.
    """
    if not 1 <= n <= 64:
        raise ValueError(f"n must be in 1..64, got {n}")
    image, mask = check_pair(image, mask)
    pipeline = build(steps, size=size, normalize=False, seed=seed, save_applied_params=True)
    plain = build([], size=size, normalize=False)(image=image, mask=mask)  # only the resize
    samples = []
    for _ in range(n):
        out = pipeline(image=image, mask=mask)
        applied = [(name, summarize_params(name, params)) for name, params in out["applied_transforms"]
                   if name not in _ALWAYS]
        unchanged = np.array_equal(out["image"], plain["image"]) and np.array_equal(out["mask"], plain["mask"])
        samples.append(Sample(out["image"], out["mask"], applied, unchanged))
    return samples


def boundaries(mask: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: pixels whose label differs from a neighbour's (right or below), thickened by one."""
    edge = np.zeros(mask.shape, dtype=bool)
    edge[:, :-1] |= mask[:, 1:] != mask[:, :-1]
    edge[:-1, :] |= mask[1:, :] != mask[:-1, :]
    thick = edge.copy()
    thick[1:, :] |= edge[:-1, :]
    thick[:, 1:] |= edge[:, :-1]
    return thick


def draw_contours(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = (255, 255, 255),
                  halo: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """The image with the mask's class boundaries drawn on it (a light line on a dark halo).

    If the mask moved with the image, the lines sit exactly on the objects' edges.
    """
    line = boundaries(mask)
    outer = line.copy()
    outer[1:, :] |= line[:-1, :]
    outer[:-1, :] |= line[1:, :]
    outer[:, 1:] |= line[:, :-1]
    outer[:, :-1] |= line[:, 1:]
    out = image.copy()
    out[outer] = halo
    out[line] = color
    return out


def sample_panels(sample: Sample, palette: np.ndarray, alpha: float = 0.5) -> dict[str, np.ndarray]:
    """The pictures of one sample: ``image``, coloured ``mask``, ``overlay`` and ``contours``."""
    from segdemo.palette import colorize, overlay

    return {
        "image": sample.image,
        "mask": colorize(sample.mask, palette),
        "overlay": overlay(sample.image, sample.mask, palette, alpha),
        "contours": draw_contours(sample.image, sample.mask),
    }


def hstack(panels: list[np.ndarray], gap: int = 4, background: int = 255) -> np.ndarray:
    """Side by side with a ``gap``-pixel white margin (all panels of the same height)."""
    height = panels[0].shape[0]
    spacer = np.full((height, gap, 3), background, dtype=np.uint8)
    parts: list[np.ndarray] = []
    for i, panel in enumerate(panels):
        if i:
            parts.append(spacer)
        parts.append(panel)
    return np.concatenate(parts, axis=1)


def ignored_fraction(mask: np.ndarray) -> float:
    """Share of pixels marked ignore (255): how much border a sample brought in."""
    return float((mask == IGNORE_INDEX).mean()) if mask.size else 0.0
