"""Benchmark: every figure of the Inside tab at 256×256 (goal ≤ 2 s each on two cores).

Each row times one section's lesson call, as its handler makes it (on ``serving.LESSON_THREADS`` torch
threads, as the figures queue runs it), on a synthetic scene drawn at
256×256 (the tab's largest working size): the receptive fields of the four compared models at one
pixel, the dilation pictures, the ASPP ablation and the three output strides on the current image, the
upsampling lab, FCN's stages, the feature maps of each model, and a click on the Segment tab's attention view
for each shipped attention model (every layer's map for one query pixel, then the overlay), on the threads
each runs on in the app. Models are loaded and traced once before timing (the app keeps them cached); the
medians are over several runs.
"""

from __future__ import annotations

from typing import Any

import torch

SIDE = 256
GOAL_MS = 2000.0


def run(quick: bool = False, size: int = SIDE) -> dict[str, Any]:
    from segdemo.lessons import attention
    from segdemo.lessons import inside as lesson
    from segdemo.lessons.segment import scene
    from segdemo.serving import LESSON_THREADS, local_threads, median_latency_ms, start

    start()
    image, truth = (lambda pair: (pair[0].copy(), pair[1].copy()))(scene(3, size))
    point = (size // 3, size // 2)
    rf_keys = lesson.available(lesson.RF_MODELS)
    figures = {
        f"receptive_fields ({len(rf_keys)} models)": lambda: lesson.receptive_fields(rf_keys, image, point),
        "dilation (taps, ASPP taps, 2 coverage maps)": lambda: (
            lesson.taps_picture(image, point, [6]), lesson.taps_picture(image, point, [16, 32, 48]),
            lesson.coverage_picture([2, 2, 2]), lesson.coverage_picture([1, 2, 5])),
        "aspp_variants (6 runs)": lambda: lesson.aspp_variants(image, truth),
        "stride_variants (OS 8/16/32)": lambda: lesson.stride_variants(image, truth),
        "upsampling_lab (5 methods)": lambda: lesson.upsampling_lab(image),
        "fcn_stages (3 FCNs)": lambda: lesson.fcn_stages(image),
    }
    for key in lesson.available(("fcn8s", "unet", "deeplabv3")):
        figures[f"feature_maps {key}"] = lambda key=key: lesson.feature_maps(key, image)
    # The attention click (Segment tab) is not in the figures queue: it runs on the server's threads.
    clicks = {}
    for key in lesson.available(attention.ATTENTION_MODELS):
        def click(key: str = key) -> Any:
            layers = attention.attention_for(key, image, point)
            return attention.overlay(image, layers[-1].weights.mean(0), point)

        clicks[f"attention click {key} (every layer, overlay)"] = click
    repeats = 3 if quick else 7
    rows = []
    for name, figure in {**figures, **clicks}.items():
        threads = torch.get_num_threads() if name in clicks else LESSON_THREADS
        with local_threads(threads):  # as the app runs it
            ms = median_latency_ms(figure, warmup=1, repeats=repeats)
        rows.append({"figure": name, "median_ms": round(ms, 1), "within_goal": ms <= GOAL_MS, "threads": threads})
        print(f"{name:58s} {ms:8.1f} ms on {threads} thread(s) {'ok' if ms <= GOAL_MS else 'OVER 2 s'}")
    import os

    # Other processes share the two cores: the load average says how much of them this run had.
    return {"size": size, "threads": LESSON_THREADS, "goal_ms": GOAL_MS,
            "load_average": [round(v, 2) for v in os.getloadavg()], "figures": rows}
