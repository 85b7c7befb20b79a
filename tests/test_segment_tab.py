"""Segment tab: inference backend, model picker, the ``/segment`` API with good and hostile input, the browser."""

from __future__ import annotations

import platform
import re
import threading
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch

from segdemo import serving
from segdemo.checkpoints import save_checkpoint
from segdemo.inference import ModelCache, Segmenter
from segdemo.lessons import segment as segment_lesson
from segdemo.models import create_model, list_models
from segdemo.palette import scene_classes
from segdemo.training import NORMALIZATION

AppError = pytest.importorskip("gradio_client.exceptions").AppError
SHIPPED = [f"shipped:{Path(card['stem']).name}" for card in serving.shipped()]


# ---------------------------------------------------------------- backend
def _segmenter(num_classes: int = 3) -> Segmenter:
    torch.manual_seed(0)
    return Segmenter(create_model("unet", num_classes, init_features=4), NORMALIZATION)


@pytest.mark.parametrize("shape", [(64, 48), (20, 90), (1, 1), (33, 47)])
def test_segmenter_keeps_the_image_size(shape):
    """Tiny images (< 32 px) are upscaled for the model and the answer comes back at their size."""
    out = _segmenter()(np.zeros((*shape, 3), np.uint8))
    assert out.labels.shape == shape and out.confidence.shape == shape and out.entropy.shape == shape
    assert set(out.timings) == {"preprocess", "forward", "postprocess"}
    assert np.all((out.confidence >= 1 / 3 - 1e-6) & (out.confidence <= 1))
    assert np.all((out.entropy >= -1e-6) & (out.entropy <= 1 + 1e-6))


@pytest.mark.parametrize("channels_last", [True, False])
def test_preprocess_normalises_by_hand(channels_last):
    """Pixel (255, 0, 51) with mean (0.5, 0.25, 0.2) and std (0.5, 0.25, 0.1): ((1, 0, 0.2) − mean) / std."""
    seg = Segmenter(torch.nn.Conv2d(3, 2, 1), {"mean": [0.5, 0.25, 0.2], "std": [0.5, 0.25, 0.1]},
                    channels_last=channels_last)
    image = np.zeros((40, 36, 3), np.uint8)
    image[...] = (255, 0, 51)
    image[0, 0] = (0, 255, 102)  # ((0, 1, 0.4) − mean) / std
    x = seg.preprocess(image)
    assert x.shape == (1, 3, 40, 36) and x.dtype == torch.float32
    assert x.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    assert torch.allclose(x[0, :, 5, 7], torch.tensor([1.0, -1.0, 0.0]), atol=1e-6)
    assert torch.allclose(x[0, :, 0, 0], torch.tensor([-1.0, 3.0, 2.0]), atol=1e-6)
    small = seg.preprocess(image[:16, :8])  # upscaled to the contract's 32 px, same values (flat image)
    assert small.shape == (1, 3, 64, 32)
    assert torch.allclose(small[0, :, 40, 20], torch.tensor([1.0, -1.0, 0.0]), atol=1e-6)


def test_confidence_and_entropy_by_hand():
    class Fixed(torch.nn.Module):
        def forward(self, x):  # logits (0, ln 3) everywhere: softmax (1/4, 3/4)
            n, _, h, w = x.shape
            return torch.stack([torch.zeros(n, h, w), torch.full((n, h, w), np.log(3.0))], 1)

    out = Segmenter(Fixed(), NORMALIZATION, channels_last=False)(np.zeros((40, 40, 3), np.uint8))
    assert np.allclose(out.confidence, 0.75) and (out.labels == 1).all()
    expected = -(0.25 * np.log(0.25) + 0.75 * np.log(0.75)) / np.log(2)
    assert np.allclose(out.entropy, expected, atol=1e-6)


def test_segmenter_runs_a_bfloat16_model_and_reads_float32_back():
    from segdemo.models.fuse import prepare_for_inference

    torch.manual_seed(0)
    model = create_model("unet", 3, init_features=4).eval()
    fp32 = Segmenter(prepare_for_inference(model), NORMALIZATION)
    bf16 = Segmenter(prepare_for_inference(model, dtype=torch.bfloat16), NORMALIZATION)
    image = np.random.default_rng(0).integers(0, 255, (37, 52, 3), dtype=np.uint8)
    a, b = fp32(image), bf16(image)
    assert (a.precision, b.precision) == ("fp32", "bf16")
    assert bf16.preprocess(image).dtype == torch.bfloat16
    assert b.labels.shape == (37, 52) and b.confidence.dtype == np.float32 and b.logits.dtype == torch.float32
    assert np.abs(a.confidence - b.confidence).max() < 0.05
    # the arg-max and softmax read (K, H, W) rows, not a channels-last float32 tensor's strides (3x slower)
    assert a.logits.is_contiguous() and b.logits.is_contiguous()


def test_precision_setting_reaches_the_tab(monkeypatch):
    """``SEGDEMO_PRECISION=fp32`` turns the bfloat16 path off; the timing line says which one ran."""
    key = SHIPPED[0]
    for setting, expected in (("fp32", "fp32"), ("bf16", "bf16")):
        monkeypatch.setenv("SEGDEMO_PRECISION", setting)
        monkeypatch.setattr(serving, "CACHE", type(serving.CACHE)(serving._load, max_size=1))
        assert segment_lesson.run(key, segment_lesson.scene(0)[0]).segmentation.precision == expected


@pytest.mark.parametrize("num_classes", [1, 2, 6, 21, 129, 256, 257, 300])
def test_labels_and_confidence_agree_with_torch(num_classes):
    from segdemo.inference import labels_and_confidence

    torch.manual_seed(num_classes)
    logits = torch.randn(num_classes, 33, 47) * 4
    logits[:, 0, :5] = 1.5  # ties: the first class wins, as torch.argmax
    labels, confidence = labels_and_confidence(logits)
    assert labels.dtype == (torch.uint8 if num_classes <= 256 else torch.int64)
    assert torch.equal(labels.long(), logits.argmax(0))
    torch.testing.assert_close(confidence, logits.softmax(0).amax(0))
    assert (labels[0, :5] == 0).all() and torch.allclose(confidence[0, :5], torch.tensor(1 / num_classes))


def test_labels_and_confidence_by_hand_and_bad_shapes():
    from segdemo.inference import labels_and_confidence

    logits = torch.tensor([[[0.0, 2.0]], [[np.log(3.0), 2.0]], [[-1e9, 5.0]]])  # (3, 1, 2)
    labels, confidence = labels_and_confidence(logits)
    assert labels.tolist() == [[1, 2]]
    # pixel 0: softmax(0, ln 3, -inf) = (1/4, 3/4, 0); pixel 1: (e^2, e^2, e^5) / sum
    expected = [0.75, np.exp(5) / (2 * np.exp(2) + np.exp(5))]
    assert np.allclose(confidence.numpy()[0], expected)
    with pytest.raises(ValueError, match="K, H, W"):
        labels_and_confidence(torch.zeros(2, 3))


_FAULTS_PER_REQUEST = """
import resource, sys
import numpy as np, torch
from segdemo.inference import Segmenter
from segdemo.serving import configure_allocator
from segdemo.models import create_model
from segdemo.training import NORMALIZATION

if sys.argv[1] == "tuned":
    assert configure_allocator()
else:  # glibc's starting thresholds, pinned: left alone they adapt, differently from run to run
    import ctypes
    mallopt = ctypes.CDLL(None).mallopt
    assert mallopt(-3, 128 * 1024) and mallopt(-1, 128 * 1024)  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
torch.manual_seed(0)
segmenter = Segmenter(create_model("unet", 6, init_features=4), NORMALIZATION)
image = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
for _ in range(3):
    segmenter(image)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    segmenter(image)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


@pytest.mark.slow
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_tuned_allocator_stops_the_page_faults_of_every_request():
    """With glibc's starting thresholds (128 KiB) each 512×512 request maps fresh zeroed pages for its
    buffers and gives them back; with the app's, the next request reuses the last one's memory.

    Left alone, glibc raises its mmap threshold as large blocks are freed, so the untuned count varies
    from run to run (0 to ~29,000 faults per request seen here); the baseline pins the starting values.
    Each in a fresh process: what a process's heap already holds also changes the count."""
    import subprocess
    import sys

    def faults(mode: str) -> float:
        done = subprocess.run([sys.executable, "-c", _FAULTS_PER_REQUEST, mode], capture_output=True, text=True,
                              timeout=120, cwd=Path(__file__).resolve().parents[1])
        assert done.returncode == 0, done.stderr
        return float(done.stdout.split()[-1])

    pinned, tuned = faults("pinned"), faults("tuned")
    assert pinned > 2000 and tuned < pinned / 10, (pinned, tuned)


def test_model_cache_builds_once_under_concurrency():
    calls = []

    def loader(key):
        calls.append(key)
        return key.upper()

    cache = ModelCache(loader, max_size=2)
    threads = [threading.Thread(target=cache.get, args=("a",)) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["a"]
    cache.get("b")
    cache.get("c")  # evicts "a": the cache stays bounded
    assert "a" not in cache and "c" in cache


def test_class_table_error_map_and_miou_by_hand():
    pred = np.array([[0, 1], [1, 1]])
    truth = np.array([[0, 1], [0, 255]])
    assert segment_lesson.class_table(pred, ["bg", "disc"]) == [(1, "disc", 75.0), (0, "bg", 25.0)]
    errors = segment_lesson.error_map(pred, truth)
    assert errors[0, 0].tolist() == [40, 170, 90] and errors[1, 0].tolist() == [220, 50, 50]
    assert errors[1, 1].tolist() == [128, 128, 128]
    # class 0: TP 1, FN 1 -> 1/2; class 1: TP 1, FP 1 -> 1/2 (the ignored pixel counts for neither)
    assert segment_lesson.miou(pred, truth, 2) == pytest.approx(0.5)


def test_choices_and_run_with_a_temporary_checkpoint(tmp_path, monkeypatch):
    torch.manual_seed(0)
    classes = scene_classes()
    model = create_model("unet", len(classes["names"]), init_features=4)
    save_checkpoint(model, tmp_path / "tiny", {
        "model": "unet", "variant": "small", "options": {"init_features": 4}, "num_classes": 6,
        "classes": classes, "normalization": NORMALIZATION, "params": 1, "recipe": {"size": 64, "steps_done": 3},
        "validation": {"size": 64}, "metrics": {"miou": 0.5}})
    monkeypatch.setenv("SEGDEMO_CHECKPOINT_DIR", str(tmp_path))
    keys = [c.key for c in serving.choices()]
    assert keys[0] == "shipped:tiny" and any(k.startswith("pretrained:") for k in keys)
    image, truth = segment_lesson.scene(2)
    assert image.shape == (64, 64, 3)  # examples are drawn at the models' training size
    result = segment_lesson.run("shipped:tiny", image, truth)
    assert result.segmentation.labels.shape == (64, 64) and 0.0 <= result.miou <= 1.0
    with pytest.raises(ValueError, match="No checkpoint"):
        segment_lesson.run("shipped:nope", image)
    with pytest.raises(ValueError, match="no model"):
        segment_lesson.run("other:thing", image)
    serving.CACHE.clear()


# ---------------------------------------------------------------- API
def _segment(client, *, source="scene", scene=3, image=None, model=None, compare=(), opacity=0.5):
    from gradio_client import handle_file

    return client.predict(source, scene, handle_file(str(image)) if image else None, model, list(compare), opacity,
                          api_name="/segment")


needs_shipped = pytest.mark.skipif(not SHIPPED, reason="no checkpoint in checkpoints/ yet")


@needs_shipped
@pytest.mark.parametrize("key", SHIPPED)
def test_api_segments_an_example_and_an_upload(client, key, tmp_path):
    pair, annotated, confidence, table, summary, gallery = _segment(client, model=key)
    assert "mIoU" in summary and "ms" in summary and "VOC pretrained" not in summary
    assert table["data"] and sum(float(row[2]) for row in table["data"]) == pytest.approx(100, abs=0.1)
    assert len(gallery) == 3  # prediction, error map, ground truth
    from PIL import Image

    path = tmp_path / "photo.webp"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (70, 90, 3), dtype=np.uint8)).save(path)
    pair, annotated, confidence, table, summary, gallery = _segment(client, source="upload", image=path, model=key)
    assert "90×70" in summary and gallery == []
    assert "VOC pretrained" in summary  # a photo and a model that only knows the synthetic shapes


@needs_shipped
def test_api_compare_mode(client):
    if len(SHIPPED) < 2:
        pytest.skip("compare mode needs two shipped models")
    *_, summary, gallery = _segment(client, model=SHIPPED[0], compare=[SHIPPED[1]])
    # one row per model: prediction (name · mIoU first: a caption is one line), error map, its truth
    assert len(gallery) == 6
    for row, key in zip((gallery[:3], gallery[3:]), SHIPPED[:2], strict=True):
        assert row[0]["caption"].startswith(f"{serving.choice(key).display['en']} · mIoU 0.")
        assert row[1]["caption"] == "error map" and row[2]["caption"].startswith("ground truth (")


@needs_shipped
def test_api_compare_mode_gives_each_model_the_scene_at_its_own_size(client):
    """Models trained at different sizes each see the scene at the scale they know (mIoU per model)."""
    from PIL import Image

    by_size = {}
    for key in SHIPPED:
        by_size.setdefault(serving.choice(key).size, key)
    if len(by_size) < 2:
        pytest.skip("all shipped models share one training size")
    (size_a, key_a), (size_b, key_b) = list(by_size.items())[:2]
    *_, summary, gallery = _segment(client, model=key_a, compare=[key_b])
    predictions, truths = gallery[0::3], gallery[2::3]  # prediction, error map, truth per model
    sizes = [Image.open(item["image"]).size for item in predictions]
    assert sizes == [(size_a, size_a), (size_b, size_b)]
    assert [Image.open(item["image"]).size for item in truths] == sizes
    assert [item["caption"] for item in truths] == [f"ground truth ({s}×{s})" for s in (size_a, size_b)]
    assert all("mIoU" in item["caption"] for item in predictions)
    # the main model first, then the compared one (regression: the main slot once ran the last compared model)
    assert [item["caption"].split(" · ")[0] for item in predictions] == [
        serving.choice(key_a).display["en"], serving.choice(key_b).display["en"]]


@needs_shipped
@pytest.mark.parametrize("case, message", [
    ("text_named_png", "not an image"),
    ("empty_file", "not an image"),
    ("truncated_jpeg", "truncated or corrupt"),
    ("decompression_bomb", "megapixels"),
])
def test_api_bad_uploads_get_clear_messages(client, hostile, case, message):
    with pytest.raises(AppError, match=message):
        _segment(client, source="upload", image=hostile[case], model=SHIPPED[0])


@needs_shipped
@pytest.mark.parametrize("case", ["one_pixel", "panorama_20000x10", "cmyk_jpeg", "png_16_bit", "animated_gif",
                                  "rgba", "grayscale", "exif_rotated", "webp", "tiff", "bmp"])
def test_api_odd_but_valid_uploads_are_segmented(client, hostile, case):
    *_, summary, _ = _segment(client, source="upload", image=hostile[case], model=SHIPPED[0])
    assert "ms" in summary
    if case == "exif_rotated":
        assert "48×64" in summary  # a 64×48 photo tagged "rotate 90°" is shown upright
    if case == "panorama_20000x10":
        assert "1024×1" in summary  # downscaled to the max side


def test_api_refuses_missing_input_and_unknown_models(client):
    with pytest.raises(AppError):
        _segment(client, source="upload", image=None, model=(SHIPPED or ["shipped:x"])[0])
    with pytest.raises(AppError):
        _segment(client, model="shipped:does-not-exist")


def test_api_offline_pretrained_model_says_it_needs_the_network_once(client, monkeypatch, tmp_path):
    """No network and nothing cached: a clear message naming the file and folder; shipped models still work."""
    import urllib.error
    import urllib.request

    import torch

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(AppError, match="deeplabv3_mobilenet_v3_large-fc3c493d.pth") as info:
        _segment(client, model="pretrained:deeplabv3_mobilenet_v3_large_voc")
    assert str(tmp_path / "torch") in str(info.value) and "Traceback" not in str(info.value)
    if SHIPPED:
        _segment(client, model=SHIPPED[0])


# ---------------------------------------------------------------- browser
@needs_shipped
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_segment_tab_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle
    from segdemo.ui.i18n import t

    with open_app(browser, app_url, lang) as (page, errors):
        goto_tab(page, "segment", lang)
        page.locator("#segment-card h3").wait_for(timeout=30_000)
        # the tab opens on the default scene already segmented: no empty boxes
        page.locator("#segment-summary").filter(has_text="mIoU").wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelectorAll('#segment-gallery img').length == 3",
                               timeout=30_000)
        assert page.locator("#segment-table").is_visible()
        if len(SHIPPED) > 1:
            page.locator("#segment-compare input").click()
            page.get_by_role("option").nth(1).click()
            page.keyboard.press("Escape")
        page.locator("#segment-run").click()
        rows = 2 if len(SHIPPED) > 1 else 1  # prediction, error map and truth per model
        page.wait_for_function(f"() => document.querySelectorAll('#segment-gallery img').length == {3 * rows}",
                               timeout=60_000)
        assert "mIoU" in page.locator("#segment-summary").inner_text()
        settle(page)
        # the whole picture in the original/overlay slider (Gradio's draws it taller than its box and
        # cut the bottom off), and every row of the compare gallery without an inner scroll bar
        fits = page.evaluate("""() => {
            const box = document.querySelector('#segment-slider .content').getBoundingClientRect();
            const imgs = [...document.querySelectorAll('#segment-slider .content img')];
            const wrap = document.querySelector('#segment-gallery .grid-wrap');
            return {slider: imgs.length > 0 && imgs.every(i => i.getBoundingClientRect().height <= box.height + 1),
                    gallery: wrap.scrollHeight <= wrap.clientHeight + 1}; }""")
        assert fits == {"slider": True, "gallery": True}
        page.screenshot(path=str(screenshot_dir / f"segment-compare-{lang}.png"), full_page=True)
        assert t("segment.run", lang) in page.locator("#segment-run").inner_text()
        assert not [e for e in errors if "favicon" not in e]


def test_confidence_image_uses_magma_and_enlarges_small_maps():
    from matplotlib import colormaps

    rgb = segment_lesson.confidence_image(np.array([[0.0, 0.5, 1.0, 2.0]], np.float32), min_side=1)
    expected = (colormaps["magma"]([0.0, 128 / 255, 1.0, 1.0])[:, :3] * 255).round()
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb[0].astype(int) - expected).max() <= 1
    assert segment_lesson.confidence_image(np.ones((8, 8), np.float32), min_side=32).shape == (32, 32, 3)


@needs_shipped
def test_clicking_an_example_scene_segments_it(browser, app_url, screenshot_dir):
    from browser import goto_tab, open_app, settle
    from segdemo.ui.segment import EXAMPLES

    with open_app(browser, app_url, "en") as (page, errors):
        goto_tab(page, "segment", "en")
        page.locator("#segment-card h3").wait_for(timeout=30_000)
        first = page.locator("#segment-summary").filter(has_text="mIoU")
        first.wait_for(timeout=60_000)  # the default scene, segmented on load
        before = first.inner_text()
        page.locator("#segment-examples .thumbnail-item").nth(2).click()
        page.wait_for_function("b => document.querySelector('#segment-summary').innerText !== b", arg=before,
                               timeout=60_000)
        page.locator("#segment-summary").filter(has_text="mIoU").wait_for(timeout=60_000)
        slider = page.locator("#tab-segment input[type=number]").first.input_value()
        assert slider == str(EXAMPLES[2])
        settle(page)
        page.screenshot(path=str(screenshot_dir / "segment-example-en.png"), full_page=False)
        assert not [e for e in errors if "favicon" not in e]


def test_example_photos_are_shipped_with_their_terms():
    names = segment_lesson.example_photos()
    assert names == ["astronaut", "cat", "coffee", "rocket"]
    terms = (segment_lesson.PHOTOS / "LICENSE.md").read_text()
    for name in names:
        photo = segment_lesson.example_photo(name)
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
        assert max(photo.shape[:2]) == 384 and not photo.flags.writeable
        assert f"`{name}.jpg`" in terms
    with pytest.raises(ValueError, match="astronaut, cat"):
        segment_lesson.example_photo("../app")


@needs_shipped
@pytest.mark.parametrize("name", ["astronaut", "cat"])
def test_api_segments_an_example_photo(client, name):
    path = segment_lesson.PHOTOS / f"{name}.jpg"
    height, width = segment_lesson.example_photo(name).shape[:2]
    *_, table, summary, gallery = _segment(client, source="upload", image=path, model=serving.default_key())
    assert f"{width}×{height}" in summary and table["data"] and gallery == []


@needs_shipped
def test_clicking_an_example_photo_segments_it(browser, app_url, screenshot_dir):
    from browser import goto_tab, open_app, settle

    with open_app(browser, app_url, "zh") as (page, errors):
        goto_tab(page, "segment", "zh")
        page.locator("#segment-card h3").wait_for(timeout=30_000)
        page.locator("#segment-photos .thumbnail-item").nth(1).click()  # the cat
        page.locator("#segment-summary").filter(has_text="384×255").wait_for(timeout=60_000)
        # one model and no ground truth: nothing to compare, so no empty compare box either
        assert page.locator("#segment-gallery img").count() == 0 and page.locator("#segment-gallery").is_hidden()
        page.locator("#segment-table").filter(has_text="背景").wait_for(timeout=30_000)  # shown once filled
        settle(page)
        page.screenshot(path=str(screenshot_dir / "segment-photo-zh.png"), full_page=True)
        assert not [e for e in errors if "favicon" not in e]


@pytest.mark.parametrize("name", list_models())
def test_every_family_of_the_registry_has_a_name_in_both_languages(name):
    from segdemo.models.registry import get_card
    from segdemo.ui.i18n import t

    family = get_card(name).family
    assert t(f"segment.family.{family}", "en") and t(f"segment.family.{family}", "zh")


@needs_shipped
def test_picker_groups_shipped_models_by_family_and_names_unobvious_families():
    from segdemo.ui.segment import model_dropdown_choices

    shipped = [c for c in serving.choices() if c.key.startswith("shipped:")]
    families = [c.family for c in shipped]
    assert families == sorted(families)  # one block per family
    for lang, prefix in (("en", "Real-time · Fast-SCNN"), ("zh", "实时 · Fast-SCNN")):
        labels = dict((key, label) for label, key in model_dropdown_choices(lang))
        if "shipped:fastscnn" in labels:
            assert labels["shipped:fastscnn"].startswith(prefix)
        if "shipped:fcn8s" in labels:
            assert labels["shipped:fcn8s"].startswith("FCN-8s")  # the name says the family already


def test_shipped_keys_are_names_not_paths():
    """Regression: "shipped:<name>" was joined to the folder as a path, so "../" or an absolute path could
    point the loader anywhere (it still needed a valid card and weights)."""
    from segdemo.errors import InputError

    for key in ("shipped:../checkpoints/unet", "shipped:/etc/passwd", "shipped:sub/unet"):
        with pytest.raises(InputError, match="no model"):
            serving.segmenter(key)


def test_legend_colours_cover_both_languages_and_prefer_the_scene_palette():
    from segdemo.palette import SCENE_PALETTE, scene_classes, to_hex
    from segdemo.ui.segment import legend_colours

    colours = legend_colours()
    classes = scene_classes()
    for k, (en, zh) in enumerate(zip(classes["names"], classes["names_zh"], strict=True)):
        assert colours[en] == colours[zh] == to_hex(SCENE_PALETTE[k])
    assert "aeroplane" in colours or "airplane" in colours


def test_warm_up_loads_the_default_model_first_and_stays_within_the_cache():
    serving.CACHE.clear()
    keys = segment_lesson.warm_up()
    assert keys[0] == serving.default_key() and len(keys) == len(set(keys)) <= serving.CACHE.max_size
    assert all(key in serving.CACHE for key in keys)
    assert segment_lesson.warm_up(["shipped:fastscnn"]) == ["shipped:fastscnn"]


@pytest.mark.parametrize(("source", "compare", "shown", "columns"), [
    ("scene", [], True, 3),  # the ground truth is always there to compare with; prediction, errors, truth
    ("scene", ["shipped:fcn8s", "shipped:lraspp"], True, 3),  # one row per model
    ("upload", [], False, 1),
    ("upload", ["shipped:unet"], False, 1),  # the same model again adds nothing
    ("upload", ["shipped:unet", "shipped:fcn8s"], True, 2),  # the predictions side by side
])
def test_compare_gallery_is_shown_only_when_segment_fills_it(source, compare, shown, columns):
    from segdemo.ui.segment import _reveal

    gallery, table = _reveal(source, "shipped:unet", compare)
    assert gallery["visible"] is shown and table["visible"] is True and gallery["columns"] == columns


@needs_shipped
def test_picker_names_the_validation_score_as_such():
    """The picker's score is the validation mIoU, told apart from the mIoU on the segmented scene."""
    from segdemo.ui.segment import model_dropdown_choices

    for lang, word in (("en", " · val mIoU 0."), ("zh", " · 验证 mIoU 0.")):
        shipped = [label for label, key in model_dropdown_choices(lang) if key.startswith("shipped:")]
        assert shipped and all(word in label for label in shipped)


def test_opacity_redraws_the_last_result_without_a_model():
    from types import SimpleNamespace

    from segdemo.palette import overlay
    from segdemo.ui import segment

    image = np.full((4, 6, 3), 100, np.uint8)
    labels = np.zeros((4, 6), np.uint8)
    labels[:, 3:] = 1
    palette = np.array([[0, 0, 0], [200, 0, 0]], np.uint8)
    me, other = SimpleNamespace(session_hash="me", headers={}), SimpleNamespace(session_hash="other", headers={})
    segment._remember("me", {"image": image, "labels": labels, "palette": palette})
    original, blended = segment.redraw(1.0, me)
    assert original is image and (blended == overlay(image, labels, palette, 1.0)).all()
    assert (blended[:, 3:] == (200, 0, 0)).all()  # opacity 1: the class colour
    assert (segment.redraw(0.0, me)[1] == image).all()  # opacity 0: the image
    assert segment.redraw(0.5, other) == gr.update()  # nothing segmented in that session: nothing to redraw
    for n in range(segment._LAST_SESSIONS):
        segment._remember(f"s{n}", {})
    assert "me" not in segment._LAST  # bounded: the oldest session's result went first


def test_changing_the_model_in_the_browser_recomputes(browser, app_url, screenshot_dir):
    """A new model in the picker replaces the result (no old model's result beside the new card), and the
    opacity slider redraws at once."""
    from browser import goto_tab, open_app

    with open_app(browser, app_url, "en") as (page, errors):
        goto_tab(page, "segment", "en")
        summary = page.locator("#segment-summary")
        summary.get_by_text("mIoU against the ground truth").wait_for(timeout=60_000)
        before = summary.inner_text()
        page.locator("#segment-model input").click()
        page.get_by_role("option", name=re.compile("Fast-SCNN")).click()
        page.wait_for_function(
            """(old) => {
                const summary = document.querySelector('#segment-summary').innerText;
                return summary !== old && summary.includes('mIoU against')
                    && document.querySelector('#segment-card').innerText.includes('Fast-SCNN');
            }""", arg=before, timeout=60_000)  # the new model's card and its own result, no press needed
        assert not errors, errors
