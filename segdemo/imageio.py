"""Reading user images and masks safely.

Every upload in the app goes through here, so that a student's odd file (a 16-bit PNG, a
CMYK JPEG, a phone photo with EXIF rotation, a truncated download, a decompression bomb)
becomes either a plain RGB array or a clear :class:`~segdemo.errors.InputError`.
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from segdemo.errors import InputError
from segdemo.palette import decode_color_mask

Source = str | os.PathLike | bytes | BinaryIO | np.ndarray | Image.Image

#: Largest image (in pixels) the app decodes; a 64-megapixel photo still passes, a bomb does not.
MAX_PIXELS = 64_000_000
#: Largest mask (in pixels): a label map pairs with a photo the models see at <= 1024 px, and a mIoU
#: request holds two per image; 8 MP (e.g. 4096×2048, twice a Cityscapes frame) is plenty.
MAX_MASK_PIXELS = 8_388_608
#: Labels a mask file may hold (uint16): anything larger is not a class id.
MAX_MASK_LABEL = 65535
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


#: A large JPEG is decoded at a reduced scale at least this many times the size it is then downscaled to, so
#: that the box filter after it averages 1.5 or more pixels into one: just above the target size it would
#: shift pixels by up to one instead of averaging them.
DRAFT_MARGIN = 1.5


def _name_of(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return getattr(source, "name", None) or "upload"


def open_image(source: Source, *, max_pixels: int = MAX_PIXELS, max_side: int | None = None) -> Image.Image:
    """Open ``source`` as a fully decoded PIL image, refusing bombs and broken files.

    Args:
        source: path, bytes, file object or PIL image.
        max_pixels: the limit for this use (photos :data:`MAX_PIXELS`, masks :data:`MAX_MASK_PIXELS`),
            checked from the header before any pixel is decoded.
        max_side: for a caller that downscales to this longest side: a larger JPEG is decoded at the
            smallest of 1/2, 1/4 or 1/8 of its size whose sides stay at least :data:`DRAFT_MARGIN` times
            the downscaled ones (libjpeg's DCT scaling: a 12-megapixel phone photo decodes in less time and
            a quarter of the memory). The image is then smaller than its file; :func:`load_image` resizes
            it exactly.

    Raises:
        InputError: ``err.not_image`` (not an image, empty file), ``err.image_too_large``
            (more than ``max_pixels``), ``err.unreadable_image`` (truncated or corrupt, including a PNG
            whose data ends before the rows its header promises: Pillow would pad them with zeros).
    """
    return _open(source, max_pixels, max_side)[0]


def _open(source: Source, max_pixels: int, max_side: int | None) -> tuple[Image.Image, tuple[int, int]]:
    """:func:`open_image`, and the ``(width, height)`` of the file (before any scaled decoding)."""
    if isinstance(source, Image.Image):
        return source, source.size
    name = _name_of(source)
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    # Some library or notebook may have switched this on; then Pillow pads truncated files silently.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with warnings.catch_warnings():
            # Pillow warns between 1x and 2x its own limit; ours is checked just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source)
        width, height = img.size
        if width * height > max_pixels:
            raise InputError(
                "err.image_too_large",
                "{name} is {width}×{height} pixels; the limit is {limit} megapixels.",
                name=name, width=width, height=height, limit=round(max_pixels / 1_000_000, 1),
            )
        if img.format == "PNG" and _png_data_short(source):
            raise OSError("PNG data ends before the last row")
        if max_side is not None and img.format in ("JPEG", "MPO") and max(width, height) > max_side:
            scale = DRAFT_MARGIN * max_side / max(width, height)  # MPO: a phone's JPEG with a second picture
            img.draft(None, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
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
            name=name, megapixels=megapixels, limit=round(max_pixels / 1_000_000, 1),
        ) from None
    except (UnidentifiedImageError, FileNotFoundError, IsADirectoryError):
        raise InputError("err.not_image", "{name} is not an image file Pillow can read.", name=name) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error):
        raise InputError(
            "err.unreadable_image", "{name} looks truncated or corrupt and cannot be decoded.", name=name
        ) from None
    return img, (width, height)


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def _png_data_short(source: str | os.PathLike | BinaryIO) -> bool:
    """True when a PNG's image data inflates to fewer bytes than its header's rows need.

    Pillow stops at the end of the zlib stream and leaves the missing rows zero, so an 87-byte file
    claiming 7000×7000 would become a 49 MB picture. This inflates the IDAT chunks once, counting
    bytes without keeping them (1 MB at a time) and stopping as soon as enough arrived.
    """
    if isinstance(source, (str, os.PathLike)):
        data = Path(source).read_bytes()
    else:
        position = source.tell()
        source.seek(0)
        data = source.read()
        source.seek(position)
    view = memoryview(data)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", view[16:29])
    bits = _PNG_CHANNELS.get(colour, 4) * depth
    if interlace:
        passes = [(-(-(width - x0) // dx), -(-(height - y0) // dy)) for x0, y0, dx, dy in _ADAM7]
        need = sum(rows * (1 + -(-cols * bits // 8)) for cols, rows in passes if cols > 0 and rows > 0)
    else:
        need = height * (1 + -(-width * bits // 8))
    inflate, got, at = zlib.decompressobj(), 0, 8
    while at + 8 <= len(view) and got < need:
        length, kind = struct.unpack(">I4s", view[at:at + 8])
        if kind == b"IEND":
            break
        if kind == b"IDAT":
            chunk = view[at + 8:at + 8 + length]
            while chunk and got < need:
                got += len(inflate.decompress(chunk, 2**20))
                chunk = inflate.unconsumed_tail
        at += 12 + length
    return got < need


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
            interpolation, aspect kept) and a ``common.notice_resized`` notice is added; a JPEG that
            large is decoded at a reduced scale first (see :func:`open_image`).

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
        width, height = img.size
    else:
        img, (width, height) = _open(source, MAX_PIXELS, max_side)
    if img.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8):  # to_rgb_array turns it by a quarter
        width, height = height, width
    array = to_rgb_array(img)
    loaded = LoadedImage(array=array, original_size=(width, height))
    if max_side is not None and max(width, height) > max_side:
        scale = max_side / max(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        if (array.shape[1], array.shape[0]) != size:  # a JPEG decoded at 1/2 scale may already have it
            loaded.array = np.asarray(Image.fromarray(array).resize(size, Image.Resampling.BOX))
        loaded.resized = True
        loaded.notices.append(
            ("common.notice_resized", {"width": width, "height": height, "new_width": size[0],
                                       "new_height": size[1]})
        )
    return loaded


def load_mask(source: Source, *, palette: np.ndarray | None = None,
              max_pixels: int = MAX_MASK_PIXELS) -> np.ndarray:
    """Load a label mask as an ``(H, W)`` uint8 array of class indices (uint16 when a label exceeds 255).

    Reads index PNGs (mode ``L``), palette PNGs (mode ``P``: the indices, not the colours),
    16-bit PNGs, bilevel images, ``.npy`` arrays (no pickle; from a path, bytes or a file object named
    ``*.npy``) and RGB colour masks, which are decoded with ``palette`` (``(K, 3)`` uint8; an RGB image
    whose three channels are equal is read as grey levels and needs no palette). A mask is decoded at
    the cost of a label map, one or two bytes per pixel: never as int64 or float.

    Raises:
        InputError: ``err.mask_npy`` (a ``.npy`` that is not a 2-D integer array),
            ``err.mask_label_value`` (a label below 0 or above :data:`MAX_MASK_LABEL`, named),
            ``err.mask_needs_palette`` (a colour mask without a palette), ``err.image_too_large``
            (more than ``max_pixels``), or any error of :func:`open_image`.
    """
    name = _name_of(source)
    if isinstance(source, np.ndarray):
        return _check_mask_array(source, name)
    if name.lower().endswith(".npy") and not isinstance(source, Image.Image):
        return _check_mask_array(_load_npy(source, name, max_pixels), name)
    img = open_image(source, max_pixels=max_pixels)
    if img.mode in ("P", "L"):
        return np.asarray(img)  # already uint8
    if img.mode in ("1", "I", "I;16", "I;16B", "I;16L"):
        return _check_mask_array(np.asarray(img), name)
    rgb = np.asarray(img.convert("RGB"))
    red = rgb[..., 0]
    if np.array_equal(red, rgb[..., 1]) and np.array_equal(red, rgb[..., 2]):
        return np.ascontiguousarray(red)
    if palette is None:
        raise InputError(
            "err.mask_needs_palette",
            "{name} is a colour mask; choose the palette it was drawn with to decode it.",
            name=name,
        )

    return _check_mask_array(decode_color_mask(rgb, palette), name)


def _load_npy(source: Source, name: str, max_pixels: int) -> np.ndarray:
    """A ``.npy`` array read without pickle, its header checked before the data is allocated."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        handle = open(source, "rb") if isinstance(source, (str, os.PathLike)) else source
        try:
            version = np.lib.format.read_magic(handle)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(handle)
            if len(shape) not in (2, 3) or (len(shape) == 3 and shape[-1] != 1) or dtype.kind not in "biu":
                raise ValueError("not a 2-D integer array")
            if int(np.prod(shape)) > max_pixels:
                raise InputError("err.image_too_large", "{name} is {width}×{height} pixels; the limit is {limit} "
                                 "megapixels.", name=name, width=shape[1], height=shape[0],
                                 limit=round(max_pixels / 1_000_000, 1))
            handle.seek(0)
            return np.load(handle, allow_pickle=False)
        finally:
            if handle is not source:
                handle.close()
    except InputError:
        raise
    except (ValueError, OSError, EOFError, TypeError):
        raise InputError("err.mask_npy", "{name} is not a 2-D integer .npy array.", name=name) from None


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
    """A 2-D integer mask as uint8 (uint16 when a label exceeds 255); other labels are refused by name."""
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2 or arr.dtype.kind not in "biu":
        raise InputError("err.mask_npy", "{name} is not a 2-D integer .npy array.", name=name)
    if arr.dtype in (np.uint8, np.bool_):
        return arr.view(np.uint8) if arr.dtype == np.bool_ else arr
    low, high = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
    if low < 0 or high > MAX_MASK_LABEL:
        raise InputError("err.mask_label_value",
                         "{name} has the label {label}; mask labels are class ids from 0 to {limit}.",
                         name=name, label=low if low < 0 else high, limit=MAX_MASK_LABEL)
    return arr.astype(np.uint8 if high <= 255 else np.uint16, copy=False)


# ---------------------------------------------------------------- pictures sent to the browser
#: More distinct colours than this and a picture is photo-like (textures, blends, noise).
FLAT_COLOURS = 256
#: zlib level of every PNG the app sends: ~3× faster than PIL's default 6 on noisy pictures, files barely larger.
PNG_LEVEL = 1


def is_flat(image: np.ndarray, limit: int = FLAT_COLOURS) -> bool:
    """Whether an ``(H, W[, 3])`` uint8 picture has at most ``limit`` distinct colours (a label map,
    a mask, an error map) rather than photo-like content. A sparse sample rules photos out first."""
    image = np.asarray(image)
    pixels = image.reshape(-1, image.shape[-1]) if image.ndim == 3 else image.reshape(-1, 1)

    def colours(rows: np.ndarray) -> int:
        packed = rows[:, 0].astype(np.uint32)
        for channel in range(1, rows.shape[1]):
            packed = (packed << 8) | rows[:, channel]
        return len(np.unique(packed))

    return colours(pixels[::31]) <= limit and colours(pixels) <= limit


def encode_picture(image: np.ndarray) -> tuple[bytes, str]:
    """A uint8 ``(H, W[, 3|4])`` picture in the cheapest format that keeps what a student looks at:
    ``(bytes, "png" | "jpeg")``.

    Flat-colour pictures go out as PNG: lossless, and small because they compress well. Photo-like
    ones (scenes with noise and texture, overlays, augmented samples) as JPEG quality 95 without chroma
    subsampling: on a 256×776 sample strip ~15× faster to encode than PNG and ~8× smaller (what thirty
    students download at each click), while edges keep their place, within a few grey levels.
    Pictures with an alpha channel stay PNG.
    """
    image = np.ascontiguousarray(image)
    picture = Image.fromarray(image)
    buffer = io.BytesIO()
    if (image.ndim == 3 and image.shape[2] == 4) or is_flat(image):
        picture.save(buffer, format="png", compress_level=PNG_LEVEL)
        return buffer.getvalue(), "png"
    picture.save(buffer, format="jpeg", quality=95, subsampling=0)
    return buffer.getvalue(), "jpeg"
