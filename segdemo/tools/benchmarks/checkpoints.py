"""Benchmark: the shipped checkpoints as the README's table (params, GFLOPs, latency, val mIoU, pixel acc).

Params and validation metrics come from each checkpoint's card (written by the training run that made
it); GFLOPs from the registry's measurement; latency is measured now (512×512, batch 1, the app's
optimised path and precision). Then each checkpoint's val mIoU is measured again on its card's whole
held-out set, in float32 and in the precision the app runs (bfloat16 where the CPU has it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


def run(quick: bool = False) -> list[dict[str, Any]]:
    from segdemo import serving
    from segdemo.models import model_card
    from segdemo.serving import median_latency_ms

    image = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    rows = []
    for card in sorted(serving.shipped(), key=lambda c: -c["metrics"]["miou"]):
        info = model_card(card["model"], card.get("variant"), card["num_classes"])
        seg = serving.segmenter(f"shipped:{Path(card['stem']).name}")
        x = seg.preprocess(image)
        with torch.inference_mode():
            ms = median_latency_ms(lambda seg=seg, x=x: seg.model(x), warmup=2, repeats=3 if quick else 10)
        rec = card["recipe"]
        rows.append({"model": info["display"]["en"], "name": card["model"], "params": card["params"],
                     "gflops_512": round(info["gflops_512"], 2), "latency_ms_512": round(ms, 1),
                     "val_miou": round(card["metrics"]["miou"], 4),
                     "pixel_accuracy": round(card["metrics"]["pixel_accuracy"], 4),
                     "steps": rec.get("steps_total", rec.get("steps_done")), "train_s": rec.get("train_seconds"),
                     "size": card["validation"]["size"], "val_n": card["validation"]["n"],
                     **_val_miou_in_both_precisions(card, quick)})
    precision = rows[0]["precision"] if rows else "fp32"
    print(f"| model | params | GFLOPs (512²) | latency ms (512²) | val mIoU | {precision} val mIoU | pixel acc | steps "
          "| train s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['params']:,} | {r['gflops_512']:.2f} | {r['latency_ms_512']:.1f} | "
              f"{r['val_miou']:.3f} | {r['miou_app']:.3f} | {r['pixel_accuracy']:.3f} | {r['steps']} | "
              f"{r['train_s']:.0f} |")
    return {"precision": precision, "checkpoints": rows}


class _CastInput(torch.nn.Module):
    """Feeds a model its weights' dtype (what :class:`segdemo.inference.Segmenter` does for the app)."""

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype) -> None:
        super().__init__()
        self.model, self.dtype = model, dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.to(self.dtype))


def _val_miou_in_both_precisions(card: dict[str, Any], quick: bool) -> dict[str, Any]:
    """``{"miou_fp32", "miou_app", "precision"}``: ``card``'s model on its held-out set (32 scenes if
    ``quick``) in float32 and in the precision the app runs."""
    from segdemo.checkpoints import load_checkpoint
    from segdemo.data import SynthScenes
    from segdemo.models.fuse import inference_dtype, prepare_for_inference
    from segdemo.training import evaluate

    dtype = inference_dtype()
    model = load_checkpoint(card["stem"]).model
    validation = card["validation"]
    scenes = SynthScenes(32 if quick else validation["n"], size=validation["size"], seed=validation["seed"])
    loader = torch.utils.data.DataLoader(scenes, batch_size=50)
    result: dict[str, Any] = {"precision": "bf16" if dtype == torch.bfloat16 else "fp32"}
    with torch.inference_mode():
        for key, kind in (("miou_fp32", torch.float32), ("miou_app", dtype)):
            fast = _CastInput(prepare_for_inference(model, dtype=kind), kind).eval()
            result[key] = round(evaluate(fast, loader, card["num_classes"], torch.device("cpu"))["miou"], 4)
    print(f"{Path(card['stem']).name:14s} val mIoU fp32 {result['miou_fp32']:.4f}  {result['precision']} "
          f"{result['miou_app']:.4f} ({result['miou_app'] - result['miou_fp32']:+.4f}, {len(scenes)} scenes)")
    return result
