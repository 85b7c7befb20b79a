"""The checkpoint format: safetensors + JSON card, hash-checked, architecture-checked."""

from __future__ import annotations

import json

import pytest
import torch

from segdemo.checkpoints import list_checkpoints, load_checkpoint, read_card, save_checkpoint
from segdemo.errors import InputError
from segdemo.models import create_model


def _save(tmp_path, half=True):
    torch.manual_seed(0)
    model = create_model("unet", 3, init_features=4).eval()
    card = {"model": "unet", "num_classes": 3, "options": {"init_features": 4}, "metrics": {"miou": 0.5}}
    save_checkpoint(model, tmp_path / "tiny", card, half=half)
    return model


@pytest.mark.parametrize("half", [True, False])
def test_round_trip_gives_the_same_logits(tmp_path, half):
    model = _save(tmp_path, half)
    loaded = load_checkpoint(tmp_path / "tiny")
    x = torch.randn(1, 3, 40, 36)
    with torch.inference_mode():
        diff = (loaded.model(x) - model(x)).abs().max().item()
    assert diff < (5e-2 if half else 1e-6)
    card = read_card(tmp_path / "tiny")
    assert card["dtype"] == ("float16" if half else "float32") and len(card["sha256"]) == 64
    assert [c["model"] for c in list_checkpoints(tmp_path)] == ["unet"]


def test_no_pickle_in_the_weights(tmp_path):
    _save(tmp_path)
    assert not (tmp_path / "tiny.safetensors").read_bytes().startswith(b"\x80")  # pickle protocol marker


def test_tampered_weights_are_refused(tmp_path):
    _save(tmp_path)
    path = tmp_path / "tiny.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as info:
        load_checkpoint(tmp_path / "tiny")
    assert info.value.key == "err.checkpoint_hash"


def test_wrong_architecture_is_refused_with_the_keys(tmp_path):
    _save(tmp_path)
    card_path = tmp_path / "tiny.json"
    card = json.loads(card_path.read_text())
    card["options"] = {"init_features": 8}
    card_path.write_text(json.dumps(card))
    with pytest.raises(InputError) as info:
        load_checkpoint(tmp_path / "tiny")
    assert info.value.key == "err.checkpoint_mismatch" and "wrong shape" in str(info.value)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(InputError) as info:
        load_checkpoint(tmp_path / "nothing")
    assert info.value.key == "err.checkpoint_missing"
