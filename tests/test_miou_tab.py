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
    with pytest.raises(InputError, match="holds more than 64 MB once uncompressed"):
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
    summary, per_class, heat, errors, per_image, files, conventions = _miou(client, truths, preds, k=4,
                                                                            names="bg,a,b,c")
    assert "mIoU" in summary and "Why two mIoUs" in summary
    assert [row[1] for row in per_class["data"]] == ["bg", "a", "b", "c"]
    counts = json.loads(heat["plot"])["data"][0]  # a Plotly heatmap: hover shows (truth, prediction, pixels)
    assert len(counts["z"]) == 4 and counts["customdata"][1][2] == ["a", "b"]
    assert len(per_image["data"]) == 3 and len(files) == 2


@pytest.mark.parametrize("case, kwargs, message", [
    ("empty", {}, "provide an input"),
    ("size", {"mismatch": True}, "differ in size"),
    ("labels", {"labels": True}, "outside"),
    ("text", {"text": True}, "not an image"),
    ("traversal", {"zip": "zip_traversal"}, "unsafe path"),
    ("bomb", {"zip": "zip_bomb"}, "holds more than 64 MB"),
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


def test_a_cached_model_score_still_offers_its_downloads_after_the_temp_sweep():
    # The scene scored on every page load is cached; the sweep deletes downloads after an hour. The
    # cached answer pointed at deleted files and Gradio failed it for every later student.
    from pathlib import Path

    from segdemo import serving
    from segdemo.ui import miou as ui_miou

    shipped = [c.key for c in serving.choices() if c.key.startswith("shipped:")]
    if not shipped:
        pytest.skip("no checkpoint in checkpoints/ yet")
    first = ui_miou.score_model(shipped[0], 7, None)
    for path in first[ui_miou.EXPORTS]:
        Path(path).unlink()  # what tempfiles.sweep does to an hour-old download
    again = ui_miou.score_model(shipped[0], 7, None)
    assert again[0] == first[0] and all(Path(p).exists() for p in again[ui_miou.EXPORTS])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_miou_tab_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle

    with open_app(browser, app_url, lang) as (page, errors):
        goto_tab(page, "miou", lang)
        page.locator("#miou-heat .main-svg").first.wait_for(timeout=60_000)  # a model's score shows on first open
        assert "mIoU" in page.locator("#miou-summary").inner_text()
        placeholder = page.locator("textarea[placeholder], input[placeholder]").filter(
            has_text="").evaluate_all("els => els.map(e => e.placeholder)")
        assert ("背景, 圆盘, 方块" if lang == "zh" else "background, disc, square") in placeholder
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"miou-model-{lang}.png"), full_page=True)
        assert not [e for e in errors if "favicon" not in e]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_compute_with_nothing_uploaded_shows_one_message_and_clears_the_rest(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle
    from segdemo.strings import t

    with open_app(browser, app_url, lang) as (page, errors):
        goto_tab(page, "miou", lang)
        page.locator("#miou-heat .main-svg").first.wait_for(timeout=60_000)  # the model's score, on first open
        page.locator("#miou-run").click()
        message = t("miou.waiting", lang).split("**")[1]  # its bold first sentence
        page.locator("#miou-summary").get_by_text(message).wait_for(timeout=30_000)
        settle(page)
        # one message: no toast, no error badge on the outputs, and no stale result left beside it
        assert page.locator(".toast-body").count() == 0
        assert page.locator("span.error").count() == 0
        assert page.locator("#miou-heat .main-svg").count() == 0
        assert "mIoU" not in page.locator("#miou-summary").inner_text()
        page.locator("#miou-summary").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"miou-empty-{lang}.png"), full_page=False)
        assert not [e for e in errors if "favicon" not in e]


def test_outputs_mark_absent_classes_and_enlarge_a_small_error_map():
    """Class 2 never occurs: "—" on the page and None for API clients, "—" in the normalised matrix
    row; the per-image column is an mIoU; a 40-px pair's error map is shown 7× larger (crisp)."""
    from segdemo.ui.miou import _outputs

    truth = np.zeros((40, 40), np.int64)
    truth[:20] = 1
    pred = truth.copy()
    pred[:5] = 0
    summary, per_class, heat, errors, per_image, files, _ = _outputs([miou_lesson.Pair("a", truth, pred)], 3, None, "",
                                                                     "en")
    assert per_class.data.iloc[2, 2] is None or np.isnan(per_class.data.iloc[2, 2])
    assert "—" in per_class.to_html() and per_image.columns[1] == "mIoU"
    assert errors.shape == (280, 280, 3)
    np.testing.assert_array_equal(errors[::7, ::7], miou_lesson.error_map(pred, truth, None))
    normalised = json.loads(heat.plot)["data"][1]  # the heatmaps travel as a Plotly figure
    assert normalised["text"][2] == ["—", "—", "—"] and normalised["z"][1] == [0.25, 0.75, 0.0]


def test_enlarge_repeats_pixels_by_an_integer_factor():
    from segdemo.palette import enlarge

    small = np.arange(6, dtype=np.uint8).reshape(2, 3)
    big = enlarge(small, min_side=8)
    assert big.shape == (8, 12) and (big[::4, ::4] == small).all() and (big[:4, :4] == 0).all()
    assert enlarge(small, min_side=1) is small  # already large enough
    assert enlarge(np.zeros((2, 100)), min_side=8).shape == (2, 100)  # would grow past 4 · min_side


# ---------------------------------------------------------------- 0/255 binary masks (issue 27)
def membrane_pair() -> np.ndarray:
    """A 10×10 ISBI-like truth saved as 0/255: membrane (0) on rows 0-1 (20 px), cells (255) on rows 2-9 (80 px)."""
    truth = np.full((10, 10), 255, np.int64)
    truth[:2] = 0
    return truth


def _shifted(truth: np.ndarray) -> np.ndarray:
    return np.roll(truth, 2, axis=0)  # the membrane moves to rows 2-3, cells to rows 0-1 and 4-9


BINARY_CASES = {
    # all-black prediction: IoU_bg = 20/100, IoU_fg = 0/80 -> mIoU 0.1, pixel accuracy 0.2
    "all_black": (lambda t: np.zeros_like(t), 0.1, 0.2),
    # foreground missed on rows 8-9: IoU_bg = 20/40, IoU_fg = 60/80 -> (0.5 + 0.75) / 2 = 0.625, accuracy 0.8
    "missing": (lambda t: np.where(np.arange(10)[:, None] >= 8, 0, t), 0.625, 0.8),
    # shifted 2 px: IoU_bg = 0/40, IoU_fg = 60/100 -> 0.3, accuracy 0.6
    "shifted": (_shifted, 0.3, 0.6),
}


@pytest.mark.parametrize("case", list(BINARY_CASES))
def test_0_255_pairs_are_read_as_background_and_foreground(case):
    make, miou, accuracy = BINARY_CASES[case]
    truth = membrane_pair()
    reading = miou_lesson.read_labels([miou_lesson.Pair("m", truth, make(truth))], None, 255)
    assert reading.binary and reading.note == "miou.binary_note" and reading.ignore_index is None
    report = miou_lesson.evaluate(reading.pairs, reading.num_classes, reading.ignore_index)
    assert report.num_classes == 2 and report.confusion.sum() == 100  # no pixel ignored
    assert report.metrics["miou"] == pytest.approx(miou)
    assert report.metrics["pixel_accuracy"] == pytest.approx(accuracy)


def test_0_255_reading_agrees_with_torchmetrics_on_0_1_masks():
    import torch
    from torchmetrics.classification import MulticlassJaccardIndex

    truth = membrane_pair()
    pred = _shifted(truth)
    pred[5, :4] = 0
    reading = miou_lesson.read_labels([miou_lesson.Pair("m", truth, pred)], 0, 255)
    ours = miou_lesson.evaluate(reading.pairs, reading.num_classes, reading.ignore_index).metrics["miou"]
    reference = MulticlassJaccardIndex(num_classes=2, average="macro")(torch.tensor(pred // 255), torch.tensor(truth // 255))
    assert ours == pytest.approx(reference.item(), abs=1e-6)


def test_0_255_reading_is_decided_for_the_whole_set():
    truth = membrane_pair()
    cells_only = np.full((10, 10), 255, np.int64)  # a tile of cells: {255} alone, still foreground
    pairs = [miou_lesson.Pair("a", truth, truth), miou_lesson.Pair("b", cells_only, cells_only)]
    reading = miou_lesson.read_labels(pairs, None, 255)
    report = miou_lesson.evaluate(reading.pairs, reading.num_classes, reading.ignore_index)
    assert report.confusion.tolist() == [[20, 0], [0, 180]]
    assert [row["miou"] for row in report.per_image] == [1.0, 1.0]


def test_0_255_override_keeps_255_ignored_and_says_so():
    truth = membrane_pair()
    reading = miou_lesson.read_labels([miou_lesson.Pair("m", truth, np.zeros_like(truth))], None, 255, binary=False)
    assert not reading.binary and reading.note == "miou.binary_off_note"
    report = miou_lesson.evaluate(reading.pairs, reading.num_classes, reading.ignore_index)
    assert report.metrics["miou"] == 1.0  # the wrong score, now with a warning next to it


def test_camvid_like_void_label_is_not_binary():
    """Labels 0..3 with 255 as void (CamVid, VOC): 255 stays the ignore label, even in a tile that happens to
    hold only 0 and 255, because the set as a whole is not 0/255."""
    truth = np.array([[0, 1, 2, 3], [0, 0, 255, 255]])
    pred = np.array([[0, 1, 2, 2], [0, 1, 3, 0]])
    tile = np.array([[0, 255], [255, 0]])
    pairs = [miou_lesson.Pair("a", truth, pred), miou_lesson.Pair("b", tile, np.zeros_like(tile))]
    reading = miou_lesson.read_labels(pairs, None, 255)
    assert not reading.binary and reading.note is None and reading.pairs is pairs
    report = miou_lesson.evaluate(reading.pairs, None, reading.ignore_index)
    assert report.num_classes == 4 and report.confusion.sum() == 8  # 6 + 2 counted, 4 void skipped
    # by hand: truth 0 at 5 px (3 in a, 2 in the tile), one predicted 1; classes 1, 2 right; the 3 read as 2
    cm = report.confusion
    assert cm.tolist() == [[4, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 0]]


def test_0_255_with_more_classes_requested_is_left_alone():
    truth = membrane_pair()
    assert not miou_lesson.read_labels([miou_lesson.Pair("m", truth, truth)], 3, 255).binary
    assert miou_lesson.read_labels([miou_lesson.Pair("m", truth, truth)], None, None).binary  # 255 not ignored


class _Request:
    def __init__(self, language: str) -> None:
        self.headers = {"accept-language": language}


@pytest.mark.parametrize("lang, header, note, foreground", [
    ("en", "en-GB,en;q=0.9", "Read as binary masks", "foreground"),
    ("zh", "zh-CN,zh;q=0.9,en;q=0.8", "已按二值掩码读取", "前景"),
])
def test_miou_endpoint_scores_a_0_255_pair_and_shows_the_note(tmp_path, lang, header, note, foreground):
    """The /miou handler itself (in process), on two 0/255 PNGs: the all-black case of the issue."""
    from segdemo.ui.miou import score_files

    truth = membrane_pair()
    gt, pred = _png(tmp_path / "gt.png", truth), _png(tmp_path / "pred.png", np.zeros_like(truth))
    summary, per_class, _, _, _, _, conventions = score_files([gt], [pred], None, "none", 0, 255, "",
                                                              _Request(header), True)
    assert note in summary and "mIoU **0.1000**" in summary
    assert per_class.data.iloc[1, 1] == foreground and per_class.data.iloc[1, 6] == 80
    # conventions: smp and torchmetrics agree here (both classes present), the Dice loss differs:
    # Dice_bg = 2·20/(20 + 100) = 1/3, Dice_fg = 0 -> segdemo (2/3 + 1)/2 = 0.8333, smp the same / 2 classes too
    assert "| mIoU | 0.1000 | 0.1000 | 0.1000 |" in conventions
    assert "0.8333" in conventions and ("torchmetrics" in conventions)
    unticked = score_files([gt], [pred], None, "none", 0, 255, "", _Request(header), False)[0]
    assert note not in unticked and "mIoU **1.0000**" in unticked
    assert ("foreground is ignored" if lang == "en" else "前景被忽略了") in unticked


def test_api_reads_0_255_masks_in_both_languages(app_url, tmp_path):
    from gradio_client import Client, handle_file

    truth = membrane_pair()
    gt, pred = _png(tmp_path / "gt.png", truth), _png(tmp_path / "pred.png", _shifted(truth))
    for header, note in (("en", "Read as binary masks"), ("zh-CN,zh;q=0.9", "已按二值掩码读取")):
        client = Client(app_url, verbose=False, headers={"Accept-Language": header})
        summary = client.predict([handle_file(gt)], [handle_file(pred)], None, "none", 0, 255, "",
                                 api_name="/miou")[0]
        assert note in summary and "mIoU **0.3000**" in summary  # the binary default needs no argument
