"""The "Where the textbook code breaks" panel: one collapsible section per tab (see :mod:`segdemo.lessons.pitfalls`).

Each tab calls :func:`panel` once at the end of its ``build()``, with the components that hold its current
input and a function that reads them into a :class:`segdemo.lessons.pitfalls.Current`. Every pitfall is a
closed accordion that runs its demonstration on the tab's current input when opened (and on its button):
the naive result beside the fix, a table and pictures. The size slider of the shape pitfalls tries other
(square) sizes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
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


#: Reads a tab's input components' values into the input its pitfalls run on (``None``: their default).
Reader = Callable[..., "lesson.Current | None"]


def render(demo: lesson.Demo, lang: str) -> tuple[str, str, pd.DataFrame | None, list[tuple[np.ndarray, str]]]:
    """``(naive Markdown, fixed Markdown, table, gallery items)`` of one run, in ``lang``."""
    naive_params = {k: _in(v, lang) for k, v in demo.naive.items()}
    fixed_params = {k: _in(v, lang) for k, v in demo.fixed.items()}
    naive = f"#### {t('pitfalls.naive_title', lang)}\n\n"
    if demo.on is not None:  # what it ran on: the tab's image, a chosen size, or the built-in example
        naive += f"*{t(demo.on[0], lang, **demo.on[1])}*\n\n"
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


def _on_input(key: str, read: Reader | None):
    """The handler that runs pitfall ``key`` on the tab's current input (its components' values)."""

    @friendly_errors
    def run(request: gr.Request, *values: Any):  # the request first: Gradio injects it only by position
        lang = lang_of(request)
        current = read(*values, lang=lang, request=request) if read is not None else None
        return render(lesson.run(key, current=current), lang)

    run.__name__ = f"pitfall_{key}"
    return run


def _at_size(key: str):
    """The handler that runs a shape pitfall at the slider's square size."""

    @friendly_errors
    def run(size: float, request: gr.Request):
        low, high, _ = lesson.SIZED[key]
        size = int(np.clip(float(size), low, high))  # the slider's bounds; the event is not public API
        return render(lesson.run(key, size), lang_of(request))

    run.__name__ = f"pitfall_{key}_size"
    return run


@functools.cache
def _has(key: str) -> tuple[bool, bool]:
    """Whether the demonstration of ``key`` shows a table and pictures (the lesson module says)."""
    return key in lesson.WITH_TABLE, key in lesson.WITH_PICTURES


def panel(tab: str, inputs: Sequence[gr.components.Component] = (), read: Reader | None = None) -> None:
    """The collapsible "Where the textbook code breaks" section of ``tab``, built in the current Blocks.

    Args:
        inputs: the tab's components that hold its current input (image, scene, masks …).
        read: ``read(*values, lang=, request=)`` → the :class:`~segdemo.lessons.pitfalls.Current` the
            pitfalls run on; it raises ``gr.Error`` (e.g. nothing uploaded yet) like the tab's own handler.
    """
    keys = lesson.for_tab(tab)
    if not keys:
        return
    with gr.Accordion(i18n("pitfalls.panel"), open=False, elem_id=f"pitfalls-{tab}", elem_classes="pitfalls"):
        gr.Markdown(i18n("pitfalls.intro"))
        for key in keys:
            with gr.Accordion(i18n(f"pitfalls.{key}.title"), open=False, elem_id=f"pitfall-{key}") as section:
                gr.Markdown(i18n(f"pitfalls.{key}.what"))
                with gr.Row(equal_height=True):
                    button = gr.Button(i18n("pitfalls.run"), variant="secondary", scale=0, min_width=260,
                                       elem_id=f"pitfall-{key}-run")
                    size = None
                    if key in lesson.SIZED:
                        low, high, value = lesson.SIZED[key]
                        size = gr.Slider(low, high, value=value, step=1, label=i18n("pitfalls.size"),
                                         elem_id=f"pitfall-{key}-size", min_width=240)
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
                # preview=False: a single picture stays a thumbnail instead of filling the page's width
                gallery = picture_gallery(label=i18n("pitfalls.pictures"), visible=has_pictures, columns=4,
                                          height="auto", object_fit="contain", preview=False,
                                          elem_id=f"pitfall-{key}-pictures")
            outputs = [naive, fixed, table, gallery]
            gr.on([button.click, section.expand], _on_input(key, read), inputs=list(inputs), outputs=outputs,
                  api_visibility="private", trigger_mode="always_last", show_progress="minimal", **FIGURES_QUEUE)
            if size is not None:
                size.release(_at_size(key), inputs=size, outputs=outputs, api_visibility="private",
                             trigger_mode="always_last", show_progress="minimal", **FIGURES_QUEUE)
