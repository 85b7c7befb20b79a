"""Each Gradio internal segdemo relies on (segdemo/ui/gradio_compat.py) does what it claims on the pinned Gradio."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from gradio import state_holder
from PIL import Image

from segdemo.imageio import is_flat
from segdemo.palette import SCENE_PALETTE
from segdemo.ui import gradio_compat
from segdemo.ui.common import class_masks_image, picture_gallery, picture_image, upload_image


def test_the_installed_gradio_is_a_tested_one_and_others_stop_the_app():
    gradio_compat.check_version()  # requirements.txt pins a tested version
    with pytest.raises(RuntimeError, match=r"gradio 9\.9\.9 is installed.*requirements\.txt"):
        gradio_compat.check_version("9.9.9")


def test_uploads_reach_the_handler_as_paths_without_being_decoded(tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("this is text, not a PNG")
    with gr.Blocks():
        image = upload_image()
    payload = gr.FileData(path=str(not_an_image))  # Gradio's own preprocess would open it with PIL and fail
    assert image.preprocess(payload) == str(not_an_image) and image.preprocess(None) is None


def test_no_stub_file_is_written_next_to_the_app():
    root = Path(__file__).resolve().parents[1]
    assert not list((root / "segdemo").rglob("*.pyi"))


def _demo() -> gr.Blocks:
    with gr.Blocks() as demo:
        text = gr.Textbox("hello", label="A")
        number = gr.Number(3)
        state = gr.State([1, 2])
        gr.Button("go").click(lambda a, b, s: (a, b, s), [text, number, state], [text, number, state])
    return demo


def test_a_session_keeps_no_configs_or_outputs_but_the_same_state_as_gradio():
    gradio_compat.install()  # the pinned Gradio (requirements.txt)
    demo = _demo()
    eager = state_holder.SessionState.__new__(state_holder.SessionState)
    gradio_compat.original_init(eager, demo)
    session = state_holder.SessionState(demo)
    assert isinstance(session.config_values, gradio_compat.DeepLinkConfigs)
    assert list(session.components) == [] and len(eager.config_values) > 0
    assert (session.state_data, session._state_ttl, session.is_closed, session.STATE_TTL_WHEN_CLOSED) == \
        (eager.state_data, eager._state_ttl, eager.is_closed, eager.STATE_TTL_WHEN_CLOSED)
    assert session.blocks_config.blocks.keys() == eager.blocks_config.blocks.keys()
    textbox = next(k for k, b in demo.blocks.items() if isinstance(b, gr.Textbox))
    session._update_value_in_config(textbox, "x" * 10**6)  # an event's output: not kept
    session._update_config(textbox)
    assert dict.__len__(session.config_values) == 0 and list(session.components) == []
    # a component update still reaches the session's own copy of the block (what later events use)
    session[textbox] = gr.Textbox(label="new", render=False)
    assert session[textbox].label == "new" and dict.__len__(session.config_values) == 0


def test_the_app_serves_events_and_its_deep_link_is_empty():
    from gradio_client import Client

    gradio_compat.install()
    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(lambda x: x.upper(), box, out, api_name="up")
    demo.queue().launch(prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        assert client.predict("abc", api_name="/up") == "ABC"
        session = next(iter(demo.server_app.state_holder.session_data.values()))
        assert list(session.components) == []
    finally:
        demo.close()


def test_class_masks_image_writes_each_mask_in_its_colour():
    """One 2-colour PNG per class: transparent outside, the annotation's (or the legend's) colour inside."""
    labels = np.zeros((20, 30), np.int64)
    labels[5:10, 5:25] = 1
    labels[12:, :4] = 2
    with gr.Blocks():
        component = class_masks_image(color_map={"disc": "#102030"}, format="jpeg")
    assert component.get_block_name() == "annotatedimage"  # the page draws it as an AnnotatedImage
    out = component.postprocess((np.zeros((20, 30, 3), np.uint8),
                                 [((labels == 1).view(np.uint8), "disc"), (labels == 2, "ring", "#ff8000")]))
    assert out.image.path.endswith(".jpeg") and [a.label for a in out.annotations] == ["disc", "ring"]
    for annotation, k, colour in zip(out.annotations, (1, 2), ((16, 32, 48), (255, 128, 0)), strict=True):
        rgba = np.asarray(Image.open(annotation.image.path).convert("RGBA"))
        inside = labels == k
        assert (rgba[inside] == (*colour, 255)).all() and (rgba[~inside][:, 3] == 0).all()


def test_picture_gallery_keeps_label_maps_lossless_and_sends_photos_as_jpeg():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    labels = np.asarray(SCENE_PALETTE, np.uint8)[rng.integers(0, 6, (30, 40))]  # six colours
    assert not is_flat(photo) and is_flat(labels) and is_flat(photo[:, :, 0])  # one channel: ≤ 256 values
    assert not is_flat(labels, limit=5)
    with gr.Blocks():
        gallery = picture_gallery()
    assert gallery.get_block_name() == "gallery"
    out = gallery.postprocess([(photo, "noisy"), (labels, "labels"), photo[:, :, 0]]).root
    assert [item.caption for item in out] == ["noisy", "labels", None]
    assert out[0].image.path.endswith(".jpeg") and out[1].image.path.endswith(".png")
    sent = np.asarray(Image.open(out[0].image.path)).astype(int)
    assert np.abs(sent - photo).mean() < 8  # quality 95, no chroma subsampling, on pure noise
    np.testing.assert_array_equal(np.asarray(Image.open(out[1].image.path)), labels)  # lossless
    np.testing.assert_array_equal(np.asarray(Image.open(out[2].image.path)), photo[:, :, 0])


def test_picture_image_sends_label_maps_as_png_photos_as_jpeg_and_paths_as_they_are(tmp_path):
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    labels = np.asarray(SCENE_PALETTE, np.uint8)[rng.integers(0, 6, (30, 40))]
    with gr.Blocks():
        image = picture_image(label="x")
    assert image.get_block_name() == "image" and not image.interactive
    sent_photo, sent_labels = image.postprocess(photo), image.postprocess(labels)
    assert sent_photo.path.endswith(".jpeg") and sent_labels.path.endswith(".png")
    assert np.abs(np.asarray(Image.open(sent_photo.path)).astype(int) - photo).mean() < 8
    np.testing.assert_array_equal(np.asarray(Image.open(sent_labels.path)), labels)
    saved = tmp_path / "given.png"
    Image.fromarray(labels).save(saved)
    assert image.postprocess(str(saved)).path == str(saved) and image.postprocess(None) is None


def test_a_skipped_or_updated_output_keeps_sending_pictures_the_fast_way():
    """A generator that yields gr.skip() for an output gets a fresh block for its session from Gradio; it
    still writes JPEG/PNG as picture_image does, not Gradio's PNG (the Train tab's predictions did)."""
    import asyncio
    import concurrent.futures

    gradio_compat.install()
    photo = np.random.default_rng(2).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    with gr.Blocks() as demo:
        image, box = picture_image(), upload_image()
        gr.Button().click(lambda: None, None, [image, box])
    block_fn, session = demo.fns[0], state_holder.SessionState(demo)

    def send(*values):
        # in a thread of its own: an earlier test may have left an event loop running in this one
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, demo.postprocess_data(block_fn, list(values), session)).result()

    assert send(photo, None)[0]["path"].endswith(".jpeg")
    send(gr.skip(), gr.update(label="new"))
    assert session[image._id] is not image and session[box._id].label == "new"  # Gradio replaced both
    assert send(photo, None)[0]["path"].endswith(".jpeg")  # Gradio's own would be .png
    payload = gr.FileData(path="/tmp/x.png")
    assert session[box._id].preprocess(payload) == "/tmp/x.png"  # pass_upload_path's, kept as it was


def test_plot_payload_passes_through_gr_plot_untouched():
    import json

    import gradio as gr

    from segdemo import charts
    from segdemo.ui import gradio_compat

    text = charts.to_json(charts.figure([{"type": "bar", "x": ["a"], "y": [1.0]}], height=300))
    out = gr.Plot().postprocess(gradio_compat.plot_payload(text))
    assert out.type == "plotly" and out.plot is text  # no re-encoding on the event loop
    assert json.loads(out.plot)["config"]["displayModeBar"] is False


def test_delete_cached_files_empties_what_gradio_cached_for_the_app(tmp_path):
    import gradio as gr

    from segdemo.ui import gradio_compat

    with gr.Blocks() as demo:
        gr.Markdown("x")
    folder = tmp_path / "0123abcd"
    folder.mkdir()
    cached = folder / "image.png"
    cached.write_bytes(b"x" * 1000)
    other = tmp_path / "someone-elses.png"  # not this app's: left alone
    other.write_bytes(b"y")
    demo.upload_file_set.add(str(cached))
    # an output tracked on a session's copy of a component, which Gradio's own clean-up does not see
    from types import SimpleNamespace

    session_file = tmp_path / "feed" / "run.safetensors"
    session_file.parent.mkdir()
    session_file.write_bytes(b"z" * 500)
    copy = SimpleNamespace(temp_files={str(session_file)})
    demo.state_holder.session_data["s1"] = SimpleNamespace(blocks_config=SimpleNamespace(blocks={7: copy}))
    assert gradio_compat.delete_cached_files(demo, age=3600) == 0  # all younger than an hour: kept
    assert gradio_compat.delete_cached_files(demo) == 1500
    assert not cached.exists() and not folder.exists() and not session_file.exists() and other.exists()
    assert gradio_compat.delete_cached_files(demo) == 0  # twice is harmless


def test_delete_cached_files_keeps_the_cache_under_its_limit_oldest_first(tmp_path):
    """Four young files of 1,000 bytes on the page (the newest also on a session's copy, counted once) and
    then a 500-byte download only on the session's copy: 4,500 bytes. A limit of 3,000 takes the two oldest
    (without the session's file counted, one would have been enough)."""
    import time
    from types import SimpleNamespace

    import gradio as gr

    from segdemo.ui import gradio_compat

    with gr.Blocks() as demo:
        gr.Markdown("x")
    paths = []
    for i in range(5):
        path = tmp_path / f"h{i}" / ("upload.png" if i < 4 else "run.safetensors")
        path.parent.mkdir()
        path.write_bytes(b"x" * (1000 if i < 4 else 500))
        paths.append(path)
        time.sleep(0.02)  # creation times in this order
    demo.upload_file_set.update(str(path) for path in paths[:4])
    copy = SimpleNamespace(temp_files={str(paths[3]), str(paths[4])})
    demo.state_holder.session_data["s1"] = SimpleNamespace(blocks_config=SimpleNamespace(blocks={7: copy}))
    assert gradio_compat.delete_cached_files(demo, age=3600, limit=4500) == 0  # at the limit: all kept
    assert gradio_compat.delete_cached_files(demo, age=3600, limit=3000) == 2000
    assert [p.exists() for p in paths] == [False, False, True, True, True] and not paths[0].parent.exists()
    assert demo.upload_file_set == {str(paths[2]), str(paths[3])}
    assert gradio_compat.delete_cached_files(demo, age=3600, limit=3000) == 0


def test_the_housekeeping_thread_runs_the_frequent_cleaners_and_trims_even_when_one_fails(monkeypatch):
    import threading

    from segdemo import housekeeping

    calls, trimmed = [], threading.Event()
    monkeypatch.setattr(housekeeping, "QUIET_SECONDS", 0.01)
    monkeypatch.setattr(housekeeping, "SWEEP_SECONDS", 1e9)  # no sweep of the real temp folder
    monkeypatch.setattr(housekeeping, "TRIM_SECONDS", 0.0)
    monkeypatch.setattr(housekeeping, "trim_memory", trimmed.set)
    monkeypatch.setattr(housekeeping, "_frequent", [])

    def failing() -> int:
        calls.append(1)
        raise PermissionError("a file we may not delete")

    housekeeping.add_cleaner(failing, frequent=True)
    monkeypatch.setattr(housekeeping, "_stop", threading.Event())
    thread = threading.Thread(target=housekeeping._loop, daemon=True)
    thread.start()
    try:
        assert trimmed.wait(5) and len(calls) >= 1
    finally:
        housekeeping._stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_configure_queue_sets_what_queue_would_without_a_second_app():
    import gradio as gr

    from segdemo.ui import gradio_compat
    from segdemo.ui.shell import queue_kwargs

    with gr.Blocks() as demo:
        gr.Button().click(lambda: None)
    app = demo.app
    gradio_compat.configure_queue(demo, **queue_kwargs())
    assert demo.app is app  # not rebuilt
    assert demo._queue.default_concurrency_limit == queue_kwargs()["default_concurrency_limit"]
    assert demo._queue.max_size == queue_kwargs()["max_size"]


def test_the_queue_summarises_its_analytics_every_n_events_not_after_each():
    with gr.Blocks() as demo:
        gr.Button().click(lambda: None)
    queue = demo._queue
    assert gradio_compat.summarise_analytics_every(demo, 3) is demo
    records = [{"function": "f", "status": "success", "process_time": 0.1}]
    summaries = []
    for _ in range(7):
        queue.events_recorded += 1
        summaries.append(queue.compute_analytics_summary(records) is queue.cached_event_analytics_summary
                         and queue.event_count_at_last_cache)
    assert summaries == [0, 0, 3, 3, 3, 6, 6]
    with pytest.raises(ValueError):
        gradio_compat.summarise_analytics_every(demo, 0)


def test_skip_component_stubs_stops_gradio_writing_pyi_files_at_import(tmp_path):
    # A fresh interpreter: the hook must run before Gradio's metaclass module is imported.
    import subprocess
    import sys

    module = tmp_path / "mycomponent.py"
    module.write_text("import gradio as gr\n\nclass MyBox(gr.Textbox):\n    pass\n")
    code = ("import sys; from segdemo.ui.gradio_compat import skip_component_stubs; assert skip_component_stubs();"
            f"sys.path.insert(0, {str(tmp_path)!r}); import gradio.component_meta as m, mycomponent;"
            "assert m.create_or_modify_pyi.__name__ == '_no_stub'; import gradio as gr; gr.Textbox('x')")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / "mycomponent.pyi").exists()


def test_wrap_events_decorates_the_events_of_one_queue_as_gradio_then_calls_them():
    import torch
    from gradio_client import Client

    from segdemo import serving

    async def on_loop(x):
        return x

    def stream(x):
        yield f"{x}:{torch.get_num_threads()}"
        yield f"{x}:{torch.get_num_threads()}!"

    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(lambda x: f"{x}:{torch.get_num_threads()}", box, out, api_name="plain",
                          concurrency_id="figures")
        gr.Button().click(stream, box, out, api_name="stream", concurrency_id="figures")
        gr.Button().click(on_loop, box, out, api_name="coro", concurrency_id="figures")
        gr.Button().click(lambda x: f"{x}:{torch.get_num_threads()}", box, out, api_name="other",
                          concurrency_id="segment")
    assert gradio_compat.wrap_events(demo, serving.lesson_threads, "figures") == 2  # the coroutine is left
    wrapped = {fn.api_name: hasattr(fn.fn, "torch_threads") for fn in demo.fns.values()}
    assert wrapped == {"plain": True, "stream": True, "coro": False, "other": False}
    assert gradio_compat.wrap_events(demo, serving.foreground) == 3  # every queue's
    counted = {fn.api_name: hasattr(fn.fn, "foreground") for fn in demo.fns.values()}
    assert counted == {"plain": True, "stream": True, "coro": False, "other": True}
    threads = torch.get_num_threads()
    demo.queue().launch(prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        assert client.predict("a", api_name="/plain") == f"a:{serving.LESSON_THREADS}"
        assert client.predict("b", api_name="/stream") == f"b:{serving.LESSON_THREADS}!"
        assert client.predict("c", api_name="/coro") == "c"
        assert client.predict("d", api_name="/other") == f"d:{threads}"  # other queues keep the process' count
    finally:
        demo.close()


def test_the_app_runs_every_figures_event_on_the_lesson_thread_count():
    from segdemo.ui import common
    from segdemo.ui.shell import build_demo

    demo = build_demo()
    figures = [fn for fn in demo.fns.values() if fn.concurrency_id == common.FIGURES_QUEUE["concurrency_id"]]
    assert len(figures) > 20
    assert all(fn.fn.torch_threads == 1 for fn in figures)
    from segdemo.ui.shell import ANALYTICS_EVERY

    assert demo._queue.ANAYLTICS_CACHE_FREQUENCY == ANALYTICS_EVERY
    segment = [fn for fn in demo.fns.values() if fn.concurrency_id == common.SEGMENT_QUEUE["concurrency_id"]]
    assert segment and not any(hasattr(fn.fn, "torch_threads") for fn in segment)


def test_type_hints_are_read_once_per_function_and_still_right():
    from gradio import helpers, utils

    gradio_compat.install()
    assert gradio_compat.cache_type_hints() is False  # already installed: idempotent
    calls = []
    original = utils.get_type_hints.original

    def handler(x: int, request: gr.Request) -> str:
        return str(x)

    def counting(fn):
        calls.append(fn)
        return original(fn)

    remembered = utils.get_type_hints
    try:
        utils.get_type_hints = counting
        assert gradio_compat.cache_type_hints() is True
        first, second = utils.get_type_hints(handler), utils.get_type_hints(handler)
        assert first is second and first["request"] is gr.Request and calls == [handler]
        # Gradio still finds the request parameter
        inputs, *_ = helpers.special_args(handler, [1], request=gr.Request())
        assert isinstance(inputs[1], gr.Request)
        assert utils.get_type_hints(lambda: None) == {}
    finally:
        utils.get_type_hints = remembered


def test_type_hints_of_a_name_defined_later_are_read_again():
    from gradio import utils

    gradio_compat.install()
    namespace: dict = {}
    exec("def handler(x: 'Later') -> None:\n    pass\n", namespace)  # noqa: S102 - a module defining Later after
    assert utils.get_type_hints(namespace["handler"]) == {}  # NameError: Gradio's answer, not kept
    namespace["Later"] = int
    assert utils.get_type_hints(namespace["handler"])["x"] is int
