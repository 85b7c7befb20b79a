"""A tab whose own release has not landed yet: one honest line, nothing fake."""

from __future__ import annotations

import gradio as gr

from segdemo.ui.i18n import i18n


def build() -> None:
    """Render the "coming in this release" note."""
    gr.Markdown(i18n("common.coming_soon"))
