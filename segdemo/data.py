"""Data: procedural synthetic scenes, the course's folder dataset (fixed), and a PNG exporter.

No data set can be downloaded where this app runs (classrooms offline, CI without network), so the
project renders its own: :class:`SynthScenes` draws discs, squares, triangles, rings and crosses whose
colours and textures are random, so a model has to learn *shape*, not colour. Scenes are defined in
coordinates relative to the image side, so one ``(seed, index)`` gives the same scene at any size.

Export a folder with ``python -m segdemo.data export OUT --count 100 --size 256``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch.utils.data import Dataset

from segdemo.errors import InputError
from segdemo.imageio import load_image, load_mask, open_image
from segdemo.palette import IGNORE_INDEX, SCENE_CLASSES, SCENE_PALETTE, full_palette, scene_classes

NUM_CLASSES = len(SCENE_CLASSES)
#: ImageNet's per-channel mean and std (RGB, 0..1): every model here normalises its input with them.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET_NORMALIZATION = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".npy")


@dataclass(frozen=True)
class Scene:
    """One rendered scene.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        mask: ``(H, W)`` uint8 class ids (see :data:`segdemo.palette.SCENE_CLASSES`).
        instances: ``(H, W)`` int32 object ids, 0 where no object is visible.
        labels: ``(n,)`` int64 class of each object id ``1..n`` (an occluded object may have no pixels).
    """

    image: np.ndarray
    mask: np.ndarray
    instances: np.ndarray
    labels: np.ndarray


@functools.lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    # Pixel centres in units of the image side, so a scene is the same at every resolution.
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    y, x = np.meshgrid(coords, coords, indexing="ij")
    y.setflags(write=False)
    x.setflags(write=False)
    return y, x


def _shape_mask(kind: int, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pixels inside shape ``kind`` in local coordinates (``u, v`` in units of its radius)."""
    if kind == 1:  # disc
        return u * u + v * v <= 1.0
    if kind == 2:  # square (rotated by the caller)
        return np.maximum(np.abs(u), np.abs(v)) <= 0.82
    if kind == 3:  # equilateral triangle, circumradius 1.15 so its area is close to the others'
        inside = np.ones(u.shape, dtype=bool)
        for k in range(3):
            phi = -math.pi / 2 + 2 * math.pi * k / 3
            inside &= u * math.cos(phi) + v * math.sin(phi) <= 0.575
        return inside
    if kind == 4:  # ring
        rho2 = u * u + v * v
        inner = rng.uniform(0.42, 0.62)
        return (rho2 <= 1.0) & (rho2 >= inner * inner)
    if kind == 5:  # cross
        arm = rng.uniform(0.26, 0.36)
        au, av = np.abs(u), np.abs(v)
        return ((au <= arm) & (av <= 1.0)) | ((av <= arm) & (au <= 1.0))
    raise ValueError(f"unknown shape class {kind}")


def _texture(u: np.ndarray, v: np.ndarray, rng: np.random.Generator, avoid: tuple[np.ndarray, ...] = (),
             styles: tuple[int, ...] = (0, 1, 2, 3, 4),
             contrast: tuple[float, float] = (0.3, 1.0),
             saturation: float = 1.0) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """``(H, W, 3)`` float colours in [0, 1] (0 flat, 1 stripes, 2 checks, 3 a gradient, 4 blotches) and
    the two colours used; these keep a distance from the ``avoid`` colours so an object is never invisible."""
    base, other = (_colour(rng, avoid, saturation=saturation) for _ in range(2))
    style = styles[rng.integers(0, len(styles))]
    if style == 0:
        weight = np.zeros_like(u)
    elif style == 1:
        freq, angle = rng.uniform(2.0, 7.0), rng.uniform(0, math.pi)
        weight = 0.5 + 0.5 * np.sin(freq * math.pi * (u * math.cos(angle) + v * math.sin(angle)))
    elif style == 2:
        freq = rng.uniform(1.5, 4.0)
        weight = ((np.floor(u * freq) + np.floor(v * freq)) % 2).astype(np.float32)
    elif style == 3:
        angle = rng.uniform(0, 2 * math.pi)
        weight = np.clip(0.5 + 0.5 * (u * math.cos(angle) + v * math.sin(angle)), 0, 1)
    else:
        fu, fv, phase = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 2 * math.pi, 2)
        weight = 0.5 + 0.25 * (np.sin(fu * math.pi * u + phase[0]) + np.sin(fv * math.pi * v + phase[1]))
    weight = weight[..., None] * rng.uniform(*contrast)
    return base * (1 - weight) + other * weight, (base, other)


def _colour(rng: np.random.Generator, avoid: tuple[np.ndarray, ...], min_distance: float = 0.35,
            saturation: float = 1.0) -> np.ndarray:
    for _ in range(20):  # rejection sampling; 20 tries always suffice in practice
        colour = rng.uniform(0.0, 1.0, 3).astype(np.float32)
        colour = colour.mean() + (colour - colour.mean()) * saturation  # toward its grey
        if all(np.linalg.norm(colour - a) >= min_distance for a in avoid):
            break
    return colour


#: Scene tasks: which shape classes appear, how many objects and how large (radius in units of the side).
#: "shapes" is the full task; "easy" (discs and squares, fewer and larger) is learnable in a minute on a CPU.
TASKS: dict[str, dict[str, Any]] = {
    "shapes": {"kinds": (1, 2, 3, 4, 5), "count": (2, 5), "radius": (0.12, 0.28)},
    "easy": {"kinds": (1, 2), "count": (1, 3), "radius": (0.2, 0.32)},
    "easy3": {"kinds": (1, 2, 3), "count": (1, 3), "radius": (0.2, 0.32)},
}


#: How far (in radii) any shape reaches from its centre, with a margin: the square's corner is at 0.82·√2 ≈ 1.16.
_REACH = 1.25


def _box(cy: float, cx: float, reach: float, size: int) -> tuple[slice, slice]:
    """The pixels whose centres lie within ``reach`` (units of the side) of ``(cy, cx)``, one pixel more."""
    def span(centre: float) -> slice:
        low = max(0, math.floor((centre - reach) * size - 0.5) - 1)
        return slice(low, max(low, min(size, math.ceil((centre + reach) * size - 0.5) + 2)))

    return span(cy), span(cx)


def render_scene(seed: int, index: int, size: int = 128, task: str = "shapes") -> Scene:
    """Render scene ``index`` of the stream ``seed`` at ``size``×``size`` pixels (deterministic).

    Args:
        seed: the stream; different seeds give different scenes.
        index: the scene's number in the stream.
        size: image side in pixels (≥ 8); the same scene is drawn at every size.

    Returns:
        A :class:`Scene`.
    """
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
    spec = TASKS[task]
    rng = np.random.default_rng([seed, index])
    y, x = _grid(size)

    # Background ("stuff"): a softer texture than the objects' (no hard checks; object edges must stay
    # the strongest edges, or small CPU models cannot learn the task) plus clutter lines, all class 0.
    # Muted colours: saturation is a hint for "background", never for which shape an object is.
    image, background = _texture(x * 2 - 1, y * 2 - 1, rng, styles=(0, 1, 3, 4), contrast=(0.1, 0.4),
                                 saturation=0.4)
    for _ in range(rng.integers(0, 2)):
        angle, offset = rng.uniform(0, math.pi), rng.uniform(-0.5, 0.5)
        width = rng.uniform(0.004, 0.015)
        line = np.abs((x - 0.5) * math.cos(angle) + (y - 0.5) * math.sin(angle) - offset) <= width
        image[line] = rng.uniform(0, 1, 3)

    mask = np.zeros((size, size), dtype=np.uint8)
    instances = np.zeros((size, size), dtype=np.int32)
    count = int(rng.integers(*spec["count"]))
    labels = np.asarray(spec["kinds"])[rng.integers(0, len(spec["kinds"]), size=count)]
    placed: list[tuple[float, float, float]] = []
    for obj, kind in enumerate(labels, start=1):
        for _ in range(10):  # overlaps and occlusion, but no object mostly hidden behind another
            radius = rng.uniform(*spec["radius"])
            cy, cx = rng.uniform(0.0, 1.0, 2)  # near the edge an object is cut by the border
            if all(math.hypot(cy - py, cx - px) >= 0.75 * (radius + pr) for pr, py, px in placed):
                break
        placed.append((radius, cy, cx))
        angle = rng.uniform(0, 2 * math.pi)
        squash = rng.uniform(0.85, 1.0)  # slight perspective: shapes stay recognisable
        # Only the object's box is computed (every shape lies within 1.16 radii of its centre): the
        # same values there as over the whole image, at a fraction of the cost.
        box = _box(cy, cx, _REACH * radius, size)
        dy, dx = (y[box] - cy) / radius, (x[box] - cx) / radius
        u = (dx * math.cos(angle) + dy * math.sin(angle)) / squash
        v = -dx * math.sin(angle) + dy * math.cos(angle)
        inside = _shape_mask(int(kind), u, v, rng)
        texture, _ = _texture(u, v, rng, avoid=background, contrast=(0.15, 0.6))
        image[box][inside] = texture[inside]  # later objects occlude earlier ones
        mask[box][inside] = kind
        instances[box][inside] = obj

    # Lighting gradient, then blur and sensor noise: the same for every class.
    angle = rng.uniform(0, 2 * math.pi)
    light = 1.0 + rng.uniform(0.0, 0.45) * ((x - 0.5) * math.cos(angle) + (y - 0.5) * math.sin(angle)) * 2
    image = np.clip(image * light[..., None] * rng.uniform(0.7, 1.15), 0, 1)
    out = Image.fromarray((image * 255 + 0.5).astype(np.uint8))
    if rng.random() < 0.5:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0) * size / 128))
    pixels = np.asarray(out, dtype=np.float32)
    pixels += rng.normal(0.0, rng.uniform(0.0, 10.0), pixels.shape).astype(np.float32)
    image_u8 = np.clip(pixels + 0.5, 0, 255).astype(np.uint8)
    return Scene(image=image_u8, mask=mask, instances=instances, labels=labels.astype(np.int64))


def to_tensors(image: np.ndarray, mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """``(H, W, 3)`` image (uint8, or float already normalised) and ``(H, W)`` mask → ``(3, H, W)``
    float32 and ``(H, W)`` int64 tensors; uint8 images are scaled to [0, 1]."""
    image = np.asarray(image)
    tensor = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    tensor = tensor.float().div_(255.0) if image.dtype == np.uint8 else tensor.float()
    return tensor, torch.from_numpy(np.asarray(mask, dtype=np.int64))


class _Transformed(Dataset):
    """Applies an albumentations-style ``transform(image=, mask=)`` in ``__getitem__``."""

    transform: Any = None

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, mask = self.sample(index)
        if self.transform is not None:
            out = self.transform(image=image, mask=mask)
            image, mask = out["image"], out["mask"]
        return to_tensors(image, mask)


#: Rendered scenes :class:`SynthScenes` keeps when asked to (a 200-scene validation set at 128 px is ~20 MB).
CACHED_SCENES = 256


@functools.lru_cache(maxsize=CACHED_SCENES)
def _rendered(seed: int, index: int, size: int, task: str) -> Scene:
    return render_scene(seed, index, size, task)


class SynthScenes(_Transformed):
    """Synthetic scenes as a ``Dataset`` of ``(image (3,H,W) float in [0,1], mask (H,W) int64)``.

    Args:
        length: number of scenes.
        size: image side in pixels.
        seed: the stream; scene ``i`` is ``render_scene(seed, i, size)``.
        transform: optional albumentations-style callable ``transform(image=, mask=) -> dict``.
        cache: keep rendered scenes (process-wide, the last :data:`CACHED_SCENES`) for a set read again and
            again: a validation set, read at every validation of every run.
    """

    def __init__(self, length: int, size: int = 128, seed: int = 0, transform: Any = None,
                 task: str = "shapes", cache: bool = False) -> None:
        if length < 0:
            raise ValueError(f"length must be non-negative, got {length}")
        if task not in TASKS:
            raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
        self.length, self.size, self.seed, self.transform, self.task = length, size, seed, transform, task
        self.cache = cache
        self.classes = scene_classes()

    def __len__(self) -> int:
        return self.length

    def scene(self, index: int) -> Scene:
        if not 0 <= index < self.length:
            raise IndexError(f"scene {index} out of range for {self.length} scenes")
        return (_rendered if self.cache else render_scene)(self.seed, index, self.size, self.task)

    def render(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(image (H,W,3) uint8, mask (H,W) uint8, instances (H,W) int32)`` of scene ``index``."""
        s = self.scene(index)
        return s.image, s.mask, s.instances

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        s = self.scene(index)
        return s.image, s.mask


class SegmentationFolder(_Transformed):
    """Image/mask pairs from two folders, paired by file stem (``a.jpg`` ↔ ``a.png``).

    The course's version paired files by sorted position (one missing file shifts every later pair),
    read masks as RGB and divided by 255; this one pairs by name and reads labels exactly.

    Args:
        image_dir: folder of images (png, jpg, bmp, webp, tif).
        mask_dir: folder of masks: index or palette PNGs (255 stays the ignore label), 0/255 binary masks
            (read as 0/1 when ``mask_mode`` is ``"binary"``, or ``"auto"`` and the data set is binary),
            or ``.npy`` arrays (read as they are).
        transform: optional albumentations-style ``transform(image=, mask=)``.
        mask_mode: ``"auto"``, ``"index"`` or ``"binary"``. ``"auto"`` decides once for the whole data set
            (attribute ``binary``): binary if every mask is a grey-level image holding only 0 and 255, and
            255 occurs. Deciding per file would read an all-foreground tile {255} as all "ignore" and its
            neighbour {0, 255} as 0/1.

    Raises:
        InputError: ``err.folder_missing`` (no such folder), ``err.folder_empty`` (no images),
            ``err.folder_unpaired`` (an image without a mask or a mask without an image).
    """

    def __init__(self, image_dir: str | Path, mask_dir: str | Path, transform: Any = None,
                 mask_mode: str = "auto") -> None:
        if mask_mode not in ("auto", "index", "binary"):
            raise ValueError(f"mask_mode must be 'auto', 'index' or 'binary', got {mask_mode!r}")
        self.transform, self.mask_mode = transform, mask_mode
        images, masks = _files_by_stem(Path(image_dir), IMAGE_SUFFIXES), _files_by_stem(Path(mask_dir), MASK_SUFFIXES)
        if not images:
            raise InputError("err.folder_empty", "No images found in {folder}.", folder=str(image_dir))
        for lonely, other in ((set(images) - set(masks), mask_dir), (set(masks) - set(images), image_dir)):
            if lonely:
                first = sorted(lonely)[0]
                path = (images.get(first) or masks[first]).name
                raise InputError("err.folder_unpaired", "{name} has no partner with the same name in {folder}.",
                                 name=path, folder=str(other))
        self.pairs = [(images[stem], masks[stem]) for stem in sorted(images)]
        self.binary = mask_mode == "binary" or (mask_mode == "auto" and _binary_0_255([m for _, m in self.pairs]))

    def __len__(self) -> int:
        return len(self.pairs)

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        image_path, mask_path = self.pairs[index]
        image = load_image(image_path).array
        mask = load_mask(mask_path)
        if self.binary and mask_path.suffix != ".npy":
            mask = (mask >= 128).astype(np.int64)
        if mask.shape != image.shape[:2]:
            raise InputError("err.folder_size_mismatch",
                             "{name}: the mask is {mask_w}×{mask_h} but the image is {image_w}×{image_h}.",
                             name=mask_path.name, mask_w=mask.shape[1], mask_h=mask.shape[0],
                             image_w=image.shape[1], image_h=image.shape[0])
        if mask.max(initial=0) > 255:
            raise InputError("err.mask_labels", "{name} has labels above 255.", name=mask_path.name)
        return image, mask.astype(np.uint8)


_GREY_MODES = ("L", "I", "I;16", "I;16B", "I;16L")


def _binary_0_255(paths: list[Path]) -> bool:
    """Whether a data set's masks are 0/255 binary masks: all grey-level images with values in {0, 255},
    255 somewhere. Palette PNGs and ``.npy`` arrays are index masks."""
    seen_255 = False
    for path in paths:
        if path.suffix.lower() == ".npy":
            return False
        img = open_image(path)
        if img.mode not in _GREY_MODES:
            return False
        # an 8-bit histogram is one C call; wider images need the values themselves
        values = np.flatnonzero(img.histogram()) if img.mode == "L" else np.unique(np.asarray(img))
        if np.setdiff1d(values, (0, 255)).size:
            return False
        seen_255 = seen_255 or 255 in values
    return seen_255


def _files_by_stem(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError("err.folder_missing", "There is no folder {folder}.", folder=str(folder))
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in suffixes:
            if path.stem in files:
                raise InputError("err.folder_duplicate", "{name} and {other} share a name; keep one.",
                                 name=files[path.stem].name, other=path.name)
            files[path.stem] = path
    return files


def export(out: str | Path, count: int, size: int = 256, seed: int = 0, instances: bool = False) -> Path:
    """Write ``count`` scenes as ``images/NNNNN.png`` and palette ``masks/NNNNN.png`` (+ ``classes.json``).

    Args:
        out: destination folder (created).
        count: number of scenes.
        size: image side.
        seed: scene stream.
        instances: also write 16-bit ``instances/NNNNN.png`` object-id maps.

    Returns:
        The folder.
    """
    if count < 0:
        raise ValueError(f"count must be non-negative, got {count}")
    out = Path(out)
    folders = ["images", "masks"] + (["instances"] if instances else [])
    for name in folders:
        (out / name).mkdir(parents=True, exist_ok=True)
    # All 256 entries: with a short palette Pillow writes 4-bit PNGs and label 255 would wrap to 15.
    flat_palette = full_palette(SCENE_PALETTE).ravel().tolist()
    for i in range(count):
        scene = render_scene(seed, i, size)
        Image.fromarray(scene.image).save(out / "images" / f"{i:05d}.png")
        mask = Image.fromarray(scene.mask)
        mask.putpalette(flat_palette)  # an "L" image becomes "P" with the indices untouched
        mask.save(out / "masks" / f"{i:05d}.png")
        if instances:
            Image.fromarray(scene.instances.astype(np.uint16)).save(out / "instances" / f"{i:05d}.png")
    meta = {**scene_classes(), "ignore_index": IGNORE_INDEX, "count": count, "size": size, "seed": seed}
    (out / "classes.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segdemo.data", description="Synthetic scene data.")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write scenes as images/ and masks/ PNG folders")
    ex.add_argument("out", help="destination folder")
    ex.add_argument("--count", type=int, default=100)
    ex.add_argument("--size", type=int, default=256)
    ex.add_argument("--seed", type=int, default=0)
    ex.add_argument("--instances", action="store_true", help="also write 16-bit instance-id PNGs")
    args = parser.parse_args(argv)
    folder = export(args.out, args.count, args.size, args.seed, args.instances)
    print(f"wrote {args.count} scenes of {args.size}×{args.size} to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
