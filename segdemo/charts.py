"""Charts drawn in the browser: Plotly figure specs built from numbers, without gradio (and without plotly).

Every chart of the app is a plain ``{"data", "layout", "config"}`` dict in Plotly's JSON schema, sent
as text to a ``gr.Plot`` (plotly.js ships with Gradio's front end). Why Plotly and not Gradio's native
``gr.LinePlot``/``gr.BarPlot``: the lessons need a log axis (gradients, object shares), two panels that
share a legend, heatmaps whose every cell shows its numbers on hover, and images with a legend; the
native plots do none of these. Why plain dicts and not ``plotly.graph_objects``: building the same figure
with graph objects validates every property in Python (~50 ms for the Focal chart, 0.3 s to import),
per request, while the server's two cores are shared by a class; a dict costs microseconds.
``tests/test_charts.py`` validates every builder's output with plotly itself, so a misspelt property
still fails a test.

The server sends numbers, not pixels: no GIL is held to rasterise, Chinese is drawn by the browser's
fonts, and a student can hover a curve to read a value or drag over a heatmap to zoom.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from segdemo.strings import t

if TYPE_CHECKING:
    from segdemo.lessons.losses import FocalCurves, Imbalance, OverlapCurves
    from segdemo.lessons.overview import TimelineEntry

Spec = dict[str, Any]

#: Legible from the back of a classroom on a projector (≥ 14 px everywhere, titles larger).
FONT_SIZE = 15
TITLE_SIZE = 17
#: Latin first, then the CJK families of Windows, macOS, Linux; the browser picks what it has.
FONT_FAMILY = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "PingFang SC", "Microsoft YaHei", '
               '"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif')
#: No toolbar: it floats over the titles and legends. Dragging still zooms, double-click resets.
CONFIG = {"displayModeBar": False, "displaylogo": False, "responsive": True, "doubleClick": "reset"}
#: One colour per loss, shared by every chart that shows losses.
LOSS_COLOURS = {"ce": "#4c72b0", "weighted_ce": "#8172b3", "focal": "#dd8452", "dice": "#55a868",
                "lovasz": "#c44e52", "tversky": "#937860", "ce+dice": "#da8bc3"}
GAMMA_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3")
#: Plotly's default colour cycle (runs, architecture families).
CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
         "#17becf")
GRID = "rgba(0,0,0,0.12)"


# ---------------------------------------------------------------- plumbing
def numbers(values: Any, digits: int = 5) -> list[Any]:
    """A 1-D or 2-D array as nested lists of floats rounded to ``digits`` significant-ish places, NaN/inf → None
    (JSON has no NaN: ``JSON.parse`` in the browser would reject the whole figure)."""
    a = np.asarray(values, dtype=np.float64)
    rounded = np.round(a, digits)
    if a.ndim == 0:
        return [None if not math.isfinite(float(a)) else float(rounded)]
    as_list = rounded.tolist()
    if np.isfinite(a).all():
        return as_list
    finite = np.isfinite(a).tolist()

    def clean(xs: list, ok: list) -> list:
        return [clean(x, o) if isinstance(x, list) else (x if o else None) for x, o in zip(xs, ok, strict=True)]

    return clean(as_list, finite)


def axis(title: str | None = None, **extra: Any) -> dict[str, Any]:
    """An axis with the projector font, a light grid and room for its title."""
    spec: dict[str, Any] = {"gridcolor": GRID, "zeroline": False, "automargin": True,
                            "tickfont": {"size": FONT_SIZE}, "linecolor": "#444", "showline": True}
    if title is not None:
        spec["title"] = {"text": title, "font": {"size": FONT_SIZE}}
    spec.update(extra)
    return spec


def figure(data: list[dict[str, Any]], *, height: int, title: str | None = None, legend: str = "bottom",
           **layout: Any) -> Spec:
    """A figure spec with the app's fonts, margins and hover style.

    Args:
        data: Plotly traces.
        height: in CSS pixels (the width follows the page).
        title: the figure's title (panels get theirs from :func:`panel_titles`).
        legend: ``"bottom"`` (horizontal, under the axes), ``"right"`` or ``"none"``.
    """
    spec_layout: dict[str, Any] = {
        "height": height,
        "font": {"family": FONT_FAMILY, "size": FONT_SIZE, "color": "#222"},
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": FONT_SIZE}, "namelength": -1},
        "margin": {"l": 60, "r": 20, "t": 56 if title else 40, "b": 50},
        "paper_bgcolor": "white", "plot_bgcolor": "white",
        "showlegend": legend != "none",
    }
    if legend == "bottom":
        spec_layout["legend"] = {"orientation": "h", "x": 0.5, "xanchor": "center", "y": -0.2, "yanchor": "top",
                                 "font": {"size": FONT_SIZE}}
    elif legend == "right":
        spec_layout["legend"] = {"x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top", "font": {"size": FONT_SIZE}}
    if title:
        spec_layout["title"] = {"text": title, "font": {"size": TITLE_SIZE}, "x": 0.01, "xanchor": "left"}
    spec_layout.update(layout)
    return {"data": data, "layout": spec_layout, "config": dict(CONFIG)}


def panel_titles(titles: Sequence[str], domains: Sequence[tuple[float, float]]) -> list[dict[str, Any]]:
    """Titles over side-by-side panels, as annotations (the layout has one title only)."""
    return [{"text": f"<b>{text}</b>", "x": (lo + hi) / 2, "y": 1.0, "xref": "paper", "yref": "paper",
             "xanchor": "center", "yanchor": "bottom", "yshift": 8, "showarrow": False,
             "font": {"size": TITLE_SIZE}} for text, (lo, hi) in zip(titles, domains, strict=True)]


def to_json(spec: Spec) -> str:
    """The spec as compact JSON text (what ``gr.Plot`` sends to the browser)."""
    return json.dumps(spec, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _picture_uri(image: np.ndarray) -> str:
    """A data URI of the picture: PNG for flat colours, JPEG 95 for photo-like ones (``imageio.encode_picture``)."""
    from segdemo.imageio import encode_picture

    data, extension = encode_picture(image)
    return f"data:image/{extension};base64," + base64.b64encode(data).decode("ascii")


def _hex(colour: Sequence[int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(c) for c in colour[:3]))


def pictures(panels: Sequence[tuple[np.ndarray, str | None]], legend: Sequence[tuple[str, Sequence[int]]] = (),
             height: int = 320, title: str | None = None) -> Spec:
    """Images side by side (each ``(H, W, 3)`` uint8 with an optional title) and a colour legend under them.

    The pixels travel inside the JSON as PNG (flat colours) or JPEG 95 (photo-like; ``imageio.encode_picture``);
    the titles and legend are text the browser draws in the reader's fonts. Used for the pictures that sit beside charts (a simulated prediction, a scene and its
    masks), so that they need no server-side drawing either.
    """
    n = len(panels)
    gap = 0.02
    width = (1 - gap * (n - 1)) / n
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {}
    domains = []
    for i, (image, _) in enumerate(panels):
        h, w = image.shape[:2]
        lo, hi = i * (width + gap), i * (width + gap) + width
        domains.append((lo, hi))
        suffix = "" if i == 0 else str(i + 1)
        data.append({"type": "image", "source": _picture_uri(image), "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
                     "hoverinfo": "skip"})
        layout[f"xaxis{suffix}"] = {"domain": [lo, hi], "range": [-0.5, w - 0.5], "visible": False,
                                    "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"range": [h - 0.5, -0.5], "visible": False, "anchor": f"x{suffix}",
                                    "scaleanchor": f"x{suffix}"}
    for name, colour in legend:  # legend-only entries: a square of the colour, no data
        data.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": name,
                     "marker": {"symbol": "square", "size": 16, "color": _hex(colour)}, "hoverinfo": "skip"})
    titles = [title for _, title in panels]
    annotations = panel_titles([x or "" for x in titles], domains) if any(titles) else []
    top = 40 if any(titles) else 10
    spec = figure(data, height=height, legend="bottom" if legend else "none", annotations=annotations,
                  title=title, **layout)
    spec["layout"]["margin"] = {"l": 10, "r": 10, "t": top + (36 if title else 0), "b": 10}
    if legend:
        spec["layout"]["legend"]["y"] = -0.02  # no axis titles under the pictures
    return spec


def _axis_values(x: Any) -> list[Any]:
    """Numbers rounded, or categories (names) as they are."""
    if isinstance(x, list | tuple) and x and isinstance(x[0], str):
        return list(x)
    return numbers(x)


def _line(x: Any, y: Any, name: str, colour: str, *, width: float = 2.5, dash: str | None = None,
          axes: str = "", group: str | None = None, show: bool = True, hover: str = "%{y:.4f}",
          markers: bool = False, opacity: float = 1.0) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "type": "scatter", "mode": "lines+markers" if markers else "lines", "x": _axis_values(x), "y": numbers(y),
        "name": name, "line": {"color": colour, "width": width, **({"dash": dash} if dash else {})},
        "hovertemplate": f"{hover}<extra>{name}</extra>" if hover else None, "showlegend": show,
        "opacity": opacity,
    }
    if markers:
        trace["marker"] = {"size": 7, "color": colour}
    if axes:
        trace["xaxis"], trace["yaxis"] = f"x{axes}", f"y{axes}"
    if group:
        trace["legendgroup"] = group
    if hover is None:
        trace.pop("hovertemplate")
    return trace


# ---------------------------------------------------------------- Losses tab
def _loss_name(name: str, lang: str) -> str:
    return t(f"common.loss.{name}", lang)


def focal_chart(c: FocalCurves, lang: str) -> Spec:
    """Focal and CE loss against p_t beside the size of their gradients (Lin et al. 2017, Fig. 1)."""
    data: list[dict[str, Any]] = []
    for gamma, colour in zip(c.focal, GAMMA_COLOURS, strict=False):
        name = t("losses.plot.gamma", lang, gamma=f"{gamma:g}")
        data.append(_line(c.p, c.focal[gamma], name, colour, group=name))
        data.append(_line(c.p, np.abs(c.focal_grad[gamma]), name, colour, axes="2", group=name, show=False))
    ce = t("losses.plot.ce", lang)
    data.append(_line(c.p, c.ce, ce, "black", width=2, dash="dot", group=ce))
    data.append(_line(c.p, np.abs(c.ce_grad), ce, "black", width=2, dash="dot", axes="2", group=ce, show=False))
    domains = ((0.0, 0.46), (0.56, 1.0))
    # Lin et al. call p_t > 0.5 well classified (the curves help says so)
    easy = [{"type": "rect", "xref": ref, "yref": f"{yref} domain", "x0": 0.5, "x1": 1.0, "y0": 0, "y1": 1,
             "fillcolor": "#55a868", "opacity": 0.1, "line": {"width": 0}, "layer": "below"}
            for ref, yref in (("x", "y"), ("x2", "y2"))]
    notes = panel_titles([t("losses.plot.loss_title", lang), t("losses.plot.grad_title", lang)], domains)
    notes.append({"text": t("losses.plot.easy", lang), "x": 0.75, "y": 4.6, "xref": "x", "yref": "y",
                  "showarrow": False, "font": {"color": "#2f7a45", "size": FONT_SIZE}})
    pt = t("losses.plot.pt", lang)
    return figure(
        data, height=430, hovermode="x unified", shapes=easy, annotations=notes,
        xaxis=axis(pt, domain=list(domains[0]), range=[0, 1], hoverformat=".3f"),
        yaxis=axis(t("losses.plot.loss", lang), range=[0, 5]),
        xaxis2=axis(pt, domain=list(domains[1]), range=[0, 1], anchor="y2", hoverformat=".3f"),
        yaxis2=axis(t("losses.plot.grad", lang), type="log", range=[-4, math.log10(2)], anchor="x2",
                    dtick=1, exponentformat="power"),
    )


def overlap_chart(o: OverlapCurves, region_percent: float, lang: str) -> Spec:
    """Dice and Lovász loss against the overlap of a predicted and a true region."""
    data = [
        _line(o.overlap, o.dice_region, t("losses.plot.dice_region", lang), LOSS_COLOURS["dice"], width=3),
        _line(o.overlap, o.dice_mean, t("losses.plot.dice_mean", lang), LOSS_COLOURS["dice"], dash="dash"),
        _line(o.overlap, o.lovasz_region, t("losses.plot.lovasz_region", lang), LOSS_COLOURS["lovasz"], width=3),
        _line(o.overlap, 1 - o.iou, t("losses.plot.iou_region", lang), "black", width=2, dash="dot"),
    ]
    return figure(data, height=400, legend="right", hovermode="x unified",
                  title=t("losses.plot.overlap_title", lang, percent=f"{region_percent:g}"),
                  xaxis=axis(t("losses.plot.overlap", lang), range=[0, 1], hoverformat=".2f"),
                  yaxis=axis(t("losses.plot.loss", lang), range=[0, 1.02]))


def _bars(values: dict[str, float], miou: float, lang: str,
          axes: str = "") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A bar per loss (its value written on it), and the dashed 1 − mIoU level across them as a shape
    drawn *below* the bars (a line over them ran through their numbers) with a legend entry of its own.

    Returns:
        ``(traces, shapes)``.
    """
    names = [_loss_name(n, lang) for n in values]
    bars: dict[str, Any] = {
        "type": "bar", "x": names, "y": numbers(list(values.values())), "showlegend": False,
        "marker": {"color": [LOSS_COLOURS[n] for n in values]}, "texttemplate": "%{y:.3f}",
        "textposition": "outside", "textfont": {"size": FONT_SIZE - 1}, "cliponaxis": False,
        "hovertemplate": "%{x}: %{y:.4f}<extra></extra>", "name": t("losses.plot.loss", lang),
    }
    level_name = t("losses.plot.one_minus_miou", lang)
    level = _line([None], [None], level_name, "black", width=2, dash="dash", hover=None)
    if axes:
        for trace in (bars, level):
            trace["xaxis"], trace["yaxis"] = f"x{axes}", f"y{axes}"
    shape = {"type": "line", "xref": f"x{axes} domain", "yref": f"y{axes}", "x0": 0, "x1": 1, "y0": 1 - miou,
             "y1": 1 - miou, "layer": "below", "line": {"color": "black", "width": 2, "dash": "dash"}}
    return [bars, level], [shape]


def loss_bars_chart(values: dict[str, float], miou: float, lang: str) -> Spec:
    """Every compared loss of one prediction beside 1 − mIoU."""
    top = max(1.0, max(values.values())) * 1.18
    data, shapes = _bars(values, miou, lang)
    return figure(data, height=420, title=t("losses.plot.bars_title", lang), shapes=shapes,
                  legend="bottom", xaxis=axis(None, tickangle=-30, showgrid=False),
                  yaxis=axis(t("losses.plot.loss", lang), range=[0, top]))


def imbalance_chart(r: Imbalance, fg_percent: float, lang: str) -> Spec:
    """The simulator's losses as bars, beside every loss as the object's share of the image varies."""
    domains = ((0.0, 0.38), (0.5, 1.0))
    data, level = _bars(r.losses, r.miou, lang)
    data.pop()  # the sweep's dashed line names it
    share = r.sweep_fraction * 100
    for name, values in r.sweep_losses.items():
        data.append(_line(share, values, _loss_name(name, lang), LOSS_COLOURS[name], axes="2", markers=True))
    data.append(_line(share, 1 - r.sweep_iou, t("losses.plot.one_minus_iou", lang), "black", width=2, dash="dot",
                      axes="2"))
    data.append(_line(share, 1 - r.sweep_miou, t("losses.plot.one_minus_miou", lang), "black", width=2,
                      dash="dash", axes="2"))
    top = max(1.0, max(r.losses.values())) * 1.18
    now = [*level, {"type": "line", "xref": "x2", "yref": "y2 domain", "x0": fg_percent, "x1": fg_percent, "y0": 0, "y1": 1,
            "line": {"color": "#999", "width": 1.5}}]
    notes = panel_titles([t("losses.plot.bars_title", lang), t("losses.plot.sweep_title", lang)], domains)
    notes.append({"text": t("losses.plot.now", lang), "x": math.log10(fg_percent), "y": 0.02, "xref": "x2",
                  "yref": "y2 domain", "xanchor": "left", "yanchor": "bottom", "xshift": 4, "showarrow": False,
                  "bgcolor": "white", "font": {"color": "#555", "size": FONT_SIZE - 1}})
    ticks = [0.1, 0.3, 1, 3, 10, 30]
    # The legend on the right: nine entries under the axes wrapped into a column over the x-axis title.
    return figure(data, height=470, legend="right", hovermode="closest", shapes=now, annotations=notes,
                  xaxis=axis(None, domain=list(domains[0]), tickangle=-30, showgrid=False),
                  yaxis=axis(t("losses.plot.loss", lang), range=[0, top]),
                  xaxis2=axis(t("losses.plot.share", lang), domain=list(domains[1]), type="log", anchor="y2",
                              tickvals=ticks, ticktext=[f"{v:g}" for v in ticks]),
                  yaxis2=axis(None, anchor="x2", rangemode="tozero"))


def outcome_legend(kinds: Sequence[str], colours: np.ndarray, outcomes: Sequence[str],
                   lang: str) -> list[tuple[str, Sequence[int]]]:
    """``[(name in lang, rgb), ...]`` of the pixel outcomes ``kinds`` (for :func:`pictures`)."""
    return [(t(f"losses.outcome.{k}", lang), colours[list(outcomes).index(k)]) for k in kinds]


def enlarge_nearest(image: np.ndarray, factor: int) -> np.ndarray:
    """Repeat each pixel ``factor`` × ``factor`` times (a small picture stays crisp when the browser scales it)."""
    return image if factor <= 1 else np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


# ---------------------------------------------------------------- mIoU tab
def confusion_chart(confusion: np.ndarray, names: Sequence[str], lang: str) -> Spec:
    """The confusion matrix as counts and row-normalised, side by side (rows = truth, columns = prediction).

    Hover shows the true and predicted class and the number; cells carry their numbers when K ≤ 12; a
    class with no pixel shows "—" in the normalised panel (0/0).
    """
    cm = np.asarray(confusion, dtype=np.float64)
    k = cm.shape[0]
    rows = cm.sum(axis=1, keepdims=True)
    normalised = np.divide(cm, rows, out=np.full_like(cm, np.nan), where=rows > 0)
    labels = [f"{i}" if not names or i >= len(names) else f"{names[i]}" for i in range(k)]
    truth, pred = t("miou.plot.truth", lang), t("miou.plot.pred", lang)
    domains = ((0.0, 0.44), (0.56, 1.0))
    data = []
    for i, (values, fmt, key) in enumerate(((cm, "{:.0f}", "miou.plot.counts"),
                                            (normalised, "{:.2f}", "miou.plot.normalised"))):
        suffix = "" if i == 0 else "2"
        trace: dict[str, Any] = {
            "type": "heatmap", "z": numbers(values, 4), "x": list(range(k)), "y": list(range(k)),
            "colorscale": "Blues", "showscale": False, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
            "xgap": 1, "ygap": 1, "zmin": 0, "hoverongaps": True,
        }
        if k <= 40:  # names in the tooltip: (truth, prediction) per cell
            trace["customdata"] = [[[labels[r], labels[c]] for c in range(k)] for r in range(k)]
            number = "%{z:.0f}" if i == 0 else "%{z:.3f}"
            trace["hovertemplate"] = (f"{truth}: %{{customdata[0]}}<br>{pred}: %{{customdata[1]}}<br>"
                                      f"{t(key, lang)}: {number}<extra></extra>")
        if k <= 12:
            trace["text"] = [["—" if np.isnan(v) else fmt.format(v) for v in row] for row in values]
            trace["texttemplate"] = "%{text}"
            trace["textfont"] = {"size": FONT_SIZE if k <= 8 else FONT_SIZE - 1}
        data.append(trace)
    ticks = {"tickvals": list(range(k)), "ticktext": labels, "showgrid": False, "showline": False}
    if k > 30:
        ticks = {"showgrid": False, "showline": False}
    layout: dict[str, Any] = {}
    for i, (lo, hi) in enumerate(domains):
        suffix = "" if i == 0 else "2"
        layout[f"xaxis{suffix}"] = axis(pred, domain=[lo, hi], anchor=f"y{suffix}", tickangle=-45, **ticks)
        layout[f"yaxis{suffix}"] = axis(truth if i == 0 else None, anchor=f"x{suffix}", autorange="reversed",
                                        **ticks)
    notes = panel_titles([t("miou.plot.counts", lang), t("miou.plot.normalised", lang)], domains)
    return figure(data, height=min(760, 260 + 26 * k), legend="none", annotations=notes, **layout)


# ---------------------------------------------------------------- Train tab
def train_curves(runs: Sequence[Any], lang: str) -> Spec:
    """Smoothed training loss and validation mIoU of ``runs`` (objects with ``steps``, ``vals``, ``label``,
    ``config.steps_per_epoch``), the newest bold, earlier ones faint for comparison."""
    # an empty trace per panel: plotly draws no axes for a panel without data (before the first run)
    data: list[dict[str, Any]] = [_line([None], [None], "", "grey", axes=a, show=False, hover=None) for a in ("", "2")]
    for i, run in enumerate(runs):
        newest = i == len(runs) - 1
        colour = CYCLE[i % len(CYCLE)]
        name = f"{i + 1}. {run.label}"
        style = {"width": 3 if newest else 1.6, "opacity": 1.0 if newest else 0.55, "group": name}
        if run.steps:
            steps, losses = zip(*run.steps, strict=True)
            window = max(1, len(losses) // 25)
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            data.append(_line(steps[window - 1:], smooth, name, colour, show=not run.vals, **style))
        if run.vals:
            steps, mious = zip(*run.vals, strict=True)
            data.append(_line(steps, mious, name, colour, axes="2", markers=True, **style))
    planned = max((run.config.steps_per_epoch for run in runs), default=100)
    domains = ((0.0, 0.46), (0.56, 1.0))
    notes = panel_titles([t("train.plot.loss", lang), t("train.plot.miou", lang)], domains)
    if not runs:
        notes.append({"text": t("train.plot.empty", lang), "x": 0.23, "y": 0.5, "xref": "paper", "yref": "paper",
                      "showarrow": False, "font": {"color": "grey", "size": FONT_SIZE + 1}})
    step = t("train.plot.step", lang)
    return figure(data, height=380, legend="bottom", hovermode="x unified", annotations=notes,
                  xaxis=axis(step, domain=list(domains[0]), range=[0, planned]),
                  yaxis=axis(None, rangemode="tozero", hoverformat=".4f"),
                  xaxis2=axis(step, domain=list(domains[1]), range=[0, planned], anchor="y2"),
                  yaxis2=axis(None, range=[0, 1], anchor="x2", hoverformat=".3f"))


# ---------------------------------------------------------------- Overview tab
def timeline_chart(entries: Sequence[TimelineEntry], lang: str) -> Spec:
    """Year (x) against val mIoU (y), one labelled dot per architecture, coloured by family.

    Architectures without a checkpoint sit on a dashed line at the bottom (an ×). Hover gives the name,
    year, mIoU and parameters. Labels of one year are pushed apart downwards (close scores stay readable),
    the dots of one year spread a little sideways (equal scores do not hide each other).
    """
    untrained = 0.02
    scores = [e.val_miou for e in entries if e.val_miou is not None]
    all_trained = bool(scores) and len(scores) == len(entries)
    low = max(0.0, math.floor(min(scores) * 10 - 1) / 10) if all_trained else 0.0
    step = 0.085 * (1.0 - low)
    families = sorted({e.card.family for e in entries})
    colours = {f: CYCLE[i % len(CYCLE)] for i, f in enumerate(families)}
    points: dict[str, dict[str, list]] = {f: {"x": [], "y": [], "text": [], "symbol": []} for f in families}
    notes: list[dict[str, Any]] = []
    by_year: dict[int, list[Any]] = {}
    for e in entries:
        by_year.setdefault(e.card.year, []).append(e)
    params, miou_label = t("charts.params", lang), t("overview.tl.axis_miou", lang)
    for year, group in by_year.items():
        group = sorted(group, key=lambda e: -(e.val_miou if e.val_miou is not None else untrained))
        label_y = 2.0
        for i, e in enumerate(group):
            x = year + 0.07 * (i - (len(group) - 1) / 2)
            y = e.val_miou if e.val_miou is not None else untrained
            label_y = min(y, label_y - step)
            full = e.card.display.get(lang, e.card.display["en"])
            name = re.sub(r"\s*[(（][^()（）]*[)）]\s*$", "", full)  # no backbone in brackets: it ran into the next year
            p = points[e.card.family]
            p["x"].append(round(x, 3))
            p["y"].append(round(y, 4))
            score = f"{e.val_miou:.3f}" if e.val_miou is not None else t("overview.tl.untrained", lang)
            p["text"].append(f"<b>{full}</b><br>{year}<br>{miou_label}: {score}<br>{params}: {e.params / 1e6:.2f} M")
            p["symbol"].append("circle" if e.val_miou is not None else "x")
            notes.append({"text": name, "x": x, "y": y, "ax": year + 0.2, "ay": max(label_y, low + step / 3),
                          "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "xanchor": "left",
                          "showarrow": True, "arrowhead": 0, "arrowwidth": 0.8, "arrowcolor": "grey",
                          "standoff": 5, "font": {"size": FONT_SIZE - 1}})
    data = [{"type": "scatter", "mode": "markers", "name": t(f"segment.family.{f}", lang), "x": p["x"], "y": p["y"],
             "text": p["text"], "hovertemplate": "%{text}<extra></extra>",
             "marker": {"size": 13, "color": colours[f], "symbol": p["symbol"], "line": {"width": 1, "color": "white"}}}
            for f, p in points.items()]
    years = [e.card.year for e in entries] or [2015]
    shapes = []
    if not all_trained:
        shapes.append({"type": "line", "xref": "x domain", "yref": "y", "x0": 0, "x1": 1, "y0": untrained,
                       "y1": untrained, "line": {"color": "grey", "dash": "dash", "width": 1}})
        notes.append({"text": t("overview.tl.untrained", lang), "x": min(years) - 0.4, "y": 0.05, "xref": "x",
                      "yref": "y", "xanchor": "left", "yanchor": "bottom", "showarrow": False,
                      "font": {"color": "grey", "size": FONT_SIZE - 1}})
    return figure(data, height=440, legend="right", hovermode="closest", annotations=notes, shapes=shapes,
                  xaxis=axis(t("overview.tl.year", lang), range=[min(years) - 0.6, max(years) + 1.0],
                             tickvals=list(range(min(years), max(years) + 1)), tickformat="d"),
                  yaxis=axis(miou_label, range=[low, 1]))
