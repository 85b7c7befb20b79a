"""Segment tab: pick an architecture, segment a synthetic scene or your own image, compare models.

Logic lives in :mod:`segdemo.lessons.segment`; models come from :mod:`segdemo.serving`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import gradio as gr
import pandas as pd

from segdemo import serving
from segdemo.imageio import load_image
from segdemo.lessons import segment as lesson
from segdemo.lessons.pitfalls import Current
from segdemo.lessons.train import SESSION_PREFIX
from segdemo.models import list_models, model_card
from segdemo.palette import colorize, overlay, scene_classes, to_hex, voc_classes
from segdemo.ui import attention as attention_view
from segdemo.ui import pitfalls
from segdemo.ui.common import (
    SEGMENT_QUEUE,
    class_masks_image,
    friendly_errors,
    picture_gallery,
    upload_image,
    warning,
)
from segdemo.ui.i18n import i18n, lang_of, t

NAME = "segment"
SCENES = 100
DEFAULT_SCENE = 3
#: Scenes shown as clickable examples (varied: several classes, overlaps, objects at the border).
EXAMPLES = (3, 0, 7, 12, 21, 33, 42, 58)


def _label(choice: serving.Choice, lang: str) -> str:
    name = choice.display.get(lang, choice.display["en"])
    if choice.key.startswith(SESSION_PREFIX):
        return name  # "Your run 2: U-Net · dice · val mIoU 0.41" already
    if choice.key.startswith("shipped:"):  # sorted by family; named where the model's name does not say it
        score = t("segment.val_score", lang, miou=f"{choice.miou:.2f}") if choice.miou is not None else ""
        if not name.startswith(choice.family):  # "Real-time · Fast-SCNN", but not "FCN · FCN-8s"
            name = f"{t(f'segment.family.{choice.family}', lang)} · {name}"
        return t("segment.choice_shipped", lang, name=name, score=score)
    state = "segment.cached" if choice.cached else "segment.download" if choice.available else "segment.unavailable"
    return t("segment.choice_pretrained", lang, name=name, state=t(state, lang))


def model_dropdown_choices(lang: str, user: str | None = None) -> list[tuple[str, str]]:
    return [(_label(c, lang), c.key) for c in serving.choices(user)]


def card_markdown(key: str | None, lang: str, user: str | None = None) -> str:
    """The model card beside the picker: paper, year, key idea, params, GFLOPs, weights, val mIoU."""
    if not key:
        return t("segment.no_models", lang)

    c = serving.choice(key, user)
    lines = [f"### {c.display.get(lang, c.display['en'])}"]
    if c.model in list_models():
        info = model_card(c.model, None, 21)
        lines += [f"**{info['paper']}** ({info['year']}) · [{t('segment.paper', lang)}]({info['url']})",
                  "", info["idea"][lang], "",
                  t("segment.card_numbers", lang, params=f"{c.params or info['params']:,}",
                    gflops=f"{info['gflops_512']:.1f}")]
    lines.append(t("segment.trained_on", lang, data=c.trained_on.get(lang, c.trained_on["en"])))
    if c.miou is not None and key.startswith("shipped:"):  # a session run's score is in its name
        lines.append(t("segment.val_miou", lang, miou=f"{c.miou:.3f}"))
        stem = key.partition(":")[2]
        note = next((card.get("note") for card in serving.shipped() if Path(card["stem"]).name == stem), None)
        if isinstance(note, dict):  # e.g. a checkpoint that stopped short of the zoo's target, and why
            lines.append(f"*{note.get(lang) or note.get('en', '')}*")
    if not c.available:  # the one clear message, where the model is described (no error badges)
        error = serving.unavailable_error(key)
        lines.append(t(error.key, lang, **error.params))
    elif not c.cached:
        lines.append(t("segment.needs_download", lang))
    return "\n\n".join(lines)


def legend_colours() -> dict[str, str]:
    """Legend colour of every class name a model here can answer with (scene and VOC, en and zh).

    Fixed when the page is built, so that the handler returns a plain value (see class_masks_image);
    the masks themselves carry their model's exact colours. Scene classes win a shared name.
    """
    colours: dict[str, str] = {}
    for classes in (voc_classes(), scene_classes()):
        for names in (classes["names"], classes["names_zh"]):
            colours.update({name: to_hex(colour) for name, colour in zip(names, classes["palette"], strict=True)})
    return colours


def _pick_example(evt: gr.SelectData):
    """A click on an example scene: show the scene controls at that scene (then it is segmented)."""
    return "scene", EXAMPLES[evt.index], gr.update(visible=False)


def _pick_photo(evt: gr.SelectData):
    """A click on an example photo: it becomes the uploaded image (then it is segmented)."""
    return "upload", gr.update(), gr.update(value=lesson.example_photo(lesson.example_photos()[evt.index]), visible=True)


def _read_input(source: str, scene: float, image_path: str | None, lang: str, size: int | None = None):
    if source == "scene":  # at the size the model was trained on: objects at the scale it knows
        image, truth = lesson.scene(int(scene), size)
        return image, truth
    if not image_path:
        raise gr.Error(t("err.no_input", lang))
    loaded = load_image(image_path, max_side=lesson.max_side())
    for key, params in loaded.notices:
        warning(t(key, lang, **params), lang)
    return loaded.array, None


def pitfall_input(source: str, scene: float, image: str | None, model: str | None, *, lang: str,
                  request: gr.Request | None = None) -> Current:
    """The pitfalls' input: the picture this tab segments (a scene at the chosen model's size, or the upload)."""
    size = serving.choice(model, _user(request)).size if model else None
    array, _ = _read_input(source, scene, image, lang, size)
    return Current(image=array, label=f"pitfalls.on.segment_{'scene' if source == 'scene' else 'upload'}")


@friendly_errors
def segment(source: str, scene: float, image: str | None, model: str | None, compare: list[str] | None,
            opacity: float, request: gr.Request,
            progress: gr.Progress = gr.Progress()):  # noqa: B008 - Gradio finds the bar by its default
    """Segment an image.

    Args:
        source: ``"scene"`` (a synthetic scene, ground truth known) or ``"upload"``.
        scene: scene number 0..99 (with ``source="scene"``).
        image: path of an uploaded image (with ``source="upload"``).
        model: a model key from the picker, e.g. ``"shipped:unet"``.
        compare: up to 3 more model keys to run on the same image.
        opacity: mask opacity 0..1.

    Returns:
        (original/overlay pair, annotated image, confidence map, class table, summary, compare gallery)
    """
    lang, user = lang_of(request), _user(request)
    if not model:
        raise gr.Error(t("segment.no_models", lang))
    if not 0.0 <= float(opacity) <= 1.0:
        raise gr.Error(t("segment.bad_opacity", lang))
    keys = [model] + [k for k in (compare or []) if k != model]
    if len(keys) > lesson.MAX_COMPARE:
        raise gr.Error(t("segment.too_many", lang, n=lesson.MAX_COMPARE))
    image_array, truth = _read_input(source, scene, image, lang, serving.choice(model, user).size)
    for key in keys:  # published weights download once, with a progress bar in the page
        chosen = serving.choice(key, user)
        if not chosen.available:  # offline: the one clear message, without trying the network
            raise serving.unavailable_error(key)
        if not chosen.cached:
            desc = t("segment.downloading", lang, name=chosen.display.get(lang, key))
            serving.ensure_weights(key, lambda done, total, desc=desc: progress(done / total if total else None, desc=desc))
    results, truths = [], []
    for key in keys:  # the chosen model first; on a scene, each model sees it drawn at the size it knows
        key_image, key_truth = (image_array, truth) if key == model or source != "scene" else \
            _read_input(source, scene, None, lang, serving.choice(key, user).size)
        results.append(lesson.run(key, key_image, key_truth, user))
        truths.append(key_truth)
    main = results[0]
    names = main.names_zh if lang == "zh" else main.names
    view = lesson.present(main, image_array, float(opacity), names)
    annotations = [(mask, names[k] if k < len(names) else str(k),
                    to_hex(main.palette[k]) if k < len(main.palette) else "#ff0000") for mask, k in view.masks]
    table = pd.DataFrame([[k, name, round(share, 2)] for k, name, share in view.classes],
                         columns=[t("segment.col_id", lang), t("segment.col_class", lang), t("segment.col_share", lang)])
    tm = main.segmentation.timings
    summary = t("segment.timing", lang, pre=f"{tm['preprocess']:.1f}", fwd=f"{tm['forward']:.1f}",
                post=f"{tm['postprocess']:.1f}", device=main.segmentation.device,
                precision=main.segmentation.precision,
                h=image_array.shape[0], w=image_array.shape[1])
    if main.miou is not None:
        summary += "  \n" + t("segment.score", lang, miou=f"{main.miou:.3f}")
    if source != "scene" and not model.startswith("pretrained:"):
        summary += "  \n" + t("segment.photo_hint", lang)
    gallery = []
    # One row per model (_reveal sets the columns): on a scene its prediction, error map and the
    # ground truth at the size that model saw; the mIoU right after the name, as a caption is one line.
    for r, r_truth in zip(results, truths, strict=True) if len(results) > 1 or truth is not None else []:
        choice = serving.choice(r.key, user)
        name = choice.display.get(lang, choice.display["en"])
        if r.miou is not None:
            name += f" · mIoU {r.miou:.3f}"
        caption = t("segment.caption", lang, name=name, ms=f"{r.segmentation.timings['forward']:.0f}",
                    params=f"{(choice.params or r.params or 0):,}")
        gallery.append((colorize(r.segmentation.labels, r.palette), caption))
        if r_truth is not None:
            if r.miou is not None:
                gallery.append((lesson.error_map(r.segmentation.labels, r_truth), t("segment.error_caption", lang)))
            gallery.append((colorize(r_truth, main.palette), t("segment.truth", lang, h=r_truth.shape[0],
                                                                w=r_truth.shape[1])))
    _remember(user, {"image": image_array, "labels": main.segmentation.labels, "palette": main.palette})
    return ((image_array, view.overlay), (image_array, annotations),
            view.confidence, table, summary, gallery)


#: The last result of the most recent sessions, for :func:`redraw`. Server-side rather than a gr.State:
#: a State makes every page keep a heartbeat connection open. Bounded: at most ~4 MB per session.
_LAST: OrderedDict[str, dict] = OrderedDict()
_LAST_SESSIONS = 32
_LAST_LOCK = threading.Lock()


def _remember(user: str | None, result: dict) -> None:
    if user is None:
        return
    with _LAST_LOCK:
        _LAST[user] = result
        _LAST.move_to_end(user)
        while len(_LAST) > _LAST_SESSIONS:
            _LAST.popitem(last=False)


def redraw(opacity: float, request: gr.Request) -> tuple | dict:
    """The overlay of this session's last result at a new opacity: no model runs, so the slider answers
    at once (a blend, ~1 ms). Before any result (or long after), nothing changes."""
    with _LAST_LOCK:
        last = _LAST.get(_user(request) or "")
    if not last:
        return gr.update()
    image = last["image"]
    return image, overlay(image, last["labels"], last["palette"], float(min(max(opacity, 0.0), 1.0)))


def _reveal(source: str, model: str | None, compare: list[str] | None) -> tuple[dict, dict]:
    """After a segmentation: show the class table (hidden before: an empty one shows placeholder
    headers "1 2 3"), and the compare gallery only when :func:`segment` fills it: a scene (its ground
    truth) or more than one model; an upload segmented by one model would leave an empty box.
    The gallery has one row per model: prediction, error map, truth on a scene; on an upload, the
    predictions side by side."""
    models = 1 + len({k for k in compare or [] if k != model})
    columns = 3 if source == "scene" else min(models, lesson.MAX_COMPARE)
    return gr.update(visible=source == "scene" or models > 1, columns=columns), gr.update(visible=True)


def _user(request: gr.Request | None) -> str | None:
    return request.session_hash if request is not None else None


@friendly_errors
def refresh(model: str | None, compare: list[str] | None, request: gr.Request):
    """The picker in the reader's language, with the models they trained this session."""
    lang, user = lang_of(request), _user(request)
    options = model_dropdown_choices(lang, user)
    keys = [k for _, k in options]
    kept = [k for k in (compare or []) if k in keys]
    if model in keys:
        # Values left alone: "Open in Segment" may be setting the picker at this very moment.
        return (gr.update(choices=options), gr.update(choices=options, **({} if kept == compare else {"value": kept})),
                card_markdown(model, lang, user))
    value = serving.default_key()
    return (gr.update(choices=options, value=value), gr.update(choices=options, value=kept),
            card_markdown(value, lang, user))


@friendly_errors
def show_card(model: str | None, request: gr.Request) -> str:
    return card_markdown(model, lang_of(request), _user(request))


def build() -> None:
    """Render the Segment tab inside the current ``gr.Tab``."""
    gr.Markdown(i18n("segment.intro"))
    # On a 1280×720 projector the button and its result share one screen: pickers and the button first,
    # the result beside them; the example galleries (clicking one segments it too) below the button.
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            options = model_dropdown_choices("en")  # relabelled in the reader's language on load
            # Keys are checked by the handler, not by Gradio's list of choices: an API client's
            # "session:..." model (its own Train run) is not in the list the page was built with.
            # A name typed into the page that is no model gets the handler's clear message.
            picker = {"allow_custom_value": True}
            model = gr.Dropdown(options, value=serving.default_key(), label=i18n("segment.model"),
                                elem_id="segment-model", **picker)
            compare = gr.Dropdown(options, value=[], multiselect=True, max_choices=lesson.MAX_COMPARE - 1,
                                  label=i18n("segment.compare"), elem_id="segment-compare", **picker)
            # A new model, comparison or scene recomputes by itself; the button is for what it cannot see
            # (an upload) and to run again: it sits right under the pickers.
            run = gr.Button(i18n("segment.run"), variant="primary", elem_id="segment-run")
            source = gr.Radio([(i18n("segment.source_scene"), "scene"), (i18n("segment.source_upload"), "upload")],
                              value="scene", label=i18n("segment.source"))
            scene = gr.Slider(0, SCENES - 1, value=DEFAULT_SCENE, step=1, label=i18n("segment.scene"),
                              elem_id="segment-scene")
            image = upload_image(sources=["upload", "webcam", "clipboard"], label=i18n("segment.image"),
                                 visible=False, height=260)
            opacity = gr.Slider(0, 1, value=0.55, step=0.05, label=i18n("segment.opacity"))
            examples = gr.Gallery([(lesson.scene(i)[0], f"{i}") for i in EXAMPLES], columns=4, rows=2,
                                  height=250, allow_preview=False, object_fit="cover", label=i18n("segment.examples"),
                                  elem_id="segment-examples")
            photos = gr.Gallery([lesson.example_photo(name) for name in lesson.example_photos()],
                                columns=4, rows=1, height=130, allow_preview=False, object_fit="cover",
                                label=i18n("segment.photos"), elem_id="segment-photos")
        with gr.Column(scale=3, min_width=320):
            # Photographs and blends go out as JPEG, flat label maps as PNG: WebP (Gradio's default)
            # costs ~20× JPEG's encoding time per image, and thirty students share two cores.
            slider = gr.ImageSlider(label=i18n("segment.slider"), type="numpy", height=400, format="jpeg",
                                    elem_id="segment-slider")
            summary = gr.Markdown(elem_id="segment-summary")
            card = gr.Markdown(elem_id="segment-card")
    with gr.Row():
        annotated = class_masks_image(label=i18n("segment.annotated"), height=320, format="jpeg",
                                      color_map=legend_colours())
        confidence = gr.Image(label=i18n("segment.confidence"), type="numpy", interactive=False, height=320,
                              format="jpeg")
        table = gr.Dataframe(label=i18n("segment.table"), interactive=False, visible=False,
                             elem_id="segment-table")
    # shown when there is something to compare: several models, or a scene's ground truth (_reveal)
    gallery = picture_gallery(label=i18n("segment.gallery"), columns=4, height="auto", elem_id="segment-gallery",
                             visible=False)
    with gr.Accordion(i18n("segment.guide_title"), open=False):
        gr.Markdown(i18n("segment.guide"))
    attention_view.build()  # click a point, see where each attention layer looks

    source.change(lambda s: (gr.Slider(visible=s == "scene"), gr.Image(visible=s == "upload")), inputs=source,
                  outputs=[scene, image], api_visibility="private")
    inputs = [source, scene, image, model, compare, opacity]
    outputs = [slider, annotated, confidence, table, summary, gallery]
    shown = {"fn": _reveal, "inputs": [source, model, compare], "outputs": [gallery, table],
             "api_visibility": "private", "queue": False, "show_progress": "hidden"}  # no spinner flash
    run.click(segment, inputs=inputs, outputs=outputs, api_name="segment", **SEGMENT_QUEUE).success(**shown)
    examples.select(_pick_example, outputs=[source, scene, image], api_visibility="private").then(
        segment, inputs=inputs, outputs=outputs, api_visibility="private", **SEGMENT_QUEUE).success(**shown)
    photos.select(_pick_photo, outputs=[source, scene, image], api_visibility="private").then(
        segment, inputs=inputs, outputs=outputs, api_visibility="private", **SEGMENT_QUEUE).success(**shown)
    model.change(show_card, inputs=model, outputs=card, api_visibility="private")
    # Controls react: a new model, comparison or scene recomputes (models are cached, a run is ~10-60 ms);
    # the opacity redraws the last result. No control leaves results on screen that it no longer describes.
    again = {"fn": segment, "inputs": inputs, "outputs": outputs, "api_visibility": "private",
             "trigger_mode": "always_last", **SEGMENT_QUEUE}
    model.input(**again).success(**shown)
    compare.input(**again).success(**shown)
    scene.input(**again).success(**shown)  # "input": also Enter in the number box, which "release" misses
    opacity.release(redraw, inputs=opacity, outputs=slider, api_visibility="private", queue=False,
                    show_progress="hidden")
    if serving.default_key():  # the default scene, segmented: the tab opens on a result, not on empty boxes
        gr.context.Context.root_block.load(segment, inputs=inputs, outputs=outputs, api_visibility="private",
                                           **SEGMENT_QUEUE).success(**shown)
    gr.context.Context.root_block.load(refresh, inputs=[model, compare], outputs=[model, compare, card],
                                       api_visibility="private")
    tab = gr.context.Context.block
    if isinstance(tab, gr.Tab):  # coming back from the Train tab: its new models appear in the picker
        tab.select(refresh, inputs=[model, compare], outputs=[model, compare, card], api_visibility="private")
    # where the textbook code breaks, on the picture this tab shows (segdemo.ui.pitfalls)
    pitfalls.panel("segment", [source, scene, image, model], pitfall_input)
