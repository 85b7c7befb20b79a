"""Reading user images and masks safely.

Every upload in the app goes through here, so that a student's odd file (a 16-bit PNG, a
CMYK JPEG, a phone photo with EXIF rotation, a truncated download, a decompression bomb)
becomes either a plain RGB array or a clear :class:`~segdemo.errors.InputError`.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segdemo.errors import InputError

Source = str | os.PathLike | bytes | BinaryIO | np.ndarray | Image.Image

#: Largest image (in pixels) the app decodes; a 64-megapixel photo still passes, a bomb does not.
MAX_PIXELS = 64_000_000
#: Default longest side the app works at (larger uploads are downscaled with a notice).
DEFAULT_MAX_SIDE = 1024


@dataclass
class LoadedImage:
    """An image ready for the models.

    Attributes:
        array: ``(H, W, 3)`` uint8 RGB.
        original_size: ``(width, height)`` of the file, after EXIF rotation.
        resized: whether ``array`` was downscaled to ``max_side``.
        notices: ``(string key, params)`` pairs the UI shows as notices (e.g. downscaling).
    """

    array: np.ndarray
    original_size: tuple[int, int]
    resized: bool = False
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _name_of(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return getattr(source, "name", None) or "upload"


def open_image(source: Source) -> Image.Image:
    """Open ``source`` as a fully decoded PIL image, refusing bombs and broken files.

    Raises:
        InputError: ``err.not_image`` (not an image, empty file), ``err.image_too_large``
            (more than :data:`MAX_PIXELS`), ``err.unreadable_image`` (truncated or corrupt).
    """
    if isinstance(source, Image.Image):
        return source
    name = _name_of(source)
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x its own limit; ours is checked just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source)
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise InputError(
                "err.image_too_large",
                "{name} is {width}×{height} pixels; the limit is {limit} megapixels.",
                name=name, width=width, height=height, limit=MAX_PIXELS // 1_000_000,
            )
        img.load()
    except InputError:
        raise
    except Image.DecompressionBombError as error:
        # Pillow refuses before telling us the size; its message has the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(error))
        megapixels = int(found.group(1)) // 1_000_000 if found else "?"
        raise InputError(
            "err.image_too_large_mp",
            "{name} has {megapixels} megapixels; the limit is {limit} megapixels.",
            name=name, megapixels=megapixels, limit=MAX_PIXELS // 1_000_000,
        ) from None
    except (UnidentifiedImageError, FileNotFoundError, IsADirectoryError):
        raise InputError("err.not_image", "{name} is not an image file Pillow can read.", name=name) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise InputError(
            "err.unreadable_image", "{name} looks truncated or corrupt and cannot be decoded.", name=name
        ) from None
    return img


_ORIENTATION = 0x0112  # the EXIF tag ImageOps.exif_transpose acts on (values 2..8)


def _high_bit_depth_to_uint8(arr: np.ndarray) -> np.ndarray:
    # 16-bit photos use the full 0..65535 range; map it linearly to 0..255.
    if arr.dtype.kind == "f":
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return np.nan_to_num(scaled).round().astype(np.uint8)
    return (arr.astype(np.float64) / 257.0).round().clip(0, 255).astype(np.uint8)


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """A decoded PIL image as ``(H, W, 3)`` uint8 RGB.

    EXIF orientation is applied; transparency is composited over white (what a viewer
    shows); 16-bit and float images are rescaled; an animation gives its first frame.
    """
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)
    if img.getexif().get(_ORIENTATION, 1) in range(2, 9):  # else exif_transpose only copies the image
        img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        gray = _high_bit_depth_to_uint8(np.asarray(img))
        return np.repeat(gray[..., None], 3, axis=2)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":  # converting an RGB image would copy it for nothing (~1.5 ms at 512×512)
        img = img.convert("RGB")
    return np.array(img, dtype=np.uint8)


def load_image(source: Source, *, max_side: int | None = None) -> LoadedImage:
    """Load an upload (path, bytes, file object, array or PIL image) as RGB uint8.

    Args:
        source: the image. A numpy array may be ``(H,W)``, ``(H,W,3)`` or ``(H,W,4)``.
        max_side: if given, an image whose longest side exceeds it is downscaled (area
            interpolation, aspect kept) and a ``common.notice_resized`` notice is added.

    Returns:
        A :class:`LoadedImage`.

    Raises:
        InputError: see :func:`open_image`.
    """
    if isinstance(source, np.ndarray):
        arr = source
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise InputError("err.not_image", "{name} is not an image array.", name=f"array{arr.shape}")
        if arr.dtype != np.uint8:
            arr = _high_bit_depth_to_uint8(arr) if arr.max(initial=0) > 255 else arr.astype(np.uint8)
        img = Image.fromarray(np.ascontiguousarray(arr))
    else:
        img = open_image(source)
    array = to_rgb_array(img)
    height, width = array.shape[:2]
    loaded = LoadedImage(array=array, original_size=(width, height))
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        loaded.array = np.asarray(Image.fromarray(array).resize(size, Image.Resampling.BOX))
        loaded.resized = True
        loaded.notices.append(
            ("common.notice_resized", {"width": width, "height": height, "new_width": size[0],
                                       "new_height": size[1]})
        )
    return loaded


def load_mask(source: Source, *, palette: np.ndarray | None = None) -> np.ndarray:
    """Load a label mask as an ``(H, W)`` int64 array of class indices.

    Reads index PNGs (mode ``L``), palette PNGs (mode ``P``: the indices, not the colours),
    16-bit PNGs, bilevel images, ``.npy`` arrays (no pickle) and RGB colour masks, which are
    decoded with ``palette`` (``(K, 3)`` uint8; an RGB image whose three channels are equal is
    read as grey levels and needs no palette).

    Raises:
        InputError: ``err.mask_npy`` (a ``.npy`` that is not a 2-D integer array),
            ``err.mask_needs_palette`` (a colour mask without a palette), or any error of
            :func:`open_image`.
    """
    name = _name_of(source)
    if isinstance(source, np.ndarray):
        return _check_mask_array(source, name)
    if isinstance(source, (str, os.PathLike)) and str(source).lower().endswith(".npy"):
        try:
            arr = np.load(source, allow_pickle=False)
        except (ValueError, OSError):
            raise InputError("err.mask_npy", "{name} is not a 2-D integer .npy array.", name=name) from None
        return _check_mask_array(arr, name)
    img = open_image(source)
    if img.mode in ("P", "L", "1", "I", "I;16", "I;16B", "I;16L"):
        return np.asarray(img, dtype=np.int64)
    rgb = np.asarray(img.convert("RGB"))
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
        return rgb[..., 0].astype(np.int64)
    if palette is None:
        raise InputError(
            "err.mask_needs_palette",
            "{name} is a colour mask; choose the palette it was drawn with to decode it.",
            name=name,
        )
    from segdemo.palette import decode_color_mask

    return np.asarray(decode_color_mask(rgb, palette), dtype=np.int64)


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a label mask to ``size = (width, height)`` by centred nearest sampling.

    Output pixel ``i`` takes source pixel ``floor((i + ½) · in / out)``: the source pixel under its
    centre, the same geometry as a bilinear or area resize of the image (and as cv2's
    ``INTER_NEAREST_EXACT`` or Pillow's ``NEAREST``). cv2's ``INTER_NEAREST`` takes ``floor(i · in / out)``
    instead, half a source pixel up and left of its image. Labels are copied, never blended; any
    dtype. Integer arithmetic, so no rounding tie depends on floating point.

    Shape: ``(H, W)`` or ``(H, W, C)`` → ``(height, width)`` or ``(height, width, C)``.
    """
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {size}")
    in_h, in_w = mask.shape[:2]
    rows = ((2 * np.arange(height) + 1) * in_h) // (2 * height)
    cols = ((2 * np.arange(width) + 1) * in_w) // (2 * width)
    return mask[rows[:, None], cols[None, :]]


def _check_mask_array(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.dtype.kind not in "biu":
        raise InputError("err.mask_npy", "{name} is not a 2-D integer .npy array.", name=name)
    return arr.astype(np.int64)
