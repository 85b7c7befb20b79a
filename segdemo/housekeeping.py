"""What keeps a server that runs for days bounded in memory and disk, and lets it stop cleanly.

``segdemo.ui.shell`` calls :func:`start` once when it serves and :func:`stop` when the server stops:

- SIGTERM (what Spaces, docker and systemd send) is handled like Ctrl-C, so the shutdown path runs
  (training threads stopped and joined, checkpoints and downloads deleted) instead of orphaning folders;
- stale temp folders are swept at start-up (:func:`segdemo.tempfiles.sweep`) and every
  :data:`SWEEP_SECONDS`; idle training sessions are evicted on the same beat;
- glibc is asked every :data:`TRIM_SECONDS`, and within :data:`QUIET_SECONDS` of the requests ending, to
  return freed heap to the system (``malloc_trim``): the app keeps freed buffers for speed
  (``serving.configure_allocator``), and worker threads each get an arena, so after a busy hour the process
  would otherwise stay at its peak;
- a client that drops its connection mid-upload (``ClientDisconnect``) is logged as one line, not a traceback.

Gradio's cache is bounded in age by :data:`GRADIO_DELETE_CACHE` and in size by :data:`GRADIO_CACHE_LIMIT`
(the shell registers the cleaner), its per-session state by :data:`SESSION_CAPACITY` (passed to ``launch``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import signal
import sys
import threading
from collections.abc import Callable

from segdemo import tempfiles

_TRAIN = "segdemo.lessons.train"


def _requests():
    # The request counter lives in the model service (torch): read only once something imported it.
    serving = sys.modules.get("segdemo.serving")
    return getattr(serving, "FOREGROUND", None)


def _train_sessions():
    # The Train backend imports torch (1.4 s); the page is served before anyone trained, so it is only
    # looked at once it was imported: no training session exists before that.
    return sys.modules.get(_TRAIN)

log = logging.getLogger("segdemo")

#: Gradio's cache (uploads, outputs) is cleaned by this app (``ui.gradio_compat.delete_cached_files``, registered
#: by the shell as a frequent cleaner), not by ``gr.Blocks(delete_cache=...)``: Gradio's scheduled task walks the
#: same sets in a thread of its own and would stop for good on a "set changed size during iteration" while
#: ours runs. ``(every, age)``: every :data:`QUIET_SECONDS` the files older than 15 minutes go; all of them
#: when the server stops. A class of 30 writes ~50 MB a minute into it (``make loadtest`` reports the rate and
#: the cap it implies, ``(every + age)`` seconds of it); a result's download link stays valid for 15 minutes.
GRADIO_DELETE_CACHE = (10, 900)
#: Bytes Gradio's cache may hold before its oldest files go, whatever their age (``SEGDEMO_CACHE_MB``, on the
#: same beat). A class stays far below it (~50 MB a minute for 15 minutes); it bounds the disk when someone
#: uploads 20 MB files in a loop, at the cost of the oldest download links.
GRADIO_CACHE_LIMIT = int(os.environ.get("SEGDEMO_CACHE_MB", "2048")) * 2**20
#: ``launch(state_session_capacity=...)``: browser sessions whose state Gradio keeps (its default is 10000,
#: each holding a copy of the page's component configs); the least recently used go first.
SESSION_CAPACITY = int(os.environ.get("SEGDEMO_SESSION_CAPACITY", "400"))
SWEEP_SECONDS = 600.0
TRIM_SECONDS = 60.0
#: How often the cleaner looks whether a busy spell has ended (requests served since the last trim, none in
#: flight now): a class's burst leaves ~0.4 GB of freed buffers, which go back within this time, not a minute.
QUIET_SECONDS = float(GRADIO_DELETE_CACHE[0])

_stop = threading.Event()
_thread: threading.Thread | None = None


def trim_memory() -> bool:
    """Return freed heap memory to the system (glibc ``malloc_trim(0)``); False on other C libraries."""
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        return bool(ctypes.CDLL(None).malloc_trim(0))
    except (OSError, AttributeError):
        return False


def handle_sigterm() -> bool:
    """Make SIGTERM raise ``KeyboardInterrupt`` in the main thread, as Ctrl-C does (only there can it be set).

    Returns:
        Whether the handler was installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return True


class _QuietDisconnects(logging.Filter):
    """One line instead of a traceback when a client went away mid-request (e.g. mid-upload)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and type(error).__name__ == "ClientDisconnect":
            record.msg, record.args, record.exc_info, record.exc_text = (
                "client disconnected mid-request (%s)", (type(error).__name__,), None, None)
        return True


def quiet_disconnects() -> None:
    """Install :class:`_QuietDisconnects` on the ASGI server's error log (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDisconnects) for f in logger.filters):
        logger.addFilter(_QuietDisconnects())


#: More cleaning for the beat, e.g. the UI's (Gradio's cache): functions returning the bytes they freed.
_cleaners: list[Callable[[], int]] = []
_frequent: list[Callable[[], int]] = []


def add_cleaner(cleaner: Callable[[], int], *, frequent: bool = False) -> None:
    """Run ``cleaner`` on every :func:`tick`, or with ``frequent`` every :data:`QUIET_SECONDS` (the UI
    registers what this gradio-free module cannot do). A cleaner returns the bytes it freed."""
    (_frequent if frequent else _cleaners).append(cleaner)


def quick_tick() -> int:
    """Run the frequent cleaners (what the thread runs every :data:`QUIET_SECONDS`); bytes freed."""
    freed = sum(cleaner() for cleaner in _frequent)
    if freed:
        log.info("cache cap freed %.1f MB", freed / 2**20)
    return freed


def tick() -> None:
    """One round of cleaning: sweep temp files, evict idle training sessions, run the cleaners (what the
    thread runs)."""
    freed = tempfiles.sweep()
    if (train := _train_sessions()) is not None:
        train._evict_idle()
    for cleaner in _cleaners:
        freed += cleaner()
    if freed:
        log.info("temp sweep freed %.1f MB", freed / 2**20)


def should_trim(since_trim: float, served: int | None, busy: int | None, served_at_trim: int | None) -> bool:
    """Whether to trim now: every :data:`TRIM_SECONDS`, or once requests were served since the last trim
    and none is in flight (the end of a busy spell)."""
    if since_trim >= TRIM_SECONDS:
        return True
    return served is not None and served != served_at_trim and not busy


def _loop() -> None:
    since_sweep = since_trim = 0.0
    served_at_trim = None
    while not _stop.wait(QUIET_SECONDS):
        since_sweep += QUIET_SECONDS
        since_trim += QUIET_SECONDS
        try:
            if since_sweep >= SWEEP_SECONDS:
                since_sweep = 0.0
                tick()
        except Exception:  # noqa: BLE001 - cleaning must never take the server down
            log.warning("housekeeping failed", exc_info=True)
        try:
            quick_tick()
        except Exception:  # noqa: BLE001 - nor stop the memory trim below
            log.warning("housekeeping failed", exc_info=True)
        try:
            requests = _requests()
            served, busy = (requests.served, requests.busy) if requests is not None else (None, None)
            if should_trim(since_trim, served, busy, served_at_trim):
                trim_memory()
                since_trim, served_at_trim = 0.0, served
        except Exception:  # noqa: BLE001
            log.warning("housekeeping failed", exc_info=True)


def start() -> None:
    """At serve time: SIGTERM like Ctrl-C, quiet disconnects, sweep stale temp folders, start the cleaner."""
    global _thread
    handle_sigterm()
    quiet_disconnects()
    freed = tempfiles.sweep()
    if freed:
        log.info("start-up sweep removed %.1f MB of stale temp files", freed / 2**20)
    if _thread is None or not _thread.is_alive():
        _stop.clear()
        _thread = threading.Thread(target=_loop, name="segdemo-housekeeping", daemon=True)
        _thread.start()


def stop() -> None:
    """At shutdown: stop the cleaner, end every training session (joins the threads), sweep what is ours."""
    _stop.set()
    if (train := _train_sessions()) is not None:
        train.shutdown()
    tempfiles.sweep(export_age=0.0)
