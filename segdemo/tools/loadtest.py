"""A classroom in a script: N simulated students hit a launched app at once through ``gradio_client``.

``python -m segdemo.tools.loadtest --users 30 --requests 4`` launches ``python app.py`` on a free port (or uses
``--url``), lets every user run a realistic mix (segment an example, augment, losses, mIoU) and prints the
requests, failures, p50/p95 latency per endpoint and the server's peak resident memory. ``make loadtest``
runs it with the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segdemo.tools.perfdoc import host_meta

ROOT = Path(__file__).resolve().parents[2]

#: One user's possible actions: endpoint name → a function of (client, rng) that calls it.
Action = Callable[[Any, random.Random], Any]


#: The fastest architectures first (`python -m segdemo.tools.bench checkpoints`: Fast-SCNN 14 ms, LR-ASPP 24 ms at 512²).
FAST_FIRST = ("fastscnn", "lraspp", "fcn8s", "deeplabv3plus", "unet", "fcn16s", "fcn32s", "deeplabv3", "segformer")


@functools.cache
def fastest_shipped() -> str:
    """Key of the fastest shipped model (by architecture), e.g. ``"shipped:lraspp"``.

    Cached, and resolved by :func:`run` before the users start: it imports the backends (torch), and
    that import inside the first actions held every simulated student's first ``segment`` back by
    seconds on the client side, which the server was then blamed for.
    """
    from segdemo.serving import shipped

    names = {Path(card["stem"]).name for card in shipped()}
    for name in FAST_FIRST:
        if name in names:
            return f"shipped:{name}"
    if not names:
        raise RuntimeError("no shipped checkpoint: train one first (scripts/train_zoo.sh)")
    return f"shipped:{sorted(names)[0]}"


def _segment(client: Any, rng: random.Random) -> Any:
    return client.predict("scene", rng.randrange(100), None, fastest_shipped(), [], 0.55, api_name="/segment")


def _augment(client: Any, rng: random.Random) -> Any:
    return client.predict("synthetic", rng.randrange(100), None, None, "course", 8, rng.randrange(10_000), 256,
                          api_name="/augment")


def _losses(client: Any, rng: random.Random) -> Any:
    return client.predict(rng.choice([0.5, 1.0, 5.0, 20.0]), 50, 0.5, 0.8, 0.999, api_name="/losses")


def _miou(client: Any, rng: random.Random) -> Any:
    return client.predict(fastest_shipped(), rng.randrange(100), api_name="/miou_model")


ACTIONS: dict[str, Action] = {"segment": _segment, "augment": _augment, "losses": _losses, "miou": _miou}
#: How often each action is picked: students mostly segment.
WEIGHTS = {"segment": 4, "augment": 2, "losses": 1, "miou": 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory of a process in MiB (Linux ``VmHWM``), or None where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def launch_app(port: int, timeout: float = 120.0) -> subprocess.Popen:
    """Start ``python app.py`` on ``port`` and wait until it serves its page."""
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "NO_ALBUMENTATIONS_UPDATE": "1"}
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"app.py did not serve within {timeout:.0f} s")


def run(url: str, users: int = 30, requests: int = 4, seed: int = 0,
        actions: dict[str, Action] | None = None) -> dict[str, Any]:
    """Run ``users`` threads, each with its own client, doing ``requests`` weighted-random actions.

    Returns:
        ``{"requests", "failures", "errors" (first few), "endpoints": {name: {"n", "p50_s", "p95_s"}},
        "seconds"}``.
    """
    from gradio_client import Client

    actions = actions or ACTIONS
    with contextlib.suppress(RuntimeError):  # no checkpoint: the actions report it as failures
        fastest_shipped()  # before the clock starts (see its docstring)
    names = list(actions)
    weights = [WEIGHTS.get(name, 1) for name in names]
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(users)

    def user(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        try:
            # Students' browsers fetch the result images on their own machines; here the clients share
            # the server's two cores, so they take the file references without downloading them.
            client = Client(url, verbose=False, download_files=False)
        except Exception as exc:  # noqa: BLE001 - a user who cannot connect is a failure to count
            with lock:
                errors.append(f"user {index} connect: {exc!r}"[:300])
            barrier.abort()
            return
        try:
            barrier.wait(timeout=300)  # everyone starts together, like a class told "now click"
        except threading.BrokenBarrierError:
            pass
        for _ in range(requests):
            name = rng.choices(names, weights)[0]
            started = time.perf_counter()
            try:
                actions[name](client, rng)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"{name}: {exc!r}"[:300])
                continue
            with lock:
                latencies[name].append(time.perf_counter() - started)

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = sum(len(v) for v in latencies.values())
    return {
        "requests": done + len(errors),
        "failures": len(errors),
        "errors": errors[:10],
        "endpoints": {name: {"n": len(v), "p50_s": round(statistics.median(v), 3),
                             "p95_s": round(_percentile(v, 95), 3)} for name, v in sorted(latencies.items())},
        "seconds": round(time.perf_counter() - started, 1),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segdemo.tools.loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--requests", type=int, default=4, help="requests per user")
    parser.add_argument("--url", default=None, help="an app already running (default: launch app.py)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="bench-output/loadtest.json", help="where to write the results")
    args = parser.parse_args(argv)
    process = None
    url = args.url
    if url is None:
        port = free_port()
        process = launch_app(port)
        url = f"http://127.0.0.1:{port}/"
    try:
        result = run(url, args.users, args.requests, args.seed)
        if process is not None:
            result["server_peak_rss_mb"] = peak_rss_mb(process.pid)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    result.update(users=args.users, requests_per_user=args.requests)
    command = "python -m segdemo.tools.loadtest" + (f" --users {args.users} --requests {args.requests}")
    result = {"meta": host_meta(command), **result}
    print(f"{args.users} users × {args.requests} requests in {result['seconds']} s: "
          f"{result['requests']} requests, {result['failures']} failed")
    for name, row in result["endpoints"].items():
        print(f"  {name:8s} n={row['n']:4d}  p50 {row['p50_s']:6.2f} s  p95 {row['p95_s']:6.2f} s")
    if result.get("server_peak_rss_mb") is not None:
        print(f"  server peak RSS {result['server_peak_rss_mb']:.0f} MiB")
    for error in result["errors"]:
        print("  error:", error)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
