"""One synthetic scene seen by the five tasks: classification, detection, semantic, instance, panoptic.

Everything is derived from the scene's own class map and instance map, so the five views agree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from segdemo.data import Scene, render_scene
from segdemo.palette import SCENE_CLASSES, SCENE_PALETTE, colorize


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
    for x0, y0, x1, y1, cls in boxes:
        colour = tuple(int(c) for c in SCENE_PALETTE[cls])
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=max(1, size // 96))
        font = _font(max(10, size // 16))
        draw.text((x0 + 2, max(0, y0 - font.size - 2) if hasattr(font, "size") else y0), names[cls], fill=colour,
                  font=font)

    semantic = colorize(scene.mask, SCENE_PALETTE)
    ids = instance_colours(int(scene.instances.max()), seed=index)
    instance = ids[scene.instances]
    # Panoptic: stuff (background) by its class colour, every thing by its own id colour.
    panoptic = np.where((scene.instances > 0)[..., None], instance, semantic)
    return TaskViews(scene.image, label, boxes, np.asarray(canvas), semantic, instance, panoptic.astype(np.uint8))
