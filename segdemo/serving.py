"""The model service: every tab, benchmark and the load test get their models here.

It names models by keys: ``"shipped:<name>"`` for a checkpoint in ``checkpoints/`` (trained on synthetic
scenes by ``python -m segdemo.train``), ``"session:<run>"`` for a model a user trained in the Train tab, and
``"pretrained:<key>"`` for published VOC weights (:mod:`segdemo.models.pretrained`, downloaded once). It
loads them, optimises them for inference the one way the app runs them (BatchNorm folded, channels_last,
bfloat16 where the CPU has it: :func:`segdemo.models.fuse.prepare_for_inference`), keeps them in one
bounded thread-safe cache and warms them up. :func:`start` sets the process-wide thread count and the
allocator once, when the app starts serving.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from segdemo.allocator import configure_allocator
from segdemo.checkpoints import CHECKPOINT_DIR, list_checkpoints
from segdemo.errors import InputError
from segdemo.inference import ModelCache, Segmenter
from segdemo.lessons.train import SESSION_PREFIX
from segdemo.models import pretrained
from segdemo.models.fuse import inference_dtype, prepare_for_inference
from segdemo.models.registry import get_card
from segdemo.strings import both

#: Published weights the tab offers (21 VOC classes, softmax).
PRETRAINED = ("deeplabv3_mobilenet_v3_large_voc", "lraspp_mobilenet_v3_large_voc", "fcn_resnet50_voc",
              "deeplabv3_resnet50_voc")


@functools.cache
def configure_threads() -> int:
    """Set torch's CPU threads for a server process once (at most 2; ``SEGDEMO_THREADS`` overrides).

    The setting is process-wide, whichever thread calls it, so the app sets it in one place: a
    training run in a worker thread must not change what every inference request gets.

    Returns:
        The number of threads set.
    """
    # Thirty students share two cores: one request should not grab every thread twice over.
    threads = int(os.environ.get("SEGDEMO_THREADS", "0")) or max(1, min(2, os.cpu_count() or 1))
    torch.set_num_threads(threads)
    return threads


#: Torch threads for the lessons' own tensor work (losses, metrics, masks, the Inside tab's small models): their
#: tensors are 10⁴–10⁶ elements, where a second OpenMP thread saves little time and spins on CPU the other
#: students need. ``python -m segdemo.tools.bench lessons`` measures both counts (docs/PERFORMANCE.md).
LESSON_THREADS = 1


@functools.cache
def _openmp() -> Any | None:
    """The OpenMP runtime torch is linked to (Linux: found in this process's memory map), or None."""
    import ctypes

    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if line.rstrip().endswith((".so.1", ".so"))}
    except OSError:
        return None
    for path in sorted(paths):
        if Path(path).name.startswith(("libgomp", "libiomp", "libomp")):
            try:
                runtime = ctypes.CDLL(path)
                return runtime if hasattr(runtime, "omp_set_num_threads") else None
            except OSError:
                return None
    return None


@contextlib.contextmanager
def local_threads(count: int) -> Iterator[int]:
    """Run the calling thread's torch work on ``count`` threads inside the block, then restore its setting.

    OpenMP keeps the thread count per calling thread, so a lesson request on one Gradio worker thread
    does not change what a Segment request gets on another. ``torch.set_num_threads`` would: it also
    sets the count every new thread starts with and clears oneDNN's primitive cache, process-wide.
    Where torch's OpenMP runtime cannot be found, this does nothing.

    Yields:
        The count in effect inside the block.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    runtime = _openmp()
    if runtime is None:
        yield torch.get_num_threads()
        return
    previous = torch.get_num_threads()  # also torch's per-thread first-use set-up, which would undo ours
    runtime.omp_set_num_threads(count)
    try:
        yield count
    finally:
        runtime.omp_set_num_threads(previous)


def around_calls(context: Callable[[], contextlib.AbstractContextManager[Any]]
                 ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator running each call of a handler inside ``context()``; for a generator handler, each step.

    Gradio may run each step of a generator on a different worker thread, and between steps the handler
    waits for the page, so a per-thread setting or an "in flight" count holds for one step at a time.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
                steps = fn(*args, **kwargs)
                while True:
                    with context():
                        try:
                            item = next(steps)
                        except StopIteration as stop:
                            return stop.value
                    yield item

            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with context():
                return fn(*args, **kwargs)

        return wrapper

    return decorate


def lesson_threads(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a lesson handler (plain or generator) to run its torch work on :data:`LESSON_THREADS` threads."""
    wrapper = around_calls(lambda: local_threads(LESSON_THREADS))(fn)
    wrapper.torch_threads = LESSON_THREADS  # type: ignore[attr-defined]  # what it runs on, to check
    return wrapper


class Foreground:
    """How many interactive requests are being worked on, so background work can step aside for them.

    A training run in a thread of the server competes with the requests for the two cores *and* for
    Python's GIL, which a lower nice value does not order: in a class's burst seven niced runs still took
    a quarter of the server's CPU. Runs therefore wait between their batches while requests are in flight
    (:meth:`wait_quiet`), for a bounded time, so they never stop for good.
    """

    def __init__(self) -> None:
        self._busy = 0
        self.served = 0  # requests done since the start (housekeeping trims memory after a busy spell)
        self._ended = -math.inf  # perf_counter when the last request in flight ended
        self._cond = threading.Condition()

    @property
    def busy(self) -> int:
        """Requests in flight now."""
        return self._busy

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Count the calling request as in flight inside the block."""
        with self._cond:
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self.served += 1
                if not self._busy:
                    self._ended = time.perf_counter()
                    self._cond.notify_all()

    def quiet_for(self) -> float:
        """Seconds since the last request in flight ended (0 while one is in flight)."""
        with self._cond:
            return 0.0 if self._busy else time.perf_counter() - self._ended

    def wait_quiet(self, timeout: float, settle: float = 0.0) -> float:
        """Block until no request has been in flight for ``settle`` seconds, or ``timeout`` seconds have passed;
        return the seconds waited."""
        if timeout < 0 or settle < 0:
            raise ValueError(f"timeout and settle must be >= 0, got {timeout}, {settle}")
        started = time.perf_counter()
        deadline = started + timeout
        with self._cond:
            while (left := deadline - time.perf_counter()) > 0:
                if not self._busy:
                    to_settle = settle - (time.perf_counter() - self._ended)
                    if to_settle <= 0:
                        break
                    left = min(left, to_settle)
                self._cond.wait(left)
        return time.perf_counter() - started


#: The app's interactive requests (every event but the Train tab's own, ``gradio_compat.wrap_events``).
FOREGROUND = Foreground()

#: While requests are in flight, training runs take turns: one waits at a time, for this long at most, then
#: steps. A class's burst still sees ~2 training steps a second in all (not per run), and a stop within 0.5 s.
TRAIN_YIELD_SECONDS = 0.5
#: A class's requests come back to back: the room is quiet once none has been in flight for this long (a
#: moment between two requests of a burst is not a quiet moment).
QUIET_SETTLE_SECONDS = 0.25
#: Before a run builds its model (the costliest GIL-holding part of a short run: model, warm start, first
#: validation), it waits longer for a quiet moment: a class's burst is served first, the run starts after it.
TRAIN_START_SECONDS = 3.0
_TRAIN_TURN = threading.Lock()
_CANCEL_CHECK_SECONDS = 0.05


def foreground(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a request handler (plain or generator) to count in :data:`FOREGROUND` while it works."""
    wrapper = around_calls(FOREGROUND.working)(fn)
    wrapper.foreground = True  # type: ignore[attr-defined]
    return wrapper


def yield_to_requests(cancelled: Callable[[], bool] = lambda: False, longest: float | None = None) -> float:
    """What a training run calls before each batch: while interactive requests are in flight, wait for them
    (``longest`` seconds, :data:`TRAIN_YIELD_SECONDS` by default, at most) in turn with the other runs; a run
    whose ``cancelled()`` becomes true (stopped: its student waits for the result) leaves the line. Returns
    the seconds waited."""
    longest = TRAIN_YIELD_SECONDS if longest is None else longest
    if longest < 0:
        raise ValueError(f"longest must be >= 0, got {longest}")
    started = time.perf_counter()

    def busy() -> bool:
        return FOREGROUND.quiet_for() < QUIET_SETTLE_SECONDS

    # one waiter at a time: N runs must not make N steps per timeout between them
    while not _TRAIN_TURN.acquire(timeout=_CANCEL_CHECK_SECONDS):
        if cancelled() or not busy():
            return time.perf_counter() - started
    try:
        deadline = time.perf_counter() + longest
        # in slices: a run stopped while it waits its turn's time leaves at once
        while busy() and not cancelled() and (left := deadline - time.perf_counter()) > 0:
            FOREGROUND.wait_quiet(min(left, _CANCEL_CHECK_SECONDS), QUIET_SETTLE_SECONDS)
    finally:
        _TRAIN_TURN.release()
    return time.perf_counter() - started


def lower_thread_priority(increment: int) -> bool:
    """Lower the calling thread's CPU priority by ``increment`` nice levels (at most to 19).

    Linux keeps a nice value per thread, and threads inherit it when created: called before a thread's
    first torch work, it also covers the OpenMP threads torch starts for it. Elsewhere (where nice is
    per process) it does nothing.

    Returns:
        Whether the priority was lowered.
    """
    if increment < 0:
        raise ValueError(f"increment must be >= 0, got {increment}")
    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except OSError:
        return False
    return True


def start() -> None:
    """Set up this process for serving, once: torch's thread count and glibc's allocator.

    Called by ``segdemo.ui.shell.serve`` (and the benchmarks) before the first model runs, not as a side
    effect of loading one: both settings are process-wide.
    """
    configure_threads()
    configure_allocator()
    # Whether uncached VOC weights could be downloaded, decided in the background at start-up so the
    # pickers can say "unavailable offline" instead of failing on a click (at most ~3 s, once).
    threading.Thread(target=pretrained.online, daemon=True, name="online-probe").start()


def optimise(model: nn.Module) -> nn.Module:
    """A copy of ``model`` as the app runs it: BatchNorm folded, channels_last, bfloat16 where the CPU has it."""
    return prepare_for_inference(model, dtype=inference_dtype())


def median_latency_ms(run: Callable[[], Any], warmup: int, repeats: int) -> float:
    """Median wall time of ``run()`` in milliseconds, after ``warmup`` untimed calls."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        run()
        times.append((time.perf_counter() - begin) * 1000.0)
    return statistics.median(times)


def forward_latency_ms(model: nn.Module, size: int, *, warmup: int = 1, repeats: int = 3) -> float:
    """Median time (ms) of one forward pass of ``model`` on a ``size``×``size`` image, on the app's path
    (:func:`optimise`): the one latency figure every tab and benchmark shows for a model."""
    fast = optimise(model)
    dtype = next(fast.parameters()).dtype
    x = torch.rand(1, 3, size, size).to(dtype).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        return median_latency_ms(lambda: fast(x), warmup, repeats)


def checkpoint_dir() -> Path:
    """The shipped-checkpoint folder (``SEGDEMO_CHECKPOINT_DIR`` overrides it, e.g. in tests)."""
    return Path(os.environ.get("SEGDEMO_CHECKPOINT_DIR", CHECKPOINT_DIR))


def shipped() -> list[dict[str, Any]]:
    """Cards of the shipped checkpoints, sorted by model name (read again only when the folder changes)."""
    folder = checkpoint_dir()
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        stamp = None
    return list(_cards(str(folder), stamp))


@functools.lru_cache(maxsize=8)
def _cards(folder: str, stamp: int | None) -> tuple[dict[str, Any], ...]:  # stamp: the cache key
    # Every Segment request asks for the picker's entries: reading nine JSON files each time was
    # a fifth of the handler's time.

    return tuple(list_checkpoints(folder))


@dataclass(frozen=True)
class Choice:
    """One entry of the model picker."""

    key: str
    model: str  # registry name (or torchvision architecture for pretrained)
    family: str
    display: dict[str, str]
    trained_on: dict[str, str]
    miou: float | None
    params: int | None
    cached: bool = True
    available: bool = True  # False: weights not cached and no internet (the picker says so; nothing runs)
    size: int | None = None  # side of the synthetic scenes it was trained and validated on


def choices(user: str | None = None) -> list[Choice]:
    """Every model the tab can run: shipped first (grouped by family), then the models ``user``
    trained in the Train tab this session, then published weights."""

    out = []
    for card in shipped():
        info = get_card(card["model"])  # no model is built: the picker must be cheap
        rec = card.get("recipe", {})
        out.append(Choice(
            key=f"shipped:{Path(card['stem']).name}", model=card["model"], family=info.family,
            display=dict(info.display),
            trained_on=both("segment.trained_on_shipped", size=rec.get("size", "?"), steps=rec.get("steps_total", rec.get("steps_done", "?"))),
            miou=card.get("metrics", {}).get("miou"), params=card.get("params"),
            size=card.get("validation", {}).get("size") or rec.get("size")))
    out.sort(key=lambda c: (c.family, c.model))
    if user:
        from segdemo.lessons.train import session_models

        for item in session_models(user):
            out.append(Choice(key=item.key, model=item.model, family=get_card(item.model).family,
                              display=item.display, trained_on=both("segment.trained_on_session"), miou=item.miou,
                              params=item.params, size=item.size))
    for key in PRETRAINED:
        info = pretrained.pretrained_info(key)
        out.append(Choice(key=f"pretrained:{key}", model=info["architecture"], family="pretrained",
                          display=info["display"], trained_on=info["source"], miou=None, params=None,
                          cached=info["cached"], available=info["cached"] or pretrained.online_known() is not False))
    return out


def default_key() -> str | None:
    """The shipped model with the best validation mIoU (what the tabs show first), else the first choice."""
    options = choices()
    shipped_ones = [c for c in options if c.miou is not None and c.key.startswith("shipped:")]
    if shipped_ones:
        return max(shipped_ones, key=lambda c: c.miou).key
    return options[0].key if options else None


def choice(key: str, user: str | None = None) -> Choice:
    for item in choices(user):
        if item.key == key:
            return item
    raise InputError("err.unknown_model", "There is no model {name}.", name=key)


def _load(key: str) -> Segmenter:
    kind, _, name = key.partition(":")
    if kind == "shipped" and Path(name).name != name:  # a stem in the folder, never a path of the caller's
        raise InputError("err.unknown_model", "There is no model {name}.", name=key)
    if kind in ("shipped", "session"):
        from segdemo.checkpoints import load_checkpoint

        # A session name is a checkpoint stem that segmenter() found among the user's own runs.
        checkpoint = load_checkpoint(checkpoint_dir() / name if kind == "shipped" else name)
        card = checkpoint.card
        return Segmenter(optimise(checkpoint.model), card["normalization"], card)
    if kind == "pretrained" and name in PRETRAINED:
        from segdemo.models.pretrained import load_pretrained

        model, info = load_pretrained(name, progress=True)
        card = {"classes": {"names": [c["en"] for c in info["classes"]],
                            "names_zh": [c["zh"] for c in info["classes"]],
                            "palette": info["palette"]}, "model": info["architecture"]}
        return Segmenter(optimise(model), info["normalization"], card)
    raise InputError("err.unknown_model", "There is no model {name}.", name=key)


def unavailable_error(key: str) -> InputError:
    """The one clear message for published weights that are neither cached nor downloadable (offline)."""
    info = pretrained.pretrained_info(key.partition(":")[2])
    return InputError("err.weights_unavailable",
                      "{name} is not on this computer and there is no internet. Download {url} on another "
                      "computer and copy it into {folder}, then restart the app.",
                      name=info["display"]["en"], url=info["url"], folder=info["cache_dir"])


def ensure_weights(key: str, progress: Callable[[int, int | None], None] | None = None) -> None:
    """Download the published weights of a ``"pretrained:..."`` key if they are not cached yet.

    Args:
        progress: called with ``(bytes so far, total bytes or None)`` while downloading.

    Raises:
        InputError: ``err.weights_offline`` without network (the shipped models keep working).
    """
    kind, _, name = key.partition(":")
    if kind != "pretrained" or name not in PRETRAINED:
        return

    info = pretrained.pretrained_info(name)
    if not info["cached"]:
        pretrained.download(info["url"], Path(info["path"]), progress or False)


CACHE = ModelCache(_load, max_size=int(os.environ.get("SEGDEMO_MODEL_CACHE", "6")))


def segmenter(key: str, user: str | None = None) -> Segmenter:
    """The cached segmenter of ``key`` (loaded on first use).

    Args:
        key: a picker key; ``"session:<run id>"`` keys are looked up among ``user``'s runs only,
            so nobody can load another user's model or a path of their choice.
    """
    if key.startswith(SESSION_PREFIX):
        from segdemo.lessons.train import session_checkpoint

        return CACHE.get(SESSION_PREFIX + session_checkpoint(user or "", key))
    return CACHE.get(key)


def class_info(seg: Segmenter) -> tuple[list[str], list[str], np.ndarray]:
    """English names, Chinese names and ``(K, 3)`` uint8 palette of a segmenter's classes."""
    classes = seg.card.get("classes", {})
    names = list(classes.get("names", []))
    return names, list(classes.get("names_zh", names)), np.asarray(classes.get("palette"), dtype=np.uint8)


