"""Augment tab: a seeded grid of augmented image/mask pairs, the pipeline's switches, one transform alone,
an alignment check and export to Python/JSON.

Logic lives in :mod:`segdemo.augment` (the same pipelines the training CLI uses); this module loads the
source, calls it and lays out the pictures.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import threading
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from segdemo import workers
from segdemo.augment import CATALOGUE, PRESETS, preset_steps
from segdemo.augment.export import steps_from_json, steps_from_text, to_json, to_python
from segdemo.augment.pipeline import untouched_probability
from segdemo.errors import InputError
from segdemo.lessons import augment as lesson
from segdemo.lessons.pitfalls import Current
from segdemo.palette import colorize, overlay
from segdemo.tempfiles import temp_root
from segdemo.ui import pitfalls
from segdemo.ui.common import FIGURES_QUEUE, friendly_errors, info, picture_gallery, picture_image
from segdemo.ui.i18n import i18n, lang_of, t
from segdemo.ui.lesson import page_query

NAME = "augment"

DEFAULTS = {"source": "synthetic", "scene": 4, "preset": "course", "n": 8, "seed": 7, "size": 256,
            "explore": "Affine"}
SIZES = (128, 192, 256, 384, 512)
MAX_SAMPLES = 16
MAX_PARAMS = max(len(info.params) for info in CATALOGUE.values())


# ---------------------------------------------------------------- helpers
def _number(key: str, value: Any, low: float, high: float, lang: str) -> float:
    if value is None or not low <= float(value) <= high:
        raise gr.Error(t("augment.range", lang, name=t(key, lang), low=f"{low:g}", high=f"{high:g}", value=value))
    return float(value)


def parse_pipeline(text: str | None, lang: str = "en") -> list[dict[str, Any]]:
    """Steps from a preset name, a JSON list of steps, or albumentations JSON (translated errors)."""
    try:
        return steps_from_text(text)
    except InputError:
        raise
    except ValueError as exc:
        raise gr.Error(t("augment.bad_pipeline", lang, detail=str(exc))) from None


@functools.lru_cache(maxsize=32)
def _export_texts(steps_json: str, size: int) -> tuple[str, str]:
    # A class mostly exports the same few pipelines; each export builds the pipeline (~5 ms).
    steps = json.loads(steps_json)
    return to_python(steps, size=size, normalize=True), to_json(steps, size=size, normalize=True)


def _write_exports(code: str, json_text: str) -> tuple[str, str]:
    # One folder per distinct pipeline: files keep readable names and repeated views reuse them.
    folder = temp_root() / "augment" / hashlib.sha1((code + json_text).encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for path, text in ((folder / "augment_pipeline.py", code), (folder / "augment_pipeline.json", json_text)):
        if not path.exists():  # write then rename: a concurrent request never serves half a file
            tmp = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        paths.append(str(path))
    return paths[0], paths[1]


# Gradio draws gallery thumbnails square; the samples are image | mask | overlay strips (3 : 1 plus gaps).
_CSS = """<style>
#augment-grid, #augment-explore { --ratio-square: 97 / 32; }
#augment-pipeline .augment-kind { margin-top: 0.6em; font-weight: 600; }
#augment-pipeline .augment-group { font-style: italic; }
#augment-pipeline .augment-member { padding-left: 1.5em; }
</style>"""


def _strip(panels: dict[str, np.ndarray]) -> np.ndarray:
    size = panels["image"].shape[0]
    return lesson.hstack([panels["image"], panels["mask"], panels["overlay"]], gap=max(2, size // 64))


def _source_preview(image: np.ndarray, mask: np.ndarray, palette: np.ndarray) -> np.ndarray:
    return lesson.hstack([image, colorize(mask, palette), overlay(image, mask, palette)])


def _applied_text(sample: lesson.Sample, lang: str) -> str:
    """What ran on ``sample``, and whether it changed anything at all."""
    if not sample.applied:
        return t("augment.nothing", lang)
    text = lesson.format_applied(sample.applied)
    return text + " " + t("augment.no_effect", lang) if sample.unchanged else text


def _caption(i: int, sample: lesson.Sample, lang: str) -> str:
    """A caption that fits under a thumbnail: the one transform with its values, or the first and how many
    more (the table below lists every transform with its values)."""
    names = [name for name, _ in sample.applied]
    if not names:
        text = t("augment.nothing", lang)
    elif len(names) == 1:  # one transform: its values fit (e.g. "Affine(rotate=90.0, scale=1.0)")
        text = lesson.format_applied(sample.applied)
    else:
        text = t("augment.caption.more", lang, first=names[0], more=len(names) - 1)
    if sample.unchanged and names:
        text += " " + t("augment.caption.same", lang)
    return f"#{i + 1} · {text}"


# ---------------------------------------------------------------- handlers
def _grid(source: str, scene: float, image: str | None, mask: str | None, steps: list[dict[str, Any]], n: float,
          seed: float, size: float, lang: str):
    """Check the numbers, load the source, augment: ``(lesson.Grid, source preview, n, seed, size)``."""
    n = int(_number("augment.n", n, 1, MAX_SAMPLES, lang))
    seed = int(_number("augment.seed", seed, 0, 2**31 - 1, lang))
    size = int(_number("augment.size", size, 0, max(SIZES), lang))
    if size not in SIZES:
        raise gr.Error(t("augment.range", lang, name=t("augment.size", lang), low=SIZES[0], high=SIZES[-1],
                         value=size))
    scene = int(_number("augment.scene", scene, 0, lesson.SCENES - 1, lang))
    if source not in ("synthetic", "upload"):
        raise gr.Error(t("augment.range", lang, name=t("augment.source", lang), low="synthetic", high="upload",
                         value=source))
    grid = workers.run(lesson.augmented_grid, source, scene, image, mask, steps, n=n, seed=seed, size=size)
    for key in grid.notices:
        info(t(key, lang), lang)
    return grid, _source_preview(grid.image, grid.mask, grid.palette), n, seed, size


def pitfall_input(source: str, scene: float, image: str | None, mask: str | None, *, lang: str,
                  request: gr.Request | None = None) -> Current:
    """The pitfalls' input: the source image and mask this tab augments."""
    scene = int(_number("augment.scene", scene, 0, lesson.SCENES - 1, lang))
    img, msk, palette, _ = lesson.load_source("upload" if source == "upload" else "synthetic", scene, image, mask)
    return Current(image=img, truth=msk, palette=palette,
                   label="pitfalls.on.augment_upload" if source == "upload" else "pitfalls.on.augment_scene")


def _strips(computed: lesson.Grid, lang: str) -> list[tuple[np.ndarray, str]]:
    return [(_strip(panels), _caption(i, s, lang))
            for i, (s, panels) in enumerate(zip(computed.samples, computed.panels, strict=True))]


@friendly_errors
def run_augment(source: str, scene: float, image: str | None, mask: str | None, pipeline: str, n: float,
                seed: float, size: float, request: gr.Request):
    """A seeded grid of augmented pairs (API name ``augment``).

    Args:
        source: ``"synthetic"`` (a generated scene) or ``"upload"`` (``image`` and optional ``mask``).
        scene: synthetic scene index, 0–99.
        image: path of an image (upload only).
        mask: path of its mask: index/palette PNG, grey PNG, VOC colour PNG or ``.npy`` (optional; without
            it a checkerboard shows how a mask would move).
        pipeline: a preset (``"none"``, ``"light"``, ``"course"``), a JSON list of steps
            (``[{"name": "Affine", "p": 0.5, "params": {"rotate": 30}}, ...]``) or albumentations JSON.
        n: number of samples, 1–16. seed: the pipeline's seed (same seed, same grid). size: output side,
            one of 128, 192, 256, 384, 512.

    Returns:
        ``(grid, alignment, summary, applied, source preview, python code, python file, json file)``: the
        grid's items are ``image | mask | overlay`` strips captioned with the transforms that ran; ``applied``
        is a table ``[["#1", "HorizontalFlip · Affine(rotate=-12.3, scale=1.05)"], ...]``; alignment items are
        the augmented images with the mask's outlines drawn on them.
    """
    lang = lang_of(request)
    steps = parse_pipeline(pipeline, lang)
    computed, preview, n, seed, size = _grid(source, scene, image, mask, steps, n, seed, size, lang)
    samples = computed.samples
    grid, align, rows = [], [], []
    for i, (sample, panels) in enumerate(zip(samples, computed.panels, strict=True)):
        grid.append((_strip(panels), _caption(i, sample, lang)))
        align.append((panels["contours"], f"#{i + 1}"))
        rows.append([f"#{i + 1}", _applied_text(sample, lang)])
    borders = sum(lesson.ignored_fraction(s.mask) > 0 for s in samples)
    unchanged = sum(s.unchanged for s in samples)
    summary = t("augment.summary", lang, n=n, seed=seed, size=size, borders=borders, unchanged=unchanged)
    if unchanged:  # the course's probabilities leave some samples as they were: say so, in one line
        same = lesson.identical_fraction(steps)
        summary += "\n\n" + t("augment.why_unchanged", lang, skip=f"{100 * untouched_probability(steps):.1f}",
                                draws=lesson.IDENTITY_DRAWS, percent=f"{100 * same:.1f}",
                                expected=f"{n * same:.1f}", n=n)
    table = pd.DataFrame(rows, columns=[t("augment.table.sample", lang), t("augment.table.applied", lang)])
    code, json_text = _export_texts(json.dumps(steps, sort_keys=True), size)
    py_path, json_path = _write_exports(code, json_text)
    return grid, align, summary, table, preview, code, py_path, json_path


def _waiting_for_upload(source: str, image: str | None) -> bool:
    return source == "upload" and not image


def run_augment_ui(source: str, scene: float, image: str | None, mask: str | None, pipeline: str, n: float,
                   seed: float, size: float, request: gr.Request):
    """``run_augment`` for the page's own events: waits quietly until an image is uploaded."""
    if _waiting_for_upload(source, image):
        return [gr.skip()] * 8
    return run_augment(source, scene, image, mask, pipeline, n, seed, size, request)


def run_explore_ui(source: str, scene: float, image: str | None, mask: str | None, transform: str, v1: float,
                   v2: float, v3: float, n: float, seed: float, size: float, request: gr.Request):
    """``run_explore`` for the page's own events: waits quietly until an image is uploaded."""
    if _waiting_for_upload(source, image):
        return [gr.skip()] * 2
    return run_explore(source, scene, image, mask, transform, v1, v2, v3, n, seed, size, request)


def _explore_steps(transform: str, values: tuple[float, ...]) -> list[dict[str, Any]]:
    if transform not in CATALOGUE:
        raise ValueError(f"unknown transform {transform!r}; the catalogue has {sorted(CATALOGUE)}")
    params = {p.name: v for p, v in zip(CATALOGUE[transform].params, values, strict=False)}
    return [{"name": transform, "p": 1.0, "params": params}]


@friendly_errors
def run_explore(source: str, scene: float, image: str | None, mask: str | None, transform: str, v1: float,
                v2: float, v3: float, n: float, seed: float, size: float, request: gr.Request):
    """One catalogue transform alone, always applied (API name ``augment_explore``).

    Args:
        source, scene, image, mask, n, seed, size: as for ``augment``.
        transform: a catalogue name, e.g. ``"Affine"``, ``"ElasticTransform"``, ``"HueSaturationValue"``.
        v1, v2, v3: its parameters in catalogue order (extra values are ignored).

    Returns:
        ``(grid, explanation)``: ``image | mask | overlay`` strips with the drawn values, and one line of text.
    """
    lang = lang_of(request)
    steps = _explore_steps(transform, (v1, v2, v3))
    computed, *_ = _grid(source, scene, image, mask, steps, n, seed, size, lang)
    info = CATALOGUE[transform]
    kind, explanation = t(f"augment.kind.{info.kind}", lang), t(f"augment.t.{transform}", lang)
    text = f"**{transform}** · {kind} — {explanation}"
    return _strips(computed, lang), text


@friendly_errors
def explore_sliders(transform: str, request: gr.Request):
    """Relabel and reset the three explore sliders for ``transform``."""
    lang = lang_of(request)
    info = CATALOGUE[transform]
    updates = []
    for i in range(MAX_PARAMS):
        if i < len(info.params):
            p = info.params[i]
            updates.append(gr.update(visible=True, minimum=p.low, maximum=p.high, step=p.step, value=p.default,
                                     label=t(f"augment.param.{transform}.{p.name}", lang)))
        else:
            updates.append(gr.update(visible=False))
    return updates


def controls_to_pipeline(*values: Any) -> str:
    """The JSON steps of the switches and sliders."""
    return json.dumps(lesson.steps_from_controls(lesson.unflatten(values)))


def preset_to_controls(preset: str) -> list[Any]:
    """Switch and slider values of ``preset``, then its JSON steps."""
    steps = preset_steps(preset)
    return [*lesson.flatten(lesson.controls_from_steps(steps)), json.dumps(steps)]


@friendly_errors
def json_to_controls(path: str | None, request: gr.Request) -> list[Any]:
    """Read an albumentations JSON file into the switches, the output size and the steps."""
    lang = lang_of(request)
    if not path:
        raise gr.Error(t("err.no_input", lang))
    name = Path(path).name
    steps, size, _ = steps_from_json(Path(path).read_bytes(), name=name)
    try:
        values = lesson.controls_from_steps(steps)
    except ValueError as exc:
        raise gr.Error(t("augment.bad_pipeline", lang, detail=str(exc))) from None
    info(t("augment.loaded_json", lang, name=name), lang)
    size = min(SIZES, key=lambda s: abs(s - size))
    return [*lesson.flatten(values), size, json.dumps(steps)]


# ---------------------------------------------------------------- layout
def _control(key: str, value: Any) -> gr.components.Component:
    name, field = key.rsplit(".", 1)
    if key.startswith("group."):
        return gr.Slider(0, 1, value=value, step=0.05, label=i18n("augment.group_p"), min_width=160)
    if field == "enabled":
        return gr.Checkbox(value=value, label=name, info=i18n(f"augment.t.{name}"), min_width=260, scale=3)
    if field == "p":
        return gr.Slider(0, 1, value=value, step=0.05, label=i18n("augment.p"), min_width=120, scale=1)
    param = next(p for p in CATALOGUE[name].params if p.name == field)
    return gr.Slider(param.low, param.high, value=value, step=param.step,
                     label=i18n(f"augment.param.{name}.{field}"), min_width=140, scale=1)


def _pipeline_controls() -> list[gr.components.Component]:
    """The switches and sliders, in :func:`segdemo.lessons.augment.control_keys` order."""
    values = lesson.controls_from_steps(preset_steps(DEFAULTS["preset"]))
    made: dict[str, gr.components.Component] = {}
    kind = None
    for name, group in lesson.TEMPLATE:
        info = CATALOGUE[name]
        if info.kind != kind:
            kind = info.kind
            gr.Markdown(i18n(f"augment.kind.{kind}"), elem_classes=["augment-kind"])
        if group and f"group.{group}.p" not in made:
            with gr.Row(equal_height=True):
                gr.Markdown(i18n(f"augment.group.{group}"), elem_classes=["augment-group"])
                made[f"group.{group}.p"] = _control(f"group.{group}.p", values[f"group.{group}.p"])
        with gr.Row(equal_height=True, elem_classes=["augment-row"] + (["augment-member"] if group else [])):
            for key in [f"{name}.enabled", f"{name}.p"] + [f"{name}.{p.name}" for p in info.params]:
                made[key] = _control(key, values[key])
            for _ in range(MAX_PARAMS - len(info.params)):  # keep the columns aligned
                gr.HTML("", min_width=140, scale=1)
    return [made[key] for key in lesson.control_keys()]


def build() -> None:
    """Render the Augment tab inside the current ``gr.Tab``."""
    gr.HTML(_CSS, apply_default_css=False, js_on_load=None)
    gr.Markdown(i18n("augment.intro"))
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            source = gr.Radio([(i18n("augment.source.synthetic"), "synthetic"), (i18n("augment.source.upload"), "upload")],
                              value=DEFAULTS["source"], label=i18n("augment.source"))
            scene = gr.Slider(0, lesson.SCENES - 1, value=DEFAULTS["scene"], step=1, label=i18n("augment.scene"))
            image = gr.File(label=i18n("augment.image"), file_types=["image"], visible=False)
            mask = gr.File(label=i18n("augment.mask"), file_types=[".png", ".npy", ".bmp", ".tif", ".tiff", ".gif"],
                           visible=False)
            preview = picture_image(label=i18n("augment.source_preview"),
                               buttons=["fullscreen"], elem_id="augment-source")
            preset = gr.Dropdown([(i18n(f"augment.preset.{p}"), p) for p in PRESETS], value=DEFAULTS["preset"],
                                 label=i18n("augment.preset"), elem_id="augment-preset")
            with gr.Row(equal_height=True):
                seed = gr.Number(DEFAULTS["seed"], precision=0, minimum=0, label=i18n("augment.seed"), min_width=100,
                                 elem_id="augment-seed")
                reroll = gr.Button(i18n("augment.reroll"), variant="primary", size="md", min_width=100,
                                   elem_id="augment-reroll")
            n = gr.Slider(1, MAX_SAMPLES, value=DEFAULTS["n"], step=1, label=i18n("augment.n"))
            size = gr.Radio(list(SIZES), value=DEFAULTS["size"], label=i18n("augment.size"))
        with gr.Column(scale=3):
            summary = gr.Markdown(elem_id="augment-summary")
            with gr.Tabs():
                with gr.Tab(i18n("augment.view.grid"), id="augment-grid-tab"):
                    grid = picture_gallery(label=i18n("augment.grid"), columns=2, object_fit="contain",
                                      height=640, elem_id="augment-grid", buttons=["fullscreen"])
                    applied = gr.Dataframe(label=i18n("augment.applied"), interactive=False, wrap=True,
                                           max_height=440, column_widths=["12%", "88%"],
                                           elem_id="augment-applied")
                with gr.Tab(i18n("augment.view.align"), id="augment-align-tab"):
                    gr.Markdown(i18n("augment.align.help"))
                    align = picture_gallery(label=i18n("augment.align"), columns=4, object_fit="contain",
                                       height=640, elem_id="augment-align", buttons=["fullscreen"])
                with gr.Tab(i18n("augment.view.explore"), id="augment-explore-tab"):
                    gr.Markdown(i18n("augment.explore.help"))
                    with gr.Row(equal_height=True):
                        transform = gr.Dropdown(list(CATALOGUE), value=DEFAULTS["explore"],
                                                label=i18n("augment.explore.transform"), min_width=200)
                        first = CATALOGUE[DEFAULTS["explore"]].params
                        knobs = []
                        for i in range(MAX_PARAMS):
                            p = first[i] if i < len(first) else None
                            knobs.append(gr.Slider(p.low if p else 0, p.high if p else 1, step=p.step if p else 0.1,
                                                   value=p.default if p else 0, visible=p is not None,
                                                   label=i18n(f"augment.param.{DEFAULTS['explore']}.{p.name}")
                                                   if p else None, min_width=160))
                    explain = gr.Markdown(elem_id="augment-explain")
                    explore_grid = picture_gallery(label=i18n("augment.explore.grid"), columns=2,
                                                  object_fit="contain", height=640, elem_id="augment-explore")
    with gr.Accordion(i18n("augment.pipeline"), open=False, elem_id="augment-pipeline"):
        gr.Markdown(i18n("augment.pipeline.help"))
        controls = _pipeline_controls()
    with gr.Accordion(i18n("augment.export"), open=False, elem_id="augment-export"):
        gr.Markdown(i18n("augment.export.help"))
        with gr.Row(equal_height=True):
            download_py = gr.DownloadButton(i18n("augment.download_py"), elem_id="augment-download-py")
            download_json = gr.DownloadButton(i18n("augment.download_json"), elem_id="augment-download-json")
            load_json = gr.File(label=i18n("augment.load_json"), file_types=[".json"])
        code = gr.Code(language="python", label=i18n("augment.code"), interactive=False, lines=12, max_lines=30)
        steps_box = gr.Textbox(json.dumps(preset_steps(DEFAULTS["preset"])), label=i18n("augment.steps"),
                               visible="hidden", elem_id="augment-steps")
    with gr.Accordion(i18n("augment.guide.title"), open=False):
        gr.Markdown(i18n("augment.guide"))

    src_inputs = [source, scene, image, mask]
    main_inputs = [*src_inputs, steps_box, n, seed, size]
    main_outputs = [grid, align, summary, applied, preview, code, download_py, download_json]
    explore_inputs = [*src_inputs, transform, *knobs, n, seed, size]
    explore_outputs = [explore_grid, explain]
    private = {"api_visibility": "private"}
    drawing = {**private, **FIGURES_QUEUE}

    # "input", not "release", for sliders: Enter in their number box fires only "input"; always_last below
    gr.on([seed.submit, n.input, size.input, scene.input], run_augment, inputs=main_inputs,
          outputs=main_outputs, api_name="augment", trigger_mode="always_last", **FIGURES_QUEUE)
    gr.on([seed.submit, n.input, size.input, scene.input, *[k.input for k in knobs]], run_explore,
          inputs=explore_inputs, outputs=explore_outputs, api_name="augment_explore", trigger_mode="always_last",
          **FIGURES_QUEUE)

    def rerun(event) -> None:
        event.then(run_augment_ui, main_inputs, main_outputs, **drawing).then(
            run_explore_ui, explore_inputs, explore_outputs, **drawing)

    rerun(reroll.click(lambda s: (int(s or 0) + random.randrange(1, 10_000)) % 10_000, seed, seed, **private))
    rerun(source.input(lambda s: (gr.update(visible=s == "synthetic"), gr.update(visible=s == "upload"),
                                  gr.update(visible=s == "upload")), source, [scene, image, mask], **private))
    rerun(gr.on([image.upload, image.clear, mask.upload, mask.clear], lambda: None, **private))
    controls_event = gr.on([c.input if isinstance(c, gr.Checkbox) else c.release for c in controls],
                           controls_to_pipeline, inputs=controls, outputs=steps_box, trigger_mode="always_last",
                           **private)
    controls_event.then(run_augment_ui, main_inputs, main_outputs, **drawing)
    preset.input(preset_to_controls, preset, [*controls, steps_box], **private).then(
        run_augment_ui, main_inputs, main_outputs, **drawing)
    load_json.upload(json_to_controls, load_json, [*controls, size, steps_box], **private).then(
        run_augment_ui, main_inputs, main_outputs, **drawing)
    transform.input(explore_sliders, transform, knobs, **private).then(
        run_explore_ui, explore_inputs, explore_outputs, **drawing)

    @friendly_errors
    def show_defaults(request: gr.Request):
        # a lesson link may ask for a preset (?preset=light): the controls and the first grid follow it
        linked = page_query(request).get("preset", [""])[0]
        chosen = linked if linked in PRESETS else DEFAULTS["preset"]
        values = (DEFAULTS["source"], DEFAULTS["scene"], None, None)
        main = run_augment(*values, chosen, DEFAULTS["n"], DEFAULTS["seed"], DEFAULTS["size"], request)
        defaults = [p.default for p in CATALOGUE[DEFAULTS["explore"]].params]
        defaults += [0.0] * (MAX_PARAMS - len(defaults))
        explore = run_explore(*values, DEFAULTS["explore"], *defaults, DEFAULTS["n"], DEFAULTS["seed"],
                              DEFAULTS["size"], request)
        return (*main, *explore, *(preset_to_controls(chosen) if chosen != DEFAULTS["preset"] else
                                   [gr.skip()] * (len(controls) + 1)))

    gr.context.Context.root_block.load(show_defaults, outputs=[*main_outputs, *explore_outputs, *controls, steps_box],
                                       **drawing)
    # where the textbook code breaks, on the image and mask this tab augments (segdemo.ui.pitfalls)
    pitfalls.panel("augment", [source, scene, image, mask], pitfall_input)
