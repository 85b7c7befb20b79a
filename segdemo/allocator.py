"""glibc's allocator set up for serving: one place, for the app's process and its workers (``segdemo.workers``)."""

from __future__ import annotations

import functools
import os

#: glibc ``mallopt`` parameters (``<malloc.h>``) and the values :func:`configure_allocator` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
#: glibc malloc arenas: one per core. Its default (8 per core) gave each of Gradio's worker threads an arena
#: that kept its freed buffers: 60 s after a 30-student load the app stayed at 1.26× its warmed-up memory
#: with the default, 1.12× with 2 arenas at the same latencies (``make loadtest``, MALLOC_ARENA_MAX=2).
ARENAS = max(2, os.cpu_count() or 2)
_MMAP_THRESHOLD = 32 * 2**20  # glibc's maximum on 64-bit systems
_TRIM_THRESHOLD = 256 * 2**20


@functools.cache
def configure_allocator() -> bool:
    """Let glibc keep freed memory for the next request instead of returning it to the system.

    A Segment request allocates tens of MB of short-lived buffers (decoded image, normalised
    input, logits, probabilities, pictures). With glibc's defaults, blocks that size are
    ``mmap``-ed and, when freed, unmapped or trimmed, so requests fault in fresh zeroed pages:
    measured with Fast-SCNN, ~4,200 per model call and ~13,000 (53 MB) per whole handler,
    milliseconds of a request whose forward pass takes ~10 ms. (glibc adapts its mmap threshold
    to freed blocks, so some processes settle with few faults and others never do.) Raised mmap
    and trim thresholds make the buffers reusable heap memory: ~0 page faults per request after
    the first, in worker threads too. The process keeps up to 256 MB of freed memory for reuse.
    The number of arenas is capped at :data:`ARENAS` (unless ``MALLOC_ARENA_MAX`` is set), so the memory
    freed after a busy lesson is in few places and comes back (``housekeeping.trim_memory``).

    Returns:
        Whether the thresholds were set (False on a C library other than glibc).
    """
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    arenas = bool(os.environ.get("MALLOC_ARENA_MAX")) or bool(mallopt(_M_ARENA_MAX, ARENAS))
    return arenas and bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD,
                                                                                        _TRIM_THRESHOLD))
