"""Helpers every tab's handlers share: language, friendly errors."""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import gradio as gr
import numpy as np
from PIL import Image, ImageColor

from segdemo.errors import InputError
from segdemo.ui.i18n import lang_of, strings, t

log = logging.getLogger("segdemo.ui")
F = TypeVar("F", bound=Callable[..., Any])

# Queue groups for a classroom on 2 cores (measured with `make loadtest`, see the README): Segment
# gets two workers of its own, so a queue of figures never delays it; everything that draws
# figures or image grids shares one worker, so those cannot take both cores from Segment.
SEGMENT_QUEUE: dict[str, Any] = {"concurrency_id": "segment", "concurrency_limit": 2}
FIGURES_QUEUE: dict[str, Any] = {"concurrency_id": "figures", "concurrency_limit": 1}


def _request_in(args: tuple[Any, ...], kwargs: dict[str, Any]) -> gr.Request | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, gr.Request):
            return value
    return None


def to_gradio_error(exc: BaseException, lang: str) -> gr.Error:
    """Turn any exception into a ``gr.Error`` with a message in ``lang`` and no traceback.

    :class:`InputError` keys are translated; other ``ValueError``s keep their message (they
    describe a bad argument in plain words); anything else is logged and shown as a short,
    generic message naming only the exception type.
    """
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, InputError) and exc.key in strings():
        try:
            return gr.Error(t(exc.key, lang, **exc.params))
        except (KeyError, IndexError):
            return gr.Error(str(exc))
    if isinstance(exc, ValueError):
        return gr.Error(str(exc))
    log.exception("unexpected error in a handler", exc_info=exc)
    return gr.Error(t("err.unexpected", lang, kind=type(exc).__name__))


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



def upload_image(**kwargs: Any) -> gr.Image:
    """A ``gr.Image(type="filepath")`` that hands the handler the uploaded path without decoding it first.

    Plain ``gr.Image`` opens uploads with PIL before the handler runs, so a text file named ``.png``
    or a decompression bomb fails inside Gradio with a technical message. This one passes the path on,
    and :func:`segdemo.imageio.load_image` gives the clear, translated error. (An instance attribute,
    not a subclass: Gradio writes a ``.pyi`` file next to any module that subclasses a component.)
    """
    image = gr.Image(type="filepath", **kwargs)
    image.preprocess = lambda payload: None if payload is None else str(payload.path)  # type: ignore[method-assign]
    return image


@contextlib.contextmanager
def _no_stub_files() -> Iterator[None]:
    """Gradio writes a ``.pyi`` stub beside the source of every component class defined; the
    app's folder may be read-only (a Space) and must not change when it is imported."""
    from gradio import component_meta

    write = component_meta.create_or_modify_pyi
    component_meta.create_or_modify_pyi = lambda *args, **kwargs: None
    try:
        yield
    finally:
        component_meta.create_or_modify_pyi = write


def png_to_cache(image: Any, cache_dir: str, name: str = "image.png", **save: Any) -> str:
    """Encode a PIL image or ``(H, W[, C])`` uint8 array as PNG at zlib level 1 into Gradio's cache.

    Level 1 is ~3× faster than PIL's default 6 on noisy pictures and the files are barely larger;
    on a shared 2-core server that is CPU time given back to the other students.

    Returns:
        The cached file's path (named by the hash of its bytes, as Gradio does).
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.ascontiguousarray(image))
    return _save_to_cache(image, cache_dir, name, format="png", compress_level=1, **save)


#: More distinct colours than this and a picture is photo-like (textures, blends, noise).
FLAT_COLOURS = 256


def is_flat(image: np.ndarray, limit: int = FLAT_COLOURS) -> bool:
    """Whether an ``(H, W[, 3])`` uint8 picture has at most ``limit`` distinct colours (a label map,
    a mask, an error map) rather than photo-like content. A sparse sample rules photos out first."""
    image = np.asarray(image)
    pixels = image.reshape(-1, image.shape[-1]) if image.ndim == 3 else image.reshape(-1, 1)
    packed = pixels[:, 0].astype(np.uint32)
    for channel in range(1, pixels.shape[1]):
        packed = (packed << 8) | pixels[:, channel]
    return len(np.unique(packed[::31])) <= limit and len(np.unique(packed)) <= limit


def picture_to_cache(image: np.ndarray, cache_dir: str) -> str:
    """Cache a uint8 picture in the cheapest format that keeps what a student looks at.

    Flat-colour pictures go out as PNG: lossless, and small because they compress well. Photo-like
    ones (scenes with noise and texture, overlays, augmented samples) as JPEG quality 95 without chroma
    subsampling: on a 256×776 sample strip ~15× faster to encode than PNG and ~8× smaller (what thirty
    students download at each click), while edges keep their place, within a few grey levels.
    """
    if is_flat(image):
        return png_to_cache(image, cache_dir)
    picture = Image.fromarray(np.ascontiguousarray(image))
    return _save_to_cache(picture, cache_dir, "image.jpeg", format="jpeg", quality=95, subsampling=0)


def _save_to_cache(image: Image.Image, cache_dir: str, name: str, **save: Any) -> str:
    from gradio import processing_utils

    buffer = io.BytesIO()
    image.save(buffer, **save)
    return processing_utils.save_bytes_to_cache(buffer.getvalue(), name, cache_dir)


with _no_stub_files():
    class ClassMasksImage(gr.AnnotatedImage):
        """``gr.AnnotatedImage`` (same page component, same API) for one 0/1 mask per class.

        Gradio's own postprocess builds every mask as a float64 RGBA array and saves it as a 4-channel
        PNG; for five classes at 512×512 that is most of a Segment request's server time. Here each mask
        is a 2-colour palette PNG (transparent / the class colour), written at the fastest zlib level:
        the same picture in the browser, several times cheaper to make.

        An annotation may carry its colour, ``(mask, label, "#rrggbb")``, so that a handler returns a
        plain value: returning a component with a new ``color_map`` makes Gradio postprocess it on
        its event loop, where the encoding would stall every other user's request.
        """

        is_template = True  # rendered by the AnnotatedImage front end

        def postprocess(self, value: Any) -> Any:
            from gradio import processing_utils
            from gradio.components.annotated_image import AnnotatedImageData, Annotation
            from gradio.data_classes import FileData

            if value is None:
                return None
            base, annotations = value
            if not isinstance(base, np.ndarray) or any(not isinstance(a[0], np.ndarray) for a in annotations):
                return super().postprocess(value)  # paths, PIL images, boxes: Gradio's own way
            base_path = processing_utils.save_img_array_to_cache(base, cache_dir=self.GRADIO_CACHE, format=self.format)
            colours = self.color_map or {}
            sections = []
            for mask, label, *colour in annotations:
                index = Image.fromarray((np.asarray(mask) > 0).astype(np.uint8), mode="P")
                index.putpalette([0, 0, 0, *ImageColor.getrgb(colour[0] if colour else colours.get(label, "#ff0000"))])
                path = png_to_cache(index, self.GRADIO_CACHE, "mask.png", transparency=0)
                sections.append(Annotation(image=FileData(path=path), label=label))
            return AnnotatedImageData(image=FileData(path=base_path), annotations=sections)

    class PictureGallery(gr.Gallery):
        """``gr.Gallery`` (same page component, same API) whose numpy images go out in the format
        :func:`picture_to_cache` picks: label maps as lossless PNG, photo-like pictures as JPEG 95.

        Gradio's own choice is one format for every item (WebP by default, ~20× slower than JPEG);
        lossless PNG for every item made an Augment request 3 MB and three times its handler's time.
        """

        is_template = True  # rendered by the Gallery front end

        def postprocess(self, value: Any) -> Any:
            if value:
                value = [self._encoded(item) for item in value]
            return super().postprocess(value)

        def _encoded(self, item: Any) -> Any:
            media, caption = item if isinstance(item, (tuple, list)) else (item, None)
            if isinstance(media, np.ndarray):
                media = picture_to_cache(media, self.GRADIO_CACHE)
            return media if caption is None else (media, caption)
