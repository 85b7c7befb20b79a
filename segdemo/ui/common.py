"""What every tab's UI shares: queue groups, friendly errors, and the components with faster encoding."""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import gradio as gr

from segdemo.errors import InputError
from segdemo.lessons import train
from segdemo.ui import gradio_compat
from segdemo.ui.i18n import lang_of, strings, t

log = logging.getLogger("segdemo.ui")
F = TypeVar("F", bound=Callable[..., Any])

# Queue groups for a classroom on 2 cores (measured with `make loadtest`, docs/PERFORMANCE.md): Segment
# gets two workers of its own, so a queue of figures never delays it; everything that makes charts or
# image grids shares three more. Their heavy computations run in a worker process (segdemo.workers), so a
# figure request mostly waits there without holding this process's GIL: with two figure workers a class's
# 30 × 4 burst kept figure p95 at 1.9-2.6 s, with three 1.3-1.7 s, Segment's p95 staying at ~2 s (ad-hoc
# bursts on the load test's seed; `loadtest --mode burst` with SEGDEMO_FIGURES_WORKERS, which overrides it).
# Before the worker processes, more figure workers only moved the wait onto Segment (the GIL was the limit).
SEGMENT_QUEUE: dict[str, Any] = {"concurrency_id": "segment", "concurrency_limit": 2}
FIGURES_QUEUE: dict[str, Any] = {"concurrency_id": "figures",
                                 "concurrency_limit": int(os.environ.get("SEGDEMO_FIGURES_WORKERS", "3"))}


def _request_in(args: tuple[Any, ...], kwargs: dict[str, Any]) -> gr.Request | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, gr.Request):
            return value
    return None


def to_gradio_error(exc: BaseException, lang: str) -> gr.Error:
    """Turn any exception into a ``gr.Error`` with a message in ``lang`` and no traceback.

    :class:`InputError` keys are translated; other ``ValueError``s keep their message (they
    describe a bad argument in plain words). A refusal is logged as one line (``refused <key>: ...``)
    and Gradio is told not to print its traceback; anything else is a bug: logged with its traceback
    and shown as a short, generic message naming only the exception type.
    """
    if isinstance(exc, gr.Error):
        error = exc
    elif isinstance(exc, InputError) and exc.key in strings():
        try:
            error = gr.Error(t(exc.key, lang, **exc.params))
        except (KeyError, IndexError):
            error = gr.Error(str(exc))
    elif isinstance(exc, ValueError):
        error = gr.Error(str(exc))
    else:
        log.exception("unexpected error in a handler", exc_info=exc)
        return _titled(gr.Error(t("err.unexpected", lang, kind=type(exc).__name__)), lang)
    log.warning("refused %s: %s", getattr(exc, "key", type(exc).__name__), str(exc).replace("\n", " ")[:300])
    error.print_exception = False  # one line above, not a traceback per refused upload
    return _titled(error, lang)


def _titled(error: gr.Error, lang: str) -> gr.Error:
    # The toast's title is Gradio's English "Error" unless a handler chose another one.
    if error.title == "Error":
        error.title = t("common.error_title", lang)
    return error


def warning(message: str, lang: str) -> None:
    """A yellow toast with ``message`` and a title in ``lang`` (Gradio's own title is English)."""
    gr.Warning(message, title=t("common.warning_title", lang))


def info(message: str, lang: str) -> None:
    """A toast with ``message`` and a title in ``lang``."""
    gr.Info(message, title=t("common.info_title", lang))


def friendly_errors(fn: F) -> F:
    """Decorate a Gradio handler so that no exception reaches the user as a traceback.

    The handler should take a ``gr.Request`` parameter so the message is in the reader's
    language; without one, English is used. Works for plain and generator handlers.
    """
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the point is to catch everything
                raise to_gradio_error(exc, lang_of(_request_in(args, kwargs))) from None

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise to_gradio_error(exc, lang_of(_request_in(args, kwargs))) from None

    return wrapper  # type: ignore[return-value]



def on_session_end(request: gr.Request) -> None:
    """``demo.unload``: the page was closed or reloaded; free what its session holds (trained checkpoints)."""
    if request is not None and request.session_hash:
        train.end_session(request.session_hash)


def upload_image(**kwargs: Any) -> gr.Image:
    """A ``gr.Image(type="filepath")`` that hands the handler the uploaded path without decoding it first
    (so :func:`segdemo.imageio.load_image` gives the clear, translated error; see ``gradio_compat``)."""
    return gradio_compat.pass_upload_path(gr.Image(type="filepath", **kwargs))


def class_masks_image(**kwargs: Any) -> gr.AnnotatedImage:
    """A ``gr.AnnotatedImage`` for one 0/1 mask per class, each sent as a 2-colour palette PNG.

    Handlers return ``(image, [(mask, label, "#rrggbb"), ...])``: a plain value, so Gradio never
    postprocesses a returned component on its event loop.
    """
    return gradio_compat.fast_class_masks(gr.AnnotatedImage(**kwargs))


#: For ``launch(head=...)``. Plotly lays out a chart drawn inside a hidden tab at its default 700 px and
#: measures its box again only on a window resize: announce one whenever a tab is opened.
CHARTS_HEAD = """<script>
document.addEventListener("click", (event) => {
  if (event.target.closest && event.target.closest('[role="tab"]')) {
    setTimeout(() => window.dispatchEvent(new Event("resize")), 50);
  }
}, true);
</script>"""


def chart(**kwargs: Any) -> gr.Plot:
    """A ``gr.Plot`` for a :mod:`segdemo.charts` spec (titles are in the chart: a label badge covered them)."""
    return gr.Plot(show_label=False, **kwargs)


def chart_value(spec_json: str) -> Any:
    """The value of a :func:`chart` output for ready JSON text (``segdemo.charts.to_json``), sent as it is."""
    return gradio_compat.plot_payload(spec_json)


def picture_image(**kwargs: Any) -> gr.Image:
    """An output ``gr.Image`` whose numpy pictures go out as PNG (label maps) or JPEG 95 (photo-like ones)."""
    # format: what Gradio itself writes if the patched method is lost (a gr.update() replaces the block)
    return gradio_compat.fast_image(gr.Image(type="numpy", interactive=False, format="png", **kwargs))


def picture_gallery(**kwargs: Any) -> gr.Gallery:
    """A ``gr.Gallery`` whose numpy pictures go out as PNG (label maps) or JPEG 95 (photo-like ones)."""
    return gradio_compat.fast_gallery(gr.Gallery(**kwargs))
