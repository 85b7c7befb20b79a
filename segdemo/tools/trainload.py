"""A class pressing Train at once: ``python -m segdemo.tools.trainload --users 30``.

Starts ``--users`` runs of the Train tab's default recipe through :mod:`segdemo.lessons.train` (the same
queue, slots and threads the app uses, without HTTP) at the same moment, and prints when each run showed
its first loss point and its first validation point, and when the last one finished. The classroom goal:
every student sees a curve point within 10 s and all runs are done within 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

GOAL_FIRST_POINT_S, GOAL_ALL_DONE_S = 10.0, 300.0


def run(users: int = 30, steps: int | None = None, poll: float = 0.1) -> dict[str, Any]:
    """Start ``users`` default runs together; the times (seconds from the start) of what each student saw."""
    import torch

    from segdemo.lessons import train as lesson

    steps = steps or lesson.DEFAULT_STEPS
    load_before = os.getloadavg()
    configs = [lesson.make_config("unet", "ce", "light", 64, steps, i) for i in range(users)]
    started = time.perf_counter()
    runs = [lesson.start(f"student-{i}", config, notices) for i, (config, notices) in enumerate(configs)]
    first_loss: dict[str, float] = {}
    first_val: dict[str, float] = {}
    done: dict[str, float] = {}
    while len(done) < users:
        now = time.perf_counter() - started
        for run in runs:
            if run.steps and run.id not in first_loss:
                first_loss[run.id] = now
            if run.vals and run.id not in first_val:
                first_val[run.id] = now
            if not run.active and run.id not in done:
                done[run.id] = now
        time.sleep(poll)
    best = [run.best.get("miou", 0.0) for run in runs]
    result = {
        "users": users, "steps": steps, "slots": lesson.MAX_CONCURRENT, "torch_threads": torch.get_num_threads(),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "first_loss_point_s": {"median": statistics.median(first_loss.values()), "max": max(first_loss.values())},
        "first_val_point_s": {"median": statistics.median(first_val.values()) if first_val else None,
                              "max": max(first_val.values()) if first_val else None},
        "all_done_s": max(done.values()),
        "states": {s: sum(r.state == s for r in runs) for s in {r.state for r in runs}},
        "steps_done": {"min": min(len(r.steps) for r in runs), "max": max(len(r.steps) for r in runs)},
        "best_val_miou": {"min": round(min(best), 3), "median": round(statistics.median(best), 3),
                          "max": round(max(best), 3)},
    }
    for user in {run.user for run in runs}:
        lesson.end_session(user)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segdemo.tools.trainload", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--steps", type=int, default=None, help="steps per run (default: the tab's)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as the app sets them)")
    parser.add_argument("--json", type=Path, default=Path("bench-output/trainload.json"))
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    else:
        from segdemo.serving import start

        start()
    from segdemo.tools.perfdoc import host_meta

    command = " ".join(["python -m segdemo.tools.trainload", *(argv if argv is not None else sys.argv[1:])])
    result = {"meta": host_meta(command), **run(args.users, args.steps)}  # the machine and date, for the docs
    print(json.dumps(result, indent=1))
    ok = result["first_loss_point_s"]["max"] <= GOAL_FIRST_POINT_S and result["all_done_s"] <= GOAL_ALL_DONE_S
    print(f"{args.users} students: first loss point within {result['first_loss_point_s']['max']:.1f} s, first "
          f"validation point within {result['first_val_point_s']['max'] or float('nan'):.1f} s, all done in "
          f"{result['all_done_s']:.0f} s (goal: first point <= {GOAL_FIRST_POINT_S:.0f} s, all <= "
          f"{GOAL_ALL_DONE_S:.0f} s): {'met' if ok else 'NOT met'}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
