"""Time and memory of each amplifying upload (issue 21), through the tab handlers, one fresh process per case.

Script mode prints one row per case (seconds, RSS before the call, peak growth, the answer)::

    python tests/hostile_bench.py                      # this checkout
    python tests/hostile_bench.py --root /tmp/wt-before  # another checkout (e.g. the code before the fix)
    python tests/hostile_bench.py --big                # lying zips that really hold 2 GiB (the issue's case)
    python tests/hostile_bench.py --beside             # the app served: another student's latency meanwhile

Each case runs in its own Python process (cwd and ``sys.path`` = ``--root``) so that one case's memory
never counts against another's; the child samples its own RSS every 5 ms from ``/proc/self/statm`` and
also reads ``ru_maxrss``, and reports the growth over its RSS just before the call.
``tests/test_hostile_limits.py`` runs the same cases and checks the limits (≤ 2 s, < 300 MB, a clear message).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

_MIOU_ZIP = "from segdemo.ui.miou import score_files\ncall = lambda: score_files(None, None, PATH, 'none', 0, 255, '', None)"
_MIOU_PAIR = "from segdemo.ui.miou import score_files\ncall = lambda: score_files([PATH], [PATH], None, 'none', 0, 255, '', None)"
_MIOU_FILES = ("from segdemo.ui.miou import score_files\nimport glob\n"
               "call = lambda: score_files(sorted(glob.glob(PATH + '/gt/*')), sorted(glob.glob(PATH + '/pred/*')), "
               "None, 'none', 0, 255, '', None)")
_AUGMENT = ("from segdemo.ui.augment import run_augment\n"
            "call = lambda: run_augment('synthetic', 0, None, None, open(PATH).read(), {n}, 0, {size}, None)")

#: case name (a key of ``hostile_corpus.write_amplifiers``) -> the handler call that receives it.
CASES: dict[str, str] = {
    "zip_bzip2_lying_size": _MIOU_ZIP,
    "zip_deflate_lying_size": _MIOU_ZIP,
    "mask_one_pixel_3000": _MIOU_PAIR,
    "png_lying_7000": _MIOU_PAIR,
    "png_lying_2000": _MIOU_PAIR,
    "mask_zero_8000": _MIOU_PAIR,
    "pipeline_elastic_100": _AUGMENT.format(n=16, size=512),
    "pipeline_elastic_30": _AUGMENT.format(n=16, size=512),
    "pipeline_deep_3000": _AUGMENT.format(n=1, size=128),
    "zip_many_files": _MIOU_ZIP,
    "files_many": _MIOU_FILES,
    "npy_int64_2_40": _MIOU_PAIR,
    "zip_npy": _MIOU_ZIP,
}

_CHILD = r'''
import json, os, resource, sys, threading, time
sys.path.insert(0, os.getcwd())
PATH = sys.argv[1]
{setup}
PAGE = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE

samples, done = [], threading.Event()

def sample():
    while not done.wait(0.005):
        samples.append(rss())

before, peak_before = rss(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
start = time.perf_counter()
try:
    call()
    answer = "ok (a result)"
except Exception as exc:
    answer = type(exc).__name__ + ": " + str(exc)
seconds = time.perf_counter() - start
done.set()
sampler.join()
peak = max(samples + [rss()])
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if maxrss > peak_before:
    peak = max(peak, maxrss)
print("RESULT " + json.dumps({{"seconds": seconds, "rss_mb": before / 2**20, "growth_mb": (peak - before) / 2**20,
                              "answer": answer}}))
'''


def write_cases(folder: Path, big: bool = False) -> dict[str, Path]:
    """The amplifying corpus (``--big``: lying zips really hold 2 GiB per member, as in the issue)."""
    sys.path.insert(0, str(HERE))
    from hostile_corpus import write_amplifiers

    return write_amplifiers(folder, zip_payload=2**31 if big else 2**25)


def run_case(name: str, path: Path, root: Path = ROOT, timeout: float = 300.0) -> dict:
    """Run one case in a fresh process at ``root``: ``{"seconds", "rss_mb", "growth_mb", "answer"}``."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "MPLBACKEND": "Agg", "PYTHONPATH": str(root)}
    env.setdefault("SEGDEMO_TEMP_DIR", str(Path(tempfile.gettempdir()) / "segdemo-hostile-bench"))
    code = _CHILD.format(setup=CASES[name])
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(path)], cwd=root, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"seconds": timeout, "rss_mb": float("nan"), "growth_mb": float("nan"),
                "answer": f"no answer within {timeout:.0f} s", "log": ""}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return {**json.loads(line[7:]), "log": proc.stderr}
    return {"seconds": float("nan"), "rss_mb": float("nan"), "growth_mb": float("nan"),
            "answer": f"process died (exit {proc.returncode}): {proc.stderr.strip()[-300:]}", "log": proc.stderr}


def _attack(client, name: str, path: Path) -> str:
    """Send case ``name`` through the served app's API as a browser would; the answer's first line."""
    from gradio_client import handle_file

    case = CASES[name]
    try:
        if "run_augment" in case:
            n, size = (16, 512) if "elastic" in name else (1, 128)
            client.predict("synthetic", 0, None, None, path.read_text(), n, 0, size, api_name="/augment")
        elif case is _MIOU_ZIP:
            client.predict(None, None, handle_file(str(path)), "none", 0, 255, "", api_name="/miou")
        elif case is _MIOU_FILES:
            files = [handle_file(str(p)) for p in sorted(path.glob("gt/*"))[:50]]
            preds = [handle_file(str(p)) for p in sorted(path.glob("pred/*"))[:50]]
            client.predict(files, preds, None, "none", 0, 255, "", api_name="/miou")
        else:
            client.predict([handle_file(str(path))], [handle_file(str(path))], None, "none", 0, 255, "",
                           api_name="/miou")
    except Exception as exc:  # noqa: BLE001 - a refusal is the expected answer
        return str(exc).splitlines()[0][:120]
    return "answered"


def beside(rounds: int = 3) -> dict:
    """While one client sends every hostile case ``rounds`` times through the served app, another calls
    Losses and Segment (the fastest model) in turn: the victim's latencies (issue 21: each < 2 s)."""
    import random
    import statistics
    import threading
    import time

    from gradio_client import Client

    sys.path.insert(0, str(ROOT))  # run as a script from tests/
    from segdemo.tools import loadtest

    with tempfile.TemporaryDirectory(prefix="hostile-beside-") as folder:
        paths = write_cases(Path(folder))
        port = loadtest.free_port()
        process = loadtest.launch_app(port, temp=Path(folder) / "app")
        url = f"http://127.0.0.1:{port}/"
        try:
            loadtest.warm_up(url, {k: loadtest.ACTIONS[k] for k in ("losses", "segment_fast")})
            attacker = Client(url, verbose=False, download_files=False)
            victim = Client(url, verbose=False, download_files=False)
            done, answers, times = threading.Event(), {}, {"losses": [], "segment_fast": []}

            def attack() -> None:
                for _ in range(rounds):
                    for name, path in paths.items():
                        started = time.perf_counter()
                        answer = _attack(attacker, name, path)
                        answers[name] = (round(time.perf_counter() - started, 2), answer)
                done.set()

            thread = threading.Thread(target=attack, daemon=True)
            thread.start()
            rng = random.Random(0)
            while not done.is_set():
                for name in times:
                    started = time.perf_counter()
                    loadtest.ACTIONS[name](victim, rng)
                    times[name].append(time.perf_counter() - started)
            thread.join()
        finally:
            loadtest.stop_app(process)
    return {"rounds": rounds, "attacks": answers,
            "victim": {name: {"n": len(v), "p50_s": round(statistics.median(v), 3),
                              "p95_s": round(loadtest._percentile(v, 95), 3), "max_s": round(max(v), 3)}
                       for name, v in times.items() if v}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose segdemo handles the cases")
    parser.add_argument("--big", action="store_true", help="lying zips really hold 2 GiB per member")
    parser.add_argument("--cases", default="", help="comma-separated subset of: " + ", ".join(CASES))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--beside", action="store_true",
                        help="serve the app and time another student's Losses and Segment while the cases arrive")
    args = parser.parse_args(argv)
    if args.beside:
        result = beside()
        for name, (seconds, answer) in result["attacks"].items():
            print(f"{name:24s} {seconds:8.2f} s  {answer}")
        for name, row in result["victim"].items():
            print(f"victim {name:16s} n={row['n']:4d} p50 {row['p50_s']:.2f} s p95 {row['p95_s']:.2f} s max {row['max_s']:.2f} s")
        if args.json:
            args.json.write_text(json.dumps(result, indent=1))
        return
    names = [c for c in args.cases.split(",") if c] or list(CASES)
    with tempfile.TemporaryDirectory(prefix="hostile-bench-") as folder:
        paths = write_cases(Path(folder), big=args.big)
        rows = {}
        print(f"{'case':24s} {'seconds':>8s} {'RSS MB':>7s} {'+MB':>7s}  answer", flush=True)
        for name in names:
            row = run_case(name, paths[name], args.root.resolve(), args.timeout)
            rows[name] = {k: v for k, v in row.items() if k != "log"}
            print(f"{name:24s} {row['seconds']:8.2f} {row['rss_mb']:7.0f} {row['growth_mb']:7.0f}  "
                  f"{row['answer'][:150]}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"root": str(args.root), "big": args.big, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
