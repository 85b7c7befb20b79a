"""The lessons benchmark times each figure endpoint's lesson call on both thread counts (quick run)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_quick_run_has_a_row_per_endpoint_with_positive_times(monkeypatch):
    from segdemo.tools.benchmarks import lessons

    monkeypatch.setattr(lessons, "SETTLE_S", 0.0)
    result = lessons.run(quick=True)
    assert result["lesson_threads"] == 1 and len(result["calls"]) == 6
    for row in result["calls"]:
        assert all(row[k] > 0 for k in ("threads_wall_ms", "threads_cpu_ms", "lesson_wall_ms", "lesson_cpu_ms"))
