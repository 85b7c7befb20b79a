"""The attention view, a section of the Segment tab: click a point, see where each layer attends.

Thin: the weights come from :mod:`segdemo.lessons.attention`. Nothing large is kept per session: a
click stores ``(model, point)`` and every view (layer, head) recomputes its one forward pass.
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from segdemo import serving
from segdemo.lessons import attention as lesson
from segdemo.lessons import segment as segment_lesson
from segdemo.palette import enlarge
from segdemo.ui.common import friendly_errors, picture_image
from segdemo.ui.i18n import i18n, lang_of, t

#: The synthetic scene the section opens with.
SCENE = 3
MEAN = "mean"
#: Shorter side the scene is shown at (an integer enlargement of the models' training size).
SHOWN_SIDE = 288


def model_choices(lang: str) -> list[tuple[str, str]]:
    """Shipped checkpoints of attention models as ``(label, key)``, in the reader's language."""
    return [(c.display.get(lang, c.display["en"]), c.key) for c in serving.choices()
            if c.key.startswith("shipped:") and c.model in lesson.ATTENTION_MODELS]


def _image() -> np.ndarray:
    return segment_lesson.scene(SCENE)[0]


def _factor(image: np.ndarray) -> int:
    return enlarge(image, SHOWN_SIDE).shape[0] // image.shape[0]


def _views(layers: list[lesson.LayerAttention], lang: str) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
    layer_options = [(layer.label[lang], i) for i, layer in enumerate(layers)]
    heads = layers[0].weights.shape[0] if layers else 0
    head_options = [(t("attention.mean", lang), MEAN)] + [(t("attention.head_n", lang, n=h + 1), str(h))
                                                           for h in range(heads)]
    return layer_options, head_options


def _draw(image: np.ndarray, layers: list[lesson.LayerAttention], layer: int, head: str,
          point: tuple[int, int]) -> np.ndarray:
    chosen = layers[min(max(int(layer), 0), len(layers) - 1)]
    heads = chosen.weights.shape[0]
    weights = chosen.mean() if head == MEAN or not str(head).isdigit() else chosen.weights[min(int(head), heads - 1)]
    f = _factor(image)  # drawn on the enlarged picture the reader clicked, crisp cells
    return lesson.overlay(enlarge(image, SHOWN_SIDE), enlarge(weights, SHOWN_SIDE), (point[0] * f + f // 2,
                                                                                      point[1] * f + f // 2))


@friendly_errors
def click(model: str | None, evt: gr.SelectData, request: gr.Request):
    """A click on the image: the last layer's averaged heads, and the layer/head pickers filled."""
    lang = lang_of(request)
    image = _image()
    f = _factor(image)
    point = (int(evt.index[1]) // f, int(evt.index[0]) // f)  # Gradio gives (x, y) on the enlarged picture
    layers = lesson.attention_for(model or "", image, point, request.session_hash if request else None)
    layer_options, head_options = _views(layers, lang)
    last = len(layers) - 1
    return ({"model": model, "point": point}, gr.update(choices=layer_options, value=last),
            gr.update(choices=head_options, value=MEAN), _draw(image, layers, last, MEAN, point))


@friendly_errors
def redraw(state: dict | None, layer: int | None, head: str | None, request: gr.Request):
    """Another layer or head for the same click."""
    if not state or layer is None:
        return gr.update()
    image = _image()
    layers = lesson.attention_for(state["model"], image, tuple(state["point"]),
                                  request.session_hash if request else None)
    return _draw(image, layers, int(layer), head or MEAN, tuple(state["point"]))


@friendly_errors
def relabel(model: str | None, request: gr.Request):
    options = model_choices(lang_of(request))
    keys = [k for _, k in options]
    return gr.update(choices=options, value=model if model in keys else (keys[0] if keys else None))


def build() -> None:
    """Render the attention section inside the current block (the Segment tab)."""
    options = model_choices("en")
    with gr.Accordion(i18n("attention.title"), open=False, elem_id="attention"):
        gr.Markdown(i18n("attention.intro") if options else i18n("attention.none"))
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                model = gr.Dropdown(options, value=options[0][1] if options else None, label=i18n("attention.model"),
                                    elem_id="attention-model")
                image = gr.Image(enlarge(_image(), SHOWN_SIDE), type="numpy", interactive=False, label=i18n("attention.image"),
                                 height=300, elem_id="attention-image", format="png")
                layer = gr.Dropdown([], label=i18n("attention.layer"), elem_id="attention-layer")
                head = gr.Dropdown([], label=i18n("attention.head"), elem_id="attention-head")
            with gr.Column(scale=1, min_width=280):
                result = picture_image(label=i18n("attention.result"), height=300, elem_id="attention-result")
        state = gr.State(None)
    image.select(click, inputs=[model], outputs=[state, layer, head, result], api_visibility="private")
    layer.input(redraw, inputs=[state, layer, head], outputs=result, api_visibility="private")
    head.input(redraw, inputs=[state, layer, head], outputs=result, api_visibility="private")
    gr.context.Context.root_block.load(relabel, inputs=[model], outputs=[model], api_visibility="private")
