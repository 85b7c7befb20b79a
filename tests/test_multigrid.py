"""The multi-grid measurement: the receptive field it reports, and the section perfdoc prints from it."""

from __future__ import annotations

import json

from segdemo.tools import multigrid, perfdoc


def test_multigrid_widens_the_backbone_field_by_the_dilations_it_adds():
    # layer4 of the small variant runs at output stride 8 (jump 8) with stage rate 4: a 3×3 conv at
    # dilation d adds 2·d·8 pixels. (1, 2, 4) makes the three blocks' rates 4, 8, 16 instead of 4, 4, 4:
    # 2·8·((4 − 4) + (8 − 4) + (16 − 4)) = 256 pixels more, with the same weights.
    assert multigrid.layer4_receptive_field((1, 2, 4)) - multigrid.layer4_receptive_field((1, 1, 1)) == 256


def test_perfdoc_prints_the_multigrid_table_from_the_committed_numbers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    rows = [{"multi_grid": g, "seed": 0, "steps": 1500, "seconds": 300.0, "miou": m, "pixel_accuracy": 0.9,
             "layer4_receptive_field": rf} for g, m, rf in (([1, 2, 4], 0.7, 547), ([1, 1, 1], 0.65, 291))]
    (tmp_path / "checkpoints" / "deeplabv3mg.multigrid.json").write_text(json.dumps(
        {"meta": {"date": "2026-12-04", "command": "python -m segdemo.tools.multigrid", "cpus": 2},
         "model": "deeplabv3mg", "rows": rows, "mean_miou": {"(1, 2, 4)": 0.7, "(1, 1, 1)": 0.65},
         "effect_miou": 0.05, "recipe": {"variant": "small", "size": 96, "batch_size": 8, "lr": 0.003, "loss": "ce"},
         "validation": {"n": 200}}))
    text = perfdoc.render(tmp_path / "bench-output")
    assert "| (1, 2, 4) | 0 | 1,500 | 300.0 | 0.7000 | 0.9000 | 547 |" in text
    assert "multi-grid's effect here: **+0.0500** mIoU" in text
