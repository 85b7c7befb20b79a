"""Benchmark: one Augment-tab grid (8 pairs at 512×512 through the course's pipeline, plus the pictures)."""

from __future__ import annotations

from typing import Any

import numpy as np

GOAL_MS = 500.0


def run(quick: bool = False, size: int = 512, n: int = 8) -> dict[str, Any]:
    """Time ``augment_grid`` alone and with the tab's panels (image, mask, overlay, contours); print and return."""
    from segdemo.augment import preset_steps
    from segdemo.data import render_scene
    from segdemo.lessons.augment import augment_grid, sample_panels
    from segdemo.palette import SCENE_PALETTE
    from segdemo.serving import median_latency_ms

    scene = render_scene(0, 4, size=size)
    palette = np.asarray(SCENE_PALETTE, dtype=np.uint8)
    steps = preset_steps("course")
    repeats = 3 if quick else 7

    def grid() -> list:
        return augment_grid(scene.image, scene.mask, steps, n=n, seed=0, size=size)

    def grid_and_panels() -> None:
        for sample in grid():
            sample_panels(sample, palette)

    grid_ms = median_latency_ms(grid, 1, repeats)
    total_ms = median_latency_ms(grid_and_panels, 1, repeats)
    result = {"size": size, "n": n, "preset": "course", "grid_ms": grid_ms, "grid_and_panels_ms": total_ms,
              "goal_ms": GOAL_MS, "ok": total_ms <= GOAL_MS}
    print(f"augment grid {n} x {size}x{size} (course pipeline): {grid_ms:.0f} ms, with panels {total_ms:.0f} ms "
          f"(goal <= {GOAL_MS:.0f} ms)")
    return result

