"""Measure what DeepLabV3's multi-grid does here: the same network trained twice, only the unit rates differ.

``python -m segdemo.tools.multigrid [--steps 1500] [--seeds 0 1]`` trains the shipped ``deeplabv3mg`` small
variant from scratch with ``multi_grid=(1, 2, 4)`` (the paper's best setting, Chen et al. 2017, Table 3) and
with ``(1, 1, 1)`` (every layer4 block at the stage's own rate, the plain dilated ResNet), same seed, same
steps, same recipe as its card, and records for each: val mIoU and pixel accuracy on the card's 200
validation scenes, and layer4's theoretical receptive field (the grid widens it without a parameter).

The numbers go to ``checkpoints/deeplabv3mg.multigrid.json`` (committed; ``python -m segdemo.tools.perfdoc``
renders them in ``docs/PERFORMANCE.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

MODEL = "deeplabv3mg"
GRIDS = ((1, 2, 4), (1, 1, 1))


def layer4_receptive_field(grid: tuple[int, ...], variant: str = "small") -> int:
    """Theoretical receptive field (pixels) of the backbone's output with layer4's unit rates ``grid``
    (:func:`segdemo.lessons.inside_rf.trace_receptive_field` on the backbone alone: ASPP's global branch
    would make every field global)."""
    from segdemo.lessons.inside_rf import trace_receptive_field
    from segdemo.models.registry import create_model

    model = create_model(MODEL, 2, variant=variant, multi_grid=list(grid)).eval()
    return int(trace_receptive_field(model.backbone, size=64).output.size)


def measure(steps: int, seeds: list[int], threads: int = 2) -> dict[str, Any]:
    """Train each grid for ``steps`` steps per seed (see the module docstring); returns the table."""
    import torch

    from segdemo.checkpoints import read_card
    from segdemo.serving import checkpoint_dir
    from segdemo.training import TrainConfig, run_training

    card = read_card(checkpoint_dir() / MODEL)
    recipe = {k: v for k, v in card["recipe"].items() if k in TrainConfig.__dataclass_fields__}
    rows = []
    for grid in GRIDS:
        for seed in seeds:
            with tempfile.TemporaryDirectory(prefix="segdemo-multigrid-") as folder:
                config = TrainConfig(**{**recipe, "options": {"multi_grid": list(grid)}, "seed": seed,
                                        "max_steps": steps, "time_budget": None, "resume": False,
                                        "warm_start": None, "threads": threads, "epochs": 10_000,
                                        "out": str(Path(folder) / MODEL)})
                result = run_training(config)
            m = result.best_metrics
            rows.append({"multi_grid": list(grid), "seed": seed, "steps": result.steps,
                         "seconds": round(result.seconds, 1), "miou": round(m["miou"], 4),
                         "pixel_accuracy": round(m["pixel_accuracy"], 4),
                         "layer4_receptive_field": layer4_receptive_field(grid)})
            print(f"grid {grid} seed {seed}: val mIoU {m['miou']:.4f} after {result.steps} steps "
                  f"({result.seconds:.0f} s)", file=sys.stderr)
    mean = {str(grid): round(sum(r["miou"] for r in rows if tuple(r["multi_grid"]) == grid) / len(seeds), 4)
            for grid in GRIDS}
    return {"model": MODEL, "rows": rows, "mean_miou": mean,
            "effect_miou": round(mean[str(GRIDS[0])] - mean[str(GRIDS[1])], 4),
            "recipe": {k: recipe[k] for k in ("size", "batch_size", "lr", "loss", "augment", "variant")},
            "validation": card["validation"], "threads": threads, "torch": torch.__version__}


def main(argv: list[str] | None = None) -> int:
    from segdemo.tools.perfdoc import host_meta

    parser = argparse.ArgumentParser(prog="python -m segdemo.tools.multigrid", description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1500, help="optimizer steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help=f"default: {MODEL}.multigrid.json beside its checkpoint")
    args = parser.parse_args(argv)
    command = " ".join(["python -m segdemo.tools.multigrid", *(argv if argv is not None else sys.argv[1:])])
    result = {"meta": host_meta(command), **measure(args.steps, args.seeds, args.threads)}
    if args.out is None:
        from segdemo.serving import checkpoint_dir

        args.out = str(checkpoint_dir() / f"{MODEL}.multigrid.json")
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"multi-grid (1, 2, 4) − (1, 1, 1): {result['effect_miou']:+.4f} val mIoU → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
