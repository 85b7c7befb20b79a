"""The editable pipeline of the Augment tab: the course's structure, one switch, p and sliders per transform.

The tab shows a fixed *template* (the course's transforms in the course's order, with its two
``OneOf`` groups); a preset or an imported JSON is mapped onto it, and the switches and sliders are
mapped back to steps. A group with one enabled member becomes that transform alone with the group's p
(the same probability); a group with none is left out.

The controls travel as a flat list of values in the order of :func:`control_keys`.
"""

from __future__ import annotations

from typing import Any

from segdemo.augment.catalogue import CATALOGUE
from segdemo.augment.pipeline import Step

#: ``(transform, group or None)`` in the course's order.
TEMPLATE: tuple[tuple[str, str | None], ...] = (
    ("HorizontalFlip", None), ("VerticalFlip", None), ("RandomRotate90", None), ("Transpose", None),
    ("Affine", None),
    ("OpticalDistortion", "distort"), ("GridDistortion", "distort"), ("ElasticTransform", "distort"),
    ("CLAHE", "photo"), ("Sharpen", "photo"), ("Emboss", "photo"), ("RandomBrightnessContrast", "photo"),
    ("HueSaturationValue", None),
)
GROUPS: dict[str, dict[str, Any]] = {
    "distort": {"p": 0.2, "label": {"en": "one of: distortions", "zh": "三选一：形变"}},
    "photo": {"p": 0.3, "label": {"en": "one of: contrast and texture", "zh": "四选一：对比度与纹理"}},
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
