"""Where the textbook code breaks: each naive variant really fails (or is wrong) the way its panel says,
and each fix works. If a library changes, these fail and the lesson is rewritten, not left to rot."""

from __future__ import annotations

import re
import string

import numpy as np
import pytest
import torch

from segdemo.lessons import pitfalls as P
from segdemo.strings import strings, t


# ---------------------------------------------------------------- 1. FCN-8s
@pytest.mark.parametrize("size", [500, 224, 97])
def test_fcn_skips_fail_without_padding_and_both_fixes_give_the_input_size(size):
    d = P.fcn_skips(size)
    valid, same, paper, interp = (dict(zip(P.FCN_STAGES, col, strict=True)) for col in zip(*[r[1:] for r in d.rows],
                                                                                            strict=True))
    assert paper["output"] == interp["output"] == f"{size}×{size}"
    assert valid["output"] == P.FAIL and d.naive["valid"].startswith("RuntimeError")
    if (size // 8) % 4:  # an odd stage: padding fc6 is not enough, round-down pooling loses a row
        assert same["output"] == P.FAIL and "must match the size of tensor" in d.naive["same"]
    else:  # it runs, and returns the input size only if that is a multiple of 8 (97 -> 96)
        out = 8 * (size // 8)
        assert same["output"] == f"{out}×{out}" and d.naive["same"] == f"→ {out}×{out}"


def test_fcn_sizes_at_500_by_hand():
    d = P.fcn_skips(500)
    rows = {r[0]: r[1:] for r in d.rows}
    # floor pooling 500 -> 250 -> 125 -> 62 -> 31 -> 15; padded fc6 keeps 15, x2 gives 30 beside pool4's 31
    assert rows["pool4"][1] == "31×31" and rows["upscore2"][1] == "30×30"
    assert "(30) must match the size of tensor b (31)" in d.naive["same"]
    # without padding fc6 shrinks 15 to 9, x2 gives 18
    assert rows["fc6"][0] == "9×9" and "(18) must match the size of tensor b (31)" in d.naive["valid"]
    # the paper: 500 + 2*100 - 2 = 698 -> 349 -> 175 -> 88 -> 44 -> 22 (round up); fc6 16; crops fit
    assert rows["pool5"][2] == "22×22" and rows["fc6"][2] == "16×16" and rows["upscore_pool4"][2] == "70×70"


def test_fcn_fc6_does_not_fit_below_224_px():
    assert P.fcn_min_size("valid") == 224  # the panel's text says 224
    assert "224" in t("pitfalls.fcn_skips.what", "en") and "224" in t("pitfalls.fcn_skips.what", "zh")
    small = P.fcn_skips(223)
    assert "Kernel size can't be greater than actual input size" in small.naive["valid"]
    assert "Kernel size" not in P.fcn_skips(224).naive["valid"]


# ---------------------------------------------------------------- 2. U-Net
def test_unet_fails_off_multiples_of_16_and_the_fixes_work():
    d = P.unet_sizes(100)
    assert d.error.startswith("RuntimeError: Sizes of tensors must match")
    assert "Expected size 24 but got size 25" in d.error  # 100 -> 50 -> 25 -> 12, 12 x 2 = 24
    assert d.fixed == {"pad": "100×100", "interp": "100×100", "padded": "112×112"}
    assert P.unet_sizes(112).error is None


# ---------------------------------------------------------------- 3. ASPP pooling
def test_aspp_pooling_branch_upsampled_to_its_own_size_fails():
    d = P.aspp_pooling(512)
    assert "Expected size 64 but got size 1" in d.error
    assert dict((r[0], r[1:]) for r in d.rows)["pool"] == ("1×1", "64×64")
    assert d.fixed["out"] == "20×64×64"


# ---------------------------------------------------------------- 4. DeepLabV3
def test_deeplab_stem_skipped_and_output_stride():
    d = P.deeplab_stride()
    assert "expected input[1, 3, 96, 96] to have 16 channels, but got 3 channels" in d.error
    rows = {int(r[0]): r for r in d.rows}
    assert [rows[s][1] for s in (32, 16, 8)] == ["3×3", "6×6", "12×12"]
    miou = {s: rows[s][2] for s in rows}
    assert miou[32] < miou[16] < miou[8]  # the lesson: stride costs accuracy
    assert rows[8][2] > 0.8 and rows[32][2] < 0.5
    assert rows[32][3] < rows[8][3]  # boundaries
    assert rows[32][4] < rows[8][4] and rows[32][5] < rows[8][5]  # the thin classes: ring, cross
    assert d.pictures[0][1].shape[0] == 96


# ---------------------------------------------------------------- 5. BatchNorm, batch 1
def test_batchnorm_batch1_fails_and_four_fixes_run():
    d = P.batchnorm_batch1()
    assert d.error.startswith("ValueError: Expected more than 1 value per channel when training")
    assert d.fixed["ok"] == 4 and all(r[1].startswith("✓") for r in d.rows)


# ---------------------------------------------------------------- 6. binary Dice
def test_binary_dice_fails_at_batch_2_and_ignores_the_prediction_at_batch_1():
    d = P.binary_dice()
    assert "must match the size of tensor b (2) at non-singleton dimension 1" in d.error
    assert d.naive["perfect"] == d.naive["poor"]  # the same number, whatever the prediction
    assert d.fixed["perfect"] < 0.2 < 0.4 < d.fixed["poor"]
    # by hand: 2 pixels of class 1, K = 2, logits 0: sum p*t = 2 px * 1 * (0.5 + 0.5) = 2; sum p = 2; sum t = 2
    logits, target = torch.zeros(1, 2, 1, 2), torch.ones(1, 1, 2)
    assert float(P.naive_binary_dice(logits, target)) == pytest.approx(1 - (2 * 2 + 1) / (2 + 2 + 1))


# ---------------------------------------------------------------- 7. CE and 255
def test_cross_entropy_without_ignore_index_fails_on_255():
    d = P.ce_ignore()
    assert d.error == "IndexError: Target 255 is out of bounds."
    assert d.naive["ignored"] == 64 * 64 - 56 * 56 and d.fixed["counted"] == 56 * 56
    assert 0 < d.fixed["loss"] < 1


# ---------------------------------------------------------------- 8. resizing masks
def test_bilinear_and_rgb_masks_invent_labels_nearest_does_not():
    d = P.mask_resize()
    other = d.rows[-1]
    assert other[0] == "pitfalls.mask_resize.other" and other[2] > 0 and other[3] == 0  # bilinear / nearest
    assert d.naive["invalid"] > 0 and d.fixed["invalid"] == 0
    assert d.naive["rgb_classes"] == "0"  # RGB / 255 cast to int: every class gone
    assert d.fixed["classes"].endswith("255")  # the palette PNG keeps the ignore label
    bilinear = d.pictures[1][1]
    assert (bilinear == P.INVALID_COLOUR).all(-1).sum() == d.naive["invalid_px"]


# ---------------------------------------------------------------- 9. mIoU
def test_naive_miou_counts_ignored_pixels_and_absent_classes():
    d = P.miou_ignore()
    assert d.naive["miou"] < d.fixed["miou"]
    rows = {r[0]: r for r in d.rows}
    absent = [c for c, r in rows.items() if r[2] == "—"]
    assert absent and all(rows[c][1] == 0.0 for c in absent)  # 0/eps counted as 0
    assert d.naive["absent"] == ", ".join(map(str, absent))
    assert sum(r[3] for r in d.rows) == d.naive["ignored"]  # every ignored pixel lands in some class's union
    # by hand: truth [0, 0, 255], prediction [0, 1, 1], K = 3: naive (1/2 + 0 + 0) / 3; correct: IoU_0 = 1/2,
    # IoU_1 = 0/1 = 0 (one false alarm, the ignored pixel not counted), class 2 absent -> (1/2 + 0) / 2
    naive, _ = P.naive_miou(np.array([0, 1, 1]), np.array([0, 0, 255]), 3)
    assert naive == pytest.approx(0.5 / 3)
    from segdemo.metrics import confusion_matrix, metrics_from_confusion

    m = metrics_from_confusion(confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 255]), 3))
    assert m["miou"] == pytest.approx(0.25)


# ---------------------------------------------------------------- 10. albumentations 2.x
def test_albumentations_ignores_value_and_mask_value():
    d = P.albumentations_args()
    assert "'value, mask_value' are not valid for transform PadIfNeeded" in d.error
    assert "are not valid for transform ShiftScaleRotate" in d.naive["ssr_warning"]
    rows = {r[0]: r[1:] for r in d.rows}
    border = 128 * 128 - 64 * 96
    assert rows["PadIfNeeded(value=, mask_value=)"] == (border, 0)  # the border became class 0
    assert rows["PadIfNeeded(fill=, fill_mask=)"] == (0, border)
    assert rows["ShiftScaleRotate(value=, mask_value=)"][1] == 0 < rows["Affine(fill=, fill_mask=)"][1]
    assert "stack expects each tensor to be equal size" in d.naive["stack"]
    assert rows["CenterCrop(64, 64) + Transpose"] == ("64×64", "✓")


# ---------------------------------------------------------------- 11. pairing
def test_pairing_by_position_shifts_every_later_pair():
    d = P.dataset_pairing(count=5, missing=1)
    assert d.naive == {"wrong": 3, "pairs": 4, "images": 5}
    assert d.error.startswith("FileNotFoundError") and "scene_00.jpg" in d.error
    assert "scene_01.jpg" in d.fixed["message"]["en"] and "scene_01.jpg" in d.fixed["message"]["zh"]
    assert all(r[1].split(".")[0] == r[3].split(".")[0] for r in d.rows)


# ---------------------------------------------------------------- the catalogue, the strings, the panel
@pytest.mark.slow  # runs all eleven (~9 s on 2 busy cores)
def test_every_pitfall_has_a_tab_strings_and_renders_in_both_languages():
    from segdemo.ui.pitfalls import render

    assert [n for n, _, _ in P.PITFALLS.values()] == list(range(1, 12))
    assert {tab: P.for_tab(tab) for tab in ("segment", "losses", "augment", "miou", "train")} == {
        "segment": ["fcn_skips", "unet_sizes", "aspp_pooling", "deeplab_stride", "batchnorm_batch1"],
        "losses": ["binary_dice", "ce_ignore"], "augment": ["mask_resize", "albumentations_args"],
        "miou": ["miou_ignore"], "train": ["dataset_pairing"]}
    for key in P.PITFALLS:
        demo = P.run(key)
        assert (demo.rows != ()) == (key in P.WITH_TABLE) and (demo.pictures != ()) == (key in P.WITH_PICTURES)
        for lang in ("en", "zh"):
            naive, fixed, table, gallery = render(demo, lang)
            assert "{" not in naive + fixed, (key, lang)
            if table is not None:
                cells = [*table.columns, *table.to_numpy().ravel()]
                assert not any(str(c).startswith("pitfalls.") for c in cells), (key, lang)
            assert all(not caption.startswith("pitfalls.") for _, caption in gallery)
        for part in ("title", "what", "why", "fix", "naive", "fixed"):
            en, zh = strings()[f"pitfalls.{key}.{part}"]
            fields = {f for _, f, _, _ in string.Formatter().parse(en) if f}
            assert fields == {f for _, f, _, _ in string.Formatter().parse(zh) if f}, (key, part)
            assert re.search(r"[\u4e00-\u9fff]", zh), (key, part)


def test_pitfalls_refuse_bad_arguments():
    with pytest.raises(ValueError, match="unknown pitfall"):
        P.run("nope")
    with pytest.raises(ValueError, match="size"):
        P.fcn_skips(5)


def test_each_tab_reads_its_current_input_for_its_pitfalls():
    import gradio as gr

    from segdemo.ui import augment, losses, miou, segment, train
    from segdemo.ui.pitfalls import _on_input

    masks = losses.pitfall_input(3, 1, 2, 4, 0, 1.0, 0.9, lang="en")
    assert masks.truth.shape == masks.pred.shape and (masks.truth != masks.pred).any() and masks.num_classes == 6
    naive, *_ = _on_input("ce_ignore", losses.pitfall_input)(None, 3, 1, 2, 4, 0, 1.0, 0.9)
    assert t("pitfalls.on.losses", "en", size="192×192") in naive  # the tab's scene, at its size
    source = augment.pitfall_input("synthetic", 4, None, None, lang="zh")
    assert source.image.shape[:2] == source.truth.shape and source.label == "pitfalls.on.augment_scene"
    assert train.pitfall_input(96, lang="en").image.shape == (96, 96, 3)
    # nothing to run on: the tab's own message as a gr.Error, in the reader's language, not a traceback
    for key, reader, values, message in (
            ("fcn_skips", segment.pitfall_input, ("upload", 0, None, None), t("err.no_input", "en")),
            ("mask_resize", augment.pitfall_input, ("upload", 0, None, None), t("err.augment_no_image", "en")),
            ("dataset_pairing", train.pitfall_input, (65,), t("err.train_size", "en", sizes="64, 96, 128")),
            ("miou_ignore", miou.pitfall_input, (None, None, None, "none", None, 5), t("miou.no_models", "en"))):
        with pytest.raises(gr.Error) as caught:
            _on_input(key, reader)(None, *values)
        assert caught.value.message == message, key


def test_miou_pitfall_reads_the_first_uploaded_pair(tmp_path):
    from PIL import Image

    from segdemo.ui import miou

    truth = np.zeros((40, 60), dtype=np.uint8)
    truth[10:30, 10:30] = 15
    pred = np.roll(truth, 5, axis=1)
    Image.fromarray(truth).save(tmp_path / "a.png")
    (tmp_path / "p").mkdir()
    Image.fromarray(pred).save(tmp_path / "p" / "a.png")
    current = miou.pitfall_input([str(tmp_path / "a.png")], [str(tmp_path / "p" / "a.png")], None, "none", None, 5,
                                 lang="en")
    assert current.label == "pitfalls.on.miou_upload"
    assert np.array_equal(current.truth, truth) and np.array_equal(current.pred, pred)
    d = P.miou_ignore(current=current)
    assert d.on == ("pitfalls.on.miou_upload", {"size": "40×60"}) and len(d.rows) == 16  # classes 0..15


# ---------------------------------------------------------------- in Chromium
PANELS = [("segment", "fcn_skips", "pitfalls.on.segment_scene"), ("losses", "ce_ignore", "pitfalls.on.losses"),
          ("augment", "mask_resize", "pitfalls.on.augment_scene"), ("miou", "miou_ignore", "pitfalls.on.miou_model"),
          ("train", "dataset_pairing", "pitfalls.on.train")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pitfalls_panels_in_browser(browser, app_url, screenshot_dir, lang):
    """One panel per tab, in one page per language (a page load per panel made this the slowest test)."""
    from browser import goto_tab, open_app, settle

    with open_app(browser, app_url, lang) as (page, errors):
        for tab, key, on in PANELS:
            goto_tab(page, tab, lang)
            panel = page.locator(f"#pitfalls-{tab}")
            panel.get_by_text(t("pitfalls.panel", lang), exact=True).first.click()
            page.locator(f"#pitfall-{key}").get_by_text(t(f"pitfalls.{key}.title", lang)).first.click()
            fixed = page.locator(f"#pitfall-{key}-fixed")
            fixed.get_by_text(t("pitfalls.fixed_title", lang)).wait_for(timeout=30_000)
            # it ran on what the tab shows: its line names the tab's input (the size follows the input)
            prefix = t(on, lang, size="@").split("@")[0]
            page.locator(f"#pitfall-{key}-naive").get_by_text(prefix, exact=False).first.wait_for(timeout=30_000)
            settle(page)
            panel.scroll_into_view_if_needed()
            panel.screenshot(path=str(screenshot_dir / f"pitfalls-{tab}-{lang}.png"))
        assert errors == [], f"console errors in {lang}: {errors}"


# ---------------------------------------------------------------- on the tab's current input
def _image(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_sized_pitfalls_run_at_the_tabs_image_size_not_only_squares():
    current = P.Current(image=_image(375, 500), label="pitfalls.on.segment_upload")
    fcn = P.fcn_skips(current=current)
    assert dict((r[0], r[3]) for r in fcn.rows)["output"] == "375×500"  # pad 100 + crop
    assert fcn.on == ("pitfalls.on.segment_upload", {"size": "375×500"})
    unet = P.unet_sizes(current=P.Current(image=_image(100, 120)))
    # the width fails first, at the deepest level: 120 -> 60 -> 30 -> 15 -> 7; 7 x 2 = 14 beside 15
    assert "Expected size 14 but got size 15" in unet.error
    assert unet.fixed["pad"] == "100×120" and unet.fixed["padded"] == "112×128"
    aspp = P.aspp_pooling(current=P.Current(image=_image(97, 130)))
    assert dict((r[0], r[1:]) for r in aspp.rows)["pool"] == ("1×1", "13×17")  # ceil(97/8), ceil(130/8)
    # the same functions at a square slider size, when the reader asks for one
    assert P.run("fcn_skips", 224).on == ("pitfalls.on.size", {"size": "224×224"})
    assert P.run("fcn_skips", current=current).on == fcn.on


def test_batchnorm_and_output_stride_run_on_the_tabs_image():
    current = P.Current(image=_image(64, 80))
    d = P.batchnorm_batch1(current)
    assert d.error.startswith("ValueError: Expected more than 1 value per channel when training")
    assert d.fixed["ok"] == 4 and d.on[1] == {"size": "64×80"}
    big = P.deeplab_stride(current=P.Current(image=_image(300, 600)))
    assert len(big.pictures) == 2
    picture = big.pictures[1][1]
    # the image scaled to a 256-px longest side (128×256), then input + three strides, 4 px apart
    assert picture.shape == (128, 4 * (256 + 4), 3)


def test_loss_pitfalls_use_the_tabs_truth_and_prediction():
    truth = np.zeros((40, 50), dtype=np.int64)
    truth[10:30, 10:40] = 2
    current = P.Current(truth=truth, pred=truth.copy(), num_classes=3, label="pitfalls.on.losses")
    d = P.ce_ignore(current=current)
    assert d.naive["ignored"] == 40 * 50 - 32 * 42 and d.fixed["counted"] == 32 * 42  # a 4-px frame of 255
    dice = P.binary_dice(current=current)
    assert dice.rows[0][2] == dice.rows[1][2]  # the tab's prediction is perfect: both rows are the same pair
    assert dice.on == ("pitfalls.on.losses", {"size": "40×50"})


def test_miou_pitfall_on_an_uploaded_pair_by_hand():
    truth = np.full((32, 32), 255, dtype=np.int64)
    truth[2:30, 2:16], truth[2:30, 16:30] = 1, 0  # a 2-px ignore frame already there: none is added
    pred = np.ones((32, 32), dtype=np.int64)
    d = P.miou_ignore(current=P.Current(truth=truth, pred=pred, num_classes=3))
    # correct: class 1 IoU 392 / 784, class 0 IoU 0, class 2 absent from both -> mean over two classes
    assert d.fixed["miou"] == pytest.approx(0.25)
    # naive: the frame counts as predicted class 1 (union 1024), class 2 scores 0 and is averaged in
    assert d.naive["miou"] == pytest.approx((0 + 392 / 1024 + 0) / 3, abs=1e-4)
    assert d.naive["absent"] == "2" and d.naive["ignored"] == 32 * 32 - 28 * 28


def test_augment_pitfalls_use_the_tabs_image_and_mask():
    image, mask = _image(96, 96), np.zeros((96, 96), dtype=np.uint8)
    mask[20:70, 30:60] = 15  # a VOC label
    current = P.Current(image=image, truth=mask, label="pitfalls.on.augment_upload")
    d = P.albumentations_args(current=current)
    assert d.fixed["border_ignored"] == 128 * 128 - 64 * 96  # the square image cut to 2:3, padded to 128²
    assert d.naive["border_zero"] == 128 * 128 - 64 * 96  # value=/mask_value= ignored: the border is class 0
    resized = P.mask_resize(current=current)
    assert resized.naive["invalid"] > 0 and resized.fixed["invalid"] == 0
    assert resized.on[1] == {"size": "96×96"}


def test_dataset_pairing_draws_scenes_at_the_tabs_size():
    d = P.dataset_pairing(current=P.Current(image=_image(64, 64), label="pitfalls.on.train"))
    assert d.pictures[0][1].shape[:2] == (64, 64) and d.naive["wrong"] >= 1


def test_shrinking_a_label_map_keeps_every_label():
    # Regression: labels went through uint8 on the way (label 300 came back as 44).
    mask = np.full((400, 300), 300, dtype=np.uint16)
    mask[:, :150] = 7
    small = P._small(mask, 100, labels=True)
    assert small.shape == (100, 75) and small.dtype == np.uint16 and set(np.unique(small)) == {7, 300}
    assert P._small(np.zeros((20, 2000, 3), np.uint8), 256, floor=32).shape == (32, 256, 3)
