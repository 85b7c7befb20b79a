"""The "Where the textbook code breaks" panel: one collapsible section per tab (see :mod:`segdemo.lessons.pitfalls`).

Each tab calls :func:`panel` once at the end of its ``build()``. Every pitfall is a closed accordion that
runs its demonstration when opened (and on its button, or when its size slider moves): the naive result
beside the fix, a table and pictures.
"""

from __future__ import annotations

import functools
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from segdemo.lessons import pitfalls as lesson
from segdemo.palette import enlarge
from segdemo.ui.common import FIGURES_QUEUE, friendly_errors, picture_gallery
from segdemo.ui.i18n import i18n, lang_of, strings, t


def _in(value: Any, lang: str) -> Any:
    """A cell or parameter in ``lang``: string keys translated, ``{"en", "zh"}`` dicts picked."""
    if isinstance(value, dict) and lang in value:
        return value[lang]
    if isinstance(value, str) and value.startswith("pitfalls.") and value in strings():
        return t(value, lang)
    return value


def _code(text: str) -> str:
    return "```text\n" + text.replace("```", "'''") + "\n```"


def render(demo: lesson.Demo, lang: str) -> tuple[str, str, pd.DataFrame | None, list[tuple[np.ndarray, str]]]:
    """``(naive Markdown, fixed Markdown, table, gallery items)`` of one run, in ``lang``."""
    naive_params = {k: _in(v, lang) for k, v in demo.naive.items()}
    fixed_params = {k: _in(v, lang) for k, v in demo.fixed.items()}
    naive = f"#### {t('pitfalls.naive_title', lang)}\n\n"
    if demo.error:
        naive += f"{t('pitfalls.raised', lang)}\n\n{_code(demo.error)}\n\n"
    naive += t(f"pitfalls.{demo.key}.naive", lang, **naive_params)
    fixed = f"#### {t('pitfalls.fixed_title', lang)}\n\n" + t(f"pitfalls.{demo.key}.fixed", lang, **fixed_params)
    table = None
    if demo.rows:
        headers = [str(_in(h, lang)) for h in demo.headers]
        table = pd.DataFrame([[str(_in(c, lang)) for c in row] for row in demo.rows], columns=headers)
    gallery = [(enlarge(picture, 192), t(caption, lang)) for caption, picture in demo.pictures]
    return naive, fixed, table, gallery


def _runner(key: str):
    @friendly_errors
    def run(size: float | None = None, request: gr.Request = None):
        lang = lang_of(request)
        if key in lesson.SIZED and size is not None:
            low, high, _ = lesson.SIZED[key]
            size = int(np.clip(float(size), low, high))  # the slider's bounds; the event is not public API
        naive, fixed, table, gallery = render(lesson.run(key, size), lang)
        return naive, fixed, table, gallery

    run.__name__ = f"pitfall_{key}"
    return run


@functools.cache
def _has(key: str) -> tuple[bool, bool]:
    """Whether the demonstration of ``key`` shows a table and pictures (the lesson module says)."""
    return key in lesson.WITH_TABLE, key in lesson.WITH_PICTURES


def panel(tab: str) -> None:
    """The collapsible "Where the textbook code breaks" section of ``tab``, built in the current Blocks."""
    keys = lesson.for_tab(tab)
    if not keys:
        return
    with gr.Accordion(i18n("pitfalls.panel"), open=False, elem_id=f"pitfalls-{tab}", elem_classes="pitfalls"):
        gr.Markdown(i18n("pitfalls.intro"))
        for key in keys:
            with gr.Accordion(i18n(f"pitfalls.{key}.title"), open=False, elem_id=f"pitfall-{key}") as section:
                gr.Markdown(i18n(f"pitfalls.{key}.what"))
                with gr.Row(equal_height=True):
                    inputs = []
                    if key in lesson.SIZED:
                        low, high, value = lesson.SIZED[key]
                        inputs.append(gr.Slider(low, high, value=value, step=1, label=i18n("pitfalls.size"),
                                                elem_id=f"pitfall-{key}-size", min_width=240))
                    button = gr.Button(i18n("pitfalls.run"), variant="secondary", scale=0, min_width=140,
                                       elem_id=f"pitfall-{key}-run")
                with gr.Row():
                    with gr.Column():
                        naive = gr.Markdown(elem_id=f"pitfall-{key}-naive")
                        gr.Markdown(i18n(f"pitfalls.{key}.why"))
                    with gr.Column():
                        fixed = gr.Markdown(elem_id=f"pitfall-{key}-fixed")
                        gr.Markdown(i18n(f"pitfalls.{key}.fix"))
                has_table, has_pictures = _has(key)
                table = gr.Dataframe(label=i18n("pitfalls.table"), interactive=False, visible=has_table,
                                     elem_id=f"pitfall-{key}-table", wrap=True)
                gallery = picture_gallery(label=i18n("pitfalls.pictures"), visible=has_pictures, columns=4,
                                          height="auto", object_fit="contain", elem_id=f"pitfall-{key}-pictures")
            triggers = [button.click, section.expand] + [s.release for s in inputs]
            gr.on(triggers, _runner(key), inputs=inputs, outputs=[naive, fixed, table, gallery],
                  api_visibility="private", trigger_mode="always_last", show_progress="minimal", **FIGURES_QUEUE)
