"""segdemo.lessons.overview without gradio: the five task views of a scene, and the architectures' timeline."""

from __future__ import annotations

import numpy as np
import pytest

from segdemo.data import render_scene
from segdemo.lessons import overview as overview_lesson
from segdemo.palette import SCENE_PALETTE


@pytest.mark.parametrize("seed, index, size", [(11, 0, 64), (11, 5, 96), (3, 42, 128)])
def test_five_views_are_drawn_from_the_scene(seed, index, size):
    scene = render_scene(seed, index, size)
    v = overview_lesson.views(seed, index, size)
    np.testing.assert_array_equal(v.image, scene.image)
    # semantic: every pixel in its class colour
    np.testing.assert_array_equal(v.semantic, np.asarray(SCENE_PALETTE, np.uint8)[scene.mask])
    # instance: one colour per object id, black where there is none
    for obj in np.unique(scene.instances[scene.instances > 0]):
        colours = np.unique(v.instance[scene.instances == obj], axis=0)
        assert len(colours) == 1 and colours[0].any()
    assert len({tuple(v.instance[scene.instances == o][0]) for o in np.unique(scene.instances) if o}) == len(v.boxes)
    # detection: the boxes are drawn on a copy, the image itself is untouched
    assert v.detection.shape == v.image.shape and not np.array_equal(v.detection, v.image)
    assert all(0 <= x0 <= x1 < size and 0 <= y0 <= y1 < size for x0, y0, x1, y1, _ in v.boxes)


def test_classification_names_the_largest_object_class():
    scene = render_scene(11, 2, 96)
    counts = np.bincount(scene.mask.ravel(), minlength=6)
    counts[0] = 0  # the background is stuff, never the image's label
    assert overview_lesson.views(11, 2, 96).label == counts.argmax()


def test_views_are_labelled_in_chinese():
    en, zh = overview_lesson.views(11, 2, 128, "en"), overview_lesson.views(11, 2, 128, "zh")
    np.testing.assert_array_equal(en.semantic, zh.semantic)
    assert not np.array_equal(en.detection, zh.detection)  # other glyphs in the box labels


def card(model: str, miou: float, stem: str) -> dict:
    return {"model": model, "params": 1234, "metrics": {"miou": miou}, "stem": f"/x/{stem}"}


def test_timeline_orders_by_year_and_reads_the_cards():
    from segdemo.models import list_models

    entries = overview_lesson.timeline([card("unet", 0.5, "unet"), card("unet", 0.7, "unet-long"), card("fcn8s", 0.6, "f")])
    assert sorted(e.name for e in entries) == sorted(list_models())
    years = [e.card.year for e in entries]
    assert years == sorted(years) and years[0] == 2015 and entries[-1].card.year == 2021  # SegFormer, SETR, Swin-Unet, TransUNet
    assert [e.name for e in entries[:3]] == ["fcn32s", "fcn16s", "fcn8s"]  # coarse to fine, as in the paper
    by_name = {e.name: e for e in entries}
    unet = by_name["unet"]
    assert (unet.val_miou, unet.params, unet.segment_key) == (0.7, 1234, "shipped:unet-long")  # the best card
    fcn32 = by_name["fcn32s"]
    assert fcn32.val_miou is None and fcn32.segment_key is None and fcn32.params > 100_000  # "not trained yet"
    assert unet.card.idea["en"] and unet.card.idea["zh"] and unet.card.url.startswith("http")


def test_latency_is_measured_once_per_model(monkeypatch):
    calls = []
    monkeypatch.setattr(overview_lesson, "_latencies", {})
    from segdemo import serving

    monkeypatch.setattr(serving, "median_latency_ms", lambda run, warmup, repeats: calls.append(1) or 12.5)
    assert overview_lesson.measure_latency(["fastscnn"], size=64) == {"fastscnn": 12.5}
    overview_lesson.measure_latency(["fastscnn"], size=64)
    assert len(calls) == 1
    entry = next(e for e in overview_lesson.timeline([]) if e.name == "fastscnn")
    assert entry.latency_ms == 12.5


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_timeline_chart_has_a_dot_per_architecture(lang):
    from segdemo import charts

    entries = overview_lesson.timeline([card("unet", 0.7, "unet")])
    spec = charts.timeline_chart(entries, lang)
    dots = sum(len(trace["x"]) for trace in spec["data"])
    assert dots == len(entries)
    names = [a["text"] for a in spec["layout"]["annotations"]]
    assert len(names) >= len(entries)
    # the one trained model is a circle at its score, the others crosses on the "untrained" line
    symbols = [s for trace in spec["data"] for s in trace["marker"]["symbol"]]
    assert symbols.count("circle") == 1 and symbols.count("x") == len(entries) - 1
    assert ("尚未训练" if lang == "zh" else "not trained yet") in names


def test_timeline_chart_zooms_to_the_scores_and_keeps_its_legend_off_the_dots():
    from segdemo import charts
    from segdemo.models import list_models

    cards = [card(name, 0.80 + 0.01 * i, name) for i, name in enumerate(list_models())]  # 0.80 … 0.88
    entries = overview_lesson.timeline(cards)
    spec = charts.timeline_chart(entries, "zh")
    layout = spec["layout"]
    assert layout["yaxis"]["range"] == pytest.approx([0.7, 1.0])  # all trained: zoomed to floor(min − 0.1)
    assert "实时" in [trace["name"] for trace in spec["data"]]
    assert layout["legend"]["x"] > 1  # right of the axes, off the dots
    # two architectures of one year never share a dot position; names without the backbone in brackets
    xy = [(x, y) for trace in spec["data"] for x, y in zip(trace["x"], trace["y"], strict=True)]
    assert len(set(xy)) == len(xy)
    assert "FCN-8s" in [a["text"] for a in layout["annotations"]]
    hover = " ".join(text for trace in spec["data"] for text in trace["text"])
    assert "0.880" in hover  # hover gives the score
    untrained = overview_lesson.timeline([card("unet", 0.7, "unet")])  # the rest sit at the bottom: full range
    assert charts.timeline_chart(untrained, "en")["layout"]["yaxis"]["range"] == pytest.approx([0.0, 1.0])


@pytest.mark.parametrize("corner", [(0, 0), (150, 5), (60, 60), (190, 190)])
def test_detection_tags_sit_on_a_filled_label_inside_the_picture(corner):
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (192, 192), (0, 0, 0))
    overview_lesson._draw_tag(ImageDraw.Draw(canvas), corner, "三角形 triangle", (0, 158, 115), overview_lesson._font(12), canvas.size)
    pixels = np.asarray(canvas)
    ys, xs = np.nonzero((pixels == (0, 158, 115)).all(axis=2))
    assert len(ys) > 100  # a filled tag, not just coloured glyphs
    above = corner[1] - (ys.max() - ys.min() + 1) >= 0
    assert (ys.max() < corner[1]) if above else (ys.min() == min(corner[1], 192 - (ys.max() - ys.min() + 1)))
    assert ((pixels == 255).all(axis=2)).any()  # white text on the dark green
