"""What the Segment tab computes, without gradio: segment an image, present it, compare, score against truth.

Models come from the model service (:mod:`segdemo.serving`); this module turns one model's answer into what
the tab shows (overlay, one mask per class, confidence map, class table) and scores it on a synthetic scene.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segdemo import serving
from segdemo.data import render_scene
from segdemo.errors import InputError
from segdemo.inference import Segmentation
from segdemo.lessons.train import SESSION_PREFIX
from segdemo.metrics import confusion_matrix, metrics_from_confusion, pixel_counts
from segdemo.palette import enlarge, lookup, overlay

#: Side of the example scenes when no shipped checkpoint says its training size.
DEFAULT_SCENE_SIZE = 256
MAX_COMPARE = 4
#: Public-domain / CC0 example photographs (sources and terms in the folder's LICENSE.md).
PHOTOS = Path(__file__).resolve().parents[1] / "assets" / "photos"
def max_side() -> int:
    """Longest side the tab works at (``SEGDEMO_MAX_SIDE``, default 1024)."""
    return int(os.environ.get("SEGDEMO_MAX_SIDE", "1024"))


def class_table(labels: np.ndarray, names: list[str]) -> list[tuple[int, str, float]]:
    """``(class id, name, pixel share in %)`` of every class present, largest first."""
    counts = pixel_counts(labels, len(names))
    total = max(1, labels.size)
    rows = [(int(k), names[k] if k < len(names) else str(k), 100.0 * counts[k] / total)
            for k in np.flatnonzero(counts)]
    return sorted(rows, key=lambda row: -row[2])


def error_map(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8: correct pixels green, wrong ones red, ignored (255) grey."""
    out = np.where((pred == truth)[..., None], np.array([40, 170, 90], np.uint8), np.array([220, 50, 50], np.uint8))
    out[truth == 255] = (128, 128, 128)
    return out.astype(np.uint8)


def miou(pred: np.ndarray, truth: np.ndarray, num_classes: int) -> float:
    return float(metrics_from_confusion(confusion_matrix(pred, truth, num_classes))["miou"])


def scene_size() -> int:
    """Side of the example scenes: the shipped models' training size (objects at the scale they know)."""
    sizes = [card.get("validation", {}).get("size") for card in serving.shipped()]
    sizes = [s for s in sizes if s]
    return max(set(sizes), key=sizes.count) if sizes else DEFAULT_SCENE_SIZE


def scene(index: int, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic scene ``index`` of the examples stream (image, ground truth; read-only arrays)."""
    size = size or scene_size()
    if not 0 <= int(index) < 10_000:
        raise InputError("err.scene_range", "Scene {index} is not in 0..9999.", index=index)
    return _scene(int(index), int(size))


def example_photos() -> list[str]:
    """Names of the shipped example photographs (``"astronaut"``, ``"cat"``, ...), sorted."""
    return sorted(path.stem for path in PHOTOS.glob("*.jpg"))


@functools.lru_cache(maxsize=16)
def example_photo(name: str) -> np.ndarray:
    """The shipped photograph ``name`` as a read-only ``(H, W, 3)`` uint8 RGB array."""
    from PIL import Image

    if name not in example_photos():
        raise ValueError(f"unknown example photo {name!r}; valid: {', '.join(example_photos())}")
    with Image.open(PHOTOS / f"{name}.jpg") as image:
        array = np.asarray(image.convert("RGB"))
    array.setflags(write=False)
    return array


@functools.lru_cache(maxsize=256)
def _scene(index: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    # A class clicks the same few examples: render each once (blur and noise cost ~20 ms); read-only
    # so that no caller can change what the next one gets.

    s = render_scene(7, index, size)
    image, mask = s.image, s.mask.astype(np.int64)
    image.setflags(write=False)
    mask.setflags(write=False)
    return image, mask


@dataclass
class Result:
    """One model's answer on one image."""

    key: str
    segmentation: Segmentation
    names: list[str]
    names_zh: list[str]
    palette: np.ndarray
    params: int | None
    miou: float | None = None


def run(key: str, image: np.ndarray, truth: np.ndarray | None = None, user: str | None = None) -> Result:
    """Segment ``image`` with model ``key`` (``user``: whose session models to look in); with
    ``truth`` (same classes) also score it."""
    seg = serving.segmenter(key, user)
    out = seg(image)
    names, names_zh, palette = serving.class_info(seg)
    params = seg.card.get("params")
    score = None
    if truth is not None and key.startswith(("shipped:", SESSION_PREFIX)):  # trained on the scenes' classes
        score = miou(out.labels, truth, len(names))
    return Result(key, out, names, names_zh, palette, params, score)


@dataclass
class Presentation:
    """What the Segment tab shows for one result (everything but the strings and Gradio's wrapping)."""

    overlay: np.ndarray  # (H, W, 3) uint8: the image with the mask blended in
    masks: list[tuple[np.ndarray, int]]  # one (H, W) uint8 0/1 mask per present class, largest first
    confidence: np.ndarray  # (h, w, 3) uint8 colour map of the max softmax probability
    classes: list[tuple[int, str, float]]  # class_table rows


def present(result: Result, image: np.ndarray, opacity: float, names: list[str]) -> Presentation:
    """The handler's pictures and table for ``result`` on ``image`` (``names``: in the reader's language)."""
    labels = result.segmentation.labels
    rows = class_table(labels, names)
    return Presentation(overlay=overlay(image, labels, result.palette, float(opacity)),
                        masks=[((labels == k).view(np.uint8), k) for k, _, _ in rows],
                        confidence=confidence_image(result.segmentation.confidence), classes=rows)


@functools.cache
def _magma() -> np.ndarray:
    from matplotlib import colormaps

    return (colormaps["magma"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def confidence_image(confidence: np.ndarray, min_side: int = 256) -> np.ndarray:
    """Max softmax probability as a ``(h, w, 3)`` uint8 colour map (magma: bright = sure).

    A 256-entry lookup table instead of calling the colormap per pixel; small images are enlarged by
    an integer factor so that they stay visible.
    """
    index = (np.clip(confidence, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    return enlarge(lookup(index, _magma()), min_side)


def warm_up(keys: list[str] | None = None) -> list[str]:
    """Load models and run one example scene through the whole Segment path, once.

    A class clicks "Segment" within the same few seconds; without this the first requests also pay
    for loading the weights and for the imports the drawing needs (matplotlib's colour maps). The
    app calls it after its page is served, so it does not lengthen the cold start.

    Args:
        keys: models to load (default: the default model and the shipped ones, up to the cache size).

    Returns:
        The keys that were loaded.
    """
    if keys is None:
        shipped_keys = [c.key for c in serving.choices() if c.key.startswith("shipped:")]
        first = serving.default_key()
        keys = list(dict.fromkeys(([first] if first else []) + shipped_keys))[: serving.CACHE.max_size]
    image, truth = scene(0)
    for key in keys:
        result = run(key, image, truth)
        present(result, image, 0.5, result.names)
    return keys
