"""The project's checkpoint format: weights as safetensors, a JSON card beside them.

``checkpoints/unet.safetensors`` holds the tensors (no pickle, optionally fp16) and
``checkpoints/unet.json`` the card: model name and options, classes and palette,
normalisation, the training recipe and the command that reproduces it, the measured
validation metrics, the weights' sha256 and the date. Loading checks the hash and refuses a
card whose architecture does not match the tensors, with a message saying which keys differ.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from segdemo.errors import InputError
from segdemo.models import create_model

FORMAT_VERSION = 1
#: Where the shipped checkpoints live (relative to the repository root).
CHECKPOINT_DIR = Path(__file__).resolve().parents[1] / "checkpoints"


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode, float32) and its card."""

    model: nn.Module
    card: dict[str, Any]


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def card_path(stem: str | Path) -> Path:
    """The JSON card of checkpoint ``stem`` (``runs/unet`` → ``runs/unet.json``)."""
    return _paths(stem)[1]


def _paths(stem: str | Path) -> tuple[Path, Path]:
    stem = Path(stem)
    if stem.suffix in (".safetensors", ".json"):
        stem = stem.with_suffix("")
    # Appended, not with_suffix: "runs/unet.v2" must not become "runs/unet.json".
    return Path(f"{stem}.safetensors"), Path(f"{stem}.json")


def save_checkpoint(model: nn.Module, stem: str | Path, card: dict[str, Any], *, half: bool = True) -> Path:
    """Write ``<stem>.safetensors`` and ``<stem>.json``.

    Args:
        model: the trained model.
        stem: path without extension, e.g. ``checkpoints/unet``.
        card: at least ``model`` (registry name), ``num_classes`` and ``options`` (builder
            options); anything else (classes, palette, normalisation, recipe, metrics) is
            stored as given. ``sha256``, ``format``, ``dtype`` and ``date`` are filled in here.
        half: store floating tensors as fp16 (halves the file; loading casts back to fp32).

    Returns:
        The path of the JSON card.
    """
    for key in ("model", "num_classes", "options"):
        if key not in card:
            raise ValueError(f"checkpoint card needs {key!r}")
    weights_path, card_path = _paths(stem)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu").contiguous()
        if half and tensor.is_floating_point():
            tensor = tensor.half()
        tensors[name] = tensor
    save_file(tensors, str(weights_path), metadata={"format": str(FORMAT_VERSION), "model": card["model"]})
    full = {
        **card,
        "format": FORMAT_VERSION,
        "weights": weights_path.name,
        "dtype": "float16" if half else "float32",
        "sha256": sha256_of(weights_path),
        "size_bytes": weights_path.stat().st_size,
        "date": card.get("date") or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    card_path.write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return card_path


def read_card(stem: str | Path) -> dict[str, Any]:
    """The JSON card of a checkpoint (no weights are read)."""
    _, card_path = _paths(stem)
    try:
        return json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("err.checkpoint_missing", "No checkpoint at {path}.", path=str(card_path)) from None


def load_checkpoint(stem: str | Path, *, verify: bool = True) -> Checkpoint:
    """Build the card's model and load its weights (hash-checked, no pickle).

    Raises:
        InputError: ``err.checkpoint_missing``, ``err.checkpoint_hash`` (the weights are not
            the ones the card describes) or ``err.checkpoint_mismatch`` (the tensors do not fit
            the card's architecture).
    """
    card = read_card(stem)
    weights_path, _ = _paths(stem)
    weights_path = weights_path.with_name(card.get("weights", weights_path.name))
    if not weights_path.exists():
        raise InputError("err.checkpoint_missing", "No checkpoint at {path}.", path=str(weights_path))
    if verify and sha256_of(weights_path) != card.get("sha256"):
        raise InputError(
            "err.checkpoint_hash",
            "{path} does not match the sha256 in its card; the file is corrupt or was replaced.",
            path=weights_path.name,
        )
    model = create_model(card["model"], card["num_classes"], **card["options"])
    state = load_file(str(weights_path))
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or wrong_shape:
        detail = "; ".join(
            f"{label}: {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape))
            if keys
        )
        raise InputError(
            "err.checkpoint_mismatch",
            "{path} does not fit the architecture {model} its card names ({detail}).",
            path=weights_path.name, model=card["model"], detail=detail,
        )
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    return Checkpoint(model=model.eval(), card=card)


def list_checkpoints(directory: str | Path = CHECKPOINT_DIR) -> list[dict[str, Any]]:
    """The cards of every checkpoint in ``directory``, sorted by name (weights not read)."""
    directory = Path(directory)
    cards = []
    for card_path in sorted(directory.glob("*.json")):
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        if card.get("format") == FORMAT_VERSION and (directory / card.get("weights", "")).exists():
            card["stem"] = str(card_path.with_suffix(""))
            cards.append(card)
    return cards


def save_train_state(optimizer: torch.optim.Optimizer, path: str | Path, extra: dict[str, Any]) -> None:
    """Save an optimizer's state for ``--resume`` without pickle (tensors + JSON)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, param_state in state["state"].items():
        for key, value in param_state.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    weights_path, json_path = _paths(path)
    save_file(tensors, str(weights_path))
    payload = {"param_groups": state["param_groups"], "scalars": scalars, "extra": extra}
    json_path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def load_train_state(optimizer: torch.optim.Optimizer, path: str | Path) -> dict[str, Any]:
    """Restore what :func:`save_train_state` wrote into ``optimizer``; returns ``extra``."""
    weights_path, json_path = _paths(path)
    payload = json.loads(json_path.read_text(encoding="utf-8"))
    tensors = load_file(str(weights_path))
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for index, values in payload["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    optimizer.load_state_dict({"state": state, "param_groups": payload["param_groups"]})
    return payload["extra"]
