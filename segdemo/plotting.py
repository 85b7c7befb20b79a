"""Matplotlib figures that are safe in a web server and readable in Chinese.

Figures are built with the object API (``matplotlib.figure.Figure`` on an Agg canvas),
never ``pyplot``: pyplot keeps global state and is not thread-safe, while thirty students
may ask for plots at the same moment.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

#: Latin glyphs from DejaVu, CJK glyphs from whichever CJK font is installed
#: (Debian: fonts-wqy-microhei or fonts-noto-cjk; on a Space, packages.txt installs it).
FONT_FALLBACK = ["DejaVu Sans", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC",
                 "Noto Sans SC", "Source Han Sans SC", "SimHei", "Microsoft YaHei", "sans-serif"]


@functools.cache
def _configure() -> None:
    import logging

    import matplotlib
    from matplotlib import font_manager

    # Only the installed families: matplotlib looks every listed family up for every text it lays
    # out, and the missing ones cost as much as the rest of a heatmap's drawing.
    installed = {f.name for f in font_manager.fontManager.ttflist}
    matplotlib.rcParams.update({
        "font.family": [name for name in FONT_FALLBACK if name in installed or name == "sans-serif"],
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "figure.dpi": 100,
        "savefig.dpi": 100,
    })
    # A missing fallback font is expected on machines without CJK fonts; don't spam the log.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (6.0, 4.0),
           dpi: int = 100, **subplot_kw: Any):
    """A new thread-safe figure and its axes (``Figure.subplots`` semantics).

    Returns:
        ``(fig, axes)``: ``axes`` is one ``Axes`` for 1×1, else an array of them.
    """
    _configure()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    return fig, axes


def to_image(fig) -> np.ndarray:
    """Render ``fig`` to an ``(H, W, 3)`` uint8 RGB array."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return rgba[..., :3].copy()


def has_cjk_font() -> bool:
    """Whether matplotlib can find a font with Chinese glyphs (for tests and notices)."""
    _configure()
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    return any(name in names for name in FONT_FALLBACK[1:-1])
