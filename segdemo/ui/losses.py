"""Losses tab: loss curves, an imbalance simulator and degraded real masks.

Logic lives in :mod:`segdemo.lessons.losses` (which calls :mod:`segdemo.losses`); this module only
draws figures and wires the three sections. Figures are rendered to arrays and cached per
(settings, language): the first view of the tab costs nothing after the first student.
"""

from __future__ import annotations

import functools
import random

import gradio as gr
import numpy as np
import pandas as pd

from segdemo.lessons import losses as lesson
from segdemo.plotting import figure, to_image
from segdemo.ui import pitfalls
from segdemo.ui.common import FIGURES_QUEUE, friendly_errors
from segdemo.ui.i18n import i18n, lang_of, t

NAME = "losses"

CURVES = {"alpha": 1.0, "region": 10.0}
SIM = {"fg": 1.0, "recall": 50.0, "fp": 0.5, "confidence": 0.8, "easy": 0.999}
MASKS = {"scene": 3, "drop": 1, "grow": 2, "shift_x": 4, "shift_y": 0, "noise": 1.0, "confidence": 0.9}
SCENES = 100
COLOURS = {"ce": "#4c72b0", "weighted_ce": "#8172b3", "focal": "#dd8452", "dice": "#55a868",
           "lovasz": "#c44e52", "tversky": "#937860", "ce+dice": "#da8bc3"}
GAMMA_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3")


def _frozen(image: np.ndarray) -> np.ndarray:
    image.setflags(write=False)  # cached and shared between requests
    return image


def _check(name_key: str, value: float | None, low: float, high: float, lang: str) -> float:
    """A slider value from the browser or the API, refused with a translated message if out of range."""
    if value is None or not low <= float(value) <= high:
        raise gr.Error(t("losses.range", lang, name=t(name_key, lang), low=f"{low:g}", high=f"{high:g}", value=value))
    return float(value)


def _loss_name(name: str, lang: str) -> str:
    return t(f"common.loss.{name}", lang)


# ---------------------------------------------------------------- section 1: curves
@functools.lru_cache(maxsize=16)
def focal_figure(alpha: float, lang: str) -> np.ndarray:
    """The Focal/CE curves beside their gradients (Lin et al. 2017, Fig. 1), as an RGB array."""
    c = lesson.focal_curves(alpha=alpha)
    fig, (ax_loss, ax_grad) = figure(1, 2, figsize=(11.0, 3.6))
    for ax in (ax_loss, ax_grad):
        ax.axvspan(0.5, 1.0, color="#55a868", alpha=0.08)  # p_t > 0.5: well classified (Lin et al.)
        ax.set_xlabel(t("losses.plot.pt", lang))
        ax.set_xlim(0, 1)
    for gamma, colour in zip(c.focal, GAMMA_COLOURS, strict=False):
        label = t("losses.plot.gamma", lang, gamma=f"{gamma:g}")
        ax_loss.plot(c.p, c.focal[gamma], color=colour, lw=2, label=label)
        ax_grad.plot(c.p, np.abs(c.focal_grad[gamma]), color=colour, lw=2, label=label)
    for ax, values in ((ax_loss, c.ce), (ax_grad, np.abs(c.ce_grad))):
        ax.plot(c.p, values, color="black", lw=1.4, ls=":", label=t("losses.plot.ce", lang))
    ax_loss.set_ylim(0, 5)
    ax_loss.text(0.8, 4.6, t("losses.plot.easy", lang), ha="center", color="#2f7a45", fontsize=9)
    ax_loss.set(ylabel=t("losses.plot.loss", lang), title=t("losses.plot.loss_title", lang))
    ax_grad.set(ylabel=t("losses.plot.grad", lang), title=t("losses.plot.grad_title", lang))
    ax_grad.set_yscale("log")
    ax_grad.set_ylim(1e-4, 2)
    ax_loss.legend(fontsize=9)
    return _frozen(to_image(fig))


@functools.lru_cache(maxsize=16)
def overlap_figure(region_percent: float, lang: str) -> np.ndarray:
    """Dice and Lovász loss against the overlap of a predicted and a true region, as an RGB array."""
    o = lesson.overlap_curves(region_fraction=region_percent / 100)
    fig, ax = figure(figsize=(11.0, 3.4))
    ax.plot(o.overlap, o.dice_region, color=COLOURS["dice"], lw=2.2, label=t("losses.plot.dice_region", lang))
    ax.plot(o.overlap, o.dice_mean, color=COLOURS["dice"], lw=1.6, ls="--", label=t("losses.plot.dice_mean", lang))
    ax.plot(o.overlap, o.lovasz_region, color=COLOURS["lovasz"], lw=2.2, label=t("losses.plot.lovasz_region", lang))
    ax.plot(o.overlap, 1 - o.iou, color="black", lw=1.2, ls=":", label=t("losses.plot.iou_region", lang))
    ax.set(xlabel=t("losses.plot.overlap", lang), ylabel=t("losses.plot.loss", lang), xlim=(0, 1), ylim=(0, 1.02),
           title=t("losses.plot.overlap_title", lang, percent=f"{region_percent:g}"))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _frozen(to_image(fig))


@friendly_errors
def run_curves(alpha: float, region_percent: float, request: gr.Request) -> tuple[np.ndarray, np.ndarray]:
    """Section 1: (Focal/CE curves with gradients, Dice-against-overlap plot) as images."""
    lang = lang_of(request)
    alpha = _check("losses.alpha", alpha, 0.05, 1.0, lang)
    region = _check("losses.region", region_percent, 1.0, 50.0, lang)
    return focal_figure(round(alpha, 3), lang), overlap_figure(round(region, 2), lang)


# ---------------------------------------------------------------- section 2: imbalance
def _outcome_legend(fig, kinds: tuple[str, ...], lang: str, ncol: int, under_last: bool = False) -> None:
    """The colours of the mistakes map: under the figure, or under its last panel, the mistakes map
    (centred under four panels, "missed" read as the orange of a class in the others)."""
    from matplotlib.patches import Patch

    colours = lesson.outcome_colours() / 255
    handles = [Patch(color=colours[lesson.OUTCOMES.index(k)], label=t(f"losses.outcome.{k}", lang)) for k in kinds]
    fig.legend(handles=handles, loc="outside lower right" if under_last else "outside lower center", ncol=ncol,
               fontsize=9, frameon=False)


def _loss_bars(ax, values: dict[str, float], miou: float, lang: str, title_key: str) -> None:
    names = list(values)
    bars = ax.bar(range(len(names)), [values[n] for n in names], color=[COLOURS[n] for n in names])
    ax.axhline(1 - miou, color="black", ls="--", lw=1.3, label=t("losses.plot.one_minus_miou", lang), zorder=2)
    # on a white patch above the dashed line, which ran through the values of bars near 1 − mIoU
    for label in ax.bar_label(bars, fmt="%.3f", fontsize=8, padding=2):
        label.set(bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5}, zorder=3)
    ax.set_xticks(range(len(names)), [_loss_name(n, lang) for n in names], rotation=30, ha="right")
    ax.set(ylabel=t("losses.plot.loss", lang), title=t(title_key, lang))
    ax.set_ylim(0, max(1.0, max(values.values())) * 1.15)
    ax.grid(axis="x", visible=False)
    ax.legend(fontsize=9, loc="upper right")


@functools.lru_cache(maxsize=16)
def simulator_outputs(fg: float, recall: float, fp: float, confidence: float, easy: float,
                      lang: str) -> tuple[str, np.ndarray, np.ndarray, list[list]]:
    """(summary Markdown, picture of the prediction, loss chart, [[loss, value], ...]) for percentages."""
    r = lesson.simulate_imbalance(fg / 100, recall / 100, fp / 100, confidence, easy)
    summary = t("losses.sim.summary", lang, iou=f"{r.iou:.3f}", miou=f"{r.miou:.3f}", fg=r.counts["tp"] + r.counts["fn"],
                tp=r.counts["tp"], fn=r.counts["fn"], fp=r.counts["fp"])

    fig, ax = figure(figsize=(4.0, 2.5))
    ax.imshow(lesson.outcome_colours()[r.outcome], interpolation="nearest")
    ax.set_axis_off()
    _outcome_legend(fig, ("tn", "tp", "fn", "fp"), lang, ncol=2)
    picture = _frozen(to_image(fig))

    fig, (ax_bars, ax_sweep) = figure(1, 2, figsize=(11.0, 4.0), width_ratios=(1, 1.3))
    _loss_bars(ax_bars, r.losses, r.miou, lang, "losses.plot.bars_title")
    share = r.sweep_fraction * 100
    for name, values in r.sweep_losses.items():
        ax_sweep.plot(share, values, color=COLOURS[name], lw=2, marker="o", ms=3, label=_loss_name(name, lang))
    ax_sweep.plot(share, 1 - r.sweep_iou, color="black", ls=":", lw=1.5, label=t("losses.plot.one_minus_iou", lang))
    ax_sweep.plot(share, 1 - r.sweep_miou, color="black", ls="--", lw=1.5, label=t("losses.plot.one_minus_miou", lang))
    ax_sweep.axvline(fg, color="#999999", lw=1)
    # at the foot of the line, on white: at the top it sat on the 1 − IoU curve
    ax_sweep.text(fg * 1.08, 0.03, t("losses.plot.now", lang), transform=ax_sweep.get_xaxis_transform(),
                  fontsize=9, color="#666666", va="bottom",
                  bbox={"facecolor": "white", "edgecolor": "none", "pad": 1}, zorder=5)
    ax_sweep.set_xscale("log")
    ticks = [0.1, 0.3, 1, 3, 10, 30]
    ax_sweep.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax_sweep.minorticks_off()
    ax_sweep.set(xlabel=t("losses.plot.share", lang), ylabel=t("losses.plot.loss", lang),
                 title=t("losses.plot.sweep_title", lang))
    ax_sweep.set_ylim(0, None)
    ax_sweep.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    chart = _frozen(to_image(fig))
    table = [[_loss_name(n, lang), round(v, 4)] for n, v in r.losses.items()]
    table += [["IoU", round(r.iou, 4)], ["mIoU", round(r.miou, 4)]]
    return summary, picture, chart, table


@friendly_errors
def run_simulator(fg_percent: float, recall_percent: float, false_alarm_percent: float, confidence: float,
                  easy_confidence: float, request: gr.Request):
    """The imbalance simulator (API name ``losses``): every loss and the IoU on one simulated prediction.

    Args:
        fg_percent: share of object (foreground) pixels, 0.1–50 (%).
        recall_percent: share of the object predicted as object, 0–100 (%).
        false_alarm_percent: share of the background predicted as object, 0–50 (%).
        confidence: probability the prediction gives its class on object, missed and false-alarm
            pixels, 0.55–0.99.
        easy_confidence: probability of background on correctly rejected pixels, 0.9–0.9999.

    Returns:
        ``(summary, picture, chart, table)``: a Markdown line with IoU, mIoU and pixel counts; an image of
        the prediction (hits, misses, false alarms); an image of the loss bar chart and of the losses as the
        object share varies; and a table ``{"headers": [...], "data": [[loss, value], ...]}`` with the
        values of ``ce, weighted_ce, focal, dice, lovasz, tversky, ce+dice`` (display names), then IoU and mIoU.
    """
    lang = lang_of(request)
    values = (
        _check("losses.sim.fg", fg_percent, 0.1, 50.0, lang),
        _check("losses.sim.recall", recall_percent, 0.0, 100.0, lang),
        _check("losses.sim.fp", false_alarm_percent, 0.0, 50.0, lang),
        _check("losses.sim.confidence", confidence, 0.55, 0.99, lang),
        _check("losses.sim.easy", easy_confidence, 0.9, 0.9999, lang),
    )
    summary, picture, chart, table = simulator_outputs(*(round(v, 4) for v in values), lang)
    headers = [t("losses.table.loss", lang), t("losses.table.value", lang)]
    return summary, picture, chart, pd.DataFrame(table, columns=headers).style.format({headers[1]: "{:.4f}"})


# ---------------------------------------------------------------- section 3: real masks
@functools.lru_cache(maxsize=16)
def masks_outputs(scene: int, drop: int, grow: int, shift_x: int, shift_y: int, noise: float, confidence: float,
                  lang: str) -> tuple[str, np.ndarray, np.ndarray, list[list]]:
    """(summary, [image | truth | prediction | mistakes] figure, loss chart, [[class, IoU], ...])."""
    from segdemo.palette import colorize

    info = lesson.scene(scene)
    image, mask, num_classes = info.image, info.mask, len(info.palette)
    pred = lesson.degrade_mask(mask, info.instances, num_classes, drop=drop, grow=grow, shift=(shift_x, shift_y),
                          noise=noise / 100, seed=scene)
    scores = lesson.score_masks(pred, mask, num_classes, confidence)

    fig, axes = figure(1, 4, figsize=(11.0, 3.4))
    panels = (image, colorize(mask, info.palette), colorize(pred, info.palette),
              lesson.outcome_colours()[lesson.outcome_map(pred, mask)])
    for ax, panel, key in zip(axes, panels, ("image", "truth", "prediction", "mistakes"), strict=True):
        ax.imshow(panel, interpolation="nearest")
        ax.set_title(t(f"losses.plot.{key}", lang))
        ax.set_axis_off()
    _outcome_legend(fig, ("tn", "tp", "fn", "fp", "wrong_class"), lang, ncol=3, under_last=True)
    masks = _frozen(to_image(fig))

    fig, ax = figure(figsize=(6.5, 3.8))
    _loss_bars(ax, scores.losses, scores.miou, lang, "losses.plot.bars_title")
    chart = _frozen(to_image(fig))
    present = [c for c in range(num_classes) if not np.isnan(scores.iou[c])]
    table = [[t("losses.table.iou_of", lang, name=info.names[lang][c]), round(float(scores.iou[c]), 4)]
             for c in present]
    table += [[_loss_name(n, lang), round(v, 4)] for n, v in scores.losses.items()]
    summary = t("losses.masks.summary", lang, miou=f"{scores.miou:.3f}", classes=len(present))
    return summary, masks, chart, table


@friendly_errors
def run_masks(scene: float, drop: float, grow: float, shift_x: float, shift_y: float, noise_percent: float,
              confidence: float, request: gr.Request):
    """Section 3 (API name ``losses_masks``): a synthetic scene's ground truth against a degraded copy.

    Args:
        scene: scene index, 0–99. drop: number of smallest objects removed, 0–5.
        grow: dilate (+) / erode (−) radius in pixels, −8–8. shift_x, shift_y: shift in pixels, −24–24.
        noise_percent: share of pixels given a random class, 0–30 (%).
        confidence: probability given to each pixel's predicted class, 0.55–0.99.

    Returns:
        ``(summary, masks, chart, table)``: mIoU line; image | truth | prediction | mistakes; loss bar chart;
        ``[[class or loss, value], ...]`` with the IoU of each class present, then every loss.
    """
    lang = lang_of(request)
    args = (
        int(_check("losses.masks.scene", scene, 0, SCENES - 1, lang)),
        int(_check("losses.masks.drop", drop, 0, 5, lang)),
        int(_check("losses.masks.grow", grow, -8, 8, lang)),
        int(_check("losses.masks.shift_x", shift_x, -24, 24, lang)),
        int(_check("losses.masks.shift_y", shift_y, -24, 24, lang)),
        round(_check("losses.masks.noise", noise_percent, 0.0, 30.0, lang), 2),
        round(_check("losses.masks.confidence", confidence, 0.55, 0.99, lang), 4),
    )
    summary, masks, chart, table = masks_outputs(*args, lang)
    headers = [t("losses.table.measure", lang), t("losses.table.value", lang)]
    # Shown with four decimals (1.0000 beside 0.1054); the API still gets the numbers.
    return summary, masks, chart, pd.DataFrame(table, columns=headers).style.format({headers[1]: "{:.4f}"})


# ---------------------------------------------------------------- layout
def _slider(key: str, low: float, high: float, value: float, step: float) -> gr.Slider:
    return gr.Slider(low, high, value=value, step=step, label=i18n(key), min_width=180)


def _image(elem_id: str) -> gr.Image:
    return gr.Image(type="numpy", format="png", interactive=False, show_label=False, buttons=["fullscreen"],
                    elem_id=elem_id)


def _live(sliders: list[gr.Slider], fn, outputs: list, api_name: str) -> None:
    # "input" fires while dragging; always_last drops the stale requests in between
    gr.on([s.input for s in sliders], fn, inputs=sliders, outputs=outputs, api_name=api_name,
          trigger_mode="always_last", show_progress="minimal", **FIGURES_QUEUE)


#: Inline ``$...$`` and display ``$$...$$`` maths, as the mIoU tab's formulas.
LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]


def build() -> None:
    """Render the Losses tab inside the current ``gr.Tab``: controls above full-width figures."""
    gr.Markdown(i18n("losses.intro"))
    with gr.Tabs():
        with gr.Tab(i18n("losses.section.curves"), id="losses-curves"):
            with gr.Row(equal_height=True):
                alpha = _slider("losses.alpha", 0.05, 1.0, CURVES["alpha"], 0.05)
                gr.Markdown(i18n("losses.alpha_info"))
            focal_plot = _image("losses-focal-plot")
            gr.Markdown(i18n("losses.curves.help"))
            with gr.Accordion(i18n("losses.formulas_title"), open=False, elem_id="losses-formulas"):
                gr.Markdown(i18n("losses.formulas"), latex_delimiters=LATEX)
            with gr.Row(equal_height=True):
                region = _slider("losses.region", 1, 50, CURVES["region"], 1)
                gr.Markdown(i18n("losses.overlap.help"))
            overlap_plot = _image("losses-overlap-plot")
        with gr.Tab(i18n("losses.section.imbalance"), id="losses-imbalance"):
            with gr.Row():
                sim = [
                    _slider("losses.sim.fg", 0.1, 50, SIM["fg"], 0.1),
                    _slider("losses.sim.recall", 0, 100, SIM["recall"], 1),
                    _slider("losses.sim.fp", 0, 50, SIM["fp"], 0.1),
                    _slider("losses.sim.confidence", 0.55, 0.99, SIM["confidence"], 0.01),
                    _slider("losses.sim.easy", 0.9, 0.9999, SIM["easy"], 0.0001),
                ]
            sim_summary = gr.Markdown(elem_id="losses-sim-summary")
            sim_chart = _image("losses-sim-chart")
            with gr.Row():
                with gr.Column(scale=2, min_width=260):
                    sim_picture = gr.Image(type="numpy", format="png", interactive=False,
                                           label=i18n("losses.sim.picture"), buttons=["fullscreen"])
                with gr.Column(scale=3):
                    gr.Markdown(i18n("losses.sim.help"))
                    gr.Markdown(i18n("losses.sim.settings_help"))
                with gr.Column(scale=2, min_width=240):
                    sim_table = gr.Dataframe(label=i18n("losses.table"), interactive=False, max_height=420,
                                             elem_id="losses-sim-table")
        with gr.Tab(i18n("losses.section.masks"), id="losses-masks"):
            with gr.Row():
                scene = gr.Slider(0, SCENES - 1, value=MASKS["scene"], step=1, label=i18n("losses.masks.scene"),
                                  min_width=180)
                another = gr.Button(i18n("losses.masks.another"), scale=0, min_width=120)
                degrade = [
                    _slider("losses.masks.drop", 0, 5, MASKS["drop"], 1),
                    _slider("losses.masks.grow", -8, 8, MASKS["grow"], 1),
                ]
            with gr.Row():
                degrade += [
                    _slider("losses.masks.shift_x", -24, 24, MASKS["shift_x"], 1),
                    _slider("losses.masks.shift_y", -24, 24, MASKS["shift_y"], 1),
                    _slider("losses.masks.noise", 0, 30, MASKS["noise"], 0.5),
                    _slider("losses.masks.confidence", 0.55, 0.99, MASKS["confidence"], 0.01),
                ]
            gr.Markdown(i18n("losses.masks.help"))
            masks_summary = gr.Markdown(elem_id="losses-masks-summary")
            masks_panels = _image("losses-masks-panels")
            with gr.Row():
                with gr.Column(scale=3):
                    masks_chart = _image("losses-masks-chart")
                with gr.Column(scale=2, min_width=260):
                    masks_table = gr.Dataframe(label=i18n("losses.table"), interactive=False, max_height=420)
            gr.Markdown(i18n("losses.logits_note"))
    with gr.Accordion(i18n("losses.guide.title"), open=False):
        gr.Markdown(i18n("losses.guide"))

    curve_outputs = [focal_plot, overlap_plot]
    sim_outputs = [sim_summary, sim_picture, sim_chart, sim_table]
    mask_inputs = [scene, *degrade]
    mask_outputs = [masks_summary, masks_panels, masks_chart, masks_table]
    _live([alpha, region], run_curves, curve_outputs, "losses_curves")
    _live(sim, run_simulator, sim_outputs, "losses")
    _live(mask_inputs, run_masks, mask_outputs, "losses_masks")
    another.click(lambda: random.randrange(SCENES), outputs=scene, api_visibility="private").then(
        run_masks, inputs=mask_inputs, outputs=mask_outputs, api_visibility="private", **FIGURES_QUEUE)

    @friendly_errors
    def show_defaults(request: gr.Request):
        return (*run_curves(*CURVES.values(), request), *run_simulator(*SIM.values(), request),
                *run_masks(*MASKS.values(), request))

    gr.context.Context.root_block.load(show_defaults, outputs=[*curve_outputs, *sim_outputs, *mask_outputs],
                                       api_visibility="private", **FIGURES_QUEUE)
    pitfalls.panel("losses")  # where the textbook code breaks (segdemo.ui.pitfalls)
