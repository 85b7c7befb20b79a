"""One synthetic scene seen by the five tasks: classification, detection, semantic, instance, panoptic.

Everything is derived from the scene's own class map and instance map, so the five views agree.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from segdemo.data import Scene, render_scene
from segdemo.models import create_model, list_models, model_card
from segdemo.models.registry import ModelCard, get_card
from segdemo.palette import SCENE_CLASSES, SCENE_PALETTE, colorize
from segdemo.serving import forward_latency_ms


@dataclass
class TaskViews:
    """The five answers for one scene (images are ``(H, W, 3)`` uint8)."""

    image: np.ndarray
    label: int  # classification: the class covering most pixels among objects
    boxes: list[tuple[int, int, int, int, int]]  # detection: (x0, y0, x1, y1, class), one per visible object
    detection: np.ndarray
    semantic: np.ndarray
    instance: np.ndarray
    panoptic: np.ndarray


def instance_colours(count: int, seed: int = 0) -> np.ndarray:
    """``(count + 1, 3)`` distinct bright colours; row 0 (no object) is black."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(60, 256, (count + 1, 3)).astype(np.uint8)
    colours[0] = 0
    return colours


@functools.cache
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A font that has Chinese glyphs when one is installed (Pillow's default font has none)."""
    from matplotlib import font_manager

    for family in ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "DejaVu Sans"):
        try:
            return ImageFont.truetype(font_manager.findfont(family, fallback_to_default=False), size)
        except (ValueError, OSError):
            continue
    return ImageFont.load_default()


def _draw_tag(draw: ImageDraw.ImageDraw, corner: tuple[int, int], text: str, colour: tuple[int, ...],
              font: ImageFont.ImageFont | ImageFont.FreeTypeFont, size: tuple[int, int]) -> None:
    """A box's class name on a tag of the box's colour: above its top-left corner, or just inside
    the box when there is no room above; always inside the picture.

    Text drawn in the box's colour straight on the scene vanished on objects of the same colour.
    """
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = 2
    width, height = right - left + 2 * pad, bottom - top + 2 * pad
    x = min(max(0, corner[0]), max(0, size[0] - width))
    y = corner[1] - height if corner[1] - height >= 0 else corner[1]
    y = min(y, max(0, size[1] - height))
    draw.rectangle((x, y, x + width - 1, y + height - 1), fill=colour)
    luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
    draw.text((x + pad - left, y + pad - top), text, fill=(0, 0, 0) if luminance > 140 else (255, 255, 255),
              font=font)


def boxes_of(scene: Scene) -> list[tuple[int, int, int, int, int]]:
    """Tight boxes ``(x0, y0, x1, y1, class)`` of every object with visible pixels (vectorised per object)."""
    boxes = []
    for obj in np.unique(scene.instances):
        if obj == 0:
            continue
        ys, xs = np.nonzero(scene.instances == obj)
        boxes.append((int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max()), int(scene.labels[obj - 1])))
    return boxes


def views(seed: int, index: int, size: int = 192, lang: str = "en") -> TaskViews:
    """Render scene ``(seed, index)`` and its five task views (labels in ``lang``: ``"en"`` or ``"zh"``)."""
    scene = render_scene(seed, index, size)
    names = [pair[1 if lang == "zh" else 0] for pair in SCENE_CLASSES]
    things = scene.mask[scene.mask > 0]
    label = int(np.bincount(things, minlength=len(names))[1:].argmax() + 1) if things.size else 0

    boxes = boxes_of(scene)
    canvas = Image.fromarray(scene.image)
    draw = ImageDraw.Draw(canvas)
    font = _font(max(10, size // 16))
    for x0, y0, x1, y1, cls in boxes:
        colour = tuple(int(c) for c in SCENE_PALETTE[cls])
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=max(1, size // 96))
        _draw_tag(draw, (x0, y0), names[cls], colour, font, canvas.size)

    semantic = colorize(scene.mask, SCENE_PALETTE)
    ids = instance_colours(int(scene.instances.max()), seed=index)
    instance = ids[scene.instances]
    # Panoptic: stuff (background) by its class colour, every thing by its own id colour.
    panoptic = np.where((scene.instances > 0)[..., None], instance, semantic)
    return TaskViews(scene.image, label, boxes, np.asarray(canvas), semantic, instance, panoptic.astype(np.uint8))


# --- the timeline of the zoo's architectures ---------------------------------------------------------------

#: Side of the square input the Overview's latency measurement uses (small: it runs on the class's server).
LATENCY_SIZE = 256
_latency_lock = threading.Lock()
_latencies: dict[str, float] = {}


@dataclass(frozen=True)
class TimelineEntry:
    """One architecture of the zoo on the timeline: its :class:`ModelCard` and its measured numbers.

    ``params`` and ``val_miou`` come from the shipped checkpoint's card (``val_miou`` is None when no
    checkpoint is shipped: "not trained yet"); ``latency_ms`` from :func:`measure_latency` once measured.
    ``segment_key`` is the Segment tab's picker value (``"shipped:<stem>"``) or None.
    """

    card: ModelCard
    params: int
    val_miou: float | None
    latency_ms: float | None
    segment_key: str | None

    @property
    def name(self) -> str:
        return self.card.name


def timeline(cards: list[dict[str, Any]] | None = None) -> list[TimelineEntry]:
    """Every registered architecture, oldest first, with its shipped checkpoint's numbers.

    Args:
        cards: checkpoint cards (with ``stem``) to read params and val mIoU from; default: the shipped
            ones (:func:`segdemo.serving.shipped`).
    """

    if cards is None:
        from segdemo.serving import shipped

        cards = shipped()
    best: dict[str, dict[str, Any]] = {}
    for card in cards:  # several checkpoints of one architecture: the best one speaks for it
        miou = card.get("metrics", {}).get("miou", -1.0)
        if card["model"] not in best or miou > best[card["model"]].get("metrics", {}).get("miou", -1.0):
            best[card["model"]] = card
    entries = []
    for name in list_models():
        info, card = get_card(name), best.get(name)
        params = card.get("params") if card else None
        if params is None:  # builds the small model once (cached by the registry)
            params = model_card(name, None, len(SCENE_CLASSES))["params"]
        entries.append(TimelineEntry(
            card=info, params=int(params),
            val_miou=card.get("metrics", {}).get("miou") if card else None, latency_ms=_latencies.get(name),
            segment_key=f"shipped:{Path(card['stem']).name}" if card and "stem" in card else None))
    # FCN-32s, -16s, -8s in the paper's order (coarse to fine): larger stride first.
    return sorted(entries, key=lambda e: (e.card.year, e.card.family, -int(re.sub(r"\D", "", e.name) or 0), e.name))


def measure_latency(names: list[str] | None = None, size: int = LATENCY_SIZE, repeats: int = 3) -> dict[str, float]:
    """Median forward time (ms) of each small model on one ``size``×``size`` image on this machine.

    Measured once per process (later calls return the stored numbers); one caller measures at a time so
    a class pressing the button together costs one measurement. Weights do not change the time, so a
    freshly built model stands in for the checkpoint; it runs on the app's path
    (:func:`segdemo.serving.forward_latency_ms`), so the timeline and Segment show the same figure.
    """

    with _latency_lock:
        for name in names or list_models():
            if name not in _latencies:
                model = create_model(name, len(SCENE_CLASSES))
                _latencies[name] = forward_latency_ms(model, size, repeats=repeats)
        return dict(_latencies)
