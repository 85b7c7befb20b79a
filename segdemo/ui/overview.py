"""Overview tab: what semantic segmentation is, the five tasks on one scene, and a map of the lab."""

from __future__ import annotations

import functools
import random

import gradio as gr

from segdemo import charts
from segdemo.lessons import overview as lesson
from segdemo.palette import SCENE_CLASSES
from segdemo.ui.common import chart, chart_value, friendly_errors, picture_gallery
from segdemo.ui.i18n import i18n, lang_of, t

NAME = "overview"
SEED = 11  # the Overview's own scene stream
SCENES = 1000
DEFAULT_SCENE = 2
SEGMENT_TAB = "segment"  # the id of the Segment tab in the app's gr.Tabs
SEGMENT_PICKER = "segment-model"  # elem_id of the Segment tab's model dropdown
PER_ROW = 3

# The timeline's "open in Segment" buttons of the Blocks being built: (button, architecture name).
_links: list[tuple[gr.Button, str]] = []


@friendly_errors
def five_tasks(index: float, request: gr.Request):
    """The five task views of scene ``index`` as a gallery (image, caption) and a one-line summary."""
    lang = lang_of(request)
    index = int(index)
    if not 0 <= index < SCENES:
        raise gr.Error(t("overview.bad_scene", lang, last=SCENES - 1))
    v = lesson.views(SEED, index, lang=lang)
    name = SCENE_CLASSES[v.label][1 if lang == "zh" else 0]
    gallery = [
        (v.image, t("overview.view.classification", lang, label=name)),
        (v.detection, t("overview.view.detection", lang, n=len(v.boxes))),
        (v.semantic, t("overview.view.semantic", lang)),
        (v.instance, t("overview.view.instance", lang, n=len(v.boxes))),
        (v.panoptic, t("overview.view.panoptic", lang)),
    ]
    return gallery, t("overview.five_summary", lang, index=index, label=name, n=len(v.boxes))


def _card(e: lesson.TimelineEntry, lang: str) -> str:
    latency = (t("overview.tl.latency", lang, ms=f"{e.latency_ms:.0f}", size=lesson.LATENCY_SIZE)
               if e.latency_ms is not None else t("overview.tl.not_measured", lang))
    miou = (t("overview.tl.miou", lang, miou=f"{e.val_miou:.3f}") if e.val_miou is not None
            else t("overview.tl.untrained", lang))
    c = e.card
    return t("overview.tl.card", lang, year=c.year, name=c.display.get(lang, c.display["en"]),
             family=t(f"segment.family.{c.family}", lang),
             idea=c.idea.get(lang, c.idea["en"]), paper=c.paper, url=c.url, params=f"{e.params / 1e6:.2f}",
             latency=latency, miou=miou)


@friendly_errors
def timeline(request: gr.Request):
    """The timeline chart (Plotly) and one Markdown card per architecture (in the registry's timeline order)."""
    lang = lang_of(request)
    entries = lesson.timeline()
    image = _timeline_image(lang, tuple((e.name, e.latency_ms, e.val_miou) for e in entries))
    return (chart_value(image), *[_card(e, lang) for e in entries])


@functools.lru_cache(maxsize=8)
def _timeline_image(lang: str, state: tuple) -> str:  # state: the cache key (changes once latency is measured)
    # Every page load shows it: made once per language instead of once per student.
    return charts.to_json(charts.timeline_chart(lesson.timeline(), lang))


@friendly_errors
def measure(request: gr.Request):
    """Measure every architecture's latency on this server (once per process), then redraw the cards."""
    lesson.measure_latency()
    return timeline(request)


def segment_key(name: str) -> str | None:
    """The Segment tab's picker value for architecture ``name`` (its shipped checkpoint), or None."""
    for entry in lesson.timeline():
        if entry.name == name:
            return entry.segment_key
    return None


def link_segment(picker: gr.Dropdown | None = None) -> None:
    """Make the timeline's "Open in Segment" buttons also pick their model in the Segment tab.

    The Overview is built before the Segment tab, so its buttons can switch tabs on their own (see
    :func:`build`) but cannot reach the Segment tab's picker: call this once, inside the app's
    ``gr.Blocks``, after every tab is built (``app.py``: ``overview.link_segment()`` after the Tabs loop).

    Args:
        picker: the Segment tab's model dropdown; default: the component with elem_id ``"segment-model"``.
    """
    root = gr.context.Context.root_block
    if picker is None:
        picker = next((b for b in root.blocks.values() if getattr(b, "elem_id", None) == SEGMENT_PICKER), None)
        if picker is None:
            return
    for button, name in _links:
        button.click(lambda name=name: segment_key(name) or gr.skip(), outputs=picker, api_visibility="private")


def build() -> None:
    """Render the Overview tab's body inside the current ``gr.Tab``."""
    gr.Markdown(i18n("overview.what"))
    gr.Markdown(i18n("overview.five_title"))
    with gr.Row():
        scene = gr.Number(DEFAULT_SCENE, precision=0, minimum=0, maximum=SCENES - 1, label=i18n("overview.scene"),
                          scale=0, min_width=140)
        another = gr.Button(i18n("overview.another"), scale=0, min_width=160, elem_id="overview-another")
        summary = gr.Markdown(elem_id="overview-summary")
    gallery = picture_gallery(columns=5, height=300, object_fit="contain", show_label=False, elem_id="overview-tasks",
                             allow_preview=True)
    gr.Markdown(i18n("overview.tasks"))
    with gr.Row():
        with gr.Column():
            gr.Markdown(i18n("overview.uses"))
        with gr.Column():
            gr.Markdown(i18n("overview.map"), elem_id="overview-map")

    gr.Markdown(i18n("overview.tl.title"))
    timeline_plot = chart(elem_id="overview-timeline")
    # Above the cards that read "latency not measured yet" (below them, it was found last)
    with gr.Row():
        measure_button = gr.Button(i18n("overview.tl.measure"), size="sm", scale=0, min_width=240,
                                   elem_id="overview-measure")
        gr.Markdown(i18n("overview.tl.note"))
    entries = lesson.timeline()  # only the names and order are fixed here; the texts are drawn per request
    cards = []
    _links.clear()
    tabs = gr.context.get_render_context()
    tabs = getattr(tabs, "parent", None)
    for first in range(0, len(entries), PER_ROW):
        with gr.Row(equal_height=True):
            for entry in entries[first:first + PER_ROW]:
                with gr.Column(variant="panel", min_width=260):
                    cards.append(gr.Markdown(elem_id=f"overview-model-{entry.name}"))
                    button = gr.Button(i18n("overview.tl.open"), size="sm", elem_id=f"overview-open-{entry.name}")
                    _links.append((button, entry.name))
                    if isinstance(tabs, gr.Tabs):
                        button.click(lambda: gr.Tabs(selected=SEGMENT_TAB), outputs=tabs, api_visibility="private")

    scene.submit(five_tasks, inputs=scene, outputs=[gallery, summary], api_name="overview_tasks")
    another.click(lambda: random.randrange(SCENES), outputs=scene, api_visibility="private").then(
        five_tasks, inputs=scene, outputs=[gallery, summary], api_visibility="private")
    root = gr.context.Context.root_block
    root.load(five_tasks, inputs=scene, outputs=[gallery, summary], api_visibility="private")
    root.load(timeline, outputs=[timeline_plot, *cards], api_visibility="private")
    measure_button.click(measure, outputs=[timeline_plot, *cards], api_name="overview_latency",
                         concurrency_limit=1)
