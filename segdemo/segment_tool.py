"""What the Segment tab does, without gradio: pick models, segment an image, compare, score against truth.

Models are named by keys: ``"shipped:<name>"`` for a checkpoint in ``checkpoints/`` (offline, trained on
synthetic scenes by ``python -m segdemo.train``) and ``"pretrained:<key>"`` for published VOC weights
(:mod:`segdemo.models.pretrained`, downloaded once). Loaded models live in one bounded, thread-safe cache.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segdemo.errors import InputError
from segdemo.inference import ModelCache, Segmentation, Segmenter, configure_allocator, configure_threads
from segdemo.train_sessions import SESSION_PREFIX

#: Side of the example scenes when no shipped checkpoint says its training size.
DEFAULT_SCENE_SIZE = 256
#: Published weights the tab offers (21 VOC classes, softmax).
PRETRAINED = ("deeplabv3_mobilenet_v3_large_voc", "lraspp_mobilenet_v3_large_voc", "fcn_resnet50_voc",
              "deeplabv3_resnet50_voc")
MAX_COMPARE = 4
#: Public-domain / CC0 example photographs (sources and terms in the folder's LICENSE.md).
PHOTOS = Path(__file__).resolve().parent / "assets" / "photos"
SESSION_TRAINED_ON = {"en": "synthetic scenes, trained by you in the Train tab",
                      "zh": "合成场景，由你在“训练”页训练"}


def checkpoint_dir() -> Path:
    """The shipped-checkpoint folder (``SEGDEMO_CHECKPOINT_DIR`` overrides it, e.g. in tests)."""
    from segdemo.checkpoints import CHECKPOINT_DIR

    return Path(os.environ.get("SEGDEMO_CHECKPOINT_DIR", CHECKPOINT_DIR))


def max_side() -> int:
    """Longest side the tab works at (``SEGDEMO_MAX_SIDE``, default 1024)."""
    return int(os.environ.get("SEGDEMO_MAX_SIDE", "1024"))


def shipped() -> list[dict[str, Any]]:
    """Cards of the shipped checkpoints, sorted by model name (read again only when the folder changes)."""
    folder = checkpoint_dir()
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        stamp = None
    return list(_cards(str(folder), stamp))


@functools.lru_cache(maxsize=8)
def _cards(folder: str, stamp: int | None) -> tuple[dict[str, Any], ...]:  # stamp: the cache key
    # Every Segment request asks for the picker's entries: reading nine JSON files each time was
    # a fifth of the handler's time.
    from segdemo.checkpoints import list_checkpoints

    return tuple(list_checkpoints(folder))


@dataclass(frozen=True)
class Choice:
    """One entry of the model picker."""

    key: str
    model: str  # registry name (or torchvision architecture for pretrained)
    family: str
    display: dict[str, str]
    trained_on: dict[str, str]
    miou: float | None
    params: int | None
    cached: bool = True
    size: int | None = None  # side of the synthetic scenes it was trained and validated on


def choices(user: str | None = None) -> list[Choice]:
    """Every model the tab can run: shipped first (grouped by family), then the models ``user``
    trained in the Train tab this session, then published weights."""
    from segdemo.models.pretrained import pretrained_info
    from segdemo.models.registry import get_card

    out = []
    for card in shipped():
        info = get_card(card["model"])  # no model is built: the picker must be cheap
        rec = card.get("recipe", {})
        out.append(Choice(
            key=f"shipped:{Path(card['stem']).name}", model=card["model"], family=info.family,
            display=dict(info.display),
            trained_on={"en": f"synthetic scenes, {rec.get('size', '?')} px, {rec.get('steps_done', '?')} steps",
                        "zh": f"合成场景，{rec.get('size', '?')} 像素，{rec.get('steps_done', '?')} 步"},
            miou=card.get("metrics", {}).get("miou"), params=card.get("params"),
            size=card.get("validation", {}).get("size") or rec.get("size")))
    out.sort(key=lambda c: (c.family, c.model))
    if user:
        from segdemo.train_sessions import session_models

        for item in session_models(user):
            out.append(Choice(key=item.key, model=item.model, family=get_card(item.model).family,
                              display=item.display, trained_on=SESSION_TRAINED_ON, miou=item.miou,
                              params=item.params, size=item.size))
    for key in PRETRAINED:
        info = pretrained_info(key)
        out.append(Choice(key=f"pretrained:{key}", model=info["architecture"], family="pretrained",
                          display=info["display"], trained_on=info["source"], miou=None, params=None,
                          cached=info["cached"]))
    return out


def default_key() -> str | None:
    """The shipped model with the best validation mIoU (what the tabs show first), else the first choice."""
    options = choices()
    shipped_ones = [c for c in options if c.miou is not None and c.key.startswith("shipped:")]
    if shipped_ones:
        return max(shipped_ones, key=lambda c: c.miou).key
    return options[0].key if options else None


def choice(key: str, user: str | None = None) -> Choice:
    for item in choices(user):
        if item.key == key:
            return item
    raise InputError("err.unknown_model", "There is no model {name}.", name=key)


def _load(key: str) -> Segmenter:
    from segdemo.models.fuse import inference_dtype, prepare_for_inference

    configure_threads()
    configure_allocator()
    dtype = inference_dtype()  # bfloat16 where the CPU has it: about 2x faster convolutions
    kind, _, name = key.partition(":")
    if kind == "shipped" and Path(name).name != name:  # a stem in the folder, never a path of the caller's
        raise InputError("err.unknown_model", "There is no model {name}.", name=key)
    if kind in ("shipped", "session"):
        from segdemo.checkpoints import load_checkpoint

        # A session name is a checkpoint stem that segmenter() found among the user's own runs.
        checkpoint = load_checkpoint(checkpoint_dir() / name if kind == "shipped" else name)
        card = checkpoint.card
        return Segmenter(prepare_for_inference(checkpoint.model, dtype=dtype), card["normalization"], card)
    if kind == "pretrained" and name in PRETRAINED:
        from segdemo.models.pretrained import load_pretrained

        model, info = load_pretrained(name, progress=True)
        card = {"classes": {"names": [c["en"] for c in info["classes"]],
                            "names_zh": [c["zh"] for c in info["classes"]],
                            "palette": info["palette"]}, "model": info["architecture"]}
        return Segmenter(prepare_for_inference(model, dtype=dtype), info["normalization"], card)
    raise InputError("err.unknown_model", "There is no model {name}.", name=key)


def ensure_weights(key: str, progress: Callable[[int, int | None], None] | None = None) -> None:
    """Download the published weights of a ``"pretrained:..."`` key if they are not cached yet.

    Args:
        progress: called with ``(bytes so far, total bytes or None)`` while downloading.

    Raises:
        InputError: ``err.weights_offline`` without network (the shipped models keep working).
    """
    kind, _, name = key.partition(":")
    if kind != "pretrained" or name not in PRETRAINED:
        return
    from segdemo.models.pretrained import download, pretrained_info

    info = pretrained_info(name)
    if not info["cached"]:
        download(info["url"], Path(info["path"]), progress or False)


CACHE = ModelCache(_load, max_size=int(os.environ.get("SEGDEMO_MODEL_CACHE", "6")))


def segmenter(key: str, user: str | None = None) -> Segmenter:
    """The cached segmenter of ``key`` (loaded on first use).

    Args:
        key: a picker key; ``"session:<run id>"`` keys are looked up among ``user``'s runs only,
            so nobody can load another user's model or a path of their choice.
    """
    if key.startswith(SESSION_PREFIX):
        from segdemo.train_sessions import session_checkpoint

        return CACHE.get(SESSION_PREFIX + session_checkpoint(user or "", key))
    return CACHE.get(key)


def class_info(seg: Segmenter) -> tuple[list[str], list[str], np.ndarray]:
    """English names, Chinese names and ``(K, 3)`` uint8 palette of a segmenter's classes."""
    classes = seg.card.get("classes", {})
    names = list(classes.get("names", []))
    return names, list(classes.get("names_zh", names)), np.asarray(classes.get("palette"), dtype=np.uint8)


def class_table(labels: np.ndarray, names: list[str]) -> list[tuple[int, str, float]]:
    """``(class id, name, pixel share in %)`` of every class present, largest first."""
    counts = np.bincount(labels.ravel(), minlength=len(names))
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
    from segdemo.metrics import confusion_matrix, metrics_from_confusion

    return float(metrics_from_confusion(confusion_matrix(pred, truth, num_classes))["miou"])


def scene_size() -> int:
    """Side of the example scenes: the shipped models' training size (objects at the scale they know)."""
    sizes = [card.get("validation", {}).get("size") for card in shipped()]
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
    from segdemo.data import render_scene

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
    seg = segmenter(key, user)
    out = seg(image)
    names, names_zh, palette = class_info(seg)
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
    from segdemo.palette import overlay

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
    from segdemo.palette import enlarge

    index = (np.clip(confidence, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    return enlarge(np.take(_magma(), index, axis=0), min_side)


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
        shipped_keys = [c.key for c in choices() if c.key.startswith("shipped:")]
        first = default_key()
        keys = list(dict.fromkeys(([first] if first else []) + shipped_keys))[: CACHE.max_size]
    image, truth = scene(0)
    for key in keys:
        result = run(key, image, truth)
        present(result, image, 0.5, result.names)
    return keys
