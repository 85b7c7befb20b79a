"""Lesson tab: the teacher's 45-minute script, and links (``?tab=segment&scene=21&model=...``) that open a tab
ready for its step. Logic in :mod:`segdemo.lessons.lesson`."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import gradio as gr

from segdemo.lessons import lesson
from segdemo.ui.common import friendly_errors
from segdemo.ui.i18n import lang_of

NAME = "lesson"
#: Query parameter → elem_id of the component it sets.
TARGETS = {"scene": "segment-scene", "model": "segment-model", "preset": "augment-preset"}


@friendly_errors
def show(request: gr.Request) -> str:
    """The script in the reader's language (its links keep that language)."""
    return lesson.script(lang_of(request))


def build() -> None:
    """Render the Lesson tab inside the current ``gr.Tab``."""
    text = gr.Markdown(elem_id="lesson-script")
    gr.context.Context.root_block.load(show, outputs=text, api_visibility="private", queue=False)


def page_query(request: gr.Request | None) -> dict[str, list[str]]:
    """The query parameters of the page that sent ``request`` (its address, as the browser sent it)."""
    headers = getattr(request, "headers", None) or {}
    return parse_qs(urlparse(headers.get("referer", "") or "").query)


def link_state(tabs: gr.Tabs, names: list[str]) -> None:
    """On page load, ``?tab=...&scene=...&model=...&preset=...`` selects the tab and sets its controls."""
    root = gr.context.Context.root_block
    by_id = {block.elem_id: block for block in root.blocks.values() if getattr(block, "elem_id", None)}
    targets = {key: by_id[elem] for key, elem in TARGETS.items() if elem in by_id}

    def apply(request: gr.Request):
        wanted = lesson.parse(page_query(request), names)
        tab = gr.Tabs(selected=wanted["tab"]) if "tab" in wanted else gr.skip()
        values = []
        for key in targets:
            if key not in wanted:
                values.append(gr.skip())
            else:
                values.append(int(wanted[key]) if key == "scene" else wanted[key])
        return [tab, *values]

    root.load(apply, outputs=[tabs, *targets.values()], api_visibility="private", queue=False,
              show_progress="hidden")
