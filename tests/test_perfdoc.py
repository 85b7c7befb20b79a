"""docs/PERFORMANCE.md is generated from the benchmark JSON: numbers and their machine, nothing typed by hand."""

from __future__ import annotations

import json

from segdemo.tools import perfdoc

META = {"date": "2026-12-04T10:00:00+00:00", "command": "python -m segdemo.tools.bench --threads 2 augment",
        "cpus": 2, "processor": "Test CPU", "machine": "x86_64"}


def test_sections_print_their_numbers_and_machine_and_name_the_missing_ones(tmp_path):
    (tmp_path / "augment.json").write_text(json.dumps(
        {"meta": META, "size": 512, "n": 8, "preset": "course", "grid_ms": 71.6, "grid_and_panels_ms": 373.2,
         "goal_ms": 500, "ok": True}))
    (tmp_path / "loadtest.json").write_text(json.dumps(
        {"meta": META, "users": 30, "requests_per_user": 4, "requests": 120, "failures": 0, "seconds": 22.5,
         "server_peak_rss_mb": 915.0, "errors": [],
         "endpoints": {"segment": {"n": 30, "p50_s": 0.97, "p95_s": 2.29}}}))
    text = perfdoc.render(tmp_path)
    assert "8 pairs at 512² with the `course` preset in 72 ms, 373 ms" in text
    assert "on Test CPU (2 CPUs)" in text and "`python -m segdemo.tools.bench --threads 2 augment`" in text
    assert "| segment | 30 | 0.970 | 2.290 |" in text and "120 requests, 0 failed" in text
    assert "_Not measured yet: `make bench` writes" in text  # models, checkpoints, segment, metrics


def test_main_writes_the_file(tmp_path):
    out = tmp_path / "docs" / "PERFORMANCE.md"
    assert perfdoc.main(["--input", str(tmp_path), "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("# Performance")
