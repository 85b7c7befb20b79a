"""The one folder the app writes into (besides Gradio's own upload cache, ``GRADIO_TEMP_DIR``).

Downloads offered to the reader (mIoU reports, augmentation exports, checkpoints trained in the Train
tab) are written under :func:`temp_root`: ``$SEGDEMO_TEMP_DIR``, default ``<system temp>/segdemo``.
Nothing else on disk is written while the app serves (tests check it with a hostile corpus).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def temp_root() -> Path:
    """The app's temp folder (created on first use)."""
    root = Path(os.environ.get("SEGDEMO_TEMP_DIR") or Path(tempfile.gettempdir()) / "segdemo")
    root.mkdir(parents=True, exist_ok=True)
    return root


def temp_dir(prefix: str) -> Path:
    """A new, private folder under :func:`temp_root`, e.g. ``temp_dir("miou-")``."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=temp_root()))
