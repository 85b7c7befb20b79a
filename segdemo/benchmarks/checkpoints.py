"""Benchmark: the shipped checkpoints as the README's table (params, GFLOPs, latency, val mIoU, pixel acc).

Params and validation metrics come from each checkpoint's card (written by the training run that made
it); GFLOPs from the registry's measurement; latency is measured now (512×512, batch 1, optimised path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


def run(quick: bool = False) -> list[dict[str, Any]]:
    from segdemo import segment_tool as S
    from segdemo.bench import median_latency_ms
    from segdemo.models import model_card

    image = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    rows = []
    for card in sorted(S.shipped(), key=lambda c: -c["metrics"]["miou"]):
        info = model_card(card["model"], card.get("variant"), card["num_classes"])
        seg = S.segmenter(f"shipped:{Path(card['stem']).name}")
        x = seg.preprocess(image)
        with torch.inference_mode():
            ms = median_latency_ms(lambda seg=seg, x=x: seg.model(x), warmup=2, repeats=3 if quick else 10)
        rec = card["recipe"]
        rows.append({"model": info["display"]["en"], "name": card["model"], "params": card["params"],
                     "gflops_512": round(info["gflops_512"], 2), "latency_ms_512": round(ms, 1),
                     "val_miou": round(card["metrics"]["miou"], 4),
                     "pixel_accuracy": round(card["metrics"]["pixel_accuracy"], 4),
                     "steps": rec.get("steps_done"), "train_s": rec.get("train_seconds"),
                     "size": card["validation"]["size"], "val_n": card["validation"]["n"]})
    print("| model | params | GFLOPs (512²) | latency ms (512²) | val mIoU | pixel acc | steps | train s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['params']:,} | {r['gflops_512']:.2f} | {r['latency_ms_512']:.1f} | "
              f"{r['val_miou']:.3f} | {r['pixel_accuracy']:.3f} | {r['steps']} | {r['train_s']:.0f} |")
    return rows

