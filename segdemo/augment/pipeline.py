"""Augmentation pipelines: a plain, JSON-friendly description ("steps") and the albumentations Compose.

A *step* is ``{"name": "Affine", "p": 0.2, "params": {"rotate": 45}}`` (simple values of
:mod:`segdemo.augment.catalogue`; missing ones take their default) or a group
``{"name": "OneOf", "p": 0.2, "children": [steps]}`` that applies one child, chosen by the children's
``p`` as weights. :func:`build` turns steps into ``A.Compose([Resize, *steps, Normalize])``.
"""

from __future__ import annotations

import copy
import functools
import os
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from segdemo.augment.catalogue import transform_info
from segdemo.data import IMAGENET_MEAN, IMAGENET_STD
from segdemo.errors import InputError

if TYPE_CHECKING:
    import albumentations as A

Step = dict[str, Any]

#: Mask interpolation of every transform that *resizes* (cv2.resize): centred nearest. cv2.INTER_NEAREST
#: samples source pixel floor(i·scale), half a source pixel off an INTER_LINEAR image (2.9 % of a 256-px
#: scene's labels disagree with a centred reference); INTER_NEAREST_EXACT samples floor((i + ½)·scale).
MASK_RESIZE_INTERPOLATION = cv2.INTER_NEAREST_EXACT
#: Mask interpolation of the warps (Affine, distortions, Perspective): cv2's warps round to the nearest
#: source pixel, which is already centred, and reject INTER_NEAREST_EXACT.
MASK_WARP_INTERPOLATION = cv2.INTER_NEAREST
#: The albumentations classes that resample their mask with cv2.resize.
RESIZES = ("Resize", "RandomResizedCrop", "RandomSizedCrop", "LongestMaxSize", "SmallestMaxSize")


@functools.cache
def albumentations() -> Any:
    """The ``albumentations`` module, imported on first use: it takes ~0.7 s, a seventh of the app's start-up,
    and no page needs it before the Augment tab draws its first grid."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # its import would otherwise ask PyPI for news
    import albumentations as A

    return A


def _resizes() -> tuple[type, ...]:
    A = albumentations()
    return tuple(getattr(A, name) for name in RESIZES)

#: ImageNet statistics, as ``A.Normalize`` uses by default and the models expect.
MEAN, STD = IMAGENET_MEAN, IMAGENET_STD

# The course's pipeline, ported to albumentations 2.0.8: ShiftScaleRotate became Affine (uniform scale),
# IAASharpen/IAAEmboss became Sharpen/Emboss, and the course's A.PiecewiseAffine became ElasticTransform
# (PiecewiseAffine takes ~6 s per 512x512 image on a CPU). Probabilities and limits are the course's:
# the affine step at p = 0.5, the distortions' OneOf at p = 0.3 (tests/test_augment.py checks them).
_COURSE: list[Step] = [
    {"name": "HorizontalFlip", "p": 0.5},
    {"name": "VerticalFlip", "p": 0.1},
    {"name": "RandomRotate90", "p": 0.5},
    {"name": "Transpose", "p": 0.5},
    {"name": "Affine", "p": 0.5, "params": {"shift": 0.0625, "scale": 0.2, "rotate": 45.0}},
    {"name": "OneOf", "p": 0.3, "children": [
        {"name": "OpticalDistortion", "p": 0.3, "params": {"distort": 0.05}},
        {"name": "GridDistortion", "p": 0.1, "params": {"steps": 5, "distort": 0.3}},
        {"name": "ElasticTransform", "p": 0.3, "params": {"alpha": 50.0, "sigma": 6.0}},
    ]},
    {"name": "OneOf", "p": 0.3, "children": [
        {"name": "CLAHE", "p": 1.0, "params": {"clip_limit": 2.0}},
        {"name": "Sharpen", "p": 1.0, "params": {"alpha": 0.5}},
        {"name": "Emboss", "p": 1.0, "params": {"alpha": 0.5, "strength": 0.7}},
        {"name": "RandomBrightnessContrast", "p": 1.0, "params": {"brightness": 0.2, "contrast": 0.2}},
    ]},
    {"name": "HueSaturationValue", "p": 0.3, "params": {"hue": 20.0, "saturation": 30.0, "value": 20.0}},
]

# Gentle enough that a small model still converges in a few epochs on the synthetic scenes.
_LIGHT: list[Step] = [
    {"name": "HorizontalFlip", "p": 0.5},
    {"name": "VerticalFlip", "p": 0.5},
    {"name": "RandomRotate90", "p": 0.5},
    {"name": "Affine", "p": 0.5, "params": {"shift": 0.05, "scale": 0.1, "rotate": 15.0}},
    {"name": "RandomBrightnessContrast", "p": 0.5, "params": {"brightness": 0.2, "contrast": 0.2}},
    {"name": "HueSaturationValue", "p": 0.3, "params": {"hue": 10.0, "saturation": 15.0, "value": 10.0}},
]

#: Named pipelines (steps between the Resize and the Normalize).
PRESETS: dict[str, list[Step]] = {"none": [], "light": _LIGHT, "course": _COURSE}


#: Work one pipeline may ask for (a classroom shares two cores): steps counted with every group's children,
#: how deep groups nest, and the estimated milliseconds of one request (:func:`check_budget`).
MAX_STEPS = 40
MAX_DEPTH = 3
MAX_WORK_MS = 1500.0
#: Milliseconds per 512×512 sample on one core, measured for each transform at p = 1 (``python -c`` loop in
#: issue 21's notes); transforms not listed cost about 2 ms. ``BASE`` is the resize and the sample's panels.
COST_MS = {"ElasticTransform": 23.0, "CLAHE": 14.0, "GaussNoise": 11.0, "OpticalDistortion": 6.0,
           "GridDistortion": 6.0}
DEFAULT_COST_MS = 2.0
BASE_COST_MS = 10.0


def validate_steps(steps: Any) -> None:
    """Bound a pipeline's size before anything is built: at most :data:`MAX_STEPS` steps in all (group
    children included) and groups nested at most :data:`MAX_DEPTH` deep. Iterative: any depth is safe.

    Raises:
        InputError: ``err.augment_too_many_steps`` or ``err.augment_too_deep``.
        ValueError: ``steps`` is not a list.
    """
    if not isinstance(steps, list):
        raise ValueError("the pipeline must be a JSON list of steps")
    count, stack = 0, [(step, 1) for step in steps]
    while stack:
        step, depth = stack.pop()
        count += 1
        if count > MAX_STEPS:
            raise InputError("err.augment_too_many_steps", "The pipeline has more than {limit} steps (groups' "
                             "members included); use at most {limit}.", limit=MAX_STEPS)
        # "children" in our steps, "transforms" in albumentations JSON
        children = step.get("children", step.get("transforms")) if isinstance(step, dict) else None
        if isinstance(children, list) and children:
            if depth >= MAX_DEPTH:
                raise InputError("err.augment_too_deep", "OneOf groups are nested more than {limit} deep; "
                                 "use at most {limit} levels.", limit=MAX_DEPTH)
            stack += [(child, depth + 1) for child in children]


def estimated_ms(steps: list[Step], *, n: int, size: int) -> float:
    """Estimated milliseconds to draw ``n`` samples at ``size`` px on one core (:data:`COST_MS`); a group
    costs its slowest member (it runs one)."""
    def cost(step: Step) -> float:
        if not isinstance(step, dict):
            return DEFAULT_COST_MS  # build() names the bad step
        if step.get("name") == "OneOf":
            return max((cost(child) for child in step.get("children") or []), default=0.0)
        return COST_MS.get(step.get("name"), DEFAULT_COST_MS)

    return n * (size / 512) ** 2 * (BASE_COST_MS + sum(cost(step) for step in steps))


def check_budget(steps: list[Step], *, n: int, size: int) -> None:
    """Refuse a request whose estimated work exceeds :data:`MAX_WORK_MS` (one user's pipeline must not hold
    the shared worker for everyone). Call after :func:`validate_steps`.

    Raises:
        InputError: ``err.augment_too_slow`` naming the estimate and the limit.
    """
    ms = estimated_ms(steps, n=n, size=size)
    if ms > MAX_WORK_MS:
        raise InputError("err.augment_too_slow", "This pipeline would take about {seconds} s for {n} samples at "
                         "{size} px; the limit is {limit} s. Use fewer or lighter steps (ElasticTransform is the "
                         "slowest), fewer samples or a smaller size.", seconds=f"{ms / 1000:.1f}", n=n, size=size,
                         limit=f"{MAX_WORK_MS / 1000:g}")


def preset_steps(preset: str) -> list[Step]:
    """A copy of the steps of ``preset``.

    Raises:
        ValueError: unknown preset (the message lists the valid ones).
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown augmentation preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[preset])


def untouched_probability(steps: list[Step]) -> float:
    """The chance that a sample skips every step: the product of ``1 - p`` over the top-level steps
    (a ``OneOf`` counts once, with its own ``p``). Draws that change nothing (``RandomRotate90`` with zero
    quarter turns) come on top of this."""
    return float(np.prod([1.0 - _check_p(step) for step in steps])) if steps else 1.0


def _check_p(step: Step) -> float:
    p = step.get("p", 1.0 if step.get("name") == "OneOf" else None)
    if p is None:
        p = transform_info(step["name"]).p
    p = float(p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{step['name']}: p = {p} must lie in [0, 1]")
    return p


def build_transform(step: Step, *, size: int) -> A.BasicTransform | A.BaseCompose:
    """One albumentations transform (or ``OneOf``) from a step.

    Raises:
        ValueError: unknown transform name, bad parameter, p outside [0, 1], empty group.
    """
    if not isinstance(step, dict) or "name" not in step:
        raise ValueError(f"a step must be a dict with a 'name', got {step!r}")
    p = _check_p(step)
    if step["name"] == "OneOf":
        children = step.get("children") or []
        if not children:
            raise ValueError("a OneOf group needs at least one child")
        return albumentations().OneOf([build_transform(child, size=size) for child in children], p=p)
    info = transform_info(step["name"])
    return getattr(albumentations(), info.name)(**info.kwargs(step.get("params"), size=size), p=p)


def build(steps: list[Step], *, size: int, normalize: bool = True, seed: int | None = None,
          save_applied_params: bool = False) -> A.Compose:
    """``A.Compose([Resize(size, size), *steps, Normalize?])`` with nearest mask interpolation.

    Args:
        steps: the pipeline (see the module docstring).
        size: output side; every sample comes out ``size``×``size``.
        normalize: end with ImageNet ``Normalize`` (float32 image); otherwise the image stays uint8.
        seed: seeds the Compose: the same seed gives the same sequence of samples.
        save_applied_params: record what each transform did under ``"applied_transforms"``.

    Returns:
        A Compose to call as ``pipeline(image=(H, W, 3) uint8, mask=(H, W) uint8)``.

    Raises:
        InputError: more steps or deeper groups than :func:`validate_steps` allows.
        ValueError: a bad step (see :func:`build_transform`).
    """
    if not isinstance(size, int) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    validate_steps(steps)
    A = albumentations()
    # Resize first: every later transform then works at the training size, which is also the cheapest.
    transforms: list[Any] = [A.Resize(size, size, interpolation=cv2.INTER_LINEAR,
                                      mask_interpolation=MASK_WARP_INTERPOLATION)]
    transforms += [build_transform(step, size=size) for step in steps]
    if normalize:
        transforms.append(A.Normalize(mean=MEAN, std=STD))
    compose = A.Compose(transforms, mask_interpolation=MASK_WARP_INTERPOLATION, seed=seed,
                        save_applied_params=save_applied_params)
    return centre_mask_resizes(compose)


def centre_mask_resizes(compose: A.BaseCompose) -> A.BaseCompose:
    """Give every resizing transform inside ``compose`` (nested groups too) centred nearest mask sampling.

    albumentations' argument checks accept only cv2 flags 0-4 for ``mask_interpolation``, so
    :data:`MASK_RESIZE_INTERPOLATION` is set on the built transforms, as ``Compose`` itself sets it.
    Returns ``compose``.
    """
    for transform in compose.transforms:
        if isinstance(transform, albumentations().BaseCompose):
            centre_mask_resizes(transform)
        elif isinstance(transform, _resizes()):
            transform.mask_interpolation = MASK_RESIZE_INTERPOLATION
    return compose


def build_pipeline(preset: str, *, size: int, normalize: bool = True, seed: int | None = None) -> A.Compose:
    """The albumentations pipeline of a named preset (see :data:`PRESETS`).

    Args:
        preset: ``"none"``, ``"light"`` or ``"course"``.
        size: output side in pixels.
        normalize: end with ImageNet normalisation.
        seed: seed of the Compose's own random state.

    Returns:
        ``A.Compose``; call it as ``pipeline(image=uint8 (H, W, 3), mask=uint8 (H, W))``.

    Raises:
        ValueError: unknown preset.
    """
    return build(preset_steps(preset), size=size, normalize=normalize, seed=seed)
