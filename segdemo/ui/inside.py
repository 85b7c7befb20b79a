"""Inside tab: receptive fields, dilation and ASPP, output stride, upsampling and feature maps.

Logic lives in :mod:`segdemo.lessons.inside`; this module lays out the five sections and words their
pictures. Sections compute when opened (or on their button), not when the page loads: each costs up to a
couple of seconds of CPU, and most visitors of the app never open this tab.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
import pandas as pd

from segdemo import serving
from segdemo.imageio import load_image
from segdemo.lessons import inside as lesson
from segdemo.lessons import inside_models
from segdemo.lessons import segment as segment_lesson
from segdemo.ui.common import FIGURES_QUEUE, friendly_errors, picture_gallery, picture_image, upload_image
from segdemo.ui.i18n import i18n, lang_of, t

NAME = "inside"
SCENES = 100
DEFAULT_SCENE = 3
BLANK = np.full((64, 64, 3), 235, np.uint8)


def _model_name(key: str, lang: str) -> str:
    """The model's name in ``lang`` (from its checkpoint card: nothing is loaded)."""
    return model_options([key], lang)[0][0]


def model_options(keys: list[str], lang: str) -> list[tuple[str, str]]:
    """``(name in lang, key)`` for the model pickers (one pass over the picker's choices, not one per key)."""
    names = {c.key: c.display for c in serving.choices()}
    return [(names[key].get(lang, names[key]["en"]) if key in names else key.partition(":")[2], key) for key in keys]


def _relabel_models(request: gr.Request):
    options = model_options(inside_models.shipped_keys(), lang_of(request))
    return gr.update(choices=options), gr.update(choices=options), gr.update(choices=options)


def _read(source: str, scene: float | None, upload: str | None, lang: str,
          size: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The working image (and the scene's truth) of the inputs; scenes drawn at ``size``."""
    if source == "upload":
        if not upload:
            raise gr.Error(t("err.no_input", lang))
        loaded = load_image(upload, max_side=segment_lesson.max_side())
        return lesson.work_image(loaded.array), None
    image, truth = segment_lesson.scene(int(scene or 0), size or lesson.SCENE_SIZE)
    return np.asarray(image), np.asarray(truth)


def _point(image: np.ndarray, x: float | None, y: float | None) -> tuple[int, int]:
    return lesson.check_point(image, None if x is None or y is None else (y, x))


def _deeplab_key() -> str:
    keys = lesson.available((lesson.DEEPLAB,))
    if not keys:
        raise gr.Error(t("err.inside_missing", "en", name=lesson.DEEPLAB))
    return keys[0]


def _deeplab_size() -> int:
    """The DeepLab sections draw scenes at the size the model was validated on (objects at its scale)."""
    return inside_models.load(_deeplab_key()).card.get("validation", {}).get("size") or lesson.SCENE_SIZE


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


# ---------------------------------------------------------------- input
@friendly_errors
def show_input(source: str, scene: float, upload: str | None, request: gr.Request):
    """The working image with its centre marked, and the centre as the clicked point."""
    lang = lang_of(request)
    image, _ = _read(source, scene, upload, lang)
    y, x = lesson.check_point(image, None)
    return lesson.marked(image, (y, x)), x, y


@friendly_errors
def pick(source: str, scene: float, upload: str | None, evt: gr.SelectData, request: gr.Request):
    """A click on the image: that pixel becomes the point."""
    image, _ = _read(source, scene, upload, lang_of(request))
    x, y = (int(v) for v in evt.index[:2])
    y, x = lesson.check_point(image, (y, x))
    return lesson.marked(image, (y, x)), x, y


# ---------------------------------------------------------------- 1 · receptive field
@friendly_errors
def receptive_field(source: str, scene: float, upload: str | None, x: float, y: float, keys: list[str] | None,
                    request: gr.Request):
    """(gallery of receptive fields, table of numbers) at pixel (x, y) for the chosen models."""
    lang = lang_of(request)
    image, _ = _read(source, scene, upload, lang)
    point = _point(image, x, y)
    views = lesson.receptive_fields(list(keys or []), image, point)
    gallery, rows = [], []
    for view in views:
        name = _model_name(view.key, lang)
        gallery.append((view.picture, t("inside.rf.caption", lang, name=name, rf=f"{view.theory.size:.0f}",
                                        radius=f"{view.erf_radius:.0f}")))
        rows.append([name, int(view.theory.size),
                     t("inside.rf.global_yes" if view.theory.is_global else "inside.rf.global_no", lang),
                     round(view.erf_radius, 1), view.class_name.get(lang, view.class_name["en"]), round(view.ms)])
    columns = [t(f"inside.rf.col.{c}", lang) for c in ("model", "theory", "global", "erf", "class", "ms")]
    return gallery, pd.DataFrame(rows, columns=columns)


@friendly_errors
def layers(key: str | None, request: gr.Request) -> pd.DataFrame:
    """The convolutions, poolings and resamplings of one model with the field after each."""
    lang = lang_of(request)
    if not key:
        raise gr.Error(t("err.inside_no_models", lang))
    _, steps = lesson.theory(key)
    rows = [[layer.name, layer.kernel, f"{layer.stride:g}", layer.dilation, f"{layer.field.size:g}",
             f"{layer.field.jump:g}"] for layer in steps]
    return pd.DataFrame(rows, columns=[t(f"inside.rf.col.{c}", lang)
                                       for c in ("layer", "kernel", "stride", "dilation", "r", "j")])


# ---------------------------------------------------------------- 2 · dilation and ASPP
@friendly_errors
def dilation(source: str, scene: float, upload: str | None, x: float, y: float, rate: float, stack_a: str,
             stack_b: str, request: gr.Request):
    """(taps at rate r, ASPP's taps, coverage A, coverage B, summary)."""
    lang = lang_of(request)
    image, _ = _read(source, scene, upload, lang)
    point = _point(image, x, y)
    if rate is None or not 1 <= int(rate) <= 64:
        raise gr.Error(t("err.inside_rates", lang, text=rate))
    a, b = lesson.parse_rates(stack_a), lesson.parse_rates(stack_b)
    loaded = inside_models.load(_deeplab_key())
    rates_px = inside_models.aspp_rates_px(loaded)
    aspp = inside_models.aspp_of(loaded.model)
    picture_a, holes_a, total_a = lesson.coverage_picture(a)
    picture_b, holes_b, total_b = lesson.coverage_picture(b)
    summary = t("inside.dil.summary", lang, a=", ".join(map(str, a)), b=", ".join(map(str, b)), holes_a=holes_a,
                holes_b=holes_b, total_a=total_a, total_b=total_b, os=loaded.model.backbone.output_stride,
                rates=", ".join(map(str, aspp.rates)), px=", ".join(map(str, rates_px)))
    return (lesson.taps_picture(image, point, [int(rate)]), lesson.taps_picture(image, point, rates_px),
            picture_a, picture_b, summary)


def _branch_label(branch: str, lang: str, rates: tuple[int, ...], rates_px: list[int]) -> str:
    if branch.startswith("rate"):
        index = int(branch[-1]) - 1
        return t(f"inside.branch.{branch}", lang, r=f"{rates[index]} ({rates_px[index]} px)")
    return t(f"inside.branch.{branch}", lang)


@friendly_errors
def aspp(source: str, scene: float, upload: str | None, request: gr.Request):
    """(ablation table: stored validation numbers + live ones, note, gallery of predictions)."""
    lang = lang_of(request)
    key = _deeplab_key()
    image, truth = _read(source, scene, upload, lang, _deeplab_size())
    variants = lesson.aspp_variants(image, truth, key)
    loaded = inside_models.load(key)
    rates, rates_px = inside_models.aspp_of(loaded.model).rates, inside_models.aspp_rates_px(loaded)
    stored = lesson.stored_ablation()
    by_branch = {row["branch"]: row for row in (stored or {}).get("aspp_ablation", [])}
    rows, gallery = [], []
    for v in variants:
        label = _branch_label(v.label, lang, rates, rates_px)
        row = by_branch.get(v.label, {})
        rows.append([label, _fmt(row.get("miou")), _fmt(row.get("delta_miou")) if row else "–",
                     _fmt(row.get("boundary_f")), _fmt(v.miou), round(v.ms)])
        caption = (t("inside.aspp.caption", lang, branch=label, miou=_fmt(v.miou)) if v.miou is not None
                   else t("inside.aspp.caption_plain", lang, branch=label))
        gallery.append((lesson.enlarge_to(v.picture, 192), caption))
    columns = [t(f"inside.aspp.col.{c}", lang) for c in ("branch", "miou", "delta", "bf", "live", "ms")]
    return pd.DataFrame(rows, columns=columns), _stored_note(stored, lang), gallery


def _stored_note(stored: dict | None, lang: str) -> str:
    if not stored:
        return t("inside.aspp.missing", lang)
    spec = stored["validation"]
    return t("inside.aspp.stored", lang, n=spec["n"], size=spec["size"], tol=stored["boundary_tolerance_px"],
             command=stored["command"], date=stored["date"][:10])


# ---------------------------------------------------------------- 3 · output stride
@friendly_errors
def output_stride(source: str, scene: float, upload: str | None, request: gr.Request):
    """(table: stored validation numbers + live ones, note, gallery of predictions at OS 8/16/32)."""
    lang = lang_of(request)
    key = _deeplab_key()
    image, truth = _read(source, scene, upload, lang, _deeplab_size())
    stored = lesson.stored_ablation()
    by_stride = {row["output_stride"]: row for row in (stored or {}).get("output_stride", [])}
    rows, gallery = [], []
    for v in lesson.stride_variants(image, truth, key):
        stride, (h, w) = v.detail["stride"], v.detail["map"]
        rates = ", ".join(map(str, v.detail["rates"]))
        if v.detail["rounded"]:
            rates = t("inside.os.rounded", lang, rates=rates)
        row = by_stride.get(stride, {})
        rows.append([stride, rates, f"{h}×{w}", _fmt(row.get("miou")), _fmt(row.get("boundary_f")),
                     _fmt(row.get("latency_ms_256"), 1), _fmt(v.miou), _fmt(v.boundary_f), round(v.ms)])
        caption = (t("inside.os.caption_scored", lang, os=stride, h=h, w=w, miou=_fmt(v.miou)) if v.miou is not None
                   else t("inside.os.caption", lang, os=stride, h=h, w=w))
        gallery.append((lesson.enlarge_to(v.picture, 192), caption))
    columns = [t(f"inside.os.col.{c}", lang) for c in ("os", "rates", "map", "val_miou", "val_bf", "latency",
                                                       "live_miou", "live_bf", "live_ms")]
    return pd.DataFrame(rows, columns=columns), _stored_note(stored, lang), gallery


# ---------------------------------------------------------------- 4 · upsampling
@friendly_errors
def upsampling(source: str, scene: float, upload: str | None, random_kernels: bool, request: gr.Request):
    """(gallery on a constant map, gallery on FCN-8s scores, FCN stage gallery)."""
    lang = lang_of(request)
    image, _ = _read(source, scene, upload, lang)
    lab = lesson.upsampling_lab(image, bool(random_kernels))
    constant, features = [], []
    for u in lab:
        caption = t("inside.up.caption", lang, method=t(f"inside.up.method.{u.method}", lang), ripple=f"{u.ripple:.2f}")
        constant.append((u.constant, caption))
        features.append((u.features, t(f"inside.up.method.{u.method}", lang)))
    stages = []
    for model, stage, picture, size in lesson.fcn_stages(image):
        name = _model_name(lesson.key_of(model), lang)
        stage_name = t("inside.up.stage.out", lang) if stage == "out" else stage
        if picture is None:
            stages.append((BLANK, t("inside.up.no_stage", lang, model=name, stage=stage_name)))
        else:
            stages.append((picture, t("inside.up.fcn_caption", lang, model=name, stage=stage_name, h=size[0], w=size[1])))
    return constant, features, stages


# ---------------------------------------------------------------- 5 · feature maps
@friendly_errors
def feature_maps(source: str, scene: float, upload: str | None, key: str | None, request: gr.Request):
    """Gallery: one strip of the most active channels per stage."""
    lang = lang_of(request)
    if not key:
        raise gr.Error(t("err.inside_no_models", lang))
    image, _ = _read(source, scene, upload, lang)
    return [(s.picture, t("inside.fm.caption", lang, stage=s.name, h=s.size[0], w=s.size[1],
                          stride=f"{s.stride:g}", channels=s.channels))
            for s in lesson.feature_maps(key, image)]


def _union(lists) -> list:
    """The components of ``lists`` in first-seen order, each once."""
    out: list = []
    for items in lists:
        out += [item for item in items if all(item is not seen for seen in out)]
    return out


def build() -> None:
    """Render the Inside tab inside the current ``gr.Tab``."""
    keys = inside_models.shipped_keys()
    options = model_options(keys, "en")  # relabelled in the reader's language on load
    rf_default = lesson.available(lesson.RF_MODELS)
    gr.Markdown(i18n("inside.intro"))
    with gr.Row():
        with gr.Column(scale=1, min_width=280):
            source = gr.Radio([(i18n("inside.source.scene"), "scene"), (i18n("inside.source.upload"), "upload")],
                              value="scene", label=i18n("inside.source"))
            scene = gr.Slider(0, SCENES - 1, value=DEFAULT_SCENE, step=1, label=i18n("inside.scene"))
            upload = upload_image(sources=["upload", "clipboard"], label=i18n("inside.upload"), visible=False,
                                  height=220)
            with gr.Row():
                x = gr.Number(label=i18n("inside.x"), precision=0, elem_id="inside-x")
                y = gr.Number(label=i18n("inside.y"), precision=0, elem_id="inside-y")
        with gr.Column(scale=1, min_width=280):
            picked = picture_image(label=i18n("inside.click"), height=300, elem_id="inside-image")
    point_inputs = [source, scene, upload, x, y]
    with gr.Tabs():
        with gr.Tab(i18n("inside.section.rf"), elem_id="inside-rf") as rf_tab:
            gr.Markdown(i18n("inside.rf.help"))
            with gr.Row():
                models_box = gr.CheckboxGroup(options, value=rf_default, label=i18n("inside.rf.models"), scale=3,
                                              elem_id="inside-rf-models")
                rf_run = gr.Button(i18n("inside.rf.run"), variant="primary", scale=1)
            rf_gallery = picture_gallery(label=i18n("inside.rf.gallery"), columns=4, height="auto",
                                         elem_id="inside-rf-gallery")
            rf_table = gr.Dataframe(label=i18n("inside.rf.table"), interactive=False, elem_id="inside-rf-table")
            with gr.Accordion(i18n("inside.rf.layers"), open=False):
                layer_model = gr.Dropdown(options, value=rf_default[-1] if rf_default else None,
                                          label=i18n("inside.rf.layer_model"))
                layer_table = gr.Dataframe(interactive=False, max_height=400, elem_id="inside-rf-layers")
        with gr.Tab(i18n("inside.section.dilation"), elem_id="inside-dilation") as dil_tab:
            gr.Markdown(i18n("inside.dil.help"))
            with gr.Row():
                rate = gr.Slider(1, 32, value=6, step=1, label=i18n("inside.dil.rate"))
                stack_a = gr.Textbox("2, 2, 2", label=i18n("inside.dil.stack_a"))
                stack_b = gr.Textbox("1, 2, 5", label=i18n("inside.dil.stack_b"))
                dil_run = gr.Button(i18n("inside.dil.run"), variant="primary")
            with gr.Row():
                taps = picture_image(label=i18n("inside.dil.taps"), height=280)
                aspp_taps = picture_image(label=i18n("inside.dil.aspp_taps"), height=280,
                                     elem_id="inside-aspp-taps")
                cov_a = picture_image(label=i18n("inside.dil.coverage_a"), height=280)
                cov_b = picture_image(label=i18n("inside.dil.coverage_b"), height=280,
                                 elem_id="inside-coverage-b")
            dil_summary = gr.Markdown(elem_id="inside-dil-summary")
            gr.Markdown(i18n("inside.aspp.help"))
            aspp_run = gr.Button(i18n("inside.aspp.run"))
            aspp_table = gr.Dataframe(label=i18n("inside.aspp.table"), interactive=False, elem_id="inside-aspp-table")
            aspp_note = gr.Markdown()
            aspp_gallery = picture_gallery(label=i18n("inside.aspp.gallery"), columns=6, height="auto",
                                           elem_id="inside-aspp-gallery")
        with gr.Tab(i18n("inside.section.stride"), elem_id="inside-stride") as os_tab:
            gr.Markdown(i18n("inside.os.help"))
            os_run = gr.Button(i18n("inside.os.run"), variant="primary")
            os_table = gr.Dataframe(label=i18n("inside.os.table"), interactive=False, elem_id="inside-os-table")
            os_note = gr.Markdown()
            os_gallery = picture_gallery(label=i18n("inside.os.gallery"), columns=3, height="auto",
                                         elem_id="inside-os-gallery")
        with gr.Tab(i18n("inside.section.upsampling"), elem_id="inside-upsampling") as up_tab:
            gr.Markdown(i18n("inside.up.help"))
            with gr.Row():
                random_kernels = gr.Checkbox(False, label=i18n("inside.up.random"))
                up_run = gr.Button(i18n("inside.up.run"), variant="primary")
            up_constant = picture_gallery(label=i18n("inside.up.constant"), columns=5, height="auto",
                                          elem_id="inside-up-constant-gallery")
            up_features = picture_gallery(label=i18n("inside.up.features"), columns=5, height="auto",
                                          elem_id="inside-up-features-gallery")
            fcn_gallery = picture_gallery(label=i18n("inside.up.fcn"), columns=4, height="auto",
                                          elem_id="inside-fcn-gallery")
        with gr.Tab(i18n("inside.section.features"), elem_id="inside-features") as fm_tab:
            gr.Markdown(i18n("inside.fm.help"))
            with gr.Row():
                fm_model = gr.Dropdown(options, value=lesson.key_of("unet") if lesson.key_of("unet") in keys else
                                       (keys[0] if keys else None), label=i18n("inside.fm.model"))
                fm_run = gr.Button(i18n("inside.fm.run"), variant="primary")
            fm_gallery = picture_gallery(label=i18n("inside.fm.gallery"), columns=5, height="auto", object_fit="contain",
                                         elem_id="inside-fm-gallery")

    private = {"api_visibility": "private"}
    rf = {"fn": receptive_field, "inputs": [*point_inputs, models_box], "outputs": [rf_gallery, rf_table],
          **FIGURES_QUEUE}
    dil = {"fn": dilation, "inputs": [*point_inputs, rate, stack_a, stack_b],
           "outputs": [taps, aspp_taps, cov_a, cov_b, dil_summary], **FIGURES_QUEUE}
    asp = {"fn": aspp, "inputs": [source, scene, upload], "outputs": [aspp_table, aspp_note, aspp_gallery],
           **FIGURES_QUEUE}
    ost = {"fn": output_stride, "inputs": [source, scene, upload], "outputs": [os_table, os_note, os_gallery],
           **FIGURES_QUEUE}
    ups = {"fn": upsampling, "inputs": [source, scene, upload, random_kernels],
           "outputs": [up_constant, up_features, fcn_gallery], **FIGURES_QUEUE}
    fms = {"fn": feature_maps, "inputs": [source, scene, upload, fm_model], "outputs": fm_gallery, **FIGURES_QUEUE}
    lay = {"fn": layers, "inputs": layer_model, "outputs": layer_table}
    shown = {"fn": show_input, "inputs": [source, scene, upload], "outputs": [picked, x, y]}

    source.change(lambda s: (gr.Slider(visible=s == "scene"), gr.Image(visible=s == "upload")), inputs=source,
                  outputs=[scene, upload], **private)
    # A new picture redraws the section on screen (the others redraw when opened): the page remembers which
    # one it shows in a hidden textbox, set by each section's select event.
    sections = {"rf": [rf], "dil": [dil, asp], "os": [ost], "ups": [ups], "fms": [fms]}
    current = gr.Textbox("rf", visible=False)
    redraw_inputs, redraw_outputs = _union(e["inputs"] for es in sections.values() for e in es), \
        _union(e["outputs"] if isinstance(e["outputs"], list) else [e["outputs"]]
               for es in sections.values() for e in es)

    @friendly_errors
    def redraw(request: gr.Request, section: str, *values):  # the request first: Gradio injects it by position
        by_input = dict(zip(redraw_inputs, values, strict=True))
        out = {o: gr.skip() for o in redraw_outputs}
        for event in sections.get(section, []):
            result = event["fn"](*(by_input[i] for i in event["inputs"]), request)
            outputs = event["outputs"] if isinstance(event["outputs"], list) else [event["outputs"]]
            out.update(zip(outputs, result if len(outputs) > 1 else [result], strict=True))
        return [out[o] for o in redraw_outputs]

    # "input", not "release": Enter in the slider's number box fires only "input" (always_last: a drag leaves
    # at most one redraw waiting)
    for trigger in (scene.input, upload.change):
        trigger(**shown, **private, trigger_mode="always_last").success(
            redraw, inputs=[current, *redraw_inputs], outputs=redraw_outputs, **private, **FIGURES_QUEUE)
    for name, section_tab in (("rf", rf_tab), ("dil", dil_tab), ("os", os_tab), ("ups", up_tab), ("fms", fm_tab)):
        section_tab.select(lambda name=name: name, outputs=current, queue=False, **private)
    picked.select(pick, inputs=[source, scene, upload], outputs=[picked, x, y], **private).success(
        **rf, **private).success(**dil, **private)
    rf_run.click(**rf, api_name="inside_rf")
    dil_run.click(**dil, api_name="inside_dilation")
    aspp_run.click(**asp, api_name="inside_aspp")
    os_run.click(**ost, api_name="inside_output_stride")
    up_run.click(**ups, api_name="inside_upsampling")
    random_kernels.change(**ups, **private)
    fm_run.click(**fms, api_name="inside_features")
    fm_model.change(**fms, **private)
    layer_model.change(**lay, api_name="inside_layers")
    rf_tab.select(**rf, **private)
    dil_tab.select(**dil, **private).success(**asp, **private)
    os_tab.select(**ost, **private)
    up_tab.select(**ups, **private)
    fm_tab.select(**fms, **private)
    root = gr.context.Context.root_block
    root.load(**shown, **private)  # cheap: the image to click on
    root.load(_relabel_models, outputs=[models_box, layer_model, fm_model], queue=False, **private)
    tab = gr.context.Context.block
    if isinstance(tab, gr.Tab):  # opening the tab draws the first section
        tab.select(**rf, **private).success(**lay, **private)
