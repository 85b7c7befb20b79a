"""mIoU tab: pair reading (files, zip, hostile archives), batch scores, exports, the API and the browser."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from segdemo.errors import InputError
from segdemo.lessons import miou as miou_lesson
from segdemo.metrics import ConfusionMatrix, metrics_from_confusion

AppError = pytest.importorskip("gradio_client.exceptions").AppError


def _png(path, array) -> str:
    Image.fromarray(np.asarray(array, np.uint8)).save(path)
    return str(path)


def _random_pairs(tmp_path, n=3, k=4):
    rng = np.random.default_rng(0)
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    truths, preds, arrays = [], [], []
    for i in range(n):
        gt = rng.integers(0, k, (12, 10))
        pred = np.where(rng.random((12, 10)) < 0.7, gt, rng.integers(0, k, (12, 10)))
        gt[0, :3] = 255
        truths.append(_png(tmp_path / "gt" / f"im{i}.png", gt))
        preds.append(_png(tmp_path / "pred" / f"im{i}.png", pred))
        arrays.append((gt, pred))
    return truths, preds, arrays


def test_batch_equals_the_accumulator_and_differs_from_the_mean_of_images(tmp_path):
    truths, preds, arrays = _random_pairs(tmp_path)
    report = miou_lesson.evaluate(miou_lesson.pairs_from_files(truths, preds[::-1]), 4)  # order does not matter: names pair them
    acc = ConfusionMatrix(4)
    for gt, pred in arrays:
        acc.update(pred, gt)
    np.testing.assert_array_equal(report.confusion, acc.matrix)
    assert report.metrics["miou"] == pytest.approx(acc.compute()["miou"], abs=1e-12)
    singles = [metrics_from_confusion(ConfusionMatrix(4).update(p, g))["miou"] for g, p in arrays]
    assert report.mean_of_images == pytest.approx(np.mean(singles), abs=1e-12)
    assert [row["image"] for row in report.per_image] == ["im0", "im1", "im2"]


def test_detects_the_number_of_classes_and_ignores_255():
    gt = np.array([[0, 2], [255, 1]])
    report = miou_lesson.evaluate([miou_lesson.Pair("a", gt, np.array([[0, 2], [3, 1]]))])
    assert report.num_classes == 4 and report.confusion.sum() == 3
    assert report.names == ["0", "1", "2", "3"]


def test_error_map_colours_by_hand():
    truth = np.array([[0, 1, 1, 0, 2, 255]])
    pred = np.array([[0, 1, 0, 1, 1, 0]])
    colours = [tuple(c) for c in miou_lesson.error_map(pred, truth)[0]]
    assert colours == [miou_lesson.COLORS[k] for k in ("tn", "tp", "fn", "fp", "wrong", "ignore")]


def test_zip_of_two_folders_and_exports(tmp_path):
    truths, preds, arrays = _random_pairs(tmp_path)
    archive = tmp_path / "masks.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in truths + preds:
            z.write(path, arcname=f"{'gt' if '/gt/' in path else 'pred'}/{path.rsplit('/', 1)[1]}")
        z.writestr("__MACOSX/._im0.png", b"junk")  # macOS litter is skipped
    report = miou_lesson.evaluate(miou_lesson.pairs_from_zip(str(archive)), 4)
    assert len(report.per_image) == 3
    csv_path, json_path = miou_lesson.export(report, tmp_path / "out")
    data = json.loads(json_path.read_text())
    assert data["miou"] == pytest.approx(report.metrics["miou"])
    assert csv_path.read_text().splitlines()[0].startswith("class_id,name,iou")


def _zip_with(tmp_path, members: dict[str, bytes]) -> str:
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return str(path)


def test_hostile_zips_are_refused(tmp_path, hostile):
    with pytest.raises(InputError, match="unsafe path"):
        miou_lesson.pairs_from_zip(str(hostile["zip_traversal"]))
    with pytest.raises(InputError, match="too large"):
        miou_lesson.pairs_from_zip(str(hostile["zip_bomb"]))
    with pytest.raises(InputError, match="not a zip"):
        miou_lesson.pairs_from_zip(str(hostile["text_named_png"]))
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(buffer, format="PNG")
    with pytest.raises(InputError, match="two folders"):
        miou_lesson.pairs_from_zip(_zip_with(tmp_path, {"a/x.png": buffer.getvalue()}))


def test_bad_pairs_get_clear_errors(tmp_path, hostile):
    a = _png(tmp_path / "a.png", np.zeros((4, 4)))
    with pytest.raises(InputError, match="differ in size"):
        miou_lesson.evaluate(miou_lesson.pairs_from_files([a], [_png(tmp_path / "b.png", np.zeros((5, 4)))]))
    with pytest.raises(InputError, match="partner"):
        miou_lesson.pairs_from_files([a, _png(tmp_path / "c.png", np.zeros((4, 4)))], [a, str(tmp_path / "d.png")])
    with pytest.raises(InputError, match="provide an input"):
        miou_lesson.pairs_from_files([], [])
    with pytest.raises(InputError, match="outside"):
        miou_lesson.evaluate(miou_lesson.pairs_from_files([a], [_png(tmp_path / "e.png", np.full((4, 4), 7))]), 3)


# ---------------------------------------------------------------- API
def _miou(client, truths=(), preds=(), archive=None, palette="none", k=0, ignore=255, names=""):
    from gradio_client import handle_file

    return client.predict([handle_file(str(p)) for p in truths] or None, [handle_file(str(p)) for p in preds] or None,
                          handle_file(str(archive)) if archive else None, palette, k, ignore, names,
                          api_name="/miou")


def test_api_scores_pairs_and_offers_downloads(client, tmp_path):
    truths, preds, _ = _random_pairs(tmp_path)
    summary, per_class, heat, errors, per_image, files = _miou(client, truths, preds, k=4, names="bg,a,b,c")
    assert "mIoU" in summary and "Why two mIoUs" in summary
    assert [row[1] for row in per_class["data"]] == ["bg", "a", "b", "c"]
    assert len(per_image["data"]) == 3 and len(files) == 2


@pytest.mark.parametrize("case, kwargs, message", [
    ("empty", {}, "provide an input"),
    ("size", {"mismatch": True}, "differ in size"),
    ("labels", {"labels": True}, "outside"),
    ("text", {"text": True}, "not an image"),
    ("traversal", {"zip": "zip_traversal"}, "unsafe path"),
    ("bomb", {"zip": "zip_bomb"}, "too large"),
])
def test_api_bad_inputs(client, tmp_path, hostile, case, kwargs, message):
    mask = hostile["mask"]
    if kwargs.get("zip"):
        call = {"archive": hostile[kwargs["zip"]]}
    elif kwargs.get("mismatch"):
        call = {"truths": [mask], "preds": [hostile["mask_wrong_size"]]}
    elif kwargs.get("labels"):
        call = {"truths": [mask], "preds": [hostile["mask_labels_out_of_range"]], "k": 2}
    elif kwargs.get("text"):
        call = {"truths": [mask], "preds": [hostile["text_named_png"]]}
    else:
        call = {}
    with pytest.raises(AppError, match=message):
        _miou(client, **call)


def test_api_scores_a_shipped_model():
    from segdemo import serving

    shipped = [c.key for c in serving.choices() if c.key.startswith("shipped:")]
    if not shipped:
        pytest.skip("no checkpoint in checkpoints/ yet")
    pair = miou_lesson.pair_from_model(shipped[0], 5)
    assert pair.truth.shape == pair.pred.shape
    assert 0.0 <= miou_lesson.evaluate([pair], 6).metrics["miou"] <= 1.0


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_miou_tab_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle

    with open_app(browser, app_url, lang) as (page, errors):
        goto_tab(page, "miou", lang)
        page.locator("#miou-heat img").wait_for(timeout=60_000)  # a model's score shows on first open
        assert "mIoU" in page.locator("#miou-summary").inner_text()
        placeholder = page.locator("textarea[placeholder], input[placeholder]").filter(
            has_text="").evaluate_all("els => els.map(e => e.placeholder)")
        assert ("背景, 圆盘, 方块" if lang == "zh" else "background, disc, square") in placeholder
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"miou-model-{lang}.png"), full_page=True)
        assert not [e for e in errors if "favicon" not in e]


def test_outputs_mark_absent_classes_and_enlarge_a_small_error_map():
    """Class 2 never occurs: "—" on the page and None for API clients, "—" in the normalised matrix
    row; the per-image column is an mIoU; a 40-px pair's error map is shown 7× larger (crisp)."""
    from segdemo.ui.miou import _outputs

    truth = np.zeros((40, 40), np.int64)
    truth[:20] = 1
    pred = truth.copy()
    pred[:5] = 0
    summary, per_class, heat, errors, per_image, files = _outputs([miou_lesson.Pair("a", truth, pred)], 3, None, "", "en")
    assert per_class.data.iloc[2, 2] is None or np.isnan(per_class.data.iloc[2, 2])
    assert "—" in per_class.to_html() and per_image.columns[1] == "mIoU"
    assert errors.shape == (280, 280, 3)
    np.testing.assert_array_equal(errors[::7, ::7], miou_lesson.error_map(pred, truth, None))
    assert heat.shape[1] <= 1700  # drawn near the size it is shown at, so its numbers stay readable


def test_enlarge_repeats_pixels_by_an_integer_factor():
    from segdemo.palette import enlarge

    small = np.arange(6, dtype=np.uint8).reshape(2, 3)
    big = enlarge(small, min_side=8)
    assert big.shape == (8, 12) and (big[::4, ::4] == small).all() and (big[:4, :4] == 0).all()
    assert enlarge(small, min_side=1) is small  # already large enough
    assert enlarge(np.zeros((2, 100)), min_side=8).shape == (2, 100)  # would grow past 4 · min_side
