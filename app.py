"""segdemo: a hands-on semantic segmentation lab (Gradio app).

This file only assembles the UI; every tab lives in ``segdemo/ui/<tab>.py`` and its logic in
the ``segdemo`` backends. ``python app.py`` serves it (host/port from ``GRADIO_SERVER_NAME``
and ``GRADIO_SERVER_PORT``; default http://127.0.0.1:7860).
"""

import gradio as gr

from segdemo.ui import overview
from segdemo.ui.i18n import i18n
from segdemo.ui.shell import TABS, queue_kwargs, serve

with gr.Blocks(title="segdemo") as demo:
    gr.Markdown(i18n("app.title"), elem_id="app-title")
    gr.Markdown(i18n("app.subtitle"))
    with gr.Tabs(elem_id="tabs"):
        for name, build in TABS:
            with gr.Tab(i18n(f"tab.{name}"), id=name, elem_id=f"tab-{name}"):
                build()
    overview.link_segment()  # the timeline's "Open in Segment" also picks the model there

demo.queue(**queue_kwargs())

if __name__ == "__main__":
    serve(demo)  # demo.launch(...), then the Segment tab's models are loaded in the background
