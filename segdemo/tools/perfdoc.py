"""Write ``docs/PERFORMANCE.md`` from the benchmark JSON files: ``python -m segdemo.tools.perfdoc``.

``make bench`` runs every benchmark (``bench-output/<name>.json``) and then this; ``make loadtest`` writes
``bench-output/loadtest.json``. Nothing in the document is typed by hand: each section prints the numbers of
one JSON file with the machine, date and command recorded in it, and a section whose file is missing says
which command makes it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUTPUT = Path("docs/PERFORMANCE.md")
INPUT = Path("bench-output")


def host_meta(command: str) -> dict[str, Any]:
    """Date, command and machine of a measurement (no torch needed: the load test's client uses it too)."""
    name = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None  # other work on the host skews timings
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "command": command,
            "cpus": os.cpu_count(), "machine": platform.machine(), "processor": name, "load_1min": load}


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _meta_line(meta: dict[str, Any] | None) -> str:
    if not meta:
        return "_(no machine recorded)_"
    extra = f", torch {meta['torch']}, {meta['threads']} threads" if "torch" in meta else ""
    bf16 = {True: ", native bfloat16", False: ", no native bfloat16"}.get(meta.get("native_bf16"), "")
    load = f", load average {meta['load_1min']:.1f} when it started" if meta.get("load_1min") is not None else ""
    return (f"Measured {meta.get('date', '?')} with `{meta.get('command', '?')}` on {meta.get('processor', '?')} "
            f"({meta.get('cpus', '?')} CPUs{bf16}{extra}{load}).")


def _models(data: dict[str, Any]) -> list[str]:
    rows = [[r["name"], r["variant"], r["params"], r["gflops"], r["eager_ms"], r["optimized_fp32_ms"],
             r["optimized_ms"], r["precision"], f"{r['speedup']:.2f}×"] for r in data["models"]]
    out = ["512×512, batch 1. *eager*: `model.eval()` under `no_grad`, NCHW, float32. *optimised*: the app's path "
           "(`segdemo.serving.optimise`: BatchNorm folded, channels_last, `inference_mode`), in float32 and in the "
           "precision the app picks on this CPU. GFLOPs count a multiply-add as 2 FLOPs.", ""]
    out += _table(["model", "variant", "params", "GFLOPs", "eager ms", "optimised fp32 ms", "app path ms",
                   "precision", "speed-up"], rows)
    parity = data.get("torchvision_deeplabv3_resnet50")
    if parity:
        out += ["", f"DeepLabV3-ResNet50, ours / torchvision's `deeplabv3_resnet50` (float32, interleaved): eager "
                f"{parity['ours_eager_ms']:.0f} / {parity['torchvision_eager_ms']:.0f} ms = {parity['ratio_eager']:.3f}, "
                f"optimised {parity['ours_optimized_ms']:.0f} / {parity['torchvision_optimized_ms']:.0f} ms = "
                f"{parity['ratio_optimized']:.3f}."]
    return out


def _checkpoints(data: dict[str, Any]) -> list[str]:
    precision = data.get("precision", "?")
    rows = [[r["model"], r["params"], r["gflops_512"], r["latency_ms_512"], r["val_miou"], r["miou_fp32"],
             r["miou_app"], r["pixel_accuracy"], r["steps"], r["train_s"], r["size"]] for r in data["checkpoints"]]
    out = [f"The shipped checkpoints on the app's path ({precision}), 512×512, batch 1. *card*: the val mIoU its "
           f"training run wrote; *fp32* and *{precision}*: re-measured on the card's held-out set.", ""]
    return out + _table(["model", "params", "GFLOPs", "latency ms", "val mIoU (card)", "fp32", precision,
                         "pixel acc", "steps", "train s", "train size"], rows)


def _segment(data: dict[str, Any]) -> list[str]:
    decode = data.get("decode_ms", {})
    def own(r: dict[str, Any], kind: str) -> float:  # older files: the difference of two medians
        return r.get(f"own{kind}_ms", round(r[f"handler{kind}_ms"] - r["forward_ms"], 1))

    rounds = all("own_photo_rounds" in r for r in data["models"])
    rows = [[r["model"], r["forward_ms"], r["handler_photo_ms"], own(r, "_photo"),
             *([" / ".join(map(str, r["own_photo_rounds"]))] if rounds else []), "✓" if own(r, "_photo") <= 10 else "✗",
             r["handler_ms"], own(r, ""), r["images_per_s"]] for r in data["models"]]
    out = [f"The Segment handler at {data['size']}² (decode, preprocess, forward, arg-max, overlay, masks, confidence, "
           f"class table) against the bare forward, for a photo JPEG (decode {decode.get('jpeg_photo', '?')} ms) and a "
           f"noise PNG (the worst case, decode {decode.get('png_noise', '?')} ms)"
           + (f"; a phone's 4032×3024 JPEG ({data.get('jpeg_12mp_mb', '?')} MB) is read down to the tab's longest "
              f"side in {decode['jpeg_12mp']} ms, decoded at half its size ({decode['jpeg_12mp_whole']} ms when "
              "decoded whole first)" if "jpeg_12mp_whole" in decode else "")
           + f". Cold start (process start to the first page served): {data.get('cold_start_s', '?')} s.", ""]
    if rounds:
        out[0] += (" The handler's own work is its time minus the forward pass inside the same call (goal ≤ 10 ms "
                   f"for the photo, issue 24). For the photo it is measured in {data.get('rounds', '?')} rounds over "
                   "all the models, each the median of its calls; the lowest counts and every round is listed: this "
                   "shared machine has spells of seconds in which everything runs 20–50 % slower.")
    elif all("own_ms" in r for r in data["models"]):
        out[0] += (" The handler's own work is its time minus the forward pass inside the same call (median over "
                   "the calls; goal ≤ 10 ms for the photo, issue 24).")
    else:  # an older file
        out[0] += (" The handler's own work here is the difference of the two medians, measured minutes apart "
                   "(goal ≤ 10 ms for the photo, issue 24).")
    return out + _table(["model", "forward ms", "handler ms (photo)", "own work ms (photo)",
                         *(["rounds (photo)"] if rounds else []), "≤ 10 ms", "handler ms (PNG)", "own work ms (PNG)",
                         "images/s"], rows)


def _metrics(data: dict[str, Any]) -> list[str]:
    return [f"Confusion matrix of a {data['size']}² mask pair, {data['num_classes']} classes: ours (one `bincount`) "
            f"{data['ours_ms']:.1f} ms, torchmetrics' `MulticlassJaccardIndex` {data['torchmetrics_ms']:.1f} ms "
            f"({data['speedup_vs_torchmetrics']:.1f}×), the course's per-class loop {data['course_loop_ms']:.1f} ms "
            f"({data['speedup_vs_course_loop']:.1f}×)."]


def _augment(data: dict[str, Any]) -> list[str]:
    return [f"Augmentation grid: {data['n']} pairs at {data['size']}² with the `{data['preset']}` preset in "
            f"{data['grid_ms']:.0f} ms, {data['grid_and_panels_ms']:.0f} ms with the drawn panels "
            f"(goal ≤ {data['goal_ms']} ms)."]


def _inside(data: dict[str, Any]) -> list[str]:
    rows = [[r["figure"], r["median_ms"], r.get("threads", data["threads"]), "✓" if r["within_goal"] else "✗"]
            for r in data["figures"]]
    load = data.get("load_average", ["?"])[0]
    return ([f"Each figure of the Inside tab at {data['size']}², and a click on the attention view, as their handlers "
             f"compute them, median over several runs on the torch threads the app gives them (goal ≤ "
             f"{data['goal_ms']:g} ms; load average {load} at the end of the run).", ""]
            + _table(["figure", "median ms", "threads", "≤ goal"], rows))


def _lessons(data: dict[str, Any]) -> list[str]:
    many, one = data["threads"], data["lesson_threads"]
    rows = [[r["call"], r["threads_wall_ms"], r["threads_cpu_ms"], r["lesson_wall_ms"], r["lesson_cpu_ms"]]
            for r in data["calls"]]
    load = data.get("load_average", ["?"])[0]
    return ([f"The lesson work behind each figure endpoint, new arguments at every call: median wall time and CPU "
             f"time of the whole process (spinning OpenMP threads included) on {many} torch threads and on {one}, "
             "what the figures queue runs each request on (`serving.lesson_threads`). Under a class the server's two "
             f"cores are the limit, so CPU time is what a request costs the others (load average {load} at the end "
             "of the run).", ""]
            + _table(["call", f"{many} threads: wall ms", "CPU ms", f"{one}: wall ms", "CPU ms"], rows))


def _train(data: dict[str, Any]) -> list[str]:
    goal = data["goal"]
    rows = []
    for name, r in data["recipes"].items():
        curve = " ".join(f"{step}:{miou:.2f}" for step, _, miou in r["curve"])
        rows.append([name, r["best_miou"], r["seconds"], r["steps"],
                     r["seconds_to_goal"] if r["seconds_to_goal"] is not None else "not reached", curve])
    return ([f"The Train tab's default run and each suggested change, trained as the tab trains them "
             f"({data['threads']} torch threads; goal: val mIoU ≥ {goal['miou']} within {goal['seconds']:g} s).", ""]
            + _table(["recipe", "best val mIoU", "seconds", "steps", "s to goal", "val mIoU by step"], rows))


def _trainload(data: dict[str, Any]) -> list[str]:
    first, val = data["first_loss_point_s"], data["first_val_point_s"]
    miou = data["best_val_miou"]
    return [f"{data['users']} students press Train with the defaults at the same moment ({data['slots']} slots, "
            f"{data['torch_threads']} torch threads, load average {data['load_before'][0]} before): first loss point "
            f"after {first['median']:.1f} s (median), {first['max']:.1f} s (last student); first validation point "
            f"{val['median']:.1f} s / {val['max']:.1f} s; all done after **{data['all_done_s']:.0f} s**; steps done "
            f"{data['steps_done']['min']}–{data['steps_done']['max']}; best val mIoU {miou['min']}–{miou['max']} "
            f"(median {miou['median']}). Goal: a point within 10 s, all done within 300 s."]


#: The issue's goals for the classroom load (p95 seconds per kind of endpoint).
LOAD_GOALS = {"figure": 2.0, "segment": 3.0, "train_start": 1.0}
_FIGURES = ("augment", "losses", "losses_curves", "losses_masks", "miou", "miou_model", "miou_pair", "miou_zip",
            "overview")


def _goal(name: str) -> float | None:
    if name.startswith("segment"):
        return LOAD_GOALS["segment"]
    if name == "train_start":
        return LOAD_GOALS["train_start"]
    return LOAD_GOALS["figure"] if name in _FIGURES else None


def _load_mode(mode: str, run: dict[str, Any], baseline: dict[str, Any] | None) -> list[str]:
    theirs = (baseline or {}).get(mode, {}).get("endpoints", {})
    if mode == "burst":
        head = f"**Burst**: every student at once: {run['requests']} requests in {run['seconds']} s, {run['failures']} failed."
    else:
        head = (f"**Sustained**: each student acts, waits {run['think_s'][0]:g}–{run['think_s'][1]:g} s and acts again "
                f"for {run['duration_s']:g} s: {run['requests']} requests ({run['requests_per_s']} per second), "
                f"{run['failures']} failed.")
    if baseline and mode in baseline:
        b = baseline[mode]
        head += f" Baseline: {b['requests']} requests in {b['seconds']} s, {b['failures']} failed."
    for label, data in (("This commit", run), ("Baseline", (baseline or {}).get(mode, {}))):
        if (c := data.get("cpu_s")) and c.get("server") is not None:
            head += (f" {label}'s CPU: server {c['server']} s ({c['server_per_request']} s a request), simulated "
                     f"students {c['clients']} s ({c['clients_per_request']} s a request; they share the server's "
                     f"cores), {c['cores_busy']} cores busy on average.")
    header = ["endpoint", "n", "p50 s", "p95 s", "goal p95 s", "failed"]
    if theirs:
        header += ["baseline p50 s", "baseline p95 s", "p95 ratio"]
    rows = []
    for name, row in run["endpoints"].items():
        line = [name, row["n"], row["p50_s"], row["p95_s"], _goal(name), row.get("failures", 0)]
        if theirs:
            other = theirs.get(name, {})
            ratio = (round(row["p95_s"] / other["p95_s"], 2) if row.get("p95_s") is not None and other.get("p95_s")
                     else None)
            line += [other.get("p50_s"), other.get("p95_s"), f"{ratio:.2f}×" if ratio is not None else None]
        rows.append(line)
    return [head, ""] + _table(header, rows) + [""]


def _memory_line(label: str, m: dict[str, Any]) -> str:
    if m.get("warm_mb") is None:  # the older format: no warm-up
        verdict = "within" if m.get("after_within_10pct") else "not within"
        return (f"{label}: idle {m['idle_mb']} MiB, peak {m['peak_mb']} MiB under load, {m['after_mb']} MiB "
                f"{m['settle_s']:g} s after it ({verdict} 10 % of idle).")
    ratio = m.get("after_over_warm")
    processes = (f" (resident memory of its {m['processes']} processes summed: each counts the libraries they "
                 f"share)" if m.get("processes", 1) > 1 else "")
    return (f"{label}{processes}: {m['idle_mb']} MiB at start, {m['warm_mb']} MiB warmed up (every endpoint called, then "
            f"{m['settle_s']:g} s idle), peak {m['peak_mb']} MiB under load, {m['after_mb']} MiB {m['settle_s']:g} s "
            f"after it: {ratio}× the warmed-up value (goals: ≤ 1.2×, issue 21; ≤ 1.1×, issue 24).")


def _temp_lines(label: str, data: dict[str, Any], bounds: bool = True) -> list[str]:
    """The temp folders' sizes; with ``bounds``, the Gradio cache's bound and the burst floor (this commit's
    settings: not meaningful for a baseline)."""
    out = []
    if data.get("temp_mb"):
        stages = ", ".join(f"{stage.replace('_', ' ')} {v['segdemo']} / {v['gradio']}"
                           for stage, v in data["temp_mb"].items())
        out.append(f"- {label} temp folders (MiB, the app's / Gradio's cache): {stages}.")
    if bounds and data.get("gradio_cache"):
        c = data["gradio_cache"]
        out.append(f"- {label} Gradio cache: filled at {c['mb_per_min']} MB a minute under this load; files live at "
                   f"most {c['lifetime_s'] // 60} minutes (`housekeeping.GRADIO_DELETE_CACHE`), so it holds at most "
                   f"~{c['cap_mb']} MB at this rate, and nothing after the app stops.")
    if data.get("burst_floor"):  # measured on each app, so a baseline's is its own
        f = data["burst_floor"]
        out.append(f"- {label} burst floor: {f['users']} requests in flight × {f['mean_solo_s']} s (the mix's mean "
                   f"time of one request on an idle server) / {f['cores']} cores = **{f['floor_s']} s**: no scheduling "
                   "answers a burst faster on this machine (`loadtest.burst_floor`).")
    return out


def _loadtest(data: dict[str, Any]) -> list[str]:
    if "burst" not in data and "sustained" not in data:  # the first format: one burst at the top level
        rows = [[name, row["n"], row["p50_s"], row["p95_s"]] for name, row in data["endpoints"].items()]
        out = [f"{data['users']} simulated students × {data['requests_per_user']} requests, all starting together: "
               f"{data['requests']} requests, {data['failures']} failed, {data['seconds']} s; server peak RSS "
               f"{data.get('server_peak_rss_mb') or '?'} MiB.", ""]
        return out + _table(["endpoint", "requests", "p50 s", "p95 s"], rows)
    baseline = data.get("baseline")
    out = [f"{data['users']} simulated students on this commit ({data.get('commit') or '?'})"
           + (f", and the same load on `{baseline['rev']}` ({baseline.get('commit')}), the baseline, run first "
              "in a git worktree with the same Python" if baseline else "") + ". The machine's cores may be "
           "shared with other work while it runs (see the load average of the machine at the time). The students "
           "run on the same two cores as the server; "
           + ("they speak the page's own protocol over one HTTP connection each (`segdemo/tools/loadclient.py`), and "
              "the CPU they used is given with each lesson." if data.get("client") == "loadclient" else
              "they were `gradio_client` clients (about 0.1 s of CPU per request on the server's cores)."), ""]
    out += ["`train_start`: submit → first streamed update; `train_stop`: the stop call; `train_end`: stop → the "
            "final result. A ratio < 1× is faster than the baseline.", ""]
    for mode in ("burst", "sustained"):
        if mode in data:
            out += _load_mode(mode, data[mode], baseline)
    if data.get("memory"):
        out.append("- " + _memory_line("Server memory", data["memory"]))
    out += _temp_lines("Server", data)
    if baseline and baseline.get("memory"):
        out.append("- " + _memory_line("Baseline memory", baseline["memory"]))
        out += _temp_lines("Baseline", baseline, bounds=False)
    for label, source in (("Cold start", data), ("Baseline cold start", baseline or {})):
        c = source.get("cold_start")
        if c:
            out.append(f"- {label} (`python app.py` to the first page) over {len(c['runs'])} starts: min "
                       f"{c['min_s']} s, median {c['median_s']} s ({', '.join(f'{r:g}' for r in c['runs'])}).")
    return out


def _multigrid(data: dict[str, Any]) -> list[str]:
    rows = [[str(tuple(r["multi_grid"])), r["seed"], r["steps"], r["seconds"], f"{r['miou']:.4f}",
             f"{r['pixel_accuracy']:.4f}", r["layer4_receptive_field"]] for r in data["rows"]]
    recipe = data["recipe"]
    return ([f"DeepLabV3 ({recipe['variant']} variant) trained twice per seed from scratch with the recipe of the "
             f"shipped `{data['model']}` card ({recipe['size']}² scenes, batch {recipe['batch_size']}, lr "
             f"{recipe['lr']}, {recipe['loss']} loss), only layer4's unit rates differ; val mIoU on the card's "
             f"{data['validation']['n']} validation scenes.", ""]
            + _table(["multi_grid", "seed", "steps", "seconds", "val mIoU", "pixel acc.", "backbone RF px"], rows)
            + ["", "Mean val mIoU: " + ", ".join(f"{k} {v}" for k, v in data["mean_miou"].items())
               + f"; multi-grid's effect here: **{data['effect_miou']:+.4f}** mIoU."])


#: (JSON name in ``bench-output`` or a repo path, section title, renderer, the command that writes the JSON)
SECTIONS: tuple[tuple[str, str, Callable[[dict[str, Any]], list[str]], str], ...] = (
    ("models", "Model zoo: latency of every registered model", _models, "make bench"),
    ("checkpoints", "Shipped checkpoints", _checkpoints, "make bench"),
    ("segment", "Segment handler", _segment, "make bench"),
    ("metrics", "Metrics", _metrics, "make bench"),
    ("augment", "Augmentation", _augment, "make bench"),
    ("inside", "Inside tab figures", _inside, "make bench"),
    ("lessons", "Lesson work per figure request: threads", _lessons, "make bench"),
    ("train", "Train tab recipes", _train, "make bench"),
    ("trainload", "A class training at once", _trainload, "python -m segdemo.tools.trainload"),
    ("loadtest", "Classroom load test", _loadtest, "make loadtest"),
    ("checkpoints/deeplabv3mg.multigrid", "DeepLabV3 multi-grid, measured", _multigrid,
     "python -m segdemo.tools.multigrid --seeds 0 1"),
)


def render(folder: Path = INPUT) -> str:
    """The whole document from the JSON files in ``folder``."""
    lines = ["# Performance", "",
             "Generated by `python -m segdemo.tools.perfdoc` (run by `make bench`) from `bench-output/*.json`; "
             "do not edit by hand. Each section names the machine, the date and the command that measured it.", ""]
    for name, title, renderer, command in SECTIONS:
        lines += [f"## {title}", ""]
        path = Path(f"{name}.json") if "/" in name else folder / f"{name}.json"  # a path: committed numbers
        if not path.exists():
            lines += [f"_Not measured yet: `{command}` writes `{path}`._", ""]
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        lines += [_meta_line(data.get("meta")), ""] + renderer(data) + [""]
    return "\n".join(lines).rstrip() + "\n"


README = Path("README.md")
_BEGIN, _END = "<!-- models:begin (python -m segdemo.tools.perfdoc) -->", "<!-- models:end -->"


def models_table() -> str:
    """The README's table of shipped checkpoints, read from their cards (no timing: that is in the docs)."""
    from segdemo.checkpoints import list_checkpoints
    from segdemo.models.registry import get_card

    rows = []
    for card in sorted(list_checkpoints(), key=lambda c: -c["metrics"]["miou"]):
        info, recipe = get_card(card["model"]), card["recipe"]
        rows.append([f"{info.display['en']} ({info.year})", card["model"], card["params"],
                     card["validation"]["size"], f"{card['metrics']['miou']:.3f}",
                     f"{card['metrics']['pixel_accuracy']:.3f}", recipe.get("steps_total", recipe.get("steps_done"))])
    return "\n".join(_table(["model", "registry name", "params", "trained at (px)", "val mIoU", "pixel acc",
                              "steps"], rows))


def update_readme(path: Path = README) -> bool:
    """Rewrite the block between the model-table markers of ``path``; True if it changed."""
    text = path.read_text(encoding="utf-8")
    head, _, rest = text.partition(_BEGIN)
    _, _, tail = rest.partition(_END)
    new = f"{head}{_BEGIN}\n{models_table()}\n{_END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segdemo.tools.perfdoc", description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=INPUT, help="folder of benchmark JSON files")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the Markdown file to write")
    parser.add_argument("--readme", type=Path, default=README, help="the README whose model table is regenerated")
    args = parser.parse_args(argv)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(args.input), encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    if args.readme.exists() and update_readme(args.readme):
        print(f"updated the model table in {args.readme}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
