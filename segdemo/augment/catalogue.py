"""The transforms the Augment tab offers: parameters, ranges, defaults, kind and a one-line explanation.

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
        encoding: a key of :data:`ENCODINGS`; ``k`` its constant.
        label: ``{"en": ..., "zh": ...}``.
        integer: the value is an ``int``.
    """

    name: str
    default: float
    low: float
    high: float
    step: float
    keys: tuple[str, ...]
    encoding: str
    label: dict[str, str]
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
        params: its sliders.
        explain: one line, ``{"en": ..., "zh": ...}``.
        fixed: constant keyword arguments.
        border: it brings in borders, so it gets ``fill``/``fill_mask``/nearest mask interpolation.
        sized: it needs the output size (``size=(s, s)``).
    """

    name: str
    kind: Literal["geometric", "photometric"]
    p: float
    params: tuple[Param, ...]
    explain: dict[str, str]
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
       encoding: str, en: str, zh: str, k: float = 0.0, integer: bool = False) -> Param:
    keys = (keys,) if isinstance(keys, str) else keys
    return Param(name, default, low, high, step, keys, encoding, {"en": en, "zh": zh}, k, integer)


def _t(name: str, kind: Literal["geometric", "photometric"], p: float, params: tuple[Param, ...], en: str,
       zh: str, **extra: Any) -> TransformInfo:
    return TransformInfo(name, kind, p, params, {"en": en, "zh": zh}, **extra)


G, P = "geometric", "photometric"
_ENTRIES: tuple[TransformInfo, ...] = (
    _t("HorizontalFlip", G, 0.5, (), "Mirrors left and right: a scene looks just as real mirrored.",
       "左右镜像：镜像后的场景同样真实。"),
    _t("VerticalFlip", G, 0.5, (), "Turns the picture upside down: fine for aerial or microscope images.",
       "上下翻转：适合航拍或显微图像。"),
    _t("RandomRotate90", G, 0.5, (), "Rotates by 0, 90, 180 or 270 degrees: no interpolation, no borders.",
       "旋转 0、90、180 或 270 度：无插值，无边界。"),
    _t("Transpose", G, 0.5, (), "Swaps rows and columns (a flip across the diagonal).",
       "交换行和列（沿对角线翻转）。"),
    _t("Affine", G, 0.5, (
        _p("shift", 0.0625, 0.0, 0.3, 0.0125, "translate_percent", "symmetric", "shift (fraction of size)",
           "平移（占尺寸比例）"),
        _p("scale", 0.2, 0.0, 0.5, 0.05, "scale", "around", "scale ±", "缩放 ±", k=1.0),
        _p("rotate", 45.0, 0.0, 180.0, 5.0, "rotate", "symmetric", "rotate ± (degrees)", "旋转 ±（度）"),
    ), "Shifts, zooms and rotates: new borders are filled, and ignored (255) in the mask.",
       "平移、缩放、旋转：新出现的边界被填充，在掩码中记为忽略（255）。",
       fixed={"keep_ratio": True}, border=True),
    _t("OpticalDistortion", G, 0.5, (
        _p("distort", 0.3, 0.0, 1.0, 0.05, "distort_limit", "symmetric", "distortion ±", "畸变 ±"),
    ), "Barrel or pincushion distortion, like a cheap wide-angle lens.",
       "桶形或枕形畸变，就像廉价的广角镜头。", border=True),
    _t("GridDistortion", G, 0.5, (
        _p("steps", 5, 2, 10, 1, "num_steps", "scalar", "grid cells", "网格数", integer=True),
        _p("distort", 0.3, 0.0, 0.6, 0.05, "distort_limit", "symmetric", "distortion ±", "畸变 ±"),
    ), "Stretches the cells of a coarse grid by different amounts.", "把粗网格的各个格子拉伸不同的程度。",
       border=True),
    _t("ElasticTransform", G, 0.5, (
        _p("alpha", 50.0, 0.0, 200.0, 5.0, "alpha", "scalar", "strength", "强度"),
        _p("sigma", 6.0, 2.0, 50.0, 1.0, "sigma", "scalar", "smoothness", "平滑度"),
    ), "A smooth random displacement field, like rubber: popular for cells and tissue.",
       "平滑的随机位移场，像橡皮一样：常用于细胞和组织图像。", border=True),
    # PiecewiseAffine (the course's IAAPiecewiseAffine) is left out: about 6 s per 512x512 image on
    # a CPU (albumentations itself warns it is slow); ElasticTransform gives the same local wobble.
    _t("Perspective", G, 0.5, (
        _p("scale", 0.1, 0.02, 0.2, 0.01, "scale", "upper", "tilt", "倾斜程度", k=0.5),
    ), "Looks at the scene from a slightly different angle.", "从稍微不同的角度观察场景。", border=True),
    _t("RandomResizedCrop", G, 1.0, (
        _p("min_area", 0.3, 0.08, 1.0, 0.02, "scale", "to", "smallest crop (fraction of area)",
           "最小裁剪（面积比例）", k=1.0),
    ), "Crops a random part and zooms it back to full size: objects appear bigger.",
       "随机裁剪一部分再放大回原尺寸：物体显得更大。", sized=True),
    _t("CLAHE", P, 0.5, (
        _p("clip_limit", 4.0, 1.0, 8.0, 0.5, "clip_limit", "from", "contrast limit", "对比度上限", k=1.0),
    ), "Local histogram equalisation: brings out detail in dark and bright areas.",
       "局部直方图均衡：突出暗处和亮处的细节。"),
    _t("Sharpen", P, 0.5, (
        _p("alpha", 0.5, 0.05, 1.0, 0.05, "alpha", "upper", "strength", "强度", k=0.4),
    ), "Sharpens edges.", "锐化边缘。"),
    _t("Emboss", P, 0.5, (
        _p("alpha", 0.5, 0.05, 1.0, 0.05, "alpha", "upper", "strength", "强度", k=0.4),
        _p("strength", 0.7, 0.1, 2.0, 0.1, "strength", "upper", "relief", "浮雕深度", k=0.3),
    ), "Embosses the image: edges look raised, like a relief.", "浮雕效果：边缘看起来凸起。"),
    _t("RandomBrightnessContrast", P, 0.5, (
        _p("brightness", 0.2, 0.0, 0.5, 0.05, "brightness_limit", "symmetric", "brightness ±", "亮度 ±"),
        _p("contrast", 0.2, 0.0, 0.5, 0.05, "contrast_limit", "symmetric", "contrast ±", "对比度 ±"),
    ), "Makes the picture brighter or darker, flatter or punchier.", "让图像更亮或更暗，对比度更低或更高。"),
    _t("HueSaturationValue", P, 0.5, (
        _p("hue", 20.0, 0.0, 90.0, 5.0, "hue_shift_limit", "symmetric", "hue ±", "色相 ±"),
        _p("saturation", 30.0, 0.0, 100.0, 5.0, "sat_shift_limit", "symmetric", "saturation ±", "饱和度 ±"),
        _p("value", 20.0, 0.0, 100.0, 5.0, "val_shift_limit", "symmetric", "value ±", "明度 ±"),
    ), "Shifts colours, colourfulness and lightness: a red car stays a car.",
       "改变色相、饱和度和明度：红色的车依然是车。"),
    _t("GaussianBlur", P, 0.5, (
        _p("sigma", 2.0, 0.2, 5.0, 0.1, "sigma_limit", "upper", "blur (sigma)", "模糊（sigma）", k=0.25),
    ), "Blurs, like an out-of-focus camera.", "模糊，就像失焦的相机。", fixed={"blur_limit": 0}),
    _t("GaussNoise", P, 0.5, (
        _p("std", 0.1, 0.02, 0.5, 0.02, "std_range", "upper", "noise (std)", "噪声（标准差）", k=0.5),
    ), "Adds sensor noise.", "添加传感器噪声。"),
    _t("RandomGamma", P, 0.5, (
        _p("gamma", 20.0, 0.0, 60.0, 5.0, "gamma_limit", "around", "gamma ± (%)", "伽马 ±（%）", k=100.0),
    ), "Changes mid-tones, keeping black and white.", "改变中间调，黑白不变。"),
    _t("ToGray", P, 0.2, (), "Drops colour: the model must recognise shapes, not colours.",
       "去掉颜色：模型必须依靠形状而不是颜色来识别。"),
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
