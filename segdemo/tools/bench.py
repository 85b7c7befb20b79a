"""Benchmarks, one argparse sub-command each: ``python -m segdemo.tools.bench <command> [options]``.

``models``: for every registered model and variant, parameters, GFLOPs at 512×512 and the
median CPU latency at 512×512, batch 1, of

* the eager path: ``model.eval()`` under ``torch.no_grad()``, NCHW, BatchNorm unfused;
* the optimised path in float32: :func:`segdemo.models.fuse.prepare_for_inference` (BatchNorm
  folded into convolutions, channels-last) under ``torch.inference_mode()``, valid at any size;
* the optimised path as the app runs it (:func:`segdemo.serving.optimise`): the same in
  :func:`segdemo.models.fuse.inference_dtype` (bfloat16 on CPUs with native bfloat16, else float32;
  ``SEGDEMO_PRECISION`` overrides);

plus torchvision's ``deeplabv3_resnet50`` measured in the same run, interleaved with ours,
and the ratio ours / torchvision. ``all`` runs every sub-command with its defaults.

Adding a sub-command: write ``add_<name>_arguments(parser)`` and ``run_<name>(args) -> int``
and add one entry to :data:`COMMANDS`; every sub-command accepts ``--quick`` (used by ``all``).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

SIZE = 512
NUM_CLASSES = 21


def _runners(model: nn.Module, size: int, dtypes: tuple[torch.dtype, ...] = (torch.float32,)
             ) -> list[Callable[[], Any]]:
    """Zero-argument forward passes of ``model`` on one random image: eager, then the optimised path
    in each of ``dtypes``."""
    from segdemo.models.fuse import prepare_for_inference

    torch.manual_seed(0)
    x = torch.randn(1, 3, size, size)
    eager_model = model.eval()

    def eager() -> Any:
        with torch.no_grad():
            return eager_model(x)

    def optimised(dtype: torch.dtype) -> Callable[[], Any]:
        fast_model = prepare_for_inference(model, dtype=dtype)
        x_fast = x.to(dtype).contiguous(memory_format=torch.channels_last)

        def fast() -> Any:
            with torch.inference_mode():
                return fast_model(x_fast)

        return fast

    return [eager] + [optimised(dtype) for dtype in dtypes]


def _interleaved(runs: list[Callable[[], Any]], warmup: int, repeats: int) -> list[float]:
    """Median ms of each run, alternating them so that load changes hit all alike."""
    for run in runs:
        for _ in range(warmup):
            run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, bucket in zip(runs, times, strict=True):
            start = time.perf_counter()
            run()
            bucket.append((time.perf_counter() - start) * 1000.0)
    return [statistics.median(bucket) for bucket in times]


def _repetitions(variant: str, quick: bool) -> tuple[int, int]:
    """(warmup, repeats): paper-size models take seconds per pass on 2 cores, a few are enough."""
    if variant == "paper":
        return (1, 2) if quick else (1, 5)
    return (1, 5) if quick else (3, 20)


def bench_model(name: str, variant: str, *, quick: bool = False, size: int = SIZE,
                num_classes: int = NUM_CLASSES) -> dict[str, Any]:
    """Params, GFLOPs and eager/optimised median latency of one registry entry.

    Returns:
        ``{"name", "variant", "params", "gflops", "eager_ms", "optimized_fp32_ms", "precision",
        "optimized_ms", "speedup"}``: ``optimized_ms`` in the app's ``precision``.
    """
    from segdemo.models import create_model
    from segdemo.models.complexity import count_gflops, count_params
    from segdemo.models.fuse import inference_dtype

    model = create_model(name, num_classes, variant=variant).eval()
    params = count_params(model)
    gflops = count_gflops(model, (1, 3, size, size))
    warmup, repeats = _repetitions(variant, quick)
    dtype = inference_dtype()
    runs = _runners(model, size, (torch.float32,) if dtype == torch.float32 else (torch.float32, dtype))
    times = _interleaved(runs, warmup, repeats)
    eager_ms, fp32_ms, fast_ms = times[0], times[1], times[-1]
    return {"name": name, "variant": variant, "params": params, "gflops": round(gflops, 3),
            "eager_ms": round(eager_ms, 1), "optimized_fp32_ms": round(fp32_ms, 1),
            "precision": "bf16" if dtype == torch.bfloat16 else "fp32",
            "optimized_ms": round(fast_ms, 1), "speedup": round(eager_ms / fast_ms, 2)}


def bench_torchvision_parity(*, quick: bool = False, size: int = SIZE) -> dict[str, Any]:
    """Our paper-size DeepLabV3 against torchvision's ``deeplabv3_resnet50``, interleaved.

    Returns:
        Latencies of both on both paths and the ratios ours / torchvision (goal <= 1.05).
    """
    from torchvision.models.segmentation import deeplabv3_resnet50

    from segdemo.models import create_model

    class _Out(nn.Module):  # torchvision returns {"out": logits}
        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model(x)["out"]

    ours = create_model("deeplabv3", NUM_CLASSES, variant="paper").eval()
    theirs = _Out(deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=NUM_CLASSES)).eval()
    warmup, repeats = (1, 3) if quick else (1, 7)
    ours_eager, ours_fast = _runners(ours, size)
    theirs_eager, theirs_fast = _runners(theirs, size)  # float32 both: the same arithmetic, compared
    times = _interleaved([ours_eager, theirs_eager, ours_fast, theirs_fast], warmup, repeats)
    result = {"model": "deeplabv3 (paper) vs torchvision deeplabv3_resnet50",
              "ours_eager_ms": times[0], "torchvision_eager_ms": times[1],
              "ours_optimized_ms": times[2], "torchvision_optimized_ms": times[3]}
    result["ratio_eager"] = times[0] / times[1]
    result["ratio_optimized"] = times[2] / times[3]
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in result.items()}


def _format_table(rows: list[dict[str, Any]]) -> str:
    header = (f"{'model':<16}{'variant':<9}{'params':>12}{'GFLOPs':>9}{'eager ms':>10}{'fp32 opt':>10}"
              f"{'opt ms':>9}{'':<6}{'speedup':>8}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['name']:<16}{r['variant']:<9}{r['params']:>12,}{r['gflops']:>9.1f}"
                     f"{r['eager_ms']:>10.1f}{r['optimized_fp32_ms']:>10.1f}{r['optimized_ms']:>9.1f}"
                     f" {r['precision']:<5}{r['speedup']:>7.2f}x")
    return "\n".join(lines)


def add_models_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", type=Path, default=Path("bench-output/models.json"), help="output JSON")
    parser.add_argument("--only", default="", help="comma-separated model names (default: all)")
    parser.add_argument("--variants", default="", help="comma-separated variants (default: all)")
    parser.add_argument("--no-torchvision", action="store_true", help="skip the torchvision comparison")


def run_models(args: argparse.Namespace) -> int:
    from segdemo.models import get_card, list_models

    names = [n for n in args.only.split(",") if n] or list_models()
    wanted = {v for v in args.variants.split(",") if v}
    rows = []
    for name in names:
        for variant in get_card(name).variants:
            if wanted and variant not in wanted:
                continue
            print(f"… {name} ({variant})", file=sys.stderr, flush=True)
            rows.append(bench_model(name, variant, quick=args.quick))
            gc.collect()
    print(_format_table(rows))
    parity = None
    if not args.no_torchvision:
        print("… deeplabv3 (paper) vs torchvision", file=sys.stderr, flush=True)
        parity = bench_torchvision_parity(quick=args.quick)
        print(f"\nDeepLabV3-ResNet50 ours / torchvision: eager {parity['ours_eager_ms']:.0f} / "
              f"{parity['torchvision_eager_ms']:.0f} ms = {parity['ratio_eager']:.3f}, optimised "
              f"{parity['ours_optimized_ms']:.0f} / {parity['torchvision_optimized_ms']:.0f} ms = "
              f"{parity['ratio_optimized']:.3f} (goal <= 1.05)")
    flags = [("--quick", args.quick), (f"--only {args.only}", args.only), (f"--variants {args.variants}", args.variants),
             ("--no-torchvision", args.no_torchvision)]
    command = " ".join([f"python -m segdemo.tools.bench --threads {torch.get_num_threads()} models",
                        *(flag for flag, on in flags if on)])
    report = {
        "meta": {**machine_meta(command), "size": SIZE, "batch": 1, "num_classes": NUM_CLASSES, "quick": args.quick,
                 "gflops_convention": "1 multiply-add = 2 FLOPs (torch.utils.flop_counter)"},
        "models": rows,
        "torchvision_deeplabv3_resnet50": parity,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


def machine_meta(command: str) -> dict[str, Any]:
    """What a benchmark JSON records about where and how it was measured (the docs print it)."""
    from segdemo.models.fuse import native_bf16
    from segdemo.tools.perfdoc import host_meta

    return {**host_meta(command), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "native_bf16": native_bf16()}


def module_command(module: str, help_text: str) -> tuple[str, Callable[[argparse.ArgumentParser], None],
                                                       Callable[[argparse.Namespace], int]]:
    """A sub-command for ``segdemo.tools.benchmarks.<module>.run(quick=...)`` (imported only when used),
    with ``--quick`` and ``--json`` (default ``bench-output/<module>.json``)."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--quick", action="store_true", help="fewer repetitions")
        parser.add_argument("--json", type=Path, default=Path(f"bench-output/{module}.json"), help="output JSON")

    def main(args: argparse.Namespace) -> int:
        result = importlib.import_module(f"segdemo.tools.benchmarks.{module}").run(quick=args.quick)
        command = f"python -m segdemo.tools.bench --threads {torch.get_num_threads()} {module}"
        result = {"meta": machine_meta(command + (" --quick" if args.quick else "")), **result}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)
        return 0

    return help_text, add_arguments, main


#: Sub-commands: name → (help, add_arguments, run).
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "models": ("params, GFLOPs and CPU latency of every registered model", add_models_arguments, run_models),
    "metrics": module_command("metrics", "confusion matrix speed vs torchmetrics and the course's loop"),
    "augment": module_command("augment", "augmentation grid: 8 pairs at 512×512 with the course pipeline"),
    "checkpoints": module_command("checkpoints", "the shipped checkpoints as the README table (latency now)"),
    "segment": module_command("segment", "Segment handler vs bare forward per shipped model, cold start"),
    "inside": module_command("inside", "every figure of the Inside tab at 256×256 (goal <= 2 s each)"),
    "lessons": module_command("lessons", "each figure endpoint's lesson work on the server's threads and on one"),
    "train": module_command("train", "the Train tab's suggested recipes: val-mIoU curve of each"),
}


def build_parser() -> argparse.ArgumentParser:
    """The CLI: one sub-parser per entry of :data:`COMMANDS`, plus ``all``."""
    parser = argparse.ArgumentParser(prog="python -m segdemo.tools.bench",
                                     description="segdemo benchmarks, one sub-command each.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text))
    everything = sub.add_parser("all", help="run every benchmark with its defaults")
    everything.add_argument("--quick", action="store_true", help="fewer repetitions")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from segdemo.serving import configure_allocator

    configure_allocator()  # measure what the app runs: it sets the allocator when it starts serving
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.command != "all":
        return COMMANDS[args.command][2](args)
    status = 0
    for name, (_, add_arguments, run) in COMMANDS.items():
        sub = argparse.ArgumentParser()
        add_arguments(sub)
        status |= run(sub.parse_args(["--quick"] if args.quick else []))
        print(f"[{name} done]", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
