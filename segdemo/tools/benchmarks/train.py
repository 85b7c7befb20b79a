"""Benchmark: the Train tab's suggested comparisons, each run as the tab runs it, printing its val-mIoU curve.

Every recipe is :func:`segdemo.lessons.train.make_config` with the tab's defaults (U-Net, cross-entropy,
light augmentation, 64 px, :data:`~segdemo.lessons.train.DEFAULT_STEPS` steps, seed 0) and one change, so a
curve differs from the default's by one cause: the loss, the augmentation, the architecture or the warm start.
"""

from __future__ import annotations

import os
import time
from typing import Any

#: name → the arguments of make_config that differ from the default run.
RECIPES: dict[str, dict[str, Any]] = {
    "default (unet, ce, light, warm)": {},
    "loss dice": {"loss": "dice"},
    "loss focal": {"loss": "focal"},
    "augment none": {"augment": "none"},
    "augment course": {"augment": "course"},
    "model fcn32s": {"model": "fcn32s"},
    "from scratch (no warm start)": {"warm": False},
}
GOAL_MIOU, GOAL_SECONDS = 0.6, 60.0


def run_recipe(changes: dict[str, Any], steps: int | None = None) -> dict[str, Any]:
    """Train one recipe in this thread; its curve ``[(step, seconds, val mIoU)]`` and final numbers."""
    from segdemo.lessons.train import DEFAULT_STEPS, make_config
    from segdemo.training import run_training

    args = {"model": "unet", "loss": "ce", "augment": "light", "size": 64, "steps": steps or DEFAULT_STEPS,
            "seed": 0, **changes}
    config, _ = make_config(**args)
    config.time_budget = None  # the curve of the whole recipe, however loaded the machine is
    result = run_training(config)
    curve = [(h["step"], round(h["seconds"], 1), round(h["miou"], 3)) for h in result.history]
    reached = next((s for _, s, m in curve if m >= GOAL_MIOU), None)
    return {"args": args, "curve": curve, "best_miou": round(result.best_metrics["miou"], 3),
            "seconds": round(result.seconds, 1), "steps": result.steps, "seconds_to_goal": reached}


def run(quick: bool = False, recipes: list[str] | None = None) -> dict[str, Any]:
    """Run every recipe (``quick``: the default one only); print each curve and return them."""
    import torch

    names = recipes or (list(RECIPES)[:1] if quick else list(RECIPES))
    out: dict[str, Any] = {"load_before": os.getloadavg(), "threads": torch.get_num_threads(),
                           "goal": {"miou": GOAL_MIOU, "seconds": GOAL_SECONDS}, "recipes": {}}
    for name in names:
        started = time.perf_counter()
        row = run_recipe(RECIPES[name])
        row["load"] = round(os.getloadavg()[0], 1)
        out["recipes"][name] = row
        curve = " ".join(f"{step}:{miou:.2f}" for step, _, miou in row["curve"])
        goal = f"{row['seconds_to_goal']:.0f} s" if row["seconds_to_goal"] is not None else "not reached"
        print(f"{name:32s} best {row['best_miou']:.3f} in {row['seconds']:.0f} s ({row['steps']} steps; "
              f"mIoU >= {GOAL_MIOU} after {goal}; load {row['load']}; wall {time.perf_counter() - started:.0f} s)\n"
              f"    val mIoU by step: {curve}", flush=True)
    return out
