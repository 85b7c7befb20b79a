"""Train tab: train a small model live on synthetic scenes, watch its curves and predictions, compare runs.

Runs live in :mod:`segdemo.train_sessions` (one per user, bounded); this module polls and draws.
"""

from __future__ import annotations

import time

import gradio as gr
import numpy as np

from segdemo import train_sessions as T
from segdemo.palette import SCENE_PALETTE, colorize
from segdemo.plotting import figure, to_image
from segdemo.ui.common import friendly_errors
from segdemo.ui.i18n import i18n, lang_of, t

NAME = "train"
POLL_SECONDS = 1.0


def curves(user: str, lang: str) -> np.ndarray:
    """Loss and val mIoU of the user's runs, the newest bold, earlier ones faint for comparison."""
    fig, (ax_loss, ax_miou) = figure(1, 2, figsize=(11.0, 3.4))
    runs = T.runs_of(user)
    for i, run in enumerate(runs):
        newest = i == len(runs) - 1
        style = {"linewidth": 2.0 if newest else 1.0, "alpha": 1.0 if newest else 0.55}
        if run.steps:
            steps, losses = zip(*run.steps, strict=True)
            window = max(1, len(losses) // 30)
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            ax_loss.plot(steps[window - 1:], smooth, label=run.label, **style)
        if run.vals:
            steps, mious = zip(*run.vals, strict=True)
            ax_miou.plot(steps, mious, marker="o", markersize=3, label=run.label, **style)
    ax_loss.set_title(t("train.plot.loss", lang))
    ax_miou.set_title(t("train.plot.miou", lang))
    ax_miou.set_ylim(0, 1)
    for ax in (ax_loss, ax_miou):
        ax.set_xlabel(t("train.plot.step", lang))
        ax.grid(alpha=0.3)
        if runs:
            ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return to_image(fig)


def _status(run: T.Run | None, lang: str) -> str:
    if run is None:
        return t("train.idle", lang)
    if run.state == "queued":
        return t("train.queued", lang, position=run.queue_position())
    if run.state == "failed":
        return t("train.failed", lang, error=run.error or "")
    done = len(run.steps)
    total = run.config.steps_per_epoch
    rate = run.steps_per_second()
    remaining = (total - done) / rate if rate > 0 and run.active else 0.0
    text = t("train.progress", lang, done=done, total=total, rate=f"{rate:.1f}", elapsed=f"{run.elapsed():.0f}",
             remaining=f"{remaining:.0f}", miou=f"{run.vals[-1][1]:.3f}" if run.vals else "—")
    if not run.active:
        key = "train.finished_stopped" if run.state == "stopped" else "train.finished_done"
        text += "  \n" + t(key, lang, miou=f"{run.best.get('miou', 0):.3f}")
    return text


def _previews(run: T.Run | None) -> list[np.ndarray]:
    return [colorize(p, SCENE_PALETTE) for p in run.previews] if run is not None else []


@friendly_errors
def train(model: str, loss: str, augment: str, size: float, steps: float, seed: float, request: gr.Request):
    """Train a small model on synthetic scenes, streaming curves, predictions and status.

    Args:
        model: registry name (small variant), e.g. ``"unet"``.
        loss: ``ce``, ``dice``, ``focal``, ``ce+dice`` or ``lovasz``.
        augment: augmentation preset (``none``, ``light``, ``course``).
        size: image side, 64, 96 or 128.
        steps: optimizer steps (clamped to the server's limit, with a notice).
        seed: random seed.

    Returns:
        (curves, predictions on 4 validation scenes, status text with the final val mIoU, checkpoint file)
    """
    lang = lang_of(request)
    user = request.session_hash or "anonymous"
    config, notices = T.make_config(model, loss, augment, int(size), int(steps), int(seed))
    run = T.start(user, config, notices)
    for key, params in notices:
        gr.Warning(t(key, lang, **params))
    while run.active:
        time.sleep(POLL_SECONDS)
        yield curves(user, lang), _previews(run), _status(run, lang), None
    files = [f"{run.checkpoint}.safetensors", f"{run.checkpoint}.json"] if run.checkpoint else None
    yield curves(user, lang), _previews(run), _status(run, lang), files


@friendly_errors
def stop(request: gr.Request) -> str:
    """Stop the caller's run (it keeps the best model so far)."""
    lang = lang_of(request)
    run = T.stop(request.session_hash or "anonymous")
    return t("train.stopping" if run is not None and run.active else "train.nothing_to_stop", lang)


def build() -> None:
    """Render the Train tab inside the current ``gr.Tab``."""
    from segdemo.augment import PRESETS
    from segdemo.losses import list_losses
    from segdemo.models import list_models

    gr.Markdown(i18n("train.intro"))
    with gr.Row():
        model = gr.Dropdown(list_models(), value="unet", label=i18n("train.model"), elem_id="train-model")
        loss = gr.Dropdown(list_losses(), value="ce", label=i18n("train.loss"))
        augment = gr.Dropdown(list(PRESETS), value="light", label=i18n("train.augment"))
        size = gr.Radio(list(T.SIZES), value=64, label=i18n("train.size"))
        steps = gr.Slider(10, T.MAX_STEPS, value=min(150, T.MAX_STEPS), step=10, label=i18n("train.steps"))
        seed = gr.Number(0, precision=0, label=i18n("train.seed"), min_width=80)
    with gr.Row():
        go = gr.Button(i18n("train.go"), variant="primary", elem_id="train-go")
        halt = gr.Button(i18n("train.stop"), variant="stop", elem_id="train-stop")
    status = gr.Markdown(elem_id="train-status")
    plot = gr.Image(label=i18n("train.curves"), type="numpy", interactive=False, elem_id="train-curves")
    with gr.Row():
        previews = gr.Gallery(label=i18n("train.previews"), columns=4, height=220, elem_id="train-previews")
        download = gr.File(label=i18n("train.download"), file_count="multiple", interactive=False)
    with gr.Accordion(i18n("train.guide_title"), open=False):
        gr.Markdown(i18n("train.guide"))

    go.click(train, inputs=[model, loss, augment, size, steps, seed], outputs=[plot, previews, status, download],
             api_name="train", concurrency_limit=4)
    halt.click(stop, outputs=status, api_name="train_stop", concurrency_limit=None)
