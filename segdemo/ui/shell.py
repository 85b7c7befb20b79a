"""What ``app.py`` assembles: the tabs in order, the theme, and the launch/queue settings."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import gradio as gr

from segdemo import housekeeping, serving
from segdemo.ui import augment, common, inside, lesson, losses, miou, overview, segment, train
from segdemo.ui.i18n import gradio_i18n

# (tab name, builder); a tab's name is its string key "tab.<name>" and its element id.
TABS: tuple[tuple[str, Callable[[], None]], ...] = (
    ("overview", overview.build),
    ("segment", segment.build),
    ("inside", inside.build),
    ("augment", augment.build),
    ("losses", losses.build),
    ("miou", miou.build),
    ("train", train.build),
    ("lesson", lesson.build),
)

# System fonts only: the default theme fetches web fonts, which fails in an offline classroom.
_SANS = ["ui-sans-serif", "system-ui", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"]
_MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "monospace"]

CSS = """
.gradio-container { width: min(1400px, 100%) !important; margin: auto; }
#app-title h1 { margin-bottom: 0.2em; }
#lang-switch-box { flex-grow: 0 !important; min-width: max-content !important; }
#lang-switch { text-align: right; font-size: 1.05rem; padding-top: 0.6em; }
/* Gradio's image slider draws its pictures 500 px tall inside a box of the height we give it and
   cuts off the rest: fit both layers to the box, so the whole image shows and they stay aligned. */
#segment-slider .content img { height: 100% !important; max-height: 100% !important; }
/* Tab names are single words: a narrow column broke them mid-word ("Overv/iew"). */
#overview-map td:first-child, #overview-map th:first-child { white-space: nowrap; }
/* The compare gallery has one row per model: show them all instead of a 550 px scrolling box. */
#segment-gallery, #segment-gallery .gallery-container, #segment-gallery .grid-wrap {
    height: auto !important; max-height: none !important; }
/* A phone (390 px): nothing may be wider than the screen. A tab sized itself to its widest content
   (a table, a 5-column gallery); wide tables scroll inside themselves, galleries reflow, columns stack. */
.gradio-container, .gradio-container > .main, .gradio-container main, .tabs, .tabitem, .tabitem > .column {
    min-width: 0 !important; max-width: 100% !important; }
.prose table { display: block; max-width: 100%; overflow-x: auto; }
.html-container { max-width: 100%; overflow-x: auto; }
.prose pre, .prose code { white-space: pre-wrap; word-break: break-word; }
@media (max-width: 640px) {
    .gradio-container { padding-left: 6px !important; padding-right: 6px !important; }
    /* The title beside the language links: at the desktop size it broke "segment-ation" mid-word and took
       a third of the first screen. */
    #app-title h1 { font-size: 1.1rem !important; line-height: 1.3 !important; overflow-wrap: normal; }
    .gradio-container .row { flex-wrap: wrap !important; }
    .gradio-container .row > .column, .gradio-container .row > .block { flex: 1 1 100% !important; min-width: 0 !important; }
    .grid-container { grid-template-columns: repeat(auto-fill, minmax(96px, 1fr)) !important; }
    /* Charts of two panels side by side need ~720 px: squeezed into a phone, their titles overlapped and
       their axes shrank to slivers. They keep that width and scroll sideways, as the wide tables do. */
    #losses-focal-plot, #losses-sim-chart, #miou-heat, #train-curves { overflow-x: auto !important; }
    :is(#losses-focal-plot, #losses-sim-chart, #miou-heat, #train-curves) .js-plotly-plot {
        min-width: 720px !important; }
}
/* Pitfall pictures: thumbnails at most 280 px wide (Gradio stretches one picture to the page's width). */
.pitfalls .grid-container { grid-template-columns: repeat(auto-fill, minmax(160px, 280px)) !important; }
/* Inside tab: galleries as tall as their pictures (Gradio gives them a 450 px minimum). */
[id^="inside-"][id$="-gallery"], [id^="inside-"][id$="-gallery"] :is(.gallery-container, .grid-wrap) {
    height: auto !important; max-height: none !important; min-height: 0 !important; }
"""

MAX_FILE_SIZE = os.environ.get("SEGDEMO_MAX_FILE_SIZE", "20mb")


def theme() -> gr.themes.Base:
    """The app's theme: calm colours, readable on a classroom projector, no web fonts."""
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="teal", font=_SANS, font_mono=_MONO)


def launch_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``demo.launch`` shared by ``python app.py`` and the tests."""
    return {
        "i18n": gradio_i18n(),
        "theme": theme(),
        "css": CSS,
        "head": common.CHARTS_HEAD,  # charts in hidden tabs get their width when the tab opens
        "max_file_size": MAX_FILE_SIZE,
        "show_error": True,
        "footer_links": ["api"],
        "state_session_capacity": housekeeping.SESSION_CAPACITY,  # Gradio keeps 10000 sessions' state by default
    }


#: Events between two summaries of Gradio's queue analytics (each costs ms of CPU; nothing here shows them).
ANALYTICS_EVERY = 500


def queue_kwargs() -> dict[str, Any]:
    """Queue settings (see the README's classroom section for how they were chosen)."""
    return {"default_concurrency_limit": 2, "max_size": 256}


def _tab_labels(names: list[str], request: gr.Request) -> list:
    """The tab buttons in the language the page's address asks for (``?lang=``), else left as drawn."""
    from segdemo.ui.i18n import chosen_lang, t

    lang = chosen_lang(request)
    return [gr.Tab(label=t(f"tab.{name}", lang)) if lang else gr.skip() for name in names]


def build_demo() -> gr.Blocks:
    """The whole app: title, the tabs in order, and the queue (what ``app.py`` serves)."""
    from segdemo.ui import gradio_compat
    from segdemo.ui.i18n import i18n

    gradio_compat.install()  # stops here on an untested Gradio; see segdemo/ui/gradio_compat.py
    with gr.Blocks(title="segdemo") as demo:  # its cache: housekeeping.GRADIO_DELETE_CACHE, see serve()
        with gr.Row(equal_height=False):
            gr.Markdown(i18n("app.title"), elem_id="app-title")
            # Language names in their own script, the same in every language: links so a reload gives
            # every label and every handler's text in that language (segdemo.ui.i18n.lang_of).
            gr.HTML('<nav id="lang-switch"><a href="?lang=en" target="_self" hreflang="en">English</a> · '
                    '<a href="?lang=zh" target="_self" hreflang="zh">中文</a></nav>', elem_id="lang-switch-box")
        gr.Markdown(i18n("app.subtitle"))
        tabs = []
        with gr.Tabs(elem_id="tabs") as tab_group:
            for name, build in TABS:
                with gr.Tab(i18n(f"tab.{name}"), id=name, elem_id=f"tab-{name}") as tab:
                    build()
                tabs.append(tab)
        overview.link_segment()  # the timeline's "Open in Segment" also picks the model there
        demo.unload(common.on_session_end)  # a closed page frees its checkpoints now, not hours later
        # ?lang=zh: every label in Chinese on any browser; the tab buttons are relabelled by the server
        demo.load(None, js=gradio_compat.locale_js())
        lesson.link_state(tab_group, [name for name, _ in TABS])  # ?tab=segment&scene=21: a lesson step's link
        names = [name for name, _ in TABS]

        def tab_labels(request: gr.Request) -> list:  # not a partial: Gradio miscounts a partial's inputs
            return _tab_labels(names, request)

        demo.load(tab_labels, outputs=tabs, api_visibility="private", queue=False, show_progress="hidden")
    # the lessons' small tensors: one torch thread each (a second mostly spins; serving.LESSON_THREADS)
    gradio_compat.wrap_events(demo, serving.lesson_threads, common.FIGURES_QUEUE["concurrency_id"])
    # every request (the Train tab's run is async, so not one): training runs wait for them between steps
    gradio_compat.wrap_events(demo, serving.foreground)
    gradio_compat.configure_queue(demo, **queue_kwargs())  # demo.queue(...) would build the app a second time
    gradio_compat.summarise_analytics_every(demo, ANALYTICS_EVERY)
    return demo


def main() -> None:
    """Console script ``segdemo-serve``: build the app and serve it (like ``python app.py``)."""
    serve(build_demo())


def serve(demo: gr.Blocks) -> None:
    """Launch ``demo`` and block; once the page is served, warm the Segment tab up and then start the worker
    processes, in the background."""
    import logging
    import threading

    from segdemo import workers
    from segdemo.lessons import segment
    from segdemo.ui import gradio_compat

    serving.start()  # thread count and allocator, once, before the first model runs
    housekeeping.start()  # SIGTERM like Ctrl-C, stale temp folders swept, memory and disk cleaned on a beat
    # Gradio's cache by age and size, every few seconds (a loop of 20 MB uploads fills a disk fast)
    age = housekeeping.GRADIO_DELETE_CACHE[1]
    housekeeping.add_cleaner(lambda: gradio_compat.delete_cached_files(demo, age, housekeeping.GRADIO_CACHE_LIMIT),
                             frequent=True)
    demo.launch(prevent_thread_lock=True, **launch_kwargs())

    def warm() -> None:
        try:
            segment.warm_up()
        except Exception:  # noqa: BLE001 - a failed warm-up only means a slower first request
            logging.getLogger("segdemo").warning("Segment warm-up failed", exc_info=True)
        # then the figure tabs' worker processes (segdemo.workers), whose imports would otherwise compete with
        # the first page and the warm-up for the two cores; until they run, figures are computed here
        workers.start()

    threading.Thread(target=warm, name="segdemo-warm-up", daemon=True).start()
    try:
        demo.block_thread()  # returns on Ctrl-C, after Gradio closed the server
    finally:
        gradio_compat.delete_cached_files(demo)  # all of it: the cache is this app's to empty
        housekeeping.stop()  # training threads joined, checkpoints and downloads deleted
        workers.stop()
