"""Worker processes for the figure tabs' heavy computations, so a class's burst is not bound by one GIL.

Why: on the 2-core machine a class's burst (issue 24's load test) kept the server at ~1.2 of its two cores
while requests queued: the figure tabs' work is mostly Python and numpy on small arrays, which holds the
GIL, so two threads of one process cannot run it side by side, and a third that could (a Segment forward)
waits for its turn. The computations behind the Losses and Augment tabs (the imbalance simulator and its
sweep, the masks lesson, the augmentation grid) are pure functions of their arguments, so they run here,
in another process with its own GIL, while the app's process serves pages, Segment and training. Pictures
and charts are still made in the app's process (they go into Gradio's cache there).

:func:`start` (``segdemo.ui.shell.serve``) starts :func:`pool_size` processes: one per core beyond the app's
own, at most :data:`MAX_WORKERS` (each holds its own torch: 0.53-0.67 GB resident, a proportional set size
of 0.40-0.49 GB), none on one core or with
``SEGDEMO_WORKERS=0``. :func:`run` calls a function in one of them, or in the calling thread while no pool
runs (tests, benchmarks, a one-core machine). A worker that dies (a crash, the system out of memory) is
replaced for the next call, and the call that was running gets a clear error: it is not run again in the
app's process, which a crafted input must not take down.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from segdemo.errors import InputError

#: Environment variable: how many worker processes (0: compute in the requests' threads).
ENV = "SEGDEMO_WORKERS"
#: Each worker holds its own torch and lesson caches (~0.6 GB resident): on the 2-core Space one fits beside the
#: app under issue 24's 2 GB; more cores get at most two, not a copy of torch per core.
MAX_WORKERS = 2
#: The modules a worker imports once it starts, so the first request does not wait for them.
WARM_MODULES = ("segdemo.lessons.losses", "segdemo.lessons.augment")

T = TypeVar("T")

_pool: ProcessPoolExecutor | None = None
_size = 0
_lock = threading.Lock()
_log = logging.getLogger("segdemo")


def pool_size(cpus: int | None = None) -> int:
    """How many worker processes to start: ``SEGDEMO_WORKERS`` if set, else one per core beyond the app's
    own process, at most :data:`MAX_WORKERS`.

    Raises:
        ValueError: ``SEGDEMO_WORKERS`` is not a whole number ≥ 0.
    """
    value = os.environ.get(ENV, "").strip()
    if value:
        if not value.isdigit():
            raise ValueError(f"{ENV} must be a whole number >= 0, got {value!r}")
        return int(value)
    cpus = cpus if cpus is not None else os.cpu_count() or 1
    return max(0, min(MAX_WORKERS, cpus - 1))


# ---- inside a worker process ----
_calls = 0  # finished calls
_busy = False


def _init_worker() -> None:
    import importlib
    import signal

    import torch

    from segdemo.allocator import configure_allocator

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the app stops us
    torch.set_num_threads(1)  # one core's worth: the app's process has the others
    configure_allocator()  # freed buffers reused, not faulted in again (as in the app's process)
    for name in WARM_MODULES:
        importlib.import_module(name)
    threading.Thread(target=_trim_loop, name="segdemo-worker-trim", daemon=True).start()


def _trim_loop() -> None:
    # the app's housekeeping trims its own process; a worker gives its burst's memory back the same way
    from segdemo.housekeeping import QUIET_SECONDS, should_trim, trim_memory

    since_trim, calls_at_trim = 0.0, _calls
    while True:
        time.sleep(QUIET_SECONDS)
        since_trim += QUIET_SECONDS
        if should_trim(since_trim, _calls, _busy, calls_at_trim):
            trim_memory()
            since_trim, calls_at_trim = 0.0, _calls


def _call(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    global _calls, _busy
    _busy = True
    try:
        return fn(*args, **kwargs)
    finally:
        _busy, _calls = False, _calls + 1


def _ready() -> int:
    return os.getpid()


# ---- in the app's process ----
def start(size: int | None = None) -> int:
    """Start the worker processes (idempotent) and have them import the lessons; returns how many run.

    The processes are started with ``spawn`` (a fresh interpreter, not a fork of a process whose torch
    thread pools are running) and import ``app.py`` as ``__mp_main__``, which builds no page there.
    """
    global _pool, _size
    size = pool_size() if size is None else size
    with _lock:
        if _pool is None and size > 0:
            _size = size
            _pool = ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_worker)
            for _ in range(size):
                _pool.submit(_ready)  # starts the processes now, not on a student's first click
        return _size if _pool is not None else 0


def running() -> bool:
    """Whether calls go to worker processes."""
    return _pool is not None


def stop() -> None:
    """Stop the worker processes (calls run in the calling thread afterwards)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _replace(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is not broken:
            return  # another call replaced it already
        _pool = None
    broken.shutdown(wait=False, cancel_futures=True)
    start(_size)


def run(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker process, or in the calling thread while none runs.

    ``fn`` must be a module-level function of a module that does not import gradio (it is pickled by
    name), and its arguments and result picklable. Its exceptions reach the caller as they were raised
    (an :class:`~segdemo.errors.InputError` keeps its key and parameters).

    Raises:
        InputError: ``err.worker_failed`` when the worker died while computing it.
    """
    pool = _pool
    if pool is None:
        return fn(*args, **kwargs)
    try:
        future = pool.submit(_call, fn, args, kwargs)
    except BrokenProcessPool:
        _replace(pool)
        return run(fn, *args, **kwargs)  # it broke before this call: the new pool computes it
    except RuntimeError:  # stopped meanwhile: the app is shutting down
        return fn(*args, **kwargs)
    try:
        return future.result()
    except BrokenProcessPool:
        _log.warning("a worker process died while computing %s; starting a new one", getattr(fn, "__name__", fn))
        _replace(pool)
        raise InputError("err.worker_failed", "The computation stopped unexpectedly (its worker process "
                         "ended); it was not finished. Please try again.") from None
