"""Benchmark: the confusion matrix against torchmetrics and the course's per-class loop."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from segdemo.metrics import confusion_matrix, metrics_from_confusion


def course_compute_miou(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> float:
    """The course's ``compute_miou``: one pass over the image per class."""
    ious = []
    for c in range(num_classes):
        intersection = ((pred == c) & (target == c)).sum().item()
        union = ((pred == c) | (target == c)).sum().item()
        if union == 0:
            continue
        ious.append(intersection / union)
    return float(np.mean(ious))


def run(quick: bool = False, size: int = 4096, num_classes: int = 21) -> dict[str, Any]:
    """Time the three ways on one ``size``×``size`` pair; print and return the numbers."""
    from torchmetrics.classification import MulticlassJaccardIndex

    from segdemo.serving import median_latency_ms

    rng = np.random.default_rng(0)
    target = rng.integers(0, num_classes, size=(size, size), dtype=np.uint8)
    pred = np.where(rng.random((size, size)) < 0.7, target, rng.integers(0, num_classes, (size, size))).astype(
        np.uint8)
    pred_t, target_t = torch.from_numpy(pred).long(), torch.from_numpy(target).long()
    reference = MulticlassJaccardIndex(num_classes=num_classes, average="macro", ignore_index=255)
    repeats = 3 if quick else 7
    ours = median_latency_ms(lambda: metrics_from_confusion(confusion_matrix(pred, target, num_classes)),
                             1, repeats)
    tm = median_latency_ms(lambda: reference(pred_t, target_t), 1, repeats)
    loop = median_latency_ms(lambda: course_compute_miou(pred_t, target_t, num_classes), 1, repeats)
    result = {"size": size, "num_classes": num_classes, "ours_ms": ours, "torchmetrics_ms": tm,
              "course_loop_ms": loop, "speedup_vs_torchmetrics": tm / ours, "speedup_vs_course_loop": loop / ours,
              "threads": torch.get_num_threads()}
    print(f"confusion matrix {size}x{size}, {num_classes} classes: ours {ours:.1f} ms, torchmetrics "
          f"{tm:.1f} ms ({tm / ours:.1f}x), course loop {loop:.1f} ms ({loop / ours:.1f}x) (goal >= 20x)")
    return result

