"""Errors and toasts speak the reader's language, title included."""

from __future__ import annotations

import gradio as gr
import pytest

from segdemo.errors import InputError
from segdemo.ui.common import to_gradio_error


@pytest.mark.parametrize(("lang", "title"), [("en", "Error"), ("zh", "出错了")])
def test_error_toasts_have_a_title_in_the_readers_language(lang, title):
    refused = to_gradio_error(InputError("err.scene_range", "Scene {index} is not in 0..9999.", index=12345), lang)
    assert refused.title == title and "12345" in refused.message and not refused.print_exception
    assert to_gradio_error(gr.Error("already shown"), lang).title == title
    assert to_gradio_error(gr.Error("chosen", title="Custom"), lang).title == "Custom"
    bug = to_gradio_error(ZeroDivisionError("x"), lang)
    assert bug.title == title and "ZeroDivisionError" in bug.message
