"""Overview tab: what semantic segmentation is, and a map of the lab."""

from __future__ import annotations

import gradio as gr

from segdemo.ui.i18n import i18n

NAME = "overview"


def build() -> None:
    """Render the Overview tab's body inside the current ``gr.Tab``."""
    gr.Markdown(i18n("overview.what"))
    gr.Markdown(i18n("overview.tasks"))
    with gr.Row():
        with gr.Column():
            gr.Markdown(i18n("overview.uses"))
        with gr.Column():
            gr.Markdown(i18n("overview.map"))
