"""Every use of a Gradio internal in segdemo, in one place, each tied to the Gradio version it was tested on.

segdemo relies on nine behaviours of Gradio 6.31.0 that have no public switch:

1. **Per-session component configs** (``state_holder.SessionState``): Gradio builds the config of *every*
   component for each new browser session, on the server's event loop (20–35 ms for this 356-component app
   while nothing else is served), then keeps each output value it sends in that session's copy, for up to
   ``SESSION_CAPACITY`` sessions: only its deep links read them (``gr.DeepLinkButton``, not used here).
   :class:`DeepLinkConfigs` takes their place and keeps nothing. Installed by :func:`install`.
2. **Uploads decoded before the handler** (``gr.Image.preprocess``): a plain ``gr.Image`` opens every upload
   with PIL first, so a text file named ``.png`` or a decompression bomb fails inside Gradio with a technical
   message. :func:`pass_upload_path` makes the component hand the handler the path, and
   :func:`segdemo.imageio.load_image` gives the clear, translated error.
3. **One image format per output** (``gr.AnnotatedImage.postprocess``, ``gr.Gallery.postprocess``,
   ``gr.Image.postprocess``): Gradio saves every AnnotatedImage mask as a float64 RGBA PNG (most of a
   Segment request's server time) and every gallery item or image in one format (WebP, ~20× slower than
   JPEG). :func:`fast_class_masks` writes 2-colour palette PNGs; :func:`fast_gallery` and
   :func:`fast_image` write label maps as lossless PNG and photo-like pictures as JPEG 95.
4. **Gradio's upload cache** (``processing_utils.save_bytes_to_cache``, ``Component.GRADIO_CACHE``): where
   those encoded files go, so that Gradio serves them like its own.
5. **The page's locale** (``changeLocale`` of Gradio's front end): see section 5 below.
6. **Plots as ready JSON** (``gr.components.plot.PlotData``): ``gr.Plot`` turns a figure object into JSON on
   the server's event loop for every response; :func:`plot_payload` wraps the JSON text that
   :mod:`segdemo.charts` made (and the tabs cached) in the value ``gr.Plot`` passes through untouched.

7. **Gradio's cache** (``Blocks.temp_file_sets``, ``SessionState.blocks_config``): Gradio's clean-up misses the
   files tracked on a session's copy of a component (22 MB of a lesson's checkpoint downloads stayed after
   each exit, and were never aged out); :func:`delete_cached_files` covers them, by age and size on the
   housekeeping beat and all of them at shutdown. It replaces Gradio's own scheduled clean-up, which walks the
   sets without copying them in another thread.

8. **Queue settings without a second app** (``Blocks._queue``): ``Blocks.queue()`` builds the whole FastAPI app
   again (~0.3 s of a ~5 s start, after ``Blocks.__exit__`` built it once and before ``launch`` builds it for
   good); :func:`configure_queue` sets the same two settings on the queue ``Blocks`` already made.
   :func:`summarise_analytics_every` spaces out the queue's per-event analytics summary.

9. **Type stubs written at import** (``component_meta.create_or_modify_pyi``): Gradio's component metaclass
   reads and parses the source of each of its ~80 component classes when it defines them, to write a
   ``.pyi`` stub for editors: 0.6–0.9 s of every start, for a file the installed package already has.
   :func:`skip_component_stubs` makes it a no-op; ``app.py`` calls it before Gradio is imported.
10. **Handlers wrapped** (``Blocks.fns[i].fn``): Gradio has no per-event wrapper; :func:`wrap_events`
   decorates the events of one ``concurrency_id`` (or all) after the page is built: the shell runs the
   figures queue's torch work on one thread per request (``serving.lesson_threads``) and counts every
   request in flight, so training runs wait for them (``serving.foreground``).
11. **Type hints read once per function** (``utils.get_type_hints``): Gradio evaluates every handler's
   string annotations at each call; :func:`cache_type_hints` (run by :func:`install`) remembers them.

(2) and (3) replace a method on the component *instance*: a subclass would make Gradio's component
metaclass write a ``.pyi`` stub into the app's folder (read-only on a Space). A returned update (``gr.update``,
``gr.skip``) gives a session a fresh block of the same class; :func:`install` makes it keep those methods. :func:`check_version` stops the
app at start-up on any Gradio version these were not tested on; ``tests/test_gradio_compat.py`` tests each.
"""

from __future__ import annotations

import functools
import inspect
import io
import os
import time
import types
from collections.abc import Callable, Iterable
from copy import copy
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageColor

from segdemo.imageio import PNG_LEVEL, encode_picture

#: The Gradio versions whose internals this module was written against and tested with.
TESTED_GRADIO = ("6.31.0",)


def check_version(version: str | None = None) -> None:
    """Stop with a clear message when the installed Gradio is not one this module was tested with.

    Raises:
        RuntimeError: naming the installed and the tested versions, and what to do.
    """
    if version is None:
        import gradio

        version = gradio.__version__
    if version not in TESTED_GRADIO:
        raise RuntimeError(
            f"segdemo was tested with gradio {', '.join(TESTED_GRADIO)} and relies on some of its internals "
            f"(segdemo/ui/gradio_compat.py); gradio {version} is installed. Install the pinned version "
            "(pip install -r requirements.txt) or test the workarounds in gradio_compat.py on the new one "
            "and add it to TESTED_GRADIO.")


# ---- 9. type stubs written at import ----

_COMPONENT_META = "gradio.component_meta"


def _no_stub(*args: Any, **kwargs: Any) -> None:
    return None


class _SkipStubs:
    """A one-shot import hook: runs ``gradio.component_meta`` as usual, then disables its stub writer."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != _COMPONENT_META:
            return None
        import importlib.machinery
        import sys

        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            run(module)
            if hasattr(module, "create_or_modify_pyi"):
                module.create_or_modify_pyi = _no_stub

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_component_stubs() -> bool:
    """Stop Gradio from writing component type stubs at import (section 9). Call before ``import gradio``;
    if Gradio is already imported, only components defined later skip it. Returns True when installed."""
    import sys

    module = sys.modules.get(_COMPONENT_META)
    if module is not None:
        if hasattr(module, "create_or_modify_pyi"):
            module.create_or_modify_pyi = _no_stub
            return True
        return False
    if not any(isinstance(f, _SkipStubs) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipStubs())
    return True


# ---- 1. per-session component configs ----

class DeepLinkConfigs(dict):
    """Stands in for ``SessionState.config_values``, which only Gradio's deep links read (``/deep_link``, behind
    ``gr.DeepLinkButton``; segdemo has none): every block "has" an entry, each read gives a fresh empty
    config, writes are dropped, and listing it gives nothing. So Gradio builds no config when a session
    starts or an output changes, and keeps no copy of what it sent (it still builds one, then drops it,
    when a session's block is replaced: a ``gr.State`` write or a returned component update)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: int) -> dict[str, Any]:
        return {}

    def __setitem__(self, key: int, value: Any) -> None:
        pass

    def get(self, key: int, default: Any = None) -> dict[str, Any]:
        return {}


def _init(self: Any, blocks: Any) -> None:
    # Mirrors gradio 6.31.0 state_holder.SessionState.__init__, without building config_values.
    self.blocks_config = copy(blocks.default_config)
    self.config_values = DeepLinkConfigs()
    self.state_data = {}
    self._state_ttl = {}
    self.is_closed = False
    self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600


def _update_config(self: Any, key: int) -> None:
    # Gradio's writes only config_values[key] (a component's new config, for deep links)
    return None


#: The methods (2) and (3) replace on a component instance.
INSTANCE_METHODS = ("preprocess", "postprocess")


def _set_item(set_item: Callable[..., None]) -> Callable[..., None]:
    """``SessionState.__setitem__`` keeping the instance methods of (2) and (3) on a session's new block.

    An event that returns an update for an output (``gr.update(...)``, and ``gr.skip()``, which a generator
    yields for the outputs it leaves alone) makes Gradio build a fresh block of the same class for that
    session, with Gradio's own methods: without this, the Train tab's predictions went out as Gradio's PNG
    (~50 ms each) from its second update on.
    """

    @functools.wraps(set_item)
    def __setitem__(self: Any, key: int, value: Any) -> None:
        before = self.blocks_config.blocks.get(key)
        set_item(self, key, value)
        if before is None or value is before or type(value) is not type(before):
            return
        for name in INSTANCE_METHODS:
            method = vars(before).get(name)
            if method is None or name in vars(value):
                continue
            if isinstance(method, types.MethodType) and method.__self__ is before:
                method = types.MethodType(method.__func__, value)
            setattr(value, name, method)

    __setitem__.keeps_instance_methods = True  # type: ignore[attr-defined]
    return __setitem__


#: Gradio's own ``SessionState.__init__`` once :func:`install` replaced it (for the tests' comparison).
original_init: Any = None


def install() -> None:
    """Check the Gradio version, then make new sessions build component configs lazily and keep the instance
    methods of (2) and (3) on the blocks an update replaces (idempotent).

    Called once by ``app.py`` before the UI is built.

    Raises:
        RuntimeError: on a Gradio version not in :data:`TESTED_GRADIO`.
    """
    from gradio import state_holder

    global original_init
    check_version()
    if state_holder.SessionState.__init__ is not _init:
        original_init = state_holder.SessionState.__init__
        state_holder.SessionState.__init__ = _init  # type: ignore[method-assign]
        state_holder.SessionState._update_config = _update_config  # type: ignore[method-assign]
    if not getattr(state_holder.SessionState.__setitem__, "keeps_instance_methods", False):
        state_holder.SessionState.__setitem__ = _set_item(state_holder.SessionState.__setitem__)
    cache_type_hints()


# ---- 2. uploads handed over as paths ----

def pass_upload_path(component: Any) -> Any:
    """Make a ``gr.Image(type="filepath")`` give the handler the uploaded file's path without decoding it."""
    component.preprocess = lambda payload: None if payload is None else str(payload.path)
    return component


# ---- 3. and 4. encoding outputs into Gradio's cache ----

def _save_to_cache(image: Image.Image, cache_dir: str, name: str, **save: Any) -> str:
    from gradio import processing_utils

    buffer = io.BytesIO()
    image.save(buffer, **save)
    return processing_utils.save_bytes_to_cache(buffer.getvalue(), name, cache_dir)


def png_to_cache(image: Any, cache_dir: str, name: str = "image.png", **save: Any) -> str:
    """Encode a PIL image or ``(H, W[, C])`` uint8 array as PNG at zlib level ``PNG_LEVEL`` into Gradio's cache.

    Returns:
        The cached file's path (named by the hash of its bytes, as Gradio does).
    """
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.ascontiguousarray(image))
    return _save_to_cache(image, cache_dir, name, format="png", compress_level=PNG_LEVEL, **save)


def picture_to_cache(image: np.ndarray, cache_dir: str) -> str:
    """Cache a uint8 picture as :func:`segdemo.imageio.encode_picture` encodes it (PNG for flat colours,
    JPEG 95 for photo-like pictures), named by the hash of its bytes as Gradio does."""
    from gradio import processing_utils

    data, extension = encode_picture(image)
    return processing_utils.save_bytes_to_cache(data, f"image.{extension}", cache_dir)


def _class_masks_postprocess(self: Any, value: Any) -> Any:
    from gradio import processing_utils
    from gradio.components.annotated_image import AnnotatedImageData, Annotation
    from gradio.data_classes import FileData

    if value is None:
        return None
    base, annotations = value
    if not isinstance(base, np.ndarray) or any(not isinstance(a[0], np.ndarray) for a in annotations):
        return type(self).postprocess(self, value)  # paths, PIL images, boxes: Gradio's own way
    base_path = processing_utils.save_img_array_to_cache(base, cache_dir=self.GRADIO_CACHE, format=self.format)
    colours = self.color_map or {}
    sections = []
    for mask, label, *colour in annotations:
        index = Image.fromarray((np.asarray(mask) > 0).astype(np.uint8), mode="P")
        index.putpalette([0, 0, 0, *ImageColor.getrgb(colour[0] if colour else colours.get(label, "#ff0000"))])
        path = png_to_cache(index, self.GRADIO_CACHE, "mask.png", transparency=0)
        sections.append(Annotation(image=FileData(path=path), label=label))
    return AnnotatedImageData(image=FileData(path=base_path), annotations=sections)


def fast_class_masks(component: Any) -> Any:
    """Make a ``gr.AnnotatedImage`` write each 0/1 class mask as a 2-colour palette PNG.

    An annotation may carry its colour, ``(mask, label, "#rrggbb")``, so that a handler returns a plain
    value: returning a component with a new ``color_map`` makes Gradio postprocess it on its event loop,
    where the encoding would stall every other user's request.
    """
    component.postprocess = types.MethodType(_class_masks_postprocess, component)
    return component


def _gallery_postprocess(self: Any, value: Any) -> Any:
    def encoded(item: Any) -> Any:
        media, caption = item if isinstance(item, (tuple, list)) else (item, None)
        if isinstance(media, np.ndarray):
            media = picture_to_cache(media, self.GRADIO_CACHE)
        return media if caption is None else (media, caption)

    return type(self).postprocess(self, [encoded(item) for item in value] if value else value)


def fast_gallery(component: Any) -> Any:
    """Make a ``gr.Gallery`` send numpy label maps as lossless PNG and photo-like pictures as JPEG 95."""
    component.postprocess = types.MethodType(_gallery_postprocess, component)
    return component


def _image_postprocess(self: Any, value: Any) -> Any:
    if isinstance(value, np.ndarray):
        value = picture_to_cache(value, self.GRADIO_CACHE)
    return type(self).postprocess(self, value)


def fast_image(component: Any) -> Any:
    """Make an output ``gr.Image`` send numpy pictures as :func:`picture_to_cache` does, instead of
    Gradio's WebP (lossy, ~10× slower to encode than JPEG) or PNG at zlib level 6."""
    component.postprocess = types.MethodType(_image_postprocess, component)
    return component


# ---- 5. the page's locale chosen by the app, not only by the browser ----
# Gradio's front end picks the locale of gr.I18n labels once, at start-up, from navigator.language (svelte-i18n's
# `initialLocale`, set up in core-<hash>.js's `setupi18n`); no Python API sets it, and `head` scripts are
# injected after that. The module also exports `changeLocale` (what Gradio's own Settings panel calls):
# a page opened with ?lang=zh imports that module (the same URL, so the same store) and calls it. Tab buttons
# keep the label they were drawn with, so the shell also relabels its tabs from a load event.

def locale_module(assets: Path | None = None) -> str:
    """The file name of Gradio's front-end module that exports ``changeLocale`` (``core-<hash>.js``).

    Raises:
        RuntimeError: no such module, or it no longer exports ``changeLocale`` (a Gradio upgrade).
    """
    import gradio

    folder = assets or Path(gradio.__file__).parent / "templates" / "frontend" / "assets"
    found = [p.name for p in sorted(folder.glob("core-*.js"))
             if "as changeLocale" in p.read_text(encoding="utf-8", errors="ignore")]
    if len(found) != 1:
        raise RuntimeError(f"expected one Gradio module exporting changeLocale in {folder}, found {found}; "
                           "see segdemo/ui/gradio_compat.py section 5")
    return found[0]


def locale_js(langs: Iterable[str] = ("en", "zh")) -> str:
    """JavaScript for ``demo.load(js=...)``: ``?lang=<code>`` in the page's address sets the locale of the
    gr.I18n labels (resolved next to the page's own ``assets/index-*.js``, so any root path works)."""
    import json

    return f"""async () => {{
  const lang = new URLSearchParams(window.location.search).get("lang");
  if (!{json.dumps(list(langs))}.includes(lang)) return;
  document.documentElement.lang = lang === "zh" ? "zh-CN" : lang;
  const index = document.querySelector('script[src*="assets/index-"]');
  const base = index ? index.src : new URL("assets/", document.baseURI).href;
  const core = await import(new URL({json.dumps(locale_module())}, base).href);
  core.changeLocale(lang);
}}"""


# ---- 6. plots sent as ready JSON ----

def plot_payload(spec_json: str) -> Any:
    """What ``gr.Plot`` sends for a Plotly figure whose JSON text is already made (``segdemo.charts.to_json``).

    ``gr.Plot.postprocess`` passes its own ``PlotData`` through untouched; given a figure object it would
    call ``figure.to_json()`` on the event loop, per request. Handlers cache the text and return this.
    """
    from gradio.components.plot import PlotData

    return PlotData(type="plotly", plot=spec_json)


# ---- 7. Gradio's cache emptied when the app stops ----
# Gradio's clean-up (``route_utils.delete_files_created_by_app``) walks ``Blocks.temp_file_sets``: the sets of the
# components built in the page. An output of a component that a session updated is tracked on that session's
# copy of the component (``SessionState.blocks_config``), which the clean-up never sees: the Train tab's
# checkpoint downloads (~0.7 MB a run) stayed in the cache after every exit, and were never aged out.

def _cached_file_sets(blocks: Any) -> list[set]:
    sets = list(blocks.temp_file_sets)
    seen = {id(files) for files in sets}  # a session's copy shares most blocks (and their sets) with the page
    holder = getattr(blocks, "state_holder", None)
    for session in list(getattr(holder, "session_data", {}).values()):
        config = getattr(session, "blocks_config", None)
        for block in list(getattr(config, "blocks", {}).values()):
            files = getattr(block, "temp_files", None)
            if isinstance(files, set) and id(files) not in seen:
                seen.add(id(files))
                sets.append(files)
    return sets


def delete_cached_files(blocks: Any, age: float | None = None, limit: int | None = None) -> int:
    """Delete the files Gradio cached for ``blocks`` (uploads, outputs, including those tracked on a session's
    copy of a component; not the examples and initial values it keeps) older than ``age`` seconds (all if
    None), then, while the files left hold more than ``limit`` bytes, the oldest of them; and the folders they
    leave empty. Idempotent; a file that cannot be deleted is left for the next call.

    Returns:
        Bytes freed.
    """
    keep = set()
    for component in blocks.blocks.values():
        keep.update(getattr(component, "keep_in_cache", set()))
    now, freed = time.time(), 0
    left: dict[str, tuple[float, int, list[set]]] = {}  # name → (ctime, size, the sets tracking it)
    for files in _cached_file_sets(blocks):
        for name in list(files):
            try:
                stat = Path(name).lstat()
            except FileNotFoundError:
                files.discard(name)
                continue
            if name in keep:
                continue
            if age is not None and now - stat.st_ctime <= age:
                left.setdefault(name, (stat.st_ctime, stat.st_size, []))[2].append(files)
                continue
            freed += _delete_cached(name, [files], stat.st_size)
    total = sum(size for _, size, _ in left.values())
    for name, (_, size, sets) in sorted(left.items(), key=lambda item: item[1][0]):  # the oldest first
        if limit is None or total <= limit:
            break
        freed += _delete_cached(name, sets, size)
        total -= size
    return freed


def _delete_cached(name: str, sets: list[set], size: int) -> int:
    path = Path(name)
    try:
        path.unlink(missing_ok=True)
    except OSError:  # e.g. permissions changed under us: keep tracking it
        return 0
    for files in sets:
        files.discard(name)
    try:  # Gradio caches each file in a folder named by its hash
        path.parent.rmdir()
    except OSError:  # not empty (another file, or one it keeps), or already gone
        pass
    return size


# ---- 8. queue settings without building the app again ----

def configure_queue(blocks: Any, *, default_concurrency_limit: int | None, max_size: int | None) -> Any:
    """What ``blocks.queue(default_concurrency_limit=..., max_size=...)`` sets, without its ``App.create_app``.

    The queue reads both when it starts (``Queue.create_event_queue_for_fn`` at launch, ``Queue.push``).

    Returns:
        ``blocks``.
    """
    queue = blocks._queue
    if not hasattr(queue, "default_concurrency_limit") or not hasattr(queue, "max_size"):
        raise RuntimeError("Gradio's Queue has no default_concurrency_limit/max_size; see gradio_compat section 8")
    queue.default_concurrency_limit = default_concurrency_limit
    queue.max_size = max_size
    return blocks


def summarise_analytics_every(blocks: Any, events: int) -> Any:
    """Let the queue summarise its event analytics every ``events`` events instead of after each one.

    After every event Gradio's queue rebuilds a pandas summary of its last 10,000 events (for its
    monitoring page, which the app does not offer): 3.7 ms of CPU per event with 1,400 recorded, 8.6 ms
    with 10,000, in every request of a lesson. ``GRADIO_ANALYTICS_CACHE_FREQUENCY`` sets the same, but it
    is read when ``gr.Blocks`` is created.

    Returns:
        ``blocks``.
    """
    queue = blocks._queue
    if not hasattr(queue, "ANAYLTICS_CACHE_FREQUENCY"):  # sic, Gradio's name
        raise RuntimeError("Gradio's Queue has no ANAYLTICS_CACHE_FREQUENCY; see gradio_compat section 8")
    if events < 1:
        raise ValueError(f"events must be >= 1, got {events}")
    queue.ANAYLTICS_CACHE_FREQUENCY = events
    return blocks


# ---- 10. the handlers of one queue wrapped ----
# Gradio has no per-event wrapper; the events' functions are ``Blocks.fns[i].fn``, called (sync ones on a
# worker thread) by ``Blocks.call_function``, which reads whether each is a generator or a coroutine when
# called. Coroutines run on the event loop and are left as they are.

def wrap_events(blocks: Any, decorator: Callable[[Callable[..., Any]], Callable[..., Any]],
                concurrency_id: str | None = None) -> int:
    """Wrap the function of every event of ``blocks`` in the queue ``concurrency_id`` (every event: None)
    with ``decorator`` (which must keep a plain function plain and a generator function a generator function).

    Returns:
        How many functions were wrapped.
    """
    fns = getattr(blocks, "fns", None)
    if not isinstance(fns, dict):
        raise RuntimeError("Gradio's Blocks has no fns dict; see gradio_compat section 10")
    count = 0
    for block_fn in fns.values():
        fn = getattr(block_fn, "fn", None)
        if fn is None or concurrency_id not in (None, getattr(block_fn, "concurrency_id", None)):
            continue
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            continue
        block_fn.fn = decorator(fn)
        count += 1
    return count


# ---- 11. type hints read once per function ----
# ``helpers.special_args`` reads each handler's type hints at every call (``utils.get_type_hints``, which calls
# ``typing.get_type_hints``) to find its ``gr.Request`` parameter. With ``from __future__ import annotations`` the
# hints are strings, evaluated again each time: ~4 % of the time a busy server held the GIL (py-spy --gil).

def cache_type_hints(maxsize: int = 4096) -> bool:
    """Make ``gradio.utils.get_type_hints`` remember each function's hints (idempotent).

    Returns:
        Whether it was installed now (False if it already was).
    """
    from gradio import utils

    if getattr(utils.get_type_hints, "segdemo_cached", False):
        return False
    if not callable(getattr(utils, "get_type_hints", None)):
        raise RuntimeError("gradio.utils has no get_type_hints; see gradio_compat section 11")
    original = utils.get_type_hints
    remembered = functools.lru_cache(maxsize=maxsize)(original)

    def get_type_hints(fn: Any) -> dict[str, Any]:
        try:
            hints = remembered(fn)
        except TypeError:  # an unhashable callable
            return original(fn)
        if not hints and getattr(fn, "__annotations__", None):
            remembered.cache_clear()  # a name not defined yet (NameError → {}): read it again next time
        return hints

    get_type_hints.segdemo_cached = True  # type: ignore[attr-defined]
    get_type_hints.original = original  # type: ignore[attr-defined]
    utils.get_type_hints = get_type_hints
    return True
