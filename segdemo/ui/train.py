"""Train tab: train a small model live on synthetic scenes, watch its curves and predictions, compare runs.

Runs live in :mod:`segdemo.lessons.train` (one per user, bounded, queued); this module polls and draws.
The main handler is an *async* generator: while it waits between updates it holds no worker thread, so
thirty students watching their runs do not block the other tabs' handlers.
"""

from __future__ import annotations

import asyncio
import functools

import anyio
import gradio as gr

from segdemo import charts
from segdemo.lessons import train as lesson
from segdemo.lessons.pitfalls import Current
from segdemo.losses import list_losses
from segdemo.models import list_models
from segdemo.models.registry import get_card
from segdemo.ui import pitfalls
from segdemo.ui.common import chart, chart_value, friendly_errors, picture_image, to_gradio_error, warning
from segdemo.ui.i18n import i18n, lang_of, t

NAME = "train"
POLL_SECONDS = 1.0
DEFAULT_MODEL = "unet"


def _user(request: gr.Request | None) -> str:
    return (request.session_hash if request is not None else None) or "anonymous"


@functools.lru_cache(maxsize=64)
def _curves_cached(versions: tuple, user: str, lang: str) -> str:  # versions: the cache key
    return curves(lesson.runs_of(user), lang)


def _plot(user: str, lang: str):
    """The user's curves, made again only when a run changed; one shared empty chart for new users."""
    runs = lesson.runs_of(user)
    return chart_value(_curves_cached(tuple(r.version() for r in runs), user if runs else "", lang))


def curves(runs: list[lesson.Run], lang: str) -> str:
    """Loss and val mIoU of ``runs``, the newest bold, earlier ones faint for comparison (chart JSON)."""
    return charts.to_json(charts.train_curves(runs, lang))


def status_text(run: lesson.Run | None, lang: str) -> str:
    """One Markdown paragraph: queue position, progress and timing, or the final result.

    While nothing or the caller's own run is running it also says how busy the server is: the
    status is redrawn every second of a run, so the counts stay current (a separate line drawn
    when the page opened went stale).
    """
    if run is None:
        return t("train.idle", lang) + "  \n" + _server_load(lang)
    if run.state == "queued":
        load = lesson.load()
        return t("train.queued", lang, position=run.queue_position(), running=load["running"], slots=load["slots"])
    if run.state == "failed":
        return t("train.failed", lang, error=run.error or "")
    if run.state == "stopped" and not run.steps and not run.stem:  # stopped while queued or waiting to start
        return t("train.stopped_unstarted", lang)
    if run.state == "running" and not run.steps:  # waiting for a quiet moment, then building the model
        return t("train.starting", lang) + "  \n" + _server_load(lang)
    text = t("train.progress" if run.active else "train.progress_ended", lang, done=len(run.steps), total=run.config.steps_per_epoch,
             rate=f"{run.steps_per_second():.1f}", elapsed=f"{run.elapsed():.0f}",
             remaining=f"{run.remaining():.0f}", miou=f"{run.vals[-1][1]:.3f}" if run.vals else "—")
    if not run.active:
        key = "train.finished_stopped" if run.state == "stopped" else "train.finished_done"
        return text + "  \n" + t(key, lang, miou=f"{run.best.get('miou', 0):.3f}")
    return text + "  \n" + _server_load(lang)


def _server_load(lang: str) -> str:
    load = lesson.load()
    return t("train.server_load", lang, running=load["running"], waiting=load["waiting"])


def limits_text(lang: str) -> str:
    return t("train.limits", lang, steps=lesson.MAX_STEPS, seconds=f"{lesson.MAX_SECONDS:.0f}", slots=lesson.MAX_CONCURRENT)


def _outputs(user: str, run: lesson.Run, lang: str, grid: bool = True) -> tuple:
    # the predictions change at a validation, not at each step: a step redraws the curves only
    return _plot(user, lang), lesson.preview_grid(run) if grid else gr.skip(), status_text(run, lang)


async def train(model: str, loss: str, augment: str, size: float, steps: float, seed: float,
                warm: bool = True, request: gr.Request = None):
    """Train a small model on synthetic scenes, streaming curves, predictions and status.

    Args:
        model: registry name (small variant), e.g. ``"unet"``.
        loss: ``ce``, ``dice``, ``focal``, ``ce+dice``, ``lovasz`` … (``segdemo.losses.list_losses()``).
        augment: augmentation preset (``none``, ``light``, ``course``).
        size: image side: 64, 96 or 128.
        steps: optimizer steps (more than the server's limit is clamped, with a warning).
        seed: random seed, 0..2**31-1.
        warm: start the encoder from the shipped model of the same architecture (default) or from random weights.

    Returns:
        (loss/mIoU curves as a Plotly chart ``{"type": "plotly", "plot": JSON}``, 4 validation scenes with predictions, status Markdown, checkpoint files
        (weights + card), final metrics dict: state, steps_done, seconds, first_val_miou, best_val_miou, …)
    """
    lang, user = lang_of(request), _user(request)
    try:
        config, notices = lesson.make_config(model, loss, augment, int(size), int(steps), int(seed),
                                              bool(warm))
        run = lesson.start(user, config, notices, address=getattr(request, "client", None) and request.client.host)
    except Exception as exc:  # noqa: BLE001 - friendly_errors does not wrap async generators
        raise to_gradio_error(exc, lang) from None
    for key, params in notices:
        warning(t(key, lang, **params), lang)
    shown = shown_grid = None
    try:
        while True:
            finished = not run.active
            if run.version() != shown:
                shown, grid_before = run.version(), shown_grid
                shown_grid = run.previews_version()
                plot, grid, status = await anyio.to_thread.run_sync(_outputs, user, run, lang,
                                                                    shown_grid != grid_before)
                yield plot, grid, status, gr.skip(), gr.skip()
            else:  # only the clock moved: no re-drawing
                yield gr.skip(), gr.skip(), status_text(run, lang), gr.skip(), gr.skip()
            if finished:
                break
            await asyncio.sleep(POLL_SECONDS)
    except (asyncio.CancelledError, GeneratorExit):
        lesson.stop(user)  # the page went away: nobody is watching this run
        raise
    plot, grid, status = await anyio.to_thread.run_sync(_outputs, user, run, lang,
                                                        run.previews_version() != shown_grid)
    yield plot, grid, status, lesson.checkpoint_files(run) or None, run.summary()


@friendly_errors
def stop(request: gr.Request) -> str:
    """Stop the caller's run; it keeps the best model so far (returns a short message)."""
    lang = lang_of(request)
    run = lesson.stop(_user(request))
    return t("train.stopping" if run is not None and run.active else "train.nothing_to_stop", lang)


@friendly_errors
def show(request: gr.Request):
    """What the tab shows on (re)load: the caller's latest run, or the untrained previews."""
    lang, user = lang_of(request), _user(request)
    run = lesson.current(user)
    return _plot(user, lang), lesson.preview_grid(run), status_text(run, lang), limits_text(lang)


def model_names(lang: str) -> list[tuple[str, str]]:
    """The picker's ``(name in lang, registry name)`` pairs, every registered architecture."""

    return [(get_card(n).display.get(lang, get_card(n).display["en"]), n) for n in list_models()]


def _relabel_models(request: gr.Request) -> dict:
    return gr.update(choices=model_names(lang_of(request)))


def pitfall_input(size: float, *, lang: str, request: gr.Request | None = None) -> Current:
    """The pitfalls' input: a validation scene at the image size chosen here."""
    if int(size) not in lesson.SIZES:
        raise gr.Error(t("err.train_size", lang, sizes=", ".join(map(str, lesson.SIZES))))
    images, _ = lesson.preview_scenes(int(size))
    return Current(image=images[0], label="pitfalls.on.train")


def build() -> None:
    """Render the Train tab inside the current ``gr.Tab``."""

    presets = lesson.presets()
    gr.Markdown(i18n("train.intro"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=260):
            names = list_models()
            model = gr.Dropdown(model_names("en"),  # relabelled in the reader's language on load
                                value=DEFAULT_MODEL if DEFAULT_MODEL in names else names[0],
                                label=i18n("train.model"), elem_id="train-model")
            loss = gr.Dropdown([(i18n(f"common.loss.{n}"), n) for n in list_losses()], value="ce",
                               label=i18n("train.loss"), elem_id="train-loss")
            augment = gr.Dropdown([(i18n(f"augment.preset.{p}"), p) for p in presets],
                                  value="light" if "light" in presets else presets[0],
                                  label=i18n("train.augment"), elem_id="train-augment")
            size = gr.Radio(list(lesson.SIZES), value=64, label=i18n("train.size"))
            # Beyond the server's limit on purpose: asking for more shows the clamp notice.
            steps = gr.Slider(10, max(1000, lesson.MAX_STEPS), value=min(lesson.DEFAULT_STEPS, lesson.MAX_STEPS), step=10,
                              label=i18n("train.steps"), elem_id="train-steps")
            seed = gr.Number(0, precision=0, minimum=0, maximum=lesson.MAX_SEED, label=i18n("train.seed"))
            warm = gr.Checkbox(True, label=i18n("train.warm"), elem_id="train-warm")
            with gr.Row():
                go = gr.Button(i18n("train.go"), variant="primary", elem_id="train-go")
                halt = gr.Button(i18n("train.stop"), variant="stop", elem_id="train-stop")
            limits = gr.Markdown(elem_id="train-limits")
        with gr.Column(scale=3):
            status = gr.Markdown(elem_id="train-status")
            # Captions as Markdown: an image's label badge would cover the plots' titles.
            gr.Markdown(i18n("train.curves"))
            plot = chart(elem_id="train-curves")
            gr.Markdown(i18n("train.previews"))
            previews = picture_image(show_label=False, elem_id="train-previews",
                                height=420, buttons=["fullscreen"])
    with gr.Row():
        download = gr.File(label=i18n("train.download"), file_count="multiple", interactive=False,
                           elem_id="train-download", height=140)
        with gr.Accordion(i18n("train.metrics"), open=False):
            metrics = gr.JSON(show_label=False, elem_id="train-metrics")
    with gr.Accordion(i18n("train.guide_title"), open=False):
        gr.Markdown(i18n("train.guide"))

    go.click(train, inputs=[model, loss, augment, size, steps, seed, warm],
             outputs=[plot, previews, status, download, metrics], api_name="train", concurrency_limit=None)
    halt.click(stop, outputs=status, api_name="train_stop", concurrency_limit=None)
    root = gr.context.Context.root_block
    root.load(show, outputs=[plot, previews, status, limits], api_visibility="private")
    root.load(_relabel_models, outputs=model, api_visibility="private", queue=False)
    # A closed page ends its runs through the app's one unload hook (ui.common.on_session_end).
    pitfalls.panel("train", [size], pitfall_input)  # where the textbook code breaks, at this tab's image size
