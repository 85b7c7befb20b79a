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


def test_loadtest_section_with_both_lessons_baseline_memory_and_cold_start(tmp_path):
    burst = {"requests": 120, "failures": 0, "seconds": 30.0, "errors": [],
             "endpoints": {"losses": {"n": 9, "p50_s": 0.5, "p95_s": 1.2, "failures": 0}},
             "cpu_s": {"server": 16.4, "clients": 1.8, "server_per_request": 0.137, "clients_per_request": 0.015,
                       "cores_busy": 1.45}}
    sustained = {**burst, "duration_s": 180, "think_s": [2, 6], "requests_per_s": 6.9}
    memory = {"idle_mb": 700.0, "peak_mb": 1100.0, "after_mb": 740.0, "settle_s": 60, "after_within_10pct": True}
    old = {"requests": 120, "failures": 0, "seconds": 90.0, "errors": [],
           "endpoints": {"losses": {"n": 9, "p50_s": 6.4, "p95_s": 12.0, "failures": 0}}}
    (tmp_path / "loadtest.json").write_text(json.dumps(
        {"meta": META, "users": 30, "requests_per_user": 4, "commit": "abc1234", "burst": burst, "client": "loadclient",
         "sustained": sustained, "memory": memory, "cold_start": {"runs": [4.0, 5.0, 6.0], "min_s": 4.0, "median_s": 5.0},
         "baseline": {"rev": "main~1", "commit": "0ff3746", "burst": old, "sustained": {**old, "duration_s": 180,
                                                                                        "think_s": [2, 6],
                                                                                        "requests_per_s": 3.0}}}))
    text = perfdoc.render(tmp_path)
    assert "| losses | 9 | 0.500 | 1.200 | 2.000 | 0 | 6.400 | 12.0 | 0.10× |" in text  # ratio of the p95s
    assert "**Sustained**" in text and "6.9 per second" in text
    assert "`segdemo/tools/loadclient.py`" in text
    assert "This commit's CPU: server 16.4 s (0.137 s a request), simulated students 1.8 s (0.015 s a request" in text
    assert "idle 700.0 MiB, peak 1100.0 MiB under load, 740.0 MiB 60 s after it (within 10 % of idle)" in text
    assert "over 3 starts: min 4.0 s, median 5.0 s" in text and "`main~1` (0ff3746)" in text


def test_main_writes_the_file(tmp_path):
    out = tmp_path / "docs" / "PERFORMANCE.md"
    # the README under test is a copy: a test never rewrites the repository's files
    readme = tmp_path / "README.md"
    readme.write_text(perfdoc.README.read_text(encoding="utf-8"), encoding="utf-8")
    assert perfdoc.main(["--input", str(tmp_path), "--output", str(out), "--readme", str(readme)]) == 0
    assert out.read_text(encoding="utf-8").startswith("# Performance")


def test_lessons_section_shows_both_thread_counts(tmp_path):
    (tmp_path / "lessons.json").write_text(json.dumps(
        {"meta": META, "threads": 2, "lesson_threads": 1, "repeats": 8, "load_average": [0.4],
         "calls": [{"call": "losses (imbalance simulator)", "threads_wall_ms": 35.5, "threads_cpu_ms": 70.4,
                    "lesson_wall_ms": 44.8, "lesson_cpu_ms": 44.7}]}))
    text = perfdoc.render(tmp_path)
    assert "on 2 torch threads and on 1" in text and "load average 0.4" in text
    assert "| losses (imbalance simulator) | 35.5 | 70.4 | 44.8 | 44.7 |" in text
