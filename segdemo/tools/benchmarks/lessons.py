"""Benchmark: the lessons' own work behind each figure endpoint, on the server's thread count and on one.

The figures queue runs each request's torch work on ``serving.LESSON_THREADS`` threads
(``serving.lesson_threads``). This measures why: each row is the lesson call an endpoint makes (new
arguments at every call, as a class dragging its own sliders, so no cache answers), timed in wall time and
in CPU time of the whole process (a second OpenMP thread's spinning counts), first on the process' thread
count, then inside ``serving.local_threads(LESSON_THREADS)``, in blocks of calls after a pause (OpenMP's idle
threads spin for a while after parallel work, CPU that would be billed to the next call), twice each.
"""

from __future__ import annotations

import contextlib
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

#: Pause before each block of calls: the spinning of OpenMP threads from earlier work dies down.
SETTLE_S = 0.5


def _calls() -> dict[str, Callable[[random.Random], Any]]:
    """Endpoint → a call of its lesson work with arguments drawn from ``rng`` (as the load test draws them)."""
    from segdemo.augment.pipeline import preset_steps
    from segdemo.lessons import augment, miou, overview
    from segdemo.lessons import losses as losses_lesson
    from segdemo.tools.loadtest import fastest_shipped

    course = preset_steps("course")
    model = fastest_shipped()

    def masks(rng: random.Random) -> Any:
        info, pred = losses_lesson.masks_pair(rng.randrange(100), rng.randrange(6), rng.randrange(-8, 9),
                                              rng.randrange(-24, 25), 0, 0.01)
        return losses_lesson.score_masks(pred, info.mask, len(info.palette), 0.9)

    def grid(rng: random.Random) -> Any:
        image, mask, *_ = augment.load_source("synthetic", rng.randrange(100), None, None)
        return augment.augment_grid(image, mask, course, n=8, seed=rng.randrange(10_000), size=256)

    return {
        "losses (imbalance simulator)": lambda rng: losses_lesson.simulate_imbalance(
            rng.uniform(0.001, 0.2), rng.randrange(101) / 100, 0.005, 0.8, 0.999),
        "losses_curves (focal, overlap)": lambda rng: (losses_lesson.focal_curves(alpha=rng.uniform(0.05, 1.0)),
                                                       losses_lesson.overlap_curves(rng.randrange(1, 51) / 100)),
        "losses_masks (degrade, score)": masks,
        "miou_model (forward, evaluate)": lambda rng: miou.evaluate([miou.pair_from_model(model, rng.randrange(100))]),
        "augment (8 samples at 256)": grid,
        "overview (five task views)": lambda rng: overview.views(rng.randrange(1000), rng.randrange(1000)),
    }


def _time(call: Callable[[random.Random], Any], rng: random.Random) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call(rng)
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def run(quick: bool = False) -> dict[str, Any]:
    from segdemo import serving

    serving.start()
    threads = torch.get_num_threads()
    repeats = 3 if quick else 8  # per block; two blocks per setting
    rows = []
    for name, call in _calls().items():
        rng = random.Random(0)
        for _ in range(2):  # warm-up: imports, first allocations, the model's first pass
            call(rng)
        many: list[tuple[float, float]] = []
        one: list[tuple[float, float]] = []
        # Blocks, not call by call: after a parallel region OpenMP's idle threads spin a while, and that CPU
        # would be billed to whatever runs next. Two rounds of (many, one) so a drift in load hits both.
        for _ in range(2):
            for out, count in ((many, None), (one, serving.LESSON_THREADS)):
                time.sleep(SETTLE_S)
                with contextlib.nullcontext() if count is None else serving.local_threads(count):
                    out.extend(_time(call, rng) for _ in range(repeats))
        row = {"call": name}
        for kind, times in (("threads", many), ("lesson", one)):
            row[f"{kind}_wall_ms"] = round(statistics.median(t[0] for t in times), 1)
            row[f"{kind}_cpu_ms"] = round(statistics.median(t[1] for t in times), 1)
        rows.append(row)
        print(f"{name:34s} {threads} threads: {row['threads_wall_ms']:7.1f} ms wall {row['threads_cpu_ms']:7.1f} ms CPU"
              f" | {serving.LESSON_THREADS}: {row['lesson_wall_ms']:7.1f} ms wall {row['lesson_cpu_ms']:7.1f} ms CPU")
    return {"threads": threads, "lesson_threads": serving.LESSON_THREADS, "repeats": repeats,
            "load_average": [round(v, 2) for v in os.getloadavg()], "calls": rows}
