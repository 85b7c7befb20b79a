"""Command line: ``python -m segdemo.train --model unet --loss ce+dice --out checkpoints/unet``.

Every flag is a field of :class:`segdemo.training.TrainConfig` (``--steps-per-epoch`` for
``steps_per_epoch``); ``--options width=16,os=16`` sets builder options. The checkpoint card
written next to the weights records the exact command that reproduces the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from segdemo.training import TrainConfig, run_training


def _split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets: ``"a=1,rates=[1,2,3]"`` → ``["a=1", "rates=[1,2,3]"]``."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _parse_options(text: str) -> dict[str, Any]:
    """``k=v,k=v`` builder options; values are JSON where they parse (numbers, lists), else strings."""
    options: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in _split_top_level(text))):
        key, sep, raw = item.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"option {item!r} is not key=value")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def build_parser() -> argparse.ArgumentParser:
    """An argparse parser with one flag per :class:`TrainConfig` field."""
    parser = argparse.ArgumentParser(prog="python -m segdemo.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        if f.name == "options":
            parser.add_argument(flag, type=_parse_options, default={}, help="builder options, k=v,k=v")
        elif isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        elif f.name in ("max_steps", "eval_every", "threads", "train_scenes"):
            parser.add_argument(flag, type=int, default=default)
        elif f.name == "time_budget":
            parser.add_argument(flag, type=float, default=default, help="seconds")
        elif f.name == "out":
            parser.add_argument(flag, default=default, help="checkpoint stem, e.g. checkpoints/unet")
        else:
            parser.add_argument(flag, type=type(default), default=default)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; prints the best validation metrics as JSON on the last line."""
    from tqdm import tqdm

    args = build_parser().parse_args(argv)
    config = TrainConfig(**vars(args))
    total = config.epochs * config.steps_per_epoch
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    bar = tqdm(total=total, desc=config.model, unit="step", dynamic_ncols=True)

    def on_event(event: dict[str, Any]) -> None:
        if event["type"] == "step":
            bar.update(1)
            bar.set_postfix(loss=f"{event['loss']:.3f}", lr=f"{event['lr']:.1e}")
        else:
            bar.write(f"epoch {event['epoch']} step {event['step']}: val mIoU {event['miou']:.4f} "
                      f"pixel acc {event['pixel_accuracy']:.4f}")

    try:
        result = run_training(config, on_event=on_event)
    except ValueError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    summary = {"model": config.model, "steps": result.steps, "seconds": round(result.seconds, 1),
               **{k: v for k, v in result.best_metrics.items() if k != "per_class_iou"}}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
