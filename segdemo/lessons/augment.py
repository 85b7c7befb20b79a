"""What the Augment tab computes, without gradio.

- Sources: a synthetic scene or an upload (image and optional mask), :func:`load_source`.
- Previews: a seeded grid of augmented pairs, what each sample's transforms did, and pictures that show the
  mask moved with the image (coloured mask, overlay, mask contours on the image).
- Controls: the editable template of the course's pipeline (one switch, p and sliders per transform). The tab
  shows the course's transforms in the course's order, with its two ``OneOf`` groups; a preset or an imported
  JSON is mapped onto it, and the switches and sliders are mapped back to steps. A group with one enabled
  member becomes that transform alone with the group's p (the same probability); a group with none is left
  out. The controls travel as a flat list of values in the order of :func:`control_keys`.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segdemo.augment.catalogue import CATALOGUE, IGNORE_INDEX
from segdemo.augment.pipeline import Step, build, check_budget, validate_steps
from segdemo.data import render_scene
from segdemo.errors import InputError
from segdemo.imageio import load_image, load_mask, resize_mask
from segdemo.palette import SCENE_PALETTE, colorize, overlay, voc_palette

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


#: Draws and image side of :func:`identical_fraction` (400 draws of a 16-px image: ~0.15 s once per pipeline).
IDENTITY_DRAWS, IDENTITY_SIDE = 400, 16


def identical_fraction(steps: list[Step], draws: int = IDENTITY_DRAWS, seed: int = 0) -> float:
    """The share of samples a pipeline leaves exactly as they were, measured: ``draws`` samples of a random
    ``IDENTITY_SIDE``-px image and mask. More than the chance that every step is skipped, because draws
    undo each other (a horizontal and a vertical flip make a 180° turn; ``RandomRotate90`` may turn by 0)."""
    return _identical_fraction(json.dumps(steps, sort_keys=True), draws, seed)


@functools.lru_cache(maxsize=64)
def _identical_fraction(steps_json: str, draws: int, seed: int) -> float:
    steps = json.loads(steps_json)
    validate_steps(steps)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (IDENTITY_SIDE, IDENTITY_SIDE, 3), dtype=np.uint8)
    mask = rng.integers(0, 6, (IDENTITY_SIDE, IDENTITY_SIDE), dtype=np.uint8)
    pipeline = build(steps, size=IDENTITY_SIDE, normalize=False, seed=seed)
    same = 0
    for _ in range(draws):
        out = pipeline(image=image, mask=mask)
        same += bool(np.array_equal(out["image"], image) and np.array_equal(out["mask"], mask))
    return same / draws


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

    Raises:
        InputError: a pipeline too large (:func:`~segdemo.augment.pipeline.validate_steps`) or whose estimated
            work for ``n`` samples at ``size`` px exceeds the budget (``err.augment_too_slow``).
    """
    if not 1 <= n <= 64:
        raise ValueError(f"n must be in 1..64, got {n}")
    validate_steps(steps)
    check_budget(steps, n=n, size=size)
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


@dataclass(frozen=True)
class Grid:
    """What the Augment tab shows for one request (:func:`augmented_grid`)."""

    image: np.ndarray  # (H, W, 3) uint8, the source
    mask: np.ndarray  # (H, W) uint8 class ids of the source
    palette: np.ndarray  # (K, 3) uint8
    notices: list[str]  # string keys of what the source's loading changed (load_source)
    samples: list[Sample]
    panels: list[dict[str, np.ndarray]]  # sample_panels of each sample


def augmented_grid(source: str, scene: int, image_path: str | None, mask_path: str | None, steps: list[Step],
                   *, n: int, seed: int, size: int) -> Grid:
    """The source loaded (:func:`load_source`), ``n`` seeded samples (:func:`augment_grid`) and their
    panels (:func:`sample_panels`): a pure function of its arguments, so the app computes it in a worker
    process (``segdemo.workers``).

    Raises:
        InputError: as :func:`load_source` and :func:`augment_grid`.
    """
    image, mask, palette, notices = load_source(source, scene, image_path, mask_path)
    samples = augment_grid(image, mask, steps, n=n, seed=seed, size=size)
    return Grid(image, mask, palette, notices, samples, [sample_panels(s, palette) for s in samples])


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


# ---- sources ----

SCENES = 100
MAX_SIDE = 1024  # uploads are downscaled first: the pipeline resizes to <= 512 anyway


@functools.lru_cache(maxsize=32)
def _scene(index: int) -> tuple[np.ndarray, np.ndarray]:
    scene = render_scene(0, index, size=256)
    for array in (scene.image, scene.mask):
        array.setflags(write=False)  # cached and shared between requests
    return scene.image, scene.mask


def checkerboard(shape: tuple[int, int], cells: int = 8) -> np.ndarray:
    """A two-class checkerboard (labels 1 and 2) standing in for a missing mask."""
    h, w = shape
    y = np.arange(h)[:, None] * cells // max(h, 1)
    x = np.arange(w)[None, :] * cells // max(w, 1)
    return (1 + (x + y) % 2).astype(np.uint8)


def load_source(source: str, scene: int, image_path: str | None, mask_path: str | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """``(image, mask, palette, notice keys)`` of the chosen source.

    Raises:
        InputError: no image uploaded, unreadable files, image and mask of different sizes, labels above 255.
    """

    if source == "synthetic":
        image, mask = _scene(scene)
        return image, mask, np.asarray(SCENE_PALETTE, dtype=np.uint8), []
    if not image_path:
        raise InputError("err.augment_no_image", "Upload an image first (the mask is optional).")
    loaded = load_image(image_path, max_side=MAX_SIDE)
    if not mask_path:
        mask = checkerboard(loaded.array.shape[:2])
        return loaded.array, mask, np.asarray(SCENE_PALETTE, dtype=np.uint8), ["augment.checkerboard"]
    mask = load_mask(mask_path, palette=voc_palette())
    name = Path(mask_path).name
    if loaded.resized and mask.shape == tuple(reversed(loaded.original_size)):
        # the image was downscaled: take the mask along, sampled at the same pixel centres
        mask = resize_mask(mask, loaded.array.shape[1::-1])
    image, mask = check_pair(loaded.array, mask, name=name)
    return image, mask, voc_palette(), []


# ---- controls ----

#: ``(transform, group or None)`` in the course's order.
TEMPLATE: tuple[tuple[str, str | None], ...] = (
    ("HorizontalFlip", None), ("VerticalFlip", None), ("RandomRotate90", None), ("Transpose", None),
    ("Affine", None),
    ("OpticalDistortion", "distort"), ("GridDistortion", "distort"), ("ElasticTransform", "distort"),
    ("CLAHE", "photo"), ("Sharpen", "photo"), ("Emboss", "photo"), ("RandomBrightnessContrast", "photo"),
    ("HueSaturationValue", None),
)
GROUPS: dict[str, dict[str, Any]] = {
    "distort": {"p": 0.3},  # the course's probabilities; named by the string augment.group.distort
    "photo": {"p": 0.3},
}
_GROUP_OF = dict(TEMPLATE)


def control_keys() -> list[str]:
    """Keys of the flat control values: ``group.<g>.p``, ``<T>.enabled``, ``<T>.p``, ``<T>.<param>``."""
    keys = [f"group.{g}.p" for g in GROUPS]
    for name, _ in TEMPLATE:
        keys += [f"{name}.enabled", f"{name}.p"] + [f"{name}.{p.name}" for p in CATALOGUE[name].params]
    return keys


def default_controls() -> dict[str, Any]:
    """Everything off, catalogue defaults (the member weights of a group default to 1)."""
    values: dict[str, Any] = {f"group.{g}.p": spec["p"] for g, spec in GROUPS.items()}
    for name, group in TEMPLATE:
        info = CATALOGUE[name]
        values[f"{name}.enabled"] = False
        values[f"{name}.p"] = 1.0 if group else info.p
        values.update({f"{name}.{k}": v for k, v in info.defaults().items()})
    return values


def _set(values: dict[str, Any], step: Step, p: float) -> None:
    name = step["name"]
    if name not in _GROUP_OF:
        raise ValueError(f"{name} is not one of the tab's editable transforms")
    values[f"{name}.enabled"] = True
    values[f"{name}.p"] = p
    for key, value in (step.get("params") or {}).items():
        values[f"{name}.{key}"] = value


def controls_from_steps(steps: list[Step]) -> dict[str, Any]:
    """Control values showing ``steps``.

    Raises:
        ValueError: a step the template cannot show (a transform outside it, a group that mixes
            the template's groups).
    """
    values = default_controls()
    for step in steps:
        if step["name"] == "OneOf":
            groups = {_GROUP_OF.get(child["name"]) for child in step["children"]}
            if len(groups) != 1 or None in groups:
                raise ValueError("this OneOf group does not match the tab's groups: "
                                 f"{[c['name'] for c in step['children']]}")
            values[f"group.{groups.pop()}.p"] = float(step.get("p", 1.0))
            for child in step["children"]:
                _set(values, child, float(child.get("p", 1.0)))
        else:
            p = float(step.get("p", CATALOGUE[step["name"]].p if step["name"] in CATALOGUE else 1.0))
            _set(values, step, 1.0 if _GROUP_OF.get(step["name"]) else p)
            if group := _GROUP_OF.get(step["name"]):
                values[f"group.{group}.p"] = p
    return values


def steps_from_controls(values: dict[str, Any]) -> list[Step]:
    """The steps the switches and sliders describe (see the module docstring for groups)."""
    values = {**default_controls(), **values}
    steps: list[Step] = []
    members: dict[str, list[Step]] = {g: [] for g in GROUPS}
    placed: set[str] = set()
    for name, group in TEMPLATE:
        if group and group not in placed:  # the group sits where its first member is
            placed.add(group)
            steps.append({"name": "OneOf", "group": group})
        if not values[f"{name}.enabled"]:
            continue
        step: Step = {"name": name, "p": float(values[f"{name}.p"])}
        params = {p.name: (int(values[f"{name}.{p.name}"]) if p.integer else float(values[f"{name}.{p.name}"]))
                  for p in CATALOGUE[name].params}
        if params:
            step["params"] = params
        (members[group] if group else steps).append(step)
    out: list[Step] = []
    for step in steps:
        if step["name"] != "OneOf":
            out.append(step)
            continue
        group = step["group"]
        children, p = members[group], float(values[f"group.{group}.p"])
        if len(children) == 1:
            out.append({**children[0], "p": p})
        elif children:
            out.append({"name": "OneOf", "p": p, "children": children})
    return out


def flatten(values: dict[str, Any]) -> list[Any]:
    """Control values as a list in :func:`control_keys` order."""
    values = {**default_controls(), **values}
    return [values[key] for key in control_keys()]


def unflatten(flat: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
    """The inverse of :func:`flatten`."""
    keys = control_keys()
    if len(flat) != len(keys):
        raise ValueError(f"expected {len(keys)} control values, got {len(flat)}")
    return dict(zip(keys, flat, strict=True))
