"""Class names and colours: the synthetic scenes' classes, the PASCAL VOC palette, colourising.

Everything here is numpy (and OpenCV's table lookup and weighted sum, imported on first use) and cheap;
nothing is computed at import time except small constants.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from segdemo.errors import InputError

IGNORE_INDEX = 255
#: Colour of ignored pixels (255) in every colourised mask: a neutral grey that no class uses.
IGNORE_COLOR = (128, 128, 128)

#: The classes of :class:`segdemo.data.SynthScenes`, told apart by shape, never by colour.
SCENE_CLASSES: tuple[tuple[str, str], ...] = (
    ("background", "背景"),
    ("disc", "圆盘"),
    ("square", "方块"),
    ("triangle", "三角形"),
    ("ring", "圆环"),
    ("cross", "十字"),
)
#: Colourblind-friendlier colours (Okabe–Ito based) for the scene classes, background dark.
SCENE_PALETTE: tuple[tuple[int, int, int], ...] = (
    (30, 30, 40),
    (230, 159, 0),
    (86, 180, 233),
    (0, 158, 115),
    (240, 228, 66),
    (204, 121, 167),
)
#: Scene classes that are countable objects ("things"); the background is "stuff".
SCENE_THINGS: tuple[int, ...] = (1, 2, 3, 4, 5)

#: The 21 PASCAL VOC classes (what torchvision's published weights predict).
VOC_CLASSES: tuple[tuple[str, str], ...] = (
    ("background", "背景"), ("aeroplane", "飞机"), ("bicycle", "自行车"), ("bird", "鸟"), ("boat", "船"),
    ("bottle", "瓶子"), ("bus", "公共汽车"), ("car", "汽车"), ("cat", "猫"), ("chair", "椅子"), ("cow", "牛"),
    ("dining table", "餐桌"), ("dog", "狗"), ("horse", "马"), ("motorbike", "摩托车"), ("person", "人"),
    ("potted plant", "盆栽植物"), ("sheep", "羊"), ("sofa", "沙发"), ("train", "火车"), ("tv/monitor", "电视/显示器"),
)


def scene_classes() -> dict[str, Any]:
    """The synthetic scenes' classes as stored in checkpoint cards.

    Returns:
        ``{"names": [en...], "names_zh": [zh...], "palette": [[r, g, b], ...], "things": [ids]}``.
    """
    return {
        "names": [en for en, _ in SCENE_CLASSES],
        "names_zh": [zh for _, zh in SCENE_CLASSES],
        "palette": [list(c) for c in SCENE_PALETTE],
        "things": list(SCENE_THINGS),
    }


def voc_classes() -> dict[str, Any]:
    """The PASCAL VOC classes in the same form as :func:`scene_classes`."""
    return {
        "names": [en for en, _ in VOC_CLASSES],
        "names_zh": [zh for _, zh in VOC_CLASSES],
        "palette": voc_palette()[: len(VOC_CLASSES)].tolist(),
        "things": list(range(1, len(VOC_CLASSES))),
    }


@functools.cache
def _voc_palette() -> np.ndarray:
    # The bit-interleaving colour map of the VOC devkit (labelcolormap.m), vectorised over 256 labels.
    labels = np.arange(256)
    palette = np.zeros((256, 3), dtype=np.int64)
    for shift in range(8):
        for channel in range(3):
            bit = (labels >> channel) >> (3 * shift) & 1
            palette[:, channel] |= bit << (7 - shift)
    palette = palette.astype(np.uint8)
    palette.setflags(write=False)
    return palette


def voc_palette() -> np.ndarray:
    """The PASCAL VOC colour map, ``(256, 3)`` uint8 (index 255, the VOC border, is (224, 224, 192))."""
    return _voc_palette().copy()


def full_palette(palette: Any) -> np.ndarray:
    """A ``(K, 3)`` palette extended to 256 entries (unused labels black, 255 = :data:`IGNORE_COLOR`)."""
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if len(palette) > 256:
        raise ValueError(f"a palette has at most 256 colours, got {len(palette)}")
    table = np.zeros((256, 3), dtype=np.uint8)
    table[: len(palette)] = palette
    if len(palette) <= IGNORE_INDEX:
        table[IGNORE_INDEX] = IGNORE_COLOR
    return table


def _checked_mask(mask: Any) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {mask.shape}")
    if mask.size and (mask.min() < 0 or mask.max() > 255):
        raise ValueError(f"mask values must be in [0, 255], got [{mask.min()}, {mask.max()}]")
    return mask


def colorize(mask: Any, palette: Any) -> np.ndarray:
    """Colour a class mask.

    Args:
        mask: ``(H, W)`` integer class ids in [0, 255] (255 = ignore, drawn grey).
        palette: ``(K, 3)`` uint8 colours.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    return lookup(_checked_mask(mask), full_palette(palette))


def lookup(index: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[index]``: a ``(256, 3)`` uint8 colour table applied to ``(H, W)`` indices in [0, 255].

    OpenCV's table lookup (``applyColorMap`` with a user table, which does not reorder the channels):
    0.1 ms at 512×512 against 0.6 ms for numpy's ``take`` (fancy indexing is slow).

    Returns:
        ``(H, W, 3)`` uint8.
    """
    if index.ndim != 2 or table.shape != (256, 3) or table.dtype != np.uint8:
        raise ValueError(f"expected (H, W) indices and a (256, 3) uint8 table, got {index.shape} and "
                         f"{table.shape} {table.dtype}")
    if index.size == 0:
        return np.zeros((*index.shape, 3), np.uint8)
    import cv2

    index = np.ascontiguousarray(index, dtype=np.uint8)
    return cv2.applyColorMap(index, np.ascontiguousarray(table).reshape(256, 1, 3))


def overlay(image: Any, mask: Any, palette: Any, alpha: float = 0.5, *, skip_background: bool = False) -> np.ndarray:
    """Blend the colourised mask over the image.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        mask: ``(H, W)`` class ids.
        palette: ``(K, 3)`` uint8.
        alpha: mask opacity in [0, 1].
        skip_background: leave class-0 pixels untouched (objects stand out on photos).

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    image = np.asarray(image, dtype=np.uint8)
    mask = np.asarray(mask)
    if image.shape[:2] != mask.shape:
        raise ValueError(f"image {image.shape[:2]} and mask {mask.shape} differ in size")
    mask = _checked_mask(mask)
    # Fixed point in 1/256: (image·(256−a) + colour·a + 128) >> 8, one rounding, exact at α = 0 and 1.
    # OpenCV's weighted sum computes image·(256−a)/256 + colour·a/256 exactly in float32 and rounds it
    # (ties to even); γ = 1/1024 < 1/256 turns every tie into a round-up and moves nothing else, so
    # it equals the fixed-point formula for every pair of bytes and every a (a test checks all 256² pairs):
    # 0.3 ms at 512×512 against 0.8 ms for the same arithmetic in numpy uint16.
    if mask.size == 0:
        return image.copy()
    import cv2

    a = int(round(alpha * 256))
    colours = lookup(mask, full_palette(palette))
    out = cv2.addWeighted(np.ascontiguousarray(image), (256 - a) / 256, colours, a / 256, 1 / 1024)
    if skip_background:
        background = mask == 0
        out[background] = image[background]
    return out


def decode_color_mask(rgb: Any, palette: Any) -> np.ndarray:
    """Class ids of an RGB colour mask drawn with ``palette``.

    Args:
        rgb: ``(H, W, 3)`` uint8.
        palette: ``(K, 3)`` uint8; :data:`IGNORE_COLOR` and VOC's border colour (224, 224, 192)
            decode to 255 when the palette does not use them.

    Returns:
        ``(H, W)`` class ids: uint8 when the palette has at most 256 colours, else int64.

    Raises:
        InputError: ``err.mask_colors`` if some colours are not in the palette (names up to 5 of them).
    """
    rgb = np.asarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"a colour mask must be (H, W, 3), got shape {rgb.shape}")
    palette = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    # One integer key per colour, then a sorted search: vectorised and exact.
    keys = (palette[:, 0].astype(np.int64) << 16) | (palette[:, 1].astype(np.int64) << 8) | palette[:, 2]
    labels = np.arange(len(palette), dtype=np.int64)
    for colour in (IGNORE_COLOR, (224, 224, 192)):
        key = (colour[0] << 16) | (colour[1] << 8) | colour[2]
        if key not in keys:
            keys, labels = np.append(keys, key), np.append(labels, IGNORE_INDEX)
    _, first = np.unique(keys, return_index=True)  # a repeated colour keeps its first class
    keys, labels = keys[first], labels[first]
    if labels.max(initial=0) <= 255:  # the label map a mask is: 1 byte per pixel, not 8
        labels = labels.astype(np.uint8)
    # 24-bit colours fit int32: half the memory of int64 per pixel on a large mask
    keys = keys.astype(np.int32)
    pixels = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    position = np.clip(np.searchsorted(keys, pixels), 0, len(keys) - 1)
    found = keys[position] == pixels
    if not found.all():
        unknown = np.unique(pixels[~found])[:5]
        listed = ", ".join(f"({k >> 16}, {k >> 8 & 255}, {k & 255})" for k in unknown)
        raise InputError("err.mask_colors", "The mask has colours that are not in the palette: {colors}.",
                         colors=listed)
    return labels[position]


def enlarge(picture: np.ndarray, min_side: int = 256) -> np.ndarray:
    """A small picture repeated by an integer factor (crisp pixels, no blur) so that its shorter side
    reaches ``min_side``; pictures that would grow past ``4 · min_side`` are returned as they are.

    Args:
        picture: ``(h, w)`` or ``(h, w, C)`` array.

    Returns:
        The picture, ``factor`` times larger on both sides (``factor >= 1``).
    """
    factor = max(1, -(-min_side // max(1, min(picture.shape[:2]))))
    if factor > 1 and max(picture.shape[:2]) * factor <= 4 * min_side:
        picture = picture.repeat(factor, axis=0).repeat(factor, axis=1)
    return picture


def to_hex(colour: Any) -> str:
    """``(r, g, b)`` 0..255 as ``"#rrggbb"`` (for components that take CSS colours)."""
    r, g, b = (int(v) for v in np.asarray(colour).ravel()[:3])
    return f"#{r:02x}{g:02x}{b:02x}"
