"""The transforms the Augment tab offers: parameters, ranges, defaults and kind (their words are strings).

Each entry maps a few *simple* parameters (what a slider shows, e.g. ``rotate = 45``) to the keyword
arguments of the albumentations 2.0.8 class (``rotate=(-45, 45)``) and back, so that a pipeline can be
edited with sliders, exported as albumentations JSON and read back into the same sliders.

Geometric transforms move pixels, so they move the mask too (always with nearest interpolation);
photometric transforms change only the image's colours and leave the mask alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2

IGNORE_INDEX = 255  # mask value where a geometric transform brings in a border (ignored by losses)
IMAGE_FILL = 0  # black image border

# How a simple value becomes an albumentations argument, and back (``encode(v, k)``, ``decode(x, k)``).
_Encoding = tuple[Callable[[float, float], Any], Callable[[Any, float], float]]
ENCODINGS: dict[str, _Encoding] = {
    "scalar": (lambda v, k: v, lambda x, k: x),
    "symmetric": (lambda v, k: (-v, v), lambda x, k: x[1]),  # v -> (-v, v)
    "upper": (lambda v, k: (v * k, v), lambda x, k: x[1]),  # v -> (k*v, v)
    "from": (lambda v, k: (k, v), lambda x, k: x[1]),  # v -> (k, v), k a fixed lower bound
    "to": (lambda v, k: (v, k), lambda x, k: x[0]),  # v -> (v, k), k a fixed upper bound
    "around": (lambda v, k: (k - v, k + v), lambda x, k: x[1] - k),  # v -> (k-v, k+v)
}


@dataclass(frozen=True)
class Param:
    """One slider of a transform.

    Args:
        name: our name of the value (``"rotate"``).
        default, low, high, step: slider default and range.
        keys: albumentations arguments this value sets (several for e.g. rows and columns).
        encoding: a key of :data:`ENCODINGS`; ``k`` its constant. (Its label is the string
            ``augment.param.<Transform>.<name>`` in :mod:`segdemo.strings.augment`.)
        integer: the value is an ``int``.
    """

    name: str
    default: float
    low: float
    high: float
    step: float
    keys: tuple[str, ...]
    encoding: str
    k: float = 0.0
    integer: bool = False

    def encode(self, value: float) -> Any:
        v = int(round(value)) if self.integer else float(value)
        return ENCODINGS[self.encoding][0](v, self.k)

    def decode(self, arg: Any) -> float:
        if isinstance(arg, dict):  # Affine stores {"x": (lo, hi), "y": (lo, hi)}
            arg = arg["x"]
        value = ENCODINGS[self.encoding][1](arg, self.k)
        return int(round(value)) if self.integer else round(float(value), 6)


@dataclass(frozen=True)
class TransformInfo:
    """A transform of the catalogue.

    Args:
        name: the albumentations class name.
        kind: ``"geometric"`` (moves image and mask) or ``"photometric"`` (image only).
        p: default probability.
        params: its sliders. (Its one-line explanation is the string ``augment.t.<name>``.)
        fixed: constant keyword arguments.
        border: it brings in borders, so it gets ``fill``/``fill_mask``/nearest mask interpolation.
        sized: it needs the output size (``size=(s, s)``).
    """

    name: str
    kind: Literal["geometric", "photometric"]
    p: float
    params: tuple[Param, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    border: bool = False
    sized: bool = False

    @property
    def geometric(self) -> bool:
        return self.kind == "geometric"

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def kwargs(self, values: dict[str, float] | None = None, *, size: int | None = None) -> dict[str, Any]:
        """Albumentations keyword arguments (without ``p``) for ``values`` (defaults where missing).

        Raises:
            ValueError: an unknown parameter name or a value outside its range.
        """
        values = {**self.defaults(), **(values or {})}
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            raise ValueError(f"{self.name} has no parameter(s) {sorted(unknown)}; "
                             f"it has {[p.name for p in self.params]}")
        out: dict[str, Any] = dict(self.fixed)
        for param in self.params:
            value = float(values[param.name])
            if not param.low - 1e-9 <= value <= param.high + 1e-9:
                raise ValueError(f"{self.name}.{param.name} = {value} is outside [{param.low}, {param.high}]")
            for key in param.keys:
                out[key] = param.encode(value)
        if self.border:
            out.update(border_mode=cv2.BORDER_CONSTANT, fill=IMAGE_FILL, fill_mask=IGNORE_INDEX,
                       mask_interpolation=cv2.INTER_NEAREST)
        if self.sized:
            if size is None:
                raise ValueError(f"{self.name} needs the output size")
            out["size"] = (size, size)
            out["mask_interpolation"] = cv2.INTER_NEAREST
        return out

    def values_from(self, kwargs: dict[str, Any]) -> dict[str, float]:
        """The simple values back from albumentations arguments (as in ``A.to_dict``)."""
        return {p.name: p.decode(kwargs[p.keys[0]]) for p in self.params if p.keys[0] in kwargs}


def _p(name: str, default: float, low: float, high: float, step: float, keys: str | tuple[str, ...],
       encoding: str, k: float = 0.0, integer: bool = False) -> Param:
    keys = (keys,) if isinstance(keys, str) else keys
    return Param(name, default, low, high, step, keys, encoding, k, integer)


def _t(name: str, kind: Literal["geometric", "photometric"], p: float, params: tuple[Param, ...],
       **extra: Any) -> TransformInfo:
    return TransformInfo(name, kind, p, params, **extra)


G, P = "geometric", "photometric"
_ENTRIES: tuple[TransformInfo, ...] = (
    _t("HorizontalFlip", G, 0.5, ()),
    _t("VerticalFlip", G, 0.5, ()),
    _t("RandomRotate90", G, 0.5, ()),
    _t("Transpose", G, 0.5, ()),
    _t("Affine", G, 0.5, (
        _p("shift", 0.0625, 0.0, 0.3, 0.0125, "translate_percent", "symmetric"),
        _p("scale", 0.2, 0.0, 0.5, 0.05, "scale", "around", k=1.0),
        _p("rotate", 45.0, 0.0, 180.0, 5.0, "rotate", "symmetric"),
    ),
       fixed={"keep_ratio": True}, border=True),
    _t("OpticalDistortion", G, 0.5, (
        _p("distort", 0.3, 0.0, 1.0, 0.05, "distort_limit", "symmetric"),
    ), border=True),
    _t("GridDistortion", G, 0.5, (
        _p("steps", 5, 2, 10, 1, "num_steps", "scalar", integer=True),
        _p("distort", 0.3, 0.0, 0.6, 0.05, "distort_limit", "symmetric"),
    ),
       border=True),
    _t("ElasticTransform", G, 0.5, (
        _p("alpha", 50.0, 0.0, 200.0, 5.0, "alpha", "scalar"),
        _p("sigma", 6.0, 2.0, 50.0, 1.0, "sigma", "scalar"),
    ), border=True),
    # PiecewiseAffine (the course's A.PiecewiseAffine) is left out: about 6 s per 512x512 image on
    # a CPU (albumentations itself warns it is slow); ElasticTransform gives the same local wobble.
    _t("Perspective", G, 0.5, (
        _p("scale", 0.1, 0.02, 0.2, 0.01, "scale", "upper", k=0.5),
    ), border=True),
    _t("RandomResizedCrop", G, 1.0, (
        _p("min_area", 0.3, 0.08, 1.0, 0.02, "scale", "to", k=1.0),
    ), sized=True),
    _t("CLAHE", P, 0.5, (
        _p("clip_limit", 4.0, 1.0, 8.0, 0.5, "clip_limit", "from", k=1.0),
    )),
    _t("Sharpen", P, 0.5, (
        _p("alpha", 0.5, 0.05, 1.0, 0.05, "alpha", "upper", k=0.4),
    )),
    _t("Emboss", P, 0.5, (
        _p("alpha", 0.5, 0.05, 1.0, 0.05, "alpha", "upper", k=0.4),
        _p("strength", 0.7, 0.1, 2.0, 0.1, "strength", "upper", k=0.3),
    )),
    _t("RandomBrightnessContrast", P, 0.5, (
        _p("brightness", 0.2, 0.0, 0.5, 0.05, "brightness_limit", "symmetric"),
        _p("contrast", 0.2, 0.0, 0.5, 0.05, "contrast_limit", "symmetric"),
    )),
    _t("HueSaturationValue", P, 0.5, (
        _p("hue", 20.0, 0.0, 90.0, 5.0, "hue_shift_limit", "symmetric"),
        _p("saturation", 30.0, 0.0, 100.0, 5.0, "sat_shift_limit", "symmetric"),
        _p("value", 20.0, 0.0, 100.0, 5.0, "val_shift_limit", "symmetric"),
    )),
    _t("GaussianBlur", P, 0.5, (
        _p("sigma", 2.0, 0.2, 5.0, 0.1, "sigma_limit", "upper", k=0.25),
    ), fixed={"blur_limit": 0}),
    _t("GaussNoise", P, 0.5, (
        _p("std", 0.1, 0.02, 0.5, 0.02, "std_range", "upper", k=0.5),
    )),
    _t("RandomGamma", P, 0.5, (
        _p("gamma", 20.0, 0.0, 60.0, 5.0, "gamma_limit", "around", k=100.0),
    )),
    _t("ToGray", P, 0.2, ()),
)

CATALOGUE: dict[str, TransformInfo] = {info.name: info for info in _ENTRIES}


def transform_info(name: str) -> TransformInfo:
    """The catalogue entry ``name``.

    Raises:
        ValueError: ``name`` is not in the catalogue.
    """
    if name not in CATALOGUE:
        raise ValueError(f"unknown transform {name!r}; the catalogue has {sorted(CATALOGUE)}")
    return CATALOGUE[name]


def geometric_names() -> list[str]:
    """Names of the transforms that move the mask with the image."""
    return [name for name, info in CATALOGUE.items() if info.geometric]
