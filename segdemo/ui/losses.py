"""Losses tab: loss curves, an imbalance simulator and degraded real masks.

Logic lives in :mod:`segdemo.lessons.losses` (which calls :mod:`segdemo.losses`), charts in
:mod:`segdemo.charts`; this module only wires the three sections. Charts are JSON text cached per
(settings, language): the first view of the tab costs nothing after the first student.
"""

from __future__ import annotations

import functools
import random

import gradio as gr
import numpy as np
import pandas as pd

from segdemo import charts, workers
from segdemo.lessons import losses as lesson
from segdemo.lessons.pitfalls import Current
from segdemo.palette import colorize
from segdemo.ui import pitfalls
from segdemo.ui.common import FIGURES_QUEUE, chart, chart_value, friendly_errors
from segdemo.ui.i18n import i18n, lang_of, t

NAME = "losses"

CURVES = {"alpha": 1.0, "region": 10.0}
SIM = {"fg": 1.0, "recall": 50.0, "fp": 0.5, "confidence": 0.8, "easy": 0.999}
MASKS = {"scene": 3, "drop": 1, "grow": 2, "shift_x": 4, "shift_y": 0, "noise": 1.0, "confidence": 0.9}
SCENES = 100

def _check(name_key: str, value: float | None, low: float, high: float, lang: str) -> float:
    """A slider value from the browser or the API, refused with a translated message if out of range."""
    if value is None or not low <= float(value) <= high:
        raise gr.Error(t("losses.range", lang, name=t(name_key, lang), low=f"{low:g}", high=f"{high:g}", value=value))
    return float(value)


def _loss_name(name: str, lang: str) -> str:
    return t(f"common.loss.{name}", lang)


# ---------------------------------------------------------------- section 1: curves
@functools.lru_cache(maxsize=64)
def focal_figure(alpha: float, lang: str) -> str:
    """The Focal/CE curves beside their gradients (Lin et al. 2017, Fig. 1), as chart JSON."""
    return charts.to_json(charts.focal_chart(lesson.focal_curves(alpha=alpha), lang))


@functools.lru_cache(maxsize=64)
def overlap_figure(region_percent: float, lang: str) -> str:
    """Dice and Lovász loss against the overlap of a predicted and a true region, as chart JSON."""
    o = lesson.overlap_curves(region_fraction=region_percent / 100)
    return charts.to_json(charts.overlap_chart(o, region_percent, lang))


@friendly_errors
def run_curves(alpha: float, region_percent: float, request: gr.Request):
    """Section 1: (Focal/CE curves with gradients, Dice-against-overlap plot) as Plotly charts."""
    lang = lang_of(request)
    alpha = _check("losses.alpha", alpha, 0.05, 1.0, lang)
    region = _check("losses.region", region_percent, 1.0, 50.0, lang)
    return chart_value(focal_figure(round(alpha, 3), lang)), chart_value(overlap_figure(round(region, 2), lang))


# ---------------------------------------------------------------- section 2: imbalance
@functools.lru_cache(maxsize=64)
def simulator_outputs(fg: float, recall: float, fp: float, confidence: float, easy: float,
                      lang: str) -> tuple[str, str, str, list[list]]:
    """(summary Markdown, picture of the prediction, loss chart, [[loss, value], ...]) for percentages;
    the picture and the chart as chart JSON."""
    r = workers.run(lesson.simulate_imbalance, fg / 100, recall / 100, fp / 100, confidence, easy)
    summary = t("losses.sim.summary", lang, iou=f"{r.iou:.3f}", miou=f"{r.miou:.3f}", fg=r.counts["tp"] + r.counts["fn"],
                tp=r.counts["tp"], fn=r.counts["fn"], fp=r.counts["fp"])
    colours = lesson.outcome_colours()
    legend = charts.outcome_legend(("tn", "tp", "fn", "fp"), colours, lesson.OUTCOMES, lang)
    picture = charts.to_json(charts.pictures([(colours[r.outcome], None)], legend, height=330,
                                             title=t("losses.sim.picture", lang)))
    chart = charts.to_json(charts.imbalance_chart(r, fg, lang))
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
        ``(summary, picture, chart, table)``: a Markdown line with IoU, mIoU and pixel counts; a Plotly chart
        (``{"type": "plotly", "plot": "<figure JSON>"}``) of the prediction (hits, misses, false alarms); a
        Plotly chart of the losses as bars and as the object share varies; and a table ``{"headers": [...], "data": [[loss, value], ...]}`` with the
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
    table_view = pd.DataFrame(table, columns=headers).style.format({headers[1]: "{:.4f}"})
    return summary, chart_value(picture), chart_value(chart), table_view


# ---------------------------------------------------------------- section 3: real masks
@functools.lru_cache(maxsize=64)
def masks_outputs(scene: int, drop: int, grow: int, shift_x: int, shift_y: int, noise: float, confidence: float,
                  lang: str) -> tuple[str, str, str, list[list]]:
    """(summary, [image | truth | prediction | mistakes] pictures, loss chart, [[class, IoU], ...]);
    pictures and chart as chart JSON."""
    computed = workers.run(lesson.masks_lesson, scene, drop, grow, shift_x, shift_y, noise / 100, confidence)
    info, pred, scores = computed.scene, computed.pred, computed.scores
    image, mask, num_classes = info.image, info.mask, len(info.palette)
    colours = lesson.outcome_colours()
    panels = [(image, t("losses.plot.image", lang)), (colorize(mask, info.palette), t("losses.plot.truth", lang)),
              (colorize(pred, info.palette), t("losses.plot.prediction", lang)),
              (colours[computed.outcome], t("losses.plot.mistakes", lang))]
    legend = charts.outcome_legend(("tn", "tp", "fn", "fp", "wrong_class"), colours, lesson.OUTCOMES, lang)
    masks = charts.to_json(charts.pictures(panels, legend, height=360))
    chart = charts.to_json(charts.loss_bars_chart(scores.losses, scores.miou, lang))
    present = [c for c in range(num_classes) if not np.isnan(scores.iou[c])]
    table = [[t("losses.table.iou_of", lang, name=info.names[lang][c]), round(float(scores.iou[c]), 4)]
             for c in present]
    table += [[_loss_name(n, lang), round(v, 4)] for n, v in scores.losses.items()]
    summary = t("losses.masks.summary", lang, miou=f"{scores.miou:.3f}", classes=len(present))
    return summary, masks, chart, table


def _checked_masks(values: tuple, lang: str) -> tuple:
    scene, drop, grow, shift_x, shift_y, noise_percent, confidence = values
    return (
        int(_check("losses.masks.scene", scene, 0, SCENES - 1, lang)),
        int(_check("losses.masks.drop", drop, 0, 5, lang)),
        int(_check("losses.masks.grow", grow, -8, 8, lang)),
        int(_check("losses.masks.shift_x", shift_x, -24, 24, lang)),
        int(_check("losses.masks.shift_y", shift_y, -24, 24, lang)),
        round(_check("losses.masks.noise", noise_percent, 0.0, 30.0, lang), 2),
        round(_check("losses.masks.confidence", confidence, 0.55, 0.99, lang), 4),
    )


def pitfall_input(*values: float, lang: str, request: gr.Request | None = None) -> Current:
    """The pitfalls' input: section 3's scene mask and its degraded prediction, as the sliders set them."""
    scene, drop, grow, shift_x, shift_y, noise, _ = _checked_masks(values, lang)
    info, pred = lesson.masks_pair(scene, drop, grow, shift_x, shift_y, noise / 100)
    return Current(image=info.image, truth=info.mask, pred=pred, num_classes=len(info.palette),
                   label="pitfalls.on.losses")


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
        ``(summary, masks, chart, table)``: mIoU line; image | truth | prediction | mistakes and the loss
        bar chart as Plotly charts;
        ``[[class or loss, value], ...]`` with the IoU of each class present, then every loss.
    """
    lang = lang_of(request)
    args = _checked_masks((scene, drop, grow, shift_x, shift_y, noise_percent, confidence), lang)
    summary, masks, chart, table = masks_outputs(*args, lang)
    headers = [t("losses.table.measure", lang), t("losses.table.value", lang)]
    # Shown with four decimals (1.0000 beside 0.1054); the API still gets the numbers.
    table_view = pd.DataFrame(table, columns=headers).style.format({headers[1]: "{:.4f}"})
    return summary, chart_value(masks), chart_value(chart), table_view


# ---------------------------------------------------------------- layout
def _slider(key: str, low: float, high: float, value: float, step: float) -> gr.Slider:
    return gr.Slider(low, high, value=value, step=step, label=i18n(key), min_width=180)


def _image(elem_id: str) -> gr.Plot:
    return chart(elem_id=elem_id)


def _live(sliders: list[gr.Slider], fn, outputs: list, api_name: str) -> None:
    # "input" fires while dragging (and on Enter in the number box, which "release" misses); always_last
    # keeps at most one request per student waiting behind the running one, the newest: a drag does not
    # queue a request per pixel of movement, and the page follows the slider while the class drags.
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
                    sim_picture = chart(elem_id="losses-sim-picture")
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
    pitfalls.panel("losses", mask_inputs, pitfall_input)  # where the textbook code breaks, on section 3's masks
