"""mIoU tab: score masks (one pair, many files, a zip, or a shipped model on a scene) and explain each number.

Logic lives in :mod:`segdemo.lessons.miou` and :mod:`segdemo.metrics`, the heatmaps in :mod:`segdemo.charts`;
this module wires.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from segdemo import charts, serving
from segdemo.lessons import miou as lesson
from segdemo.lessons.pitfalls import Current
from segdemo.palette import enlarge, scene_classes, voc_palette
from segdemo.ui import pitfalls
from segdemo.ui.common import FIGURES_QUEUE, chart, chart_value, friendly_errors, picture_image
from segdemo.ui.i18n import i18n, lang_of, t

NAME = "miou"
#: Softmax probability the convention table's loss logits give each predicted label.
CONFIDENCE = 0.9


#: Columns of the per-class and per-image tables (``miou.col.*`` strings).
CLASS_COLUMNS = ("id", "name", "iou", "dice", "precision", "recall", "pixels")
IMAGE_COLUMNS = ("image", "miou", "accuracy", "pixels")


def _num(x: float | None) -> str:
    return "—" if x is None or np.isnan(x) else f"{x:.4f}"


def heatmaps(report: lesson.Report, lang: str) -> str:
    """The confusion matrix as counts and row-normalised (rows = truth, columns = prediction), as chart JSON."""
    return charts.to_json(charts.confusion_chart(report.confusion, report.names, lang))


def _outputs(pairs: list[lesson.Pair], num_classes: float | None, ignore_index: float | None, names_text: str | None,
             lang: str, binary: bool = True):
    ignore = None if ignore_index is None or int(ignore_index) < 0 else int(ignore_index)
    names = [n.strip() for n in (names_text or "").split(",") if n.strip()]
    reading = lesson.read_labels(pairs, int(num_classes or 0) or None, ignore, bool(binary))
    pairs, ignore = reading.pairs, reading.ignore_index
    if reading.binary and not names:
        names = [t("miou.class.background", lang), t("miou.class.foreground", lang)]
    report = lesson.evaluate(pairs, reading.num_classes, ignore, names)
    m = report.metrics
    summary = t("miou.summary", lang, miou=_num(m["miou"]), mean=_num(report.mean_of_images),
                acc=_num(m["pixel_accuracy"]), macc=_num(m["mean_accuracy"]), fwiou=_num(m["fwiou"]),
                mdice=_num(m["mdice"]), n=len(pairs), k=report.num_classes)
    if reading.note:
        summary = t(reading.note, lang) + "\n\n" + summary
    if len(pairs) > 1:
        summary += "\n\n" + t("miou.why_differ", lang)
    columns = [t(f"miou.col.{c}", lang) for c in CLASS_COLUMNS]
    # Absent classes have no IoU: "—" on the page, None (null) for API clients.
    per_class = pd.DataFrame(lesson.class_rows(report), columns=columns).style.format(na_rep="—", precision=4)
    per_image = pd.DataFrame([[r["image"], _num(r["miou"]), _num(r["pixel_accuracy"]), r["pixels"]]
                              for r in report.per_image],
                             columns=[t(f"miou.col.{c}", lang) for c in IMAGE_COLUMNS])
    first = pairs[0]
    errors = enlarge(lesson.error_map(first.pred, first.truth, ignore))  # a 96-px scene stays visible
    csv_path, json_path = lesson.export(report)
    summary += "\n\n" + t("miou.error_caption", lang, name=first.name)
    return (summary, per_class, chart_value(heatmaps(report, lang)), errors, per_image, [str(csv_path), str(json_path)],
            conventions_markdown(report, lang))


def conventions_markdown(report: lesson.Report, lang: str) -> str:
    """The report's numbers under segdemo's, torchmetrics' and smp's conventions, as a Markdown table."""
    rows = lesson.conventions(report, confidence=CONFIDENCE)
    header = f"| {t('miou.conv.quantity', lang)} | segdemo | torchmetrics | smp |\n|---|---:|---:|---:|"
    body = "\n".join(f"| {t(f'miou.conv.{key}', lang)} | " + " | ".join(_num(v) for v in values) + " |"
                     for key, *values in rows)
    return "\n\n".join((t("miou.conv.title", lang), header + "\n" + body,
                         t("miou.conv.explain", lang, confidence=CONFIDENCE)))


@friendly_errors
def score_files(truths: list[str] | None, preds: list[str] | None, archive: str | None, palette: str,
                num_classes: float | None, ignore_index: float | None, names: str | None, request: gr.Request,
                binary: bool = True):
    """Score uploaded masks.

    Args:
        truths: ground-truth mask files (index/palette PNG, colour PNG with ``palette``, ``.npy``).
        preds: prediction files, matched to ``truths`` by name (one pair needs no matching names).
        archive: alternatively a zip with two folders, ``gt/`` and ``pred/``.
        palette: ``"none"``, ``"voc"`` or ``"scenes"`` (for RGB colour masks).
        num_classes: K, or 0 to detect it.
        ignore_index: label to ignore (255), or -1 for none.
        names: optional comma-separated class names.
        binary: read a set of 0/255 masks as background/foreground (255 is then not ignored); a note says so.

    Returns:
        (summary, per-class table, confusion heatmaps (a Plotly chart: ``{"type": "plotly", "plot": JSON}``), error map, per-image table, [CSV, JSON],
        the same numbers under torchmetrics' and smp's conventions)
    """
    lang = lang_of(request)
    pal = lesson.palette_by_name(palette)
    pairs = lesson.pairs_from_zip(archive, pal) if archive else lesson.pairs_from_files(truths or [], preds or [], pal)
    return _outputs(pairs, num_classes, ignore_index, names, lang, binary)


def score_files_ui(truths: list[str] | None, preds: list[str] | None, archive: str | None, palette: str,
                   num_classes: float | None, ignore_index: float | None, names: str | None, binary: bool,
                   request: gr.Request):
    """:func:`score_files` for the page's button: with a side missing, one message where the summary goes
    and every other output cleared (no error badges on five outputs beside a stale summary)."""
    if not archive and not (truths and preds):
        lang = lang_of(request)
        per_class = pd.DataFrame(columns=[t(f"miou.col.{c}", lang) for c in CLASS_COLUMNS])
        per_image = pd.DataFrame(columns=[t(f"miou.col.{c}", lang) for c in IMAGE_COLUMNS])
        return t("miou.waiting", lang), per_class, None, None, per_image, None, ""
    return score_files(truths, preds, archive, palette, num_classes, ignore_index, names, request, binary)


@friendly_errors
def score_model(model: str | None, scene: float, request: gr.Request):
    """Score a shipped model's prediction of a synthetic scene (same outputs as ``/miou``)."""
    lang = lang_of(request)
    if not model:
        raise gr.Error(t("miou.no_models", lang))
    outputs = _score_model(model, int(scene), lang)
    if not all(Path(path).exists() for path in outputs[EXPORTS]):
        # The temp sweep deletes downloads after an hour (tempfiles.EXPORT_MAX_AGE); a cached answer
        # pointing at them would fail in Gradio for every later student. Compute it again.
        _score_model.cache_clear()
        outputs = _score_model(model, int(scene), lang)
    return outputs


#: Index of the downloads (report CSV and JSON paths) in the outputs of :func:`_outputs`.
EXPORTS = 5


@functools.lru_cache(maxsize=32)
def _score_model(model: str, scene: int, lang: str):
    # Deterministic, and shown on every page load: computed once, not once per student.

    pair = lesson.pair_from_model(model, scene)
    names = scene_classes()["names_zh" if lang == "zh" else "names"]
    return _outputs([pair], len(names), 255, ",".join(names), lang)


def pitfall_input(truths: list[str] | None, preds: list[str] | None, archive: str | None, palette: str,
                  model: str | None, scene: float, *, lang: str, request: gr.Request | None = None) -> Current:
    """The pitfalls' input: the first uploaded pair if there is one, else the model's prediction of the scene."""
    if archive or (truths and preds):
        pal = lesson.palette_by_name(palette)
        pairs = lesson.pairs_from_zip(archive, pal) if archive else lesson.pairs_from_files(truths, preds, pal)
        first = pairs[0]
        return Current(truth=first.truth, pred=first.pred, palette=voc_palette(), label="pitfalls.on.miou_upload")
    if not model:
        raise gr.Error(t("miou.no_models", lang))
    pair = lesson.pair_from_model(model, int(scene))
    return Current(truth=pair.truth, pred=pair.pred, num_classes=len(scene_classes()["names"]),
                   label="pitfalls.on.miou_model")


def shipped_names(lang: str) -> list[tuple[str, str]]:
    """The shipped models as ``(name in lang, key)`` pairs."""
    return [(c.display.get(lang, c.display["en"]), c.key) for c in serving.choices() if c.key.startswith("shipped:")]


def _relabel_models(request: gr.Request) -> dict:
    return gr.update(choices=shipped_names(lang_of(request)))


def build() -> None:
    """Render the mIoU tab inside the current ``gr.Tab``."""
    gr.Markdown(i18n("miou.intro"))
    with gr.Row():
        with gr.Column(scale=2, min_width=320):
            with gr.Tabs():
                with gr.Tab(i18n("miou.mode.files")):
                    truths = gr.File(file_count="multiple", type="filepath", label=i18n("miou.truths"), height=110,
                                     elem_id="miou-truths")
                    preds = gr.File(file_count="multiple", type="filepath", label=i18n("miou.preds"), height=110,
                                    elem_id="miou-preds")
                    archive = gr.File(file_types=[".zip"], type="filepath", label=i18n("miou.zip"), height=110)
                    with gr.Row():
                        palette = gr.Radio([(i18n("miou.palette.none"), "none"), ("VOC", "voc"),
                                            (i18n("miou.palette.scenes"), "scenes")], value="none",
                                           label=i18n("miou.palette"))
                    with gr.Row():
                        num_classes = gr.Number(0, precision=0, minimum=0, maximum=256, label=i18n("miou.k"))
                        ignore = gr.Number(255, precision=0, minimum=-1, maximum=255, label=i18n("miou.ignore"))
                    names = gr.Textbox(label=i18n("miou.names"), placeholder=i18n("miou.names_placeholder"))
                    binary = gr.Checkbox(True, label=i18n("miou.binary"), elem_id="miou-binary")
                    run_files = gr.Button(i18n("miou.run"), variant="primary", elem_id="miou-run")
                with gr.Tab(i18n("miou.mode.model")):
                    options = shipped_names("en")  # relabelled in the reader's language on load
                    model = gr.Dropdown(options, value=serving.default_key() if options else None, label=i18n("miou.model"))
                    scene = gr.Slider(0, 99, value=5, step=1, label=i18n("miou.scene"))
                    run_model = gr.Button(i18n("miou.run_model"), variant="primary", elem_id="miou-run-model")
        with gr.Column(scale=3):
            summary = gr.Markdown(elem_id="miou-summary")
            per_class = gr.Dataframe(label=i18n("miou.per_class"), interactive=False, elem_id="miou-per-class")
            downloads = gr.File(label=i18n("miou.downloads"), file_count="multiple", interactive=False)
            conventions = gr.Markdown(elem_id="miou-conventions")
    with gr.Row():
        with gr.Column(scale=3):
            # The caption as Markdown: an image's label badge covered the matrix's first row.
            gr.Markdown(i18n("miou.heatmaps_caption"))
            heat = chart(elem_id="miou-heat")
        with gr.Column(scale=1, min_width=260):
            errors = picture_image(label=i18n("miou.error_map"), elem_id="miou-errors")
            gr.Markdown(i18n("miou.legend"))
    per_image = gr.Dataframe(label=i18n("miou.per_image"), interactive=False)
    with gr.Accordion(i18n("miou.formulas_title"), open=False):
        gr.Markdown(i18n("miou.formulas"), latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                             {"left": "$", "right": "$", "display": False}])

    outputs = [summary, per_class, heat, errors, per_image, downloads, conventions]
    file_inputs = [truths, preds, archive, palette, num_classes, ignore, names, binary]
    run_files.click(score_files_ui, inputs=file_inputs, outputs=outputs, api_visibility="private", **FIGURES_QUEUE)
    # The API keeps the strict handler (a call without masks is an error there); a button nobody sees carries it.
    api_button = gr.Button(visible=False)
    api_button.click(score_files, inputs=file_inputs, outputs=outputs, api_name="miou", **FIGURES_QUEUE)
    run_model.click(score_model, inputs=[model, scene], outputs=outputs, api_name="miou_model", **FIGURES_QUEUE)
    gr.context.Context.root_block.load(_relabel_models, outputs=model, api_visibility="private", queue=False)
    if options:
        gr.context.Context.root_block.load(score_model, inputs=[model, scene], outputs=outputs,
                                           api_visibility="private", **FIGURES_QUEUE)
    # where the textbook code breaks, on the pair this tab scores (segdemo.ui.pitfalls)
    pitfalls.panel("miou", [truths, preds, archive, palette, model, scene], pitfall_input)
