"""Overview tab: what semantic segmentation is, the five tasks on one scene, and a map of the lab."""

from __future__ import annotations

import random

import gradio as gr

from segdemo import tasks
from segdemo.palette import SCENE_CLASSES
from segdemo.ui.common import friendly_errors
from segdemo.ui.i18n import i18n, lang_of, t

NAME = "overview"
SEED = 11  # the Overview's own scene stream
SCENES = 1000
DEFAULT_SCENE = 2


@friendly_errors
def five_tasks(index: float, request: gr.Request):
    """The five task views of scene ``index`` as a gallery (image, caption) and a one-line summary."""
    lang = lang_of(request)
    index = int(index)
    if not 0 <= index < SCENES:
        raise gr.Error(t("overview.bad_scene", lang, last=SCENES - 1))
    v = tasks.views(SEED, index, lang=lang)
    name = SCENE_CLASSES[v.label][1 if lang == "zh" else 0]
    gallery = [
        (v.image, t("overview.view.classification", lang, label=name)),
        (v.detection, t("overview.view.detection", lang, n=len(v.boxes))),
        (v.semantic, t("overview.view.semantic", lang)),
        (v.instance, t("overview.view.instance", lang, n=len(v.boxes))),
        (v.panoptic, t("overview.view.panoptic", lang)),
    ]
    return gallery, t("overview.five_summary", lang, index=index, label=name, n=len(v.boxes))


def build() -> None:
    """Render the Overview tab's body inside the current ``gr.Tab``."""
    gr.Markdown(i18n("overview.what"))
    gr.Markdown(i18n("overview.five_title"))
    with gr.Row():
        scene = gr.Number(DEFAULT_SCENE, precision=0, minimum=0, maximum=SCENES - 1, label=i18n("overview.scene"),
                          scale=0, min_width=140)
        another = gr.Button(i18n("overview.another"), scale=0, min_width=160, elem_id="overview-another")
        summary = gr.Markdown(elem_id="overview-summary")
    gallery = gr.Gallery(columns=5, height=300, object_fit="contain", show_label=False, elem_id="overview-tasks",
                         allow_preview=True)
    gr.Markdown(i18n("overview.tasks"))
    with gr.Row():
        with gr.Column():
            gr.Markdown(i18n("overview.uses"))
        with gr.Column():
            gr.Markdown(i18n("overview.map"))

    scene.submit(five_tasks, inputs=scene, outputs=[gallery, summary], api_name="overview_tasks")
    another.click(lambda: random.randrange(SCENES), outputs=scene, api_visibility="private").then(
        five_tasks, inputs=scene, outputs=[gallery, summary], api_visibility="private")
    gr.context.Context.root_block.load(five_tasks, inputs=scene, outputs=[gallery, summary],
                                       api_visibility="private")
