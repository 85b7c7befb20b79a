"""segdemo.charts: every chart is a valid Plotly figure, with the lesson's numbers, in the reader's language."""

from __future__ import annotations

import base64
import functools
import io
import json
import math

import numpy as np
import pytest

from segdemo import charts
from segdemo.lessons import losses as losses_lesson

go = pytest.importorskip("plotly.graph_objects")


def _valid(spec: dict) -> dict:
    """The spec after a JSON round trip, checked property by property by plotly itself."""
    out = json.loads(charts.to_json(spec))
    go.Figure({"data": out["data"], "layout": out["layout"]})  # raises on a misspelt or invalid property
    assert out["config"]["displayModeBar"] is False  # no toolbar over the titles
    return out


def _font_sizes(node, found=None) -> list[float]:
    found = [] if found is None else found
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("font", "tickfont", "textfont") and isinstance(value, dict) and "size" in value:
                found.append(value["size"])
            _font_sizes(value, found)
    elif isinstance(node, list):
        for value in node:
            _font_sizes(value, found)
    return found


class _Run:
    def __init__(self, steps, vals, label="unet · ce"):
        self.steps, self.vals, self.label = steps, vals, label
        self.config = type("Config", (), {"steps_per_epoch": 100})()


@functools.cache
def _imbalance() -> losses_lesson.Imbalance:
    return losses_lesson.simulate_imbalance(0.01, 0.5, 0.005, 0.8, 0.999)


def _all_specs(lang: str) -> dict[str, dict]:
    from segdemo.lessons import overview as overview_lesson
    from segdemo.models import list_models

    r = _imbalance()
    colours = losses_lesson.outcome_colours()
    return {
        "focal": charts.focal_chart(losses_lesson.focal_curves(), lang),
        "overlap": charts.overlap_chart(losses_lesson.overlap_curves(0.1, num=5), 10, lang),
        "imbalance": charts.imbalance_chart(r, 1.0, lang),
        "bars": charts.loss_bars_chart(r.losses, r.miou, lang),
        "picture": charts.pictures([(colours[r.outcome], "x")], charts.outcome_legend(
            ("tn", "fp"), colours, losses_lesson.OUTCOMES, lang), title="t"),
        "confusion": charts.confusion_chart(np.array([[3, 1], [0, 0]]), ["bg", "disc"], lang),
        "train": charts.train_curves([_Run([(1, 2.0), (2, 1.0)], [(2, 0.5)])], lang),
        "train_empty": charts.train_curves([], lang),
        # every architecture with a card (no model is built to count its parameters), one untrained
        "timeline": charts.timeline_chart(overview_lesson.timeline(
            [{"model": name, "params": 1234, "metrics": {"miou": 0.8}, "stem": f"/x/{name}"}
             for name in list_models()[1:]] + [{"model": list_models()[0], "params": 99, "stem": "/x/y"}]), lang),
    }


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_chart_is_valid_plotly_with_projector_fonts(lang):
    for name, spec in _all_specs(lang).items():
        out = _valid(spec)
        sizes = _font_sizes(out)
        assert sizes and min(sizes) >= 14, (name, sizes)


def test_numbers_turn_nan_into_null_and_round():
    assert charts.numbers([1.234567, np.nan, np.inf]) == [1.23457, None, None]
    assert charts.numbers([[0.5, np.nan], [1, 2]]) == [[0.5, None], [1.0, 2.0]]
    with pytest.raises(ValueError):  # JSON has no NaN: the browser would drop the whole figure
        charts.to_json({"data": [{"y": [float("nan")]}]})


def test_focal_chart_carries_the_lessons_numbers():
    c = losses_lesson.focal_curves()
    spec = charts.focal_chart(c, "en")
    ce = next(tr for tr in spec["data"] if tr["name"] == "CE" and "xaxis" not in tr)
    i = ce["x"].index(0.5)
    assert ce["y"][i] == pytest.approx(math.log(2), abs=1e-4)  # CE at p_t = 0.5 is ln 2
    grad = next(tr for tr in spec["data"] if tr["name"] == "CE" and tr.get("xaxis") == "x2")
    assert grad["y"][i] == pytest.approx(0.5, abs=1e-4)  # |∂CE/∂z| = 1 − p_t
    assert spec["layout"]["yaxis2"]["type"] == "log"
    # one legend entry per curve: the gradient twin toggles with it
    assert sum(tr["showlegend"] for tr in spec["data"]) == len(c.focal) + 1


def test_charts_follow_the_language():
    zh = json.dumps(charts.focal_chart(losses_lesson.focal_curves(num=3), "zh"), ensure_ascii=False)
    en = json.dumps(charts.focal_chart(losses_lesson.focal_curves(num=3), "en"), ensure_ascii=False)
    assert "单个像素的损失" in zh and "Loss of one pixel" not in zh
    assert "Loss of one pixel" in en


def test_confusion_chart_by_hand():
    spec = charts.confusion_chart(np.array([[3, 1], [0, 0]]), ["bg", "disc"], "en")
    counts, normalised = spec["data"]
    assert counts["z"] == [[3.0, 1.0], [0.0, 0.0]] and counts["text"] == [["3", "1"], ["0", "0"]]
    assert normalised["z"] == [[0.75, 0.25], [None, None]]
    assert normalised["text"] == [["0.75", "0.25"], ["—", "—"]]  # no pixel of "disc": 0/0, not 0
    assert counts["customdata"][0][1] == ["bg", "disc"]  # (truth, prediction) in the tooltip
    assert spec["layout"]["yaxis"]["autorange"] == "reversed"  # truth rows top to bottom, as in the table
    big = charts.confusion_chart(np.eye(50), [], "en")["data"][0]
    assert "text" not in big and "customdata" not in big  # no 2,500 numbers drawn on a projector


def test_loss_bars_draw_one_minus_miou():
    spec = charts.loss_bars_chart({"ce": 0.2, "dice": 0.4}, 0.75, "en")
    bars, level = spec["data"]
    assert bars["y"] == [0.2, 0.4] and level["name"] == "1 − mIoU"
    (line,) = spec["layout"]["shapes"]
    assert line["y0"] == line["y1"] == pytest.approx(0.25) and line["layer"] == "below"  # under the numbers
    assert bars["marker"]["color"] == [charts.LOSS_COLOURS["ce"], charts.LOSS_COLOURS["dice"]]


def test_pictures_carry_the_exact_pixels():
    from PIL import Image

    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    spec = charts.pictures([(image, "a")], [("miss", (240, 170, 30))])
    source = spec["data"][0]["source"]
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))))
    np.testing.assert_array_equal(decoded, image)
    assert spec["data"][1]["marker"]["color"] == "#f0aa1e" and spec["data"][1]["name"] == "miss"


def test_photo_like_pictures_go_as_jpeg_close_to_their_pixels():
    from PIL import Image

    photo = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    source = charts.pictures([(photo, "scene")])["data"][0]["source"]
    assert source.startswith("data:image/jpeg;base64,")
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))).astype(int)
    assert decoded.shape == photo.shape and np.abs(decoded - photo).mean() < 8


def test_train_curves_smooth_and_keep_earlier_runs_faint():
    runs = [_Run([(s, 1.0) for s in range(1, 51)], []), _Run([(1, 2.0), (2, 1.0)], [(2, 0.5)])]
    spec = charts.train_curves(runs, "en")
    first, second_loss, second_miou = spec["data"][2:]  # after the two empty traces that keep the axes
    assert first["opacity"] < 1 and second_loss["opacity"] == 1
    assert len(first["x"]) == 50 - 2 + 1  # moving average of 50 // 25 = 2 steps
    assert second_miou["y"] == [0.5] and second_miou["xaxis"] == "x2"
    empty = charts.train_curves([], "zh")
    assert any("还没有训练" in a["text"] for a in empty["layout"]["annotations"])
