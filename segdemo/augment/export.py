"""Export a pipeline as Python code or albumentations JSON, and read the JSON back.

Round trip: ``steps -> to_json -> steps_from_json`` gives the same steps, and ``load_json(to_json(...))``
gives a Compose that, with the same seed, produces the same samples.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from segdemo.augment.catalogue import CATALOGUE
from segdemo.augment.pipeline import (
    PRESETS,
    RESIZES,
    Step,
    albumentations,
    build,
    build_transform,
    centre_mask_resizes,
    preset_steps,
    validate_steps,
)
from segdemo.data import IMAGENET_MEAN, IMAGENET_STD
from segdemo.errors import InputError

if TYPE_CHECKING:
    import albumentations as A

# cv2 constants by argument, so the exported code reads `cv2.INTER_NEAREST` rather than `0`.
_CV2_NAMES = {
    "interpolation": {0: "cv2.INTER_NEAREST", 1: "cv2.INTER_LINEAR", 2: "cv2.INTER_CUBIC", 3: "cv2.INTER_AREA"},
    "mask_interpolation": {0: "cv2.INTER_NEAREST", 1: "cv2.INTER_LINEAR", 6: "cv2.INTER_NEAREST_EXACT"},
    "border_mode": {0: "cv2.BORDER_CONSTANT", 1: "cv2.BORDER_REPLICATE", 4: "cv2.BORDER_REFLECT_101"},
}


def _literal(key: str, value: Any) -> str:
    if key in _CV2_NAMES and value in _CV2_NAMES[key]:
        return _CV2_NAMES[key][value]
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal("", v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _call(name: str, kwargs: dict[str, Any], indent: str) -> str:
    args = [f"{k}={_literal(k, v)}" for k, v in kwargs.items()]
    one_line = f"{indent}A.{name}(" + ", ".join(args) + "),"
    if len(one_line) <= 100:
        return one_line
    inner = indent + "    "
    return f"{indent}A.{name}(\n" + "".join(f"{inner}{a},\n" for a in args) + f"{indent}),"


def _step_code(step: Step, size: int, indent: str) -> list[str]:
    p = float(step.get("p", 1.0 if step["name"] == "OneOf" else CATALOGUE[step["name"]].p))
    if step["name"] == "OneOf":
        lines = [f"{indent}A.OneOf(["]
        for child in step["children"]:
            lines += _step_code(child, size, indent + "    ")
        return lines + [f"{indent}], p={_literal('p', p)}),"]
    kwargs = CATALOGUE[step["name"]].kwargs(step.get("params"), size=size)
    return [_call(step["name"], {**kwargs, "p": p}, indent)]


def to_python(steps: list[Step], *, size: int, normalize: bool = True) -> str:
    """Python source that rebuilds the pipeline with plain albumentations (no segdemo needed).

    The code defines ``build_pipeline(seed=None) -> A.Compose``; with the same seed it gives the
    same samples as :func:`segdemo.augment.pipeline.build`.
    """
    build(steps, size=size, normalize=normalize)  # validates the steps before we print them
    lines = [
        '"""Augmentation pipeline exported from segdemo\'s Augment tab (albumentations 2.0.8)."""',
        "",
        "import albumentations as A",
        "import cv2",
        "",
        "",
        "def build_pipeline(seed: int | None = None) -> A.Compose:",
        '    """Call the result as pipeline(image=uint8 (H, W, 3), mask=uint8 (H, W))."""',
        "    pipeline = A.Compose(",
        "        [",
        f"            A.Resize({size}, {size}, interpolation=cv2.INTER_LINEAR, mask_interpolation=cv2.INTER_NEAREST),",
    ]
    for step in steps:
        lines += _step_code(step, size, " " * 12)
    if normalize:
        lines.append(f"            A.Normalize(mean={IMAGENET_MEAN}, std={IMAGENET_STD}),")
    lines += [
        "        ],",
        "        mask_interpolation=cv2.INTER_NEAREST,  # masks hold class ids: never blend them",
        "        seed=seed,",
        "    )",
        "    # Resizes sample masks at pixel centres like the image (cv2.INTER_NEAREST is half a pixel off);",
        "    # albumentations' checks refuse INTER_NEAREST_EXACT as an argument, so it is set afterwards.",
        "    _centre_mask_resizes(pipeline)",
        "    return pipeline",
        "",
        "",
        f"RESIZES = ({', '.join(f'A.{name}' for name in RESIZES)})",
        "",
        "",
        "def _centre_mask_resizes(compose: A.BaseCompose) -> None:",
        "    for transform in compose.transforms:",
        "        if isinstance(transform, A.BaseCompose):",
        "            _centre_mask_resizes(transform)",
        "        elif isinstance(transform, RESIZES):",
        "            transform.mask_interpolation = cv2.INTER_NEAREST_EXACT",
        "",
        "",
        'if __name__ == "__main__":',
        "    print(build_pipeline(seed=0))",
        "",
    ]
    return "\n".join(lines)


def to_json(steps: list[Step], *, size: int, normalize: bool = True) -> str:
    """The pipeline in albumentations' own JSON format (``A.to_dict``), readable by ``A.from_dict``."""
    return json.dumps(albumentations().to_dict(build(steps, size=size, normalize=normalize)), indent=2) + "\n"


#: Pipeline JSON a reader may send: albumentations' own export of the course pipeline is ~10 KB, 9 levels deep.
MAX_JSON_CHARS = 200_000
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def json_depth(text: str) -> int:
    """How deeply ``[`` and ``{`` nest in ``text`` (brackets inside strings do not count), without parsing."""
    brackets = np.frombuffer(_JSON_STRING.sub('""', text).encode("utf-8", "replace"), np.uint8)
    step = np.isin(brackets, (ord("["), ord("{"))).astype(np.int32) - np.isin(brackets, (ord("]"), ord("}")))
    return int(np.cumsum(step).max(initial=0))


def loads_bounded(text: str | bytes, name: str = "pipeline") -> Any:
    """``json.loads`` for a reader's pipeline: its size and nesting checked first, a clear message per rule.

    Raises:
        InputError: ``err.augment_json_large`` (more than :data:`MAX_JSON_CHARS`), ``err.augment_json_deep``
            (nested more than :data:`MAX_JSON_DEPTH`), ``err.augment_json`` (not JSON).
    """
    if len(text) > MAX_JSON_CHARS:
        raise InputError("err.augment_json_large", "{name} has {size} KB of text; a pipeline needs at most "
                         "{limit} KB.", name=name, size=len(text) // 1000, limit=MAX_JSON_CHARS // 1000)
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        depth = json_depth(text)
        if depth > MAX_JSON_DEPTH:
            raise InputError("err.augment_json_deep", "{name} is nested {depth} levels deep; a pipeline needs at "
                             "most {limit}.", name=name, depth=depth, limit=MAX_JSON_DEPTH)
        return json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError("err.augment_json", "{name} is not an albumentations pipeline (JSON).",
                         name=name) from None


def _parse(text: str | bytes, name: str) -> dict[str, Any]:
    try:
        data = loads_bounded(text, name)
    except InputError as exc:
        if exc.key != "err.augment_json":
            raise
        raise InputError("err.augment_json", "{name} is not an albumentations pipeline (JSON).",
                         name=name) from None
    transform = data.get("transform") if isinstance(data, dict) else None
    if not isinstance(transform, dict) or transform.get("__class_fullname__") != "Compose":
        raise InputError("err.augment_json", "{name} is not an albumentations pipeline (JSON).", name=name)
    return transform


def load_json(text: str | bytes, *, seed: int | None = None, name: str = "pipeline.json") -> A.Compose:
    """A Compose from albumentations JSON, seeded like :func:`~segdemo.augment.pipeline.build`.

    ``A.to_dict`` stores neither the seed nor the Compose-level mask interpolation, so both are set here
    (centred nearest for the resizes, as :func:`~segdemo.augment.pipeline.build`).

    Raises:
        InputError: ``err.augment_json`` (not a pipeline JSON).
    """
    validate_steps(_parse(text, name).get("transforms") or [])  # bounds from_dict's recursion and work
    try:
        compose = albumentations().from_dict(json.loads(text))
    except Exception as exc:  # noqa: BLE001 - albumentations raises many kinds for bad files
        raise InputError("err.augment_json", "{name} is not an albumentations pipeline (JSON).",
                         name=name) from exc
    compose.set_mask_interpolation(0)
    centre_mask_resizes(compose)
    compose.set_random_seed(seed)
    return compose


def _step_from_dict(entry: dict[str, Any], name: str) -> Step:
    cls = str(entry.get("__class_fullname__", "?")).rsplit(".", 1)[-1]
    p = float(entry.get("p", 1.0))
    if cls == "OneOf":
        return {"name": "OneOf", "p": p, "children": [_step_from_dict(e, name) for e in entry["transforms"]]}
    if cls not in CATALOGUE:
        raise InputError("err.augment_json_unknown", "{name} uses {transform}, which the Augment tab does not offer.",
                         name=name, transform=cls)
    info = CATALOGUE[cls]
    step: Step = {"name": cls, "p": p}
    if info.params:
        step["params"] = info.values_from(entry)
    return step


def steps_from_json(text: str | bytes, *, name: str = "pipeline.json") -> tuple[list[Step], int, bool]:
    """Read albumentations JSON back into steps (for the tab's controls).

    Returns:
        ``(steps, size, normalize)``: the steps between the leading ``Resize`` and the optional
        trailing ``Normalize``.

    Raises:
        InputError: ``err.augment_json`` (not a pipeline JSON, or no leading Resize),
            ``err.augment_json_unknown`` (a transform the catalogue does not have).
    """
    entries = _parse(text, name).get("transforms") or []
    if not isinstance(entries, list):
        raise InputError("err.augment_json", "{name} is not an albumentations pipeline (JSON).", name=name)
    validate_steps(entries)  # bounds the recursion below
    entries = list(entries)
    if not entries or entries[0].get("__class_fullname__") != "Resize":
        raise InputError("err.augment_json", "{name} is not an albumentations pipeline (JSON).", name=name)
    size = int(entries.pop(0)["height"])
    normalize = bool(entries) and entries[-1].get("__class_fullname__") == "Normalize"
    if normalize:
        entries.pop()
    steps = [_step_from_dict(e, name) for e in entries]
    for step in steps:  # a value outside the sliders' ranges must fail here, not later in the UI
        try:
            build_transform(step, size=size)
        except ValueError as exc:
            raise InputError("err.augment_json_value", "{name}: {detail}", name=name, detail=str(exc)) from None
    return steps, size, normalize


def steps_from_text(text: str | None) -> list[Step]:
    """Steps from a preset name, a JSON list of steps, or albumentations JSON (empty text: no steps).

    Raises:
        ValueError: not a preset and not valid JSON steps (the message says why).
        InputError: albumentations JSON the catalogue cannot show (see :func:`steps_from_json`).
    """
    text = (text or "").strip()
    if not text:
        return []
    if text in PRESETS:
        return preset_steps(text)
    try:
        data = loads_bounded(text)
    except InputError as exc:
        if exc.key != "err.augment_json":
            raise
        raise ValueError(f"{text[:40]!r} is neither a preset ({', '.join(PRESETS)}) nor JSON") from None
    steps = steps_from_json(text)[0] if isinstance(data, dict) else data
    validate_steps(steps)
    try:
        build(steps, size=64)  # names, parameters and p
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"malformed step: {exc}") from None
    return steps
