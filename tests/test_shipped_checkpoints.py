"""The checkpoints in ``checkpoints/``: they load, their hashes match and their cards tell the truth."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from segdemo.checkpoints import CHECKPOINT_DIR, list_checkpoints, load_checkpoint
from segdemo.data import SynthScenes
from segdemo.models import list_models
from segdemo.training import evaluate

SHIPPED = list_checkpoints(CHECKPOINT_DIR)
IDS = [Path(card["stem"]).name for card in SHIPPED]


def test_checkpoint_folder_is_small():
    sizes = [Path(CHECKPOINT_DIR, card["weights"]).stat().st_size for card in SHIPPED]
    assert all(size <= 8 * 2**20 for size in sizes)
    assert sum(sizes) <= 40 * 2**20


@pytest.mark.parametrize("card", SHIPPED, ids=IDS)
def test_checkpoint_loads_and_matches_its_card(card):
    """Hash checked on load; re-measured on the card's own held-out set (200 scenes: 32 alone vary by more
    than 0.03 around the card's number), the mIoU is within 0.03 (the weights are stored in fp16)."""
    loaded = load_checkpoint(card["stem"])
    assert card["model"] in list_models()
    validation = card["validation"]
    scenes = SynthScenes(validation["n"], size=validation["size"], seed=validation["seed"])
    loader = torch.utils.data.DataLoader(scenes, batch_size=50)
    metrics = evaluate(loaded.model, loader, card["num_classes"], torch.device("cpu"), channels_last=False)
    assert metrics["miou"] == pytest.approx(card["metrics"]["miou"], abs=0.03)
    assert card["command"].startswith(f"python -m segdemo.train --model {card['model']}")
    for key in ("sha256", "date", "recipe", "classes", "normalization"):
        assert key in card
