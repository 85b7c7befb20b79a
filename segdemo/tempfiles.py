"""The one folder the app writes into (besides Gradio's own upload cache, ``GRADIO_TEMP_DIR``), and its cleaning.

Downloads offered to the reader (mIoU reports, augmentation exports, checkpoints trained in the Train
tab) are written under :func:`temp_root`: ``$SEGDEMO_TEMP_DIR``, default ``<system temp>/segdemo``.
Nothing else on disk is written while the app serves (tests check it with a hostile corpus).

A Space runs for days, so the folder is kept bounded (:func:`sweep`): every folder :func:`temp_dir` makes
carries the owning process id in its name, so folders of a process that is gone (killed, crashed,
restarted) are removed at start-up whatever their age; downloads (``miou-``, ``augment/``) are removed once
older than :data:`EXPORT_MAX_AGE` (Gradio has copied them into its own cache by then), and anything older
than :data:`STALE_AGE` goes. Training checkpoints of live sessions are left to
:mod:`segdemo.lessons.train`, which deletes them when a session ends or is evicted.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

#: Seconds a download (mIoU report, augmentation export) stays on disk after it was written.
EXPORT_MAX_AGE = float(os.environ.get("SEGDEMO_EXPORT_MAX_AGE", "3600"))
#: Seconds after which anything in the temp folder is stale (longer than any session keeps a checkpoint).
STALE_AGE = float(os.environ.get("SEGDEMO_TEMP_STALE_AGE", str(24 * 3600)))
_OWNED = re.compile(r"^[a-z]+-(\d+)-")  # "<prefix><pid>-<random>", see temp_dir
_EXPORTS = ("miou-", "augment")


def temp_root() -> Path:
    """The app's temp folder (created on first use)."""
    root = Path(os.environ.get("SEGDEMO_TEMP_DIR") or Path(tempfile.gettempdir()) / "segdemo")
    root.mkdir(parents=True, exist_ok=True)
    return root


def temp_dir(prefix: str) -> Path:
    """A new, private folder under :func:`temp_root`, e.g. ``temp_dir("miou-")`` → ``miou-<pid>-<random>``."""
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=temp_root()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _age(path: Path, now: float) -> float:
    try:
        return now - path.lstat().st_mtime
    except OSError:
        return 0.0


def _remove(path: Path) -> int:
    """Delete a file or folder; returns the bytes freed (0 if it was already gone)."""
    size = 0
    try:
        if path.is_dir() and not path.is_symlink():
            size = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path, ignore_errors=True)
        else:
            size = path.lstat().st_size
            path.unlink()
    except OSError:
        return 0
    return size


def sweep(*, export_age: float = EXPORT_MAX_AGE, stale_age: float = STALE_AGE, now: float | None = None) -> int:
    """Delete what the app no longer needs from :func:`temp_root`; returns the bytes freed.

    Removed: folders of processes that are gone, this process's downloads older than ``export_age`` (and
    the files inside the shared ``augment/`` folder one by one), and any entry older than ``stale_age``.
    """
    now = time.time() if now is None else now
    freed = 0
    for entry in temp_root().iterdir():
        owner = _OWNED.match(entry.name)
        others = owner is not None and int(owner.group(1)) != os.getpid()
        if others and not _alive(int(owner.group(1))):
            freed += _remove(entry)
        elif entry.name == "augment" and entry.is_dir():
            for item in entry.iterdir():  # one folder per pipeline, reused while fresh
                if _age(item, now) > export_age:
                    freed += _remove(item)
        elif entry.name.startswith(_EXPORTS) and not others and _age(entry, now) > export_age:
            # another live app's downloads are its own to age (a shutdown sweeps with export_age=0)
            freed += _remove(entry)
        elif _age(entry, now) > stale_age:
            freed += _remove(entry)
    return freed


def size_of(folder: str | Path | None = None) -> int:
    """Bytes in ``folder`` (default :func:`temp_root`), for tests and the load test."""
    root = Path(folder) if folder is not None else temp_root()
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0
