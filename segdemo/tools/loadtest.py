"""A classroom in a script: N simulated students hit a launched app at once, as their pages would (``loadclient``).

``python -m segdemo.tools.loadtest`` launches ``python app.py`` on a free port (or uses ``--url``) and plays
two lessons against it with 30 students mixing every endpoint (segment with the fastest and the default
model, augment, the Losses sliders, mIoU on a pair and on a zip of 20 pairs, the overview, train
start/stop):

* **burst**: everyone at once, ``--requests`` (4) actions each, like a class told "now click";
* **sustained**: each student acts, thinks a few seconds (``--think``, 2–6 s) and acts again for
  ``--duration`` seconds (180), about the rate of a class following the teacher.

It records per-endpoint p50/p95 latency and failures, the server's resident memory (its process and its
worker processes, ``segdemo.workers``, summed; at start, after a
warm-up in which one student calls every endpoint once and ``--settle`` seconds pass, the peak, and
``--settle`` seconds after the load), the bytes in the app's two temp folders (its own and Gradio's cache,
fresh folders per launch) before the load, after it, after the settle and after the app was stopped with
SIGTERM, the cold start (``--cold-starts`` launches: process start to first
page) and writes ``bench-output/loadtest.json`` (``python -m segdemo.tools.perfdoc`` renders it).
``--baseline REV`` runs the same load against a git worktree of an older commit first and records the
ratio per endpoint (this run's p95 / the baseline's). ``make loadtest`` runs it with the defaults.
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


def default_shipped() -> str:
    """Key of the model the tabs show first (the best shipped one)."""
    from segdemo.serving import default_key

    key = default_key()
    if key is None:
        raise RuntimeError("no model to segment with")
    return key


def _segment_fast(client: Any, rng: random.Random) -> Any:
    return client.predict("scene", rng.randrange(100), None, fastest_shipped(), [], 0.55, api_name="/segment")


def _segment_default(client: Any, rng: random.Random) -> Any:
    # the app's own default (a baseline commit may not have this one's best checkpoint)
    model = client.page_value("segment-model") if hasattr(client, "page_value") else default_shipped()
    return client.predict("scene", rng.randrange(100), None, model, [], 0.55, api_name="/segment")


def _augment(client: Any, rng: random.Random) -> Any:
    return client.predict("synthetic", rng.randrange(100), None, None, "course", 8, rng.randrange(10_000), 256,
                          api_name="/augment")


def _losses(client: Any, rng: random.Random) -> Any:
    # a slider let go somewhere: mostly new values, as a class dragging its own sliders
    return client.predict(round(rng.uniform(0.1, 20), 1), rng.randrange(101), 0.5, 0.8, 0.999, api_name="/losses")


def _losses_curves(client: Any, rng: random.Random) -> Any:
    return client.predict(round(rng.uniform(0.05, 1.0), 2), rng.randrange(1, 51), api_name="/losses_curves")


def _losses_masks(client: Any, rng: random.Random) -> Any:
    return client.predict(rng.randrange(100), rng.randrange(6), rng.randrange(-8, 9), rng.randrange(-24, 25), 0,
                          1.0, 0.9, api_name="/losses_masks")


def _miou_model(client: Any, rng: random.Random) -> Any:
    return client.predict(fastest_shipped(), rng.randrange(100), api_name="/miou_model")


def _miou_call(client: Any, truths: list[str], preds: list[str], archive: str | None) -> Any:
    return client.predict([client.file(p) for p in truths] or None, [client.file(p) for p in preds] or None,
                          client.file(archive) if archive else None, "none", 0, 255, "", api_name="/miou")


def _miou_pair(client: Any, rng: random.Random) -> Any:
    files = mask_files()
    i = rng.randrange(len(files["truths"]))
    return _miou_call(client, [files["truths"][i]], [files["preds"][i]], None)


def _miou_zip(client: Any, rng: random.Random) -> Any:
    return _miou_call(client, [], [], mask_files()["zip"])


def _overview(client: Any, rng: random.Random) -> Any:
    return client.predict(rng.randrange(1000), api_name="/overview_tasks")


#: Train is three measurements: ``train_start`` (submit → first streamed update), ``train_stop`` (the
#: stop call) and ``train_end`` (stop → the final result with the checkpoint).
TRAIN_PARTS = ("train_start", "train_stop", "train_end")


def _train(client: Any, rng: random.Random, record: Callable[[str, float], None]) -> Any:
    started = time.perf_counter()
    job = client.submit("/train", "fastscnn", "ce", "none", 64, 60, rng.randrange(1000))
    client.wait(job, first=True)
    record("train_start", time.perf_counter() - started)
    time.sleep(1.5)  # watch it for a moment
    started = time.perf_counter()
    client.predict(api_name="/train_stop")
    record("train_stop", time.perf_counter() - started)
    started = time.perf_counter()
    client.wait(job)
    record("train_end", time.perf_counter() - started)


ACTIONS: dict[str, Action] = {
    "segment_fast": _segment_fast, "segment_default": _segment_default, "augment": _augment, "losses": _losses,
    "losses_curves": _losses_curves, "losses_masks": _losses_masks, "miou_model": _miou_model,
    "miou_pair": _miou_pair, "miou_zip": _miou_zip, "overview": _overview, "train": _train,
}
#: How often each action is picked: students mostly segment and move sliders.
WEIGHTS = {"segment_fast": 3, "segment_default": 2, "augment": 2, "losses": 2, "losses_curves": 2, "losses_masks": 1,
           "miou_model": 1, "miou_pair": 1, "miou_zip": 1, "overview": 1, "train": 1}
#: Actions that record their own parts (they get a ``record(name, seconds)`` argument).
MULTI_PART = {"train"}


@functools.cache
def mask_files(pairs: int = 20, size: int = 128) -> dict[str, Any]:
    """Index-PNG mask pairs (4 classes, rectangles; the prediction a shifted, noisy copy) and a zip of
    ``pairs`` of them in ``gt/`` and ``pred/``, written once to a temporary folder."""
    import tempfile
    import zipfile

    import numpy as np
    from PIL import Image

    folder = Path(tempfile.mkdtemp(prefix="segdemo-loadtest-"))
    rng = np.random.default_rng(0)
    truths, preds = [], []
    for i in range(pairs):
        truth = np.zeros((size, size), np.uint8)
        for k in range(1, 4):
            y, x = rng.integers(0, size - 32, 2)
            h, w = rng.integers(16, 48, 2)
            truth[y:y + h, x:x + w] = k
        pred = np.roll(truth, int(rng.integers(-4, 5)), axis=1)
        noise = rng.random(truth.shape) < 0.02
        pred[noise] = rng.integers(0, 4, int(noise.sum()))
        for name, mask, out in ((f"t{i:02d}.png", truth, truths), (f"p{i:02d}.png", pred, preds)):
            path = folder / name
            Image.fromarray(mask).save(path)
            out.append(str(path))
    archive = folder / "pairs.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i, (t, p) in enumerate(zip(truths, preds, strict=True)):
            z.write(t, f"gt/{i:02d}.png")
            z.write(p, f"pred/{i:02d}.png")
    return {"truths": truths, "preds": preds, "zip": str(archive)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (Linux ``/proc``): the app and its worker processes
    (``segdemo.workers``). Just ``[pid]`` where ``/proc`` cannot be read."""
    children: dict[int, list[int]] = defaultdict(list)
    try:
        entries = [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return [pid]
    for entry in entries:
        try:
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children[parent].append(entry)
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _tree_sum(pid: int, read: Callable[[int], float | None]) -> float | None:
    """The sum of ``read(member)`` over ``pid``'s process tree; None when no member could be read."""
    values = []
    for member in process_tree(pid):
        try:
            value = read(member)
        except OSError:  # a process that ended meanwhile
            continue
        if value is not None:
            values.append(value)
    return sum(values) if values else None


def _status_mb(pid: int, field: str) -> float | None:
    def read(member: int) -> float | None:
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        return None

    return _tree_sum(pid, read)


def cpu_seconds(pid: int | None = None) -> float | None:
    """CPU time (user + system, all threads) used so far: by process ``pid`` and its live child processes
    (``/proc``, Linux), or by this process when ``pid`` is None."""
    if pid is None:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def read(member: int) -> float:
        fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return _tree_sum(pid, read)


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident memory in MiB (Linux ``VmHWM``) of a process and its child processes, summed: an upper
    bound of their peak together, counting the libraries they share once per process. None where unavailable."""
    return _status_mb(pid, "VmHWM")


def rss_mb(pid: int) -> float | None:
    """Resident memory now, in MiB (Linux ``VmRSS``), of a process and its child processes (summed), or None
    where unavailable."""
    return _status_mb(pid, "VmRSS")


def launch_app(port: int, timeout: float = 120.0, root: Path = ROOT, temp: Path | None = None) -> subprocess.Popen:
    """Start ``python app.py`` of the checkout ``root`` on ``port`` and wait until it serves its page.

    Args:
        temp: if given, the app writes its temp files under ``temp/segdemo`` and Gradio its cache under
            ``temp/gradio`` (see :func:`temp_sizes`).
    """
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", "NO_ALBUMENTATIONS_UPDATE": "1", "PYTHONPATH": str(root)}
    if temp is not None:
        env.update(SEGDEMO_TEMP_DIR=str(temp / "segdemo"), GRADIO_TEMP_DIR=str(temp / "gradio"))
    process = subprocess.Popen([sys.executable, "app.py"], cwd=root, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"app.py did not serve within {timeout:.0f} s")


def temp_sizes(temp: Path) -> dict[str, float]:
    """MiB in the app's temp folder and in Gradio's cache under ``temp`` (as :func:`launch_app` set them)."""
    from segdemo.tempfiles import size_of

    return {name: round(size_of(temp / name) / 2**20, 2) for name in ("segdemo", "gradio")}


def cache_bound(grown_mb: float, seconds: float) -> dict[str, float]:
    """How fast the load filled Gradio's cache, and the most it can hold at that rate: files live at most
    ``every + age`` seconds (``housekeeping.GRADIO_DELETE_CACHE``; ``GRADIO_CACHE_LIMIT`` caps it too)."""
    from segdemo.housekeeping import GRADIO_DELETE_CACHE

    every, age = GRADIO_DELETE_CACHE
    rate = grown_mb / max(seconds, 1e-9) * 60
    return {"mb_per_min": round(rate, 1), "lifetime_s": every + age, "cap_mb": round(rate * (every + age) / 60)}


def stop_app(process: subprocess.Popen) -> None:
    """Stop the app as Spaces, docker and systemd do: SIGTERM, then SIGKILL after 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def cold_starts(count: int, root: Path = ROOT) -> dict[str, Any]:
    """Seconds from starting ``python app.py`` to its first served page, ``count`` times: runs, min, median."""
    runs = []
    for _ in range(count):
        started = time.perf_counter()
        process = launch_app(free_port(), root=root)
        runs.append(round(time.perf_counter() - started, 2))
        stop_app(process)
    return {"runs": runs, "min_s": min(runs), "median_s": round(statistics.median(runs), 2)} if runs else {}


class _Recorder:
    """Latencies and errors of every simulated student, thread-safe."""

    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.failed: dict[str, int] = defaultdict(int)
        self.lock = threading.Lock()

    def record(self, name: str, seconds: float) -> None:
        with self.lock:
            self.latencies[name].append(seconds)

    def fail(self, name: str, exc: BaseException) -> None:
        with self.lock:
            self.failed[name] += 1
            self.errors.append(f"{name}: {exc!r}"[:300])

    def act(self, actions: dict[str, Action], name: str, client: Any, rng: random.Random) -> None:
        started = time.perf_counter()
        try:
            if name in MULTI_PART:
                actions[name](client, rng, self.record)
            else:
                actions[name](client, rng)
                self.record(name, time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the class
            self.fail(name, exc)

    def summary(self, seconds: float) -> dict[str, Any]:
        done = sum(len(v) for v in self.latencies.values())
        names = sorted(set(self.latencies) | set(self.failed))
        return {
            "requests": done + len(self.errors),
            "failures": len(self.errors),
            "errors": self.errors[:10],
            "endpoints": {name: {"n": len(v := self.latencies.get(name, [])),
                                 "p50_s": round(statistics.median(v), 3) if v else None,
                                 "p95_s": round(_percentile(v, 95), 3) if v else None,
                                 "failures": self.failed.get(name, 0)} for name in names},
            "seconds": round(seconds, 1),
        }


def _prepare(actions: dict[str, Action]) -> None:
    # Before the clock starts: these import the backends (torch) and write the mask files; inside the
    # first actions they held every simulated student's first request back on the client side.
    with contextlib.suppress(RuntimeError):  # no checkpoint: the actions report it as failures
        fastest_shipped()
        default_shipped()
    if "miou_pair" in actions or "miou_zip" in actions:
        mask_files()


def _class(url: str, users: int, body: Callable[[int, Any, random.Random, _Recorder], None], seed: int,
           recorder: _Recorder) -> float:
    """Run ``body(index, client, rng, recorder)`` for ``users`` students in threads, started together."""
    from segdemo.tools.loadclient import LeanClient, api_table

    barrier = threading.Barrier(users)
    api = api_table(url)  # each page loads the app's config; the class shares one parse of it

    def user(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        try:
            # Students' browsers run on their own machines and fetch the result images there; here the
            # clients share the server's two cores, so they are lean (loadclient) and take the file
            # references without downloading them.
            client = LeanClient(url, api)
        except Exception as exc:  # noqa: BLE001 - a user who cannot connect is a failure to count
            recorder.fail("connect", exc)
            barrier.abort()
            return
        try:
            barrier.wait(timeout=300)  # everyone starts together, like a class told "now click"
        except threading.BrokenBarrierError:
            pass
        try:
            body(index, client, rng, recorder)
        finally:
            client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run(url: str, users: int = 30, requests: int = 4, seed: int = 0,
        actions: dict[str, Action] | None = None) -> dict[str, Any]:
    """Burst: ``users`` students each doing ``requests`` weighted-random actions, all at once.

    Returns:
        ``{"requests", "failures", "errors" (first few), "endpoints": {name: {"n", "p50_s", "p95_s",
        "failures"}}, "seconds"}`` (train counts as one request, recorded as :data:`TRAIN_PARTS`).
    """
    actions = actions or ACTIONS
    _prepare(actions)
    names = list(actions)
    weights = [WEIGHTS.get(name, 1) for name in names]
    recorder = _Recorder()

    def body(index: int, client: Any, rng: random.Random, rec: _Recorder) -> None:
        for _ in range(requests):
            rec.act(actions, rng.choices(names, weights)[0], client, rng)

    seconds = _class(url, users, body, seed, recorder)
    result = recorder.summary(seconds)
    result["requests"] = users * requests  # a train action is one request with three parts
    return result


def run_sustained(url: str, users: int = 30, duration: float = 180.0, think: tuple[float, float] = (2.0, 6.0),
                  seed: int = 0, actions: dict[str, Action] | None = None) -> dict[str, Any]:
    """Sustained: each student acts, waits ``think`` seconds (uniform), and acts again until ``duration``
    has passed (an action started before the end is finished). Returns what :func:`run` does, plus the
    request rate."""
    actions = actions or ACTIONS
    _prepare(actions)
    names = list(actions)
    weights = [WEIGHTS.get(name, 1) for name in names]
    recorder = _Recorder()
    started_at: list[float] = []
    count = [0]

    def body(index: int, client: Any, rng: random.Random, rec: _Recorder) -> None:
        if not started_at:
            started_at.append(time.monotonic())
        end = started_at[0] + duration
        time.sleep(rng.uniform(0, think[1]))  # students do not all click in the same second
        while time.monotonic() < end:
            rec.act(actions, rng.choices(names, weights)[0], client, rng)
            with rec.lock:
                count[0] += 1
            time.sleep(rng.uniform(*think))

    seconds = _class(url, users, body, seed, recorder)
    result = recorder.summary(seconds)
    result["requests"] = count[0]
    result.update(duration_s=duration, think_s=list(think), requests_per_s=round(count[0] / max(seconds, 1e-9), 2))
    return result


class MemoryWatch:
    """Samples a process's resident memory every ``interval`` seconds in a thread: peak while watched."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid) or 0.0)
            self._stop.wait(self.interval)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


def warm_up(url: str, actions: dict[str, Action] | None = None, rounds: int = 2) -> dict[str, float]:
    """One student calls every endpoint ``rounds`` times, in turn (models loaded, caches and pools made).

    Returns:
        Each endpoint's latency in the last round: the time one request takes on an idle server (its
        "solo" time, see :func:`burst_floor`); endpoints that failed are missing (and printed).
    """
    from segdemo.tools.loadclient import LeanClient

    actions = actions or ACTIONS
    _prepare(actions)
    client = LeanClient(url)
    for round_ in range(rounds):
        recorder, rng = _Recorder(), random.Random(round_)
        for name in actions:
            recorder.act(actions, name, client, rng)
    client.close()
    for error in recorder.errors:  # e.g. an endpoint an older commit (the baseline) does not have
        print("warm-up:", error, file=sys.stderr)
    return {name: round(v[-1], 3) for name, v in recorder.latencies.items()}


def burst_floor(solo: dict[str, float], users: int, cores: int | None = None) -> dict[str, float]:
    """The fastest any server on ``cores`` cores could answer a burst: with ``users`` requests in flight, each
    of mean solo time ``s`` (the action mix's weighted mean, ``WEIGHTS``), a request waits for about
    ``users * s / cores`` of work however the server schedules it (a lower bound for the burst's median and
    p95: solo times include work that does not need a core, so the true bound is a bit lower)."""
    cores = cores or os.cpu_count() or 1
    names = [n for n in solo if n in ACTIONS]
    weights = [WEIGHTS.get(n, 1) for n in names]
    mean = sum(solo[n] * w for n, w in zip(names, weights, strict=True)) / max(sum(weights), 1)
    return {"mean_solo_s": round(mean, 3), "cores": cores, "users": users, "floor_s": round(users * mean / cores, 2)}


def session(url: str | None, *, users: int, requests: int, duration: float, think: tuple[float, float],
            settle: float, seed: int, modes: tuple[str, ...], root: Path = ROOT,
            actions: dict[str, Action] | None = None) -> dict[str, Any]:
    """One app (``url``, or ``app.py`` of ``root`` launched here) under the burst and/or sustained load,
    with its memory and temp folders: ``{"burst": ..., "sustained": ..., "memory": {start, warm, peak,
    after} MiB, "temp": {before, after_load, after_settle, after_sigterm} MiB per folder}``.

    The app is warmed up (:func:`warm_up`, then ``settle`` seconds) before the clock starts, so "warm"
    and "after" are measured the same way: ``settle`` seconds after the last request.
    """
    import shutil
    import tempfile

    process, temp = None, None
    if url is None:
        port = free_port()
        temp = Path(tempfile.mkdtemp(prefix="segdemo-loadtest-"))
        process = launch_app(port, root=root, temp=temp)
        url = f"http://127.0.0.1:{port}/"
    out: dict[str, Any] = {}
    try:
        start = rss_mb(process.pid) if process else None
        if process is not None:
            out["solo_s"] = warm_up(url, actions)
            out["burst_floor"] = burst_floor(out["solo_s"], users)
            time.sleep(settle)
        warm = rss_mb(process.pid) if process else None
        sizes = {"before": temp_sizes(temp)} if temp else {}
        with MemoryWatch(process.pid if process else os.getpid()) as watch:
            for mode in modes:
                server, client = cpu_seconds(process.pid) if process else None, cpu_seconds()
                if mode == "burst":
                    out[mode] = run(url, users, requests, seed, actions)
                else:
                    out[mode] = run_sustained(url, users, duration, think, seed + 1, actions)
                out[mode]["cpu_s"] = cpu_split(server, client, process.pid if process else None, out[mode])
        if process is not None:
            sizes["after_load"] = temp_sizes(temp)
            time.sleep(settle)  # the class has gone: does the memory come back?
            after = rss_mb(process.pid)
            sizes["after_settle"] = temp_sizes(temp)
            out["gradio_cache"] = cache_bound(sizes["after_load"]["gradio"] - sizes["before"]["gradio"],
                                              sum(r["seconds"] for m, r in out.items() if m in modes))
            out["memory"] = {"processes": len(process_tree(process.pid)), "idle_mb": _r(start), "warm_mb": _r(warm),
                             "peak_mb": _r(max(watch.peak, peak_rss_mb(process.pid) or 0)),
                             "after_mb": _r(after), "settle_s": settle,
                             "after_over_warm": round(after / warm, 3) if after and warm else None,
                             "after_within_10pct": bool(warm and after and after <= 1.1 * warm),
                             "after_within_20pct": bool(warm and after and after <= 1.2 * warm)}
    finally:
        if process is not None:
            stop_app(process)  # SIGTERM: what is left on disk afterwards?
            sizes["after_sigterm"] = temp_sizes(temp)
            out["temp_mb"] = sizes
            shutil.rmtree(temp, ignore_errors=True)
    return out


def cpu_split(server_before: float | None, client_before: float, pid: int | None,
              result: dict[str, Any]) -> dict[str, float | None]:
    """CPU seconds the server and the simulated students (this process: one machine hosts both) used
    during one lesson, and per request: how much of the two cores the harness itself took."""
    server = cpu_seconds(pid) - server_before if pid is not None and server_before is not None else None
    client = cpu_seconds() - client_before
    n = max(result["requests"], 1)
    return {"server": _r(server), "clients": _r(client), "server_per_request": None if server is None else
            round(server / n, 3), "clients_per_request": round(client / n, 3),
            "cores_busy": round(((server or 0) + client) / max(result["seconds"], 1e-9), 2)}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def baseline_checkout(rev: str) -> Path:
    """A git worktree of ``rev`` (detached, under the system temp folder), made once and reused."""
    import tempfile

    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    path = Path(tempfile.gettempdir()) / f"segdemo-baseline-{sha}"
    if not (path / "app.py").exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), sha], cwd=ROOT, check=True,
                       capture_output=True)
    return path


def ratios(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per mode and endpoint: this run's p50 and p95 divided by the baseline's (< 1 is faster)."""
    out: dict[str, dict[str, Any]] = {}
    for mode in ("burst", "sustained"):
        ours, theirs = current.get(mode, {}).get("endpoints", {}), baseline.get(mode, {}).get("endpoints", {})
        for name in sorted(set(ours) & set(theirs)):
            row = {}
            for q in ("p50_s", "p95_s"):
                a, b = ours[name].get(q), theirs[name].get(q)
                row[q] = round(a / b, 2) if a is not None and b else None
            out.setdefault(mode, {})[name] = row
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def _print(label: str, result: dict[str, Any]) -> None:
    for mode in ("burst", "sustained"):
        if mode not in result:
            continue
        r = result[mode]
        print(f"{label} {mode}: {r['requests']} requests in {r['seconds']} s, {r['failures']} failed")
        for name, row in r["endpoints"].items():
            p50 = "—" if row["p50_s"] is None else f"{row['p50_s']:6.2f}"
            p95 = "—" if row["p95_s"] is None else f"{row['p95_s']:6.2f}"
            print(f"  {name:16s} n={row['n']:4d}  p50 {p50} s  p95 {p95} s  failed {row['failures']}")
        for error in r["errors"][:5]:
            print("  error:", error)
        if r.get("cpu_s"):
            c = r["cpu_s"]
            print(f"  CPU: server {c['server']} s ({c['server_per_request']} s a request), simulated students "
                  f"{c['clients']} s ({c['clients_per_request']} s a request), {c['cores_busy']} cores busy")
    if result.get("memory"):
        m = result["memory"]
        print(f"{label} RSS: at start {m['idle_mb']} MiB, warmed up {m.get('warm_mb')} MiB, peak {m['peak_mb']} MiB, "
              f"{m['settle_s']:.0f} s after the load {m['after_mb']} MiB (×{m.get('after_over_warm')} of warm)")
    if result.get("burst_floor"):
        f = result["burst_floor"]
        print(f"{label} burst floor: {f['users']} requests in flight × mean solo {f['mean_solo_s']} s / {f['cores']} "
              f"cores = {f['floor_s']} s")
    if result.get("gradio_cache"):
        c = result["gradio_cache"]
        print(f"{label} Gradio cache filled at {c['mb_per_min']} MB/min; files live ≤ {c['lifetime_s']} s, so it "
              f"holds ≤ {c['cap_mb']} MB at this rate")
    if result.get("temp_mb"):
        print(f"{label} temp folders (MiB, app / Gradio cache): " + ", ".join(
            f"{stage} {v['segdemo']} / {v['gradio']}" for stage, v in result["temp_mb"].items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segdemo.tools.loadtest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--requests", type=int, default=4, help="requests per user in the burst")
    parser.add_argument("--mode", choices=["burst", "sustained", "both"], default="both")
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of the sustained lesson")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"),
                        help="seconds a student waits between actions in the sustained lesson")
    parser.add_argument("--settle", type=float, default=60.0, help="seconds after the load to measure memory")
    parser.add_argument("--cold-starts", type=int, default=5, help="launches to time (0: none)")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also load a git worktree of REV (e.g. main~1) and report the ratio per endpoint")
    parser.add_argument("--url", default=None, help="an app already running (default: launch app.py)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default="bench-output/loadtest.json", help="where to write the results")
    args = parser.parse_args(argv)
    modes = ("burst", "sustained") if args.mode == "both" else (args.mode,)
    options = {"users": args.users, "requests": args.requests, "duration": args.duration,
               "think": tuple(args.think), "settle": args.settle, "seed": args.seed, "modes": modes}
    command = " ".join(["python -m segdemo.tools.loadtest", *(argv if argv is not None else sys.argv[1:])])
    result: dict[str, Any] = {"meta": host_meta(command), "users": args.users, "requests_per_user": args.requests,
                              "client": "loadclient"}
    if args.baseline:
        root = baseline_checkout(args.baseline)
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True).stdout.strip()
        baseline = session(None, root=root, **options)
        if args.cold_starts:
            baseline["cold_start"] = cold_starts(args.cold_starts, root)
        result["baseline"] = {"rev": args.baseline, "commit": sha, **baseline}
        _print(f"baseline {args.baseline} ({sha})", baseline)
    current = session(args.url, **options)
    if args.cold_starts and args.url is None:
        current["cold_start"] = cold_starts(args.cold_starts)
    result.update(current)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    result["commit"] = commit.stdout.strip() or None
    _print("this commit", current)
    if args.baseline:
        result["ratio"] = ratios(current, result["baseline"])
    for label, data in (("this commit", current), ("baseline", result.get("baseline", {}))):
        if data.get("cold_start"):
            c = data["cold_start"]
            print(f"{label} cold start over {len(c['runs'])}: min {c['min_s']} s, median {c['median_s']} s")
    # legacy top-level fields (the burst) for readers of the old format
    if "burst" in current:
        result.update({k: current["burst"][k] for k in ("requests", "failures", "errors", "endpoints", "seconds")})
    if current.get("memory"):
        result["server_peak_rss_mb"] = current["memory"]["peak_mb"]
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    failures = sum(current.get(mode, {}).get("failures", 0) for mode in modes)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
