"""Measure what each part of a shipped DeepLab contributes, and store it next to its checkpoint card.

``python -m segdemo.tools.ablation [--model deeplabv3] [--scenes N]`` evaluates, on the card's validation
scenes (the same 200 scenes as its ``metrics.miou``):

* ASPP ablation: the model whole, then with each of ASPP's five branches silenced (its output set to zero,
  the rest of the trained network unchanged): mIoU and its change;
* output stride: the same weights rebuilt at output stride 8, 16 and 32 (dilation traded for stride, the
  ASPP rates following the feature map): mIoU, boundary F-score (2 px) and latency at 256×256 on the app's
  inference path.

The numbers go to ``checkpoints/<model>.ablation.json`` (committed; the Inside tab shows them).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from typing import Any

import torch

LATENCY_SIDE = 256


def measure(name: str = "deeplabv3", scenes: int | None = None) -> dict[str, Any]:
    """The ablation and output-stride tables of shipped model ``name`` (see the module docstring)."""
    from segdemo import serving
    from segdemo.lessons import inside_models as models

    key = f"shipped:{name}"
    loaded = models.load(key)
    card = loaded.card
    rows = []
    for branch in (None, *range(len(models.ASPP_BRANCHES))):
        with models.silenced(loaded, branch) as model:
            scores = models.evaluate(model, card, scenes)
        label = "full" if branch is None else models.ASPP_BRANCHES[branch]
        rows.append({"branch": label, "miou": round(scores["miou"], 4), "boundary_f": round(scores["boundary_f"], 4)})
        print(f"{label:10s} mIoU {scores['miou']:.4f}  boundary F {scores['boundary_f']:.4f}", file=sys.stderr)
    for row in rows:
        row["delta_miou"] = round(row["miou"] - rows[0]["miou"], 4)
    strides = []
    for stride in models.OUTPUT_STRIDES:
        model, rates, rounded = models.at_output_stride(key, stride)
        scores = models.evaluate(model, card, scenes)
        latency = serving.forward_latency_ms(model, LATENCY_SIDE, warmup=2, repeats=7)
        strides.append({"output_stride": stride, "aspp_rates": list(rates), "rates_rounded": rounded,
                        "miou": round(scores["miou"], 4), "boundary_f": round(scores["boundary_f"], 4),
                        "latency_ms_256": round(latency, 1)})
        print(f"OS {stride:2d} rates {rates} mIoU {scores['miou']:.4f} boundary F {scores['boundary_f']:.4f} "
              f"{latency:.1f} ms", file=sys.stderr)
    command = f"python -m segdemo.tools.ablation --model {name}" + (f" --scenes {scenes}" if scenes else "")
    return {
        "model": name,
        "checkpoint_sha256": card.get("sha256"),
        "validation": {**card["validation"], "n": scenes or card["validation"]["n"]},
        "boundary_tolerance_px": models.BOUNDARY_TOLERANCE,
        "aspp_ablation": rows,
        "output_stride": strides,
        "command": command,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segdemo.tools.ablation", description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="deeplabv3", help="a shipped model with ASPP (deeplabv3, deeplabv3plus)")
    parser.add_argument("--scenes", type=int, default=None, help="first N validation scenes (default: all)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the app's 2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from segdemo.lessons.inside import ablation_path

    result = measure(args.model, args.scenes)
    path = ablation_path(args.model)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
