"""The Losses tab: its computations (segdemo.lessons.losses), its API and the tab in a real browser."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from segdemo import losses
from segdemo.lessons import losses as losses_lesson
from segdemo.strings import t


# ---------------------------------------------------------------- curves
def test_focal_curves_agree_with_the_losses_and_by_hand():
    c = losses_lesson.focal_curves(alpha=1.0)
    assert np.allclose(c.focal[0.0], c.ce) and np.allclose(c.focal_grad[0.0], c.ce_grad)
    assert np.allclose(c.ce_grad, c.p - 1)  # d(-log sigmoid z)/dz = p - 1
    i = int(np.argmin(np.abs(c.p - 0.5)))
    assert c.p[i] == pytest.approx(0.5)
    # FL = -(1-p)^2 ln p; dFL/dz = p(1-p) [2(1-p) ln p - (1-p)^2 / p] = 0.25 (-ln 2 - 0.5) at p = 0.5
    assert c.focal[2.0][i] == pytest.approx(0.25 * math.log(2), abs=1e-9)
    assert c.focal_grad[2.0][i] == pytest.approx(0.25 * (-math.log(2) - 0.5), abs=1e-9)
    # easy pixels are down-weighted: at p_t = 0.9 gamma = 2 pushes more than 30x less than CE
    j = int(np.argmin(np.abs(c.p - 0.9)))
    assert c.ce_grad[j] / c.focal_grad[2.0][j] > 30
    quarter = losses_lesson.focal_curves(alpha=0.25)
    assert np.allclose(quarter.focal[2.0], 0.25 * c.focal[2.0]) and np.allclose(quarter.ce, c.ce)


def test_overlap_curves():
    o = losses_lesson.overlap_curves(region_fraction=0.1, num=11)
    assert np.allclose(o.iou, o.overlap / (2 - o.overlap))  # two equal regions overlapping by o
    assert np.allclose(o.dice_region, 1 - o.overlap, atol=0.02)  # Dice = o, softened by the confidence
    assert np.allclose(o.lovasz_region, 1 - o.iou, atol=0.02)
    assert (o.dice_mean[:-1] < o.dice_region[:-1]).all()  # the background dilutes the mean


# ---------------------------------------------------------------- scoring hard predictions
@pytest.mark.parametrize("num_classes, confidence", [(2, 0.8), (5, 0.9), (5, 0.3)])
def test_logits_from_labels_give_the_confidence(num_classes, confidence):
    labels = torch.tensor([[0, 1], [num_classes - 1, 0]])
    probs = losses_lesson.logits_from_labels(labels, num_classes, confidence).softmax(1)[0]  # (K, 2, 2)
    assert torch.allclose(probs.gather(0, labels.unsqueeze(0)), torch.tensor(confidence), atol=1e-6)


@pytest.mark.parametrize("confidence", [0.5, 1.0, 0.1])
def test_logits_from_labels_refuse_impossible_confidence(confidence):
    with pytest.raises(ValueError, match="confidence"):
        losses_lesson.logits_from_labels(torch.zeros(2, 2, dtype=torch.long), 2, confidence)


def test_balanced_weights_by_hand():
    target = torch.tensor([[[0, 0, 0, 1], [255, 255, 255, 255]]])
    # 4 counted pixels, 2 classes present: n / (K' n_k) = 4/6 and 4/2; class 2 absent -> 0
    assert losses_lesson.balanced_weights(target, 3).tolist() == pytest.approx([2 / 3, 2.0, 0.0])


def test_compare_losses_are_the_losses():
    torch.manual_seed(0)
    logits, target = torch.randn(1, 3, 6, 6), torch.randint(0, 3, (1, 6, 6))
    values = losses_lesson.compare_losses(logits, target)
    assert list(values) == list(losses_lesson.COMPARED)
    assert values["ce"] == pytest.approx(losses.cross_entropy(logits, target).item())
    assert values["lovasz"] == pytest.approx(losses.lovasz_softmax(logits, target).item())
    assert values["tversky"] == pytest.approx(losses.tversky_loss(logits, target, alpha=0.3, beta=0.7).item())


# ---------------------------------------------------------------- imbalance simulator
def test_simulated_prediction_by_hand():
    logits, target, outcome = losses_lesson.simulate_prediction(0.01, 0.5, 0.005, 0.8, 0.999)
    # 20,000 pixels: 200 object, 100 found; round(0.005 * 19,800) = 99 false alarms
    counts = {k: int((outcome == losses_lesson.OUTCOMES.index(k)).sum()) for k in ("tp", "fn", "fp", "tn")}
    assert counts == {"tp": 100, "fn": 100, "fp": 99, "tn": 19_701}
    assert int(target.sum()) == 200 and int(logits.argmax(1).sum()) == 199
    probs = logits.softmax(1)[0]  # (2, H, W)
    tn = torch.from_numpy(outcome == 0)
    assert torch.allclose(probs[0][tn], torch.tensor(0.999), atol=1e-6)
    assert torch.allclose(probs.amax(0)[~tn], torch.tensor(0.8), atol=1e-6)


def test_imbalance_shows_which_losses_track_iou():
    r = losses_lesson.simulate_imbalance(0.001, 0.5, 0.005, 0.8, 0.999)
    # 20 object pixels, 10 found, round(0.005 * 19,980) = 100 false alarms: IoU = 10 / 120
    assert r.counts == {"tp": 10, "fn": 10, "fp": 100, "tn": 19_880}
    assert r.iou == pytest.approx(10 / 120)
    rare, common = 0, int(np.argmin(np.abs(r.sweep_fraction - 0.1)))  # 0.1 % and about 10 %
    assert 1 - r.sweep_miou[rare] > 1 - r.sweep_miou[common]  # rarer object: worse IoU
    for name in ("dice", "lovasz", "tversky"):  # region losses see it ...
        assert r.sweep_losses[name][rare] > r.sweep_losses[name][common], name
    for name in ("ce", "focal"):  # ... pixel losses shrink: the mistakes drown in the background
        assert r.sweep_losses[name][rare] < r.sweep_losses[name][common], name


@pytest.mark.parametrize("args", [(0.0005, 0.5, 0, 0.8, 0.99), (0.01, 1.5, 0, 0.8, 0.99), (0.01, 0.5, 0, 0.4, 0.99)])
def test_simulator_refuses_bad_settings(args):
    with pytest.raises(ValueError):
        losses_lesson.simulate_prediction(*args)


# ---------------------------------------------------------------- degraded masks
MASK = np.zeros((8, 8), dtype=np.int64)
MASK[1:4, 1:4] = 1  # object 1, 9 px
MASK[5:7, 5:7] = 2  # object 2, 4 px
INSTANCES = np.where(MASK == 1, 1, np.where(MASK == 2, 2, 0))


def test_degrade_shift_and_drop():
    shifted = losses_lesson.degrade_mask(MASK, INSTANCES, 3, shift=(2, -1))
    expected = np.zeros_like(MASK)
    expected[0:3, 3:6] = 1
    expected[4:6, 7:8] = 2  # the rest of object 2 left the image
    assert (shifted == expected).all()
    dropped = losses_lesson.degrade_mask(MASK, INSTANCES, 3, drop=1)
    assert (dropped == np.where(MASK == 2, 0, MASK)).all()  # the smallest object went first
    assert (losses_lesson.degrade_mask(MASK, INSTANCES, 3, drop=5) == 0).all()


def test_square_max_is_max_pool_over_the_whole_window():
    import torch
    import torch.nn.functional as F

    x = torch.randn(1, 3, 23, 31, generator=torch.Generator().manual_seed(0))
    for r in (1, 2, 5, 8):
        torch.testing.assert_close(losses_lesson._square_max(x, r), F.max_pool2d(x, 2 * r + 1, stride=1, padding=r),
                                   rtol=0, atol=0)


def test_degrade_grow_and_shrink():
    grown = losses_lesson.degrade_mask(MASK, INSTANCES, 3, grow=1)
    assert (grown[0:5, 0:5] == 1).all() and grown[4, 4] == 1 and (grown[5:8, 5:8] == 2).all()
    assert grown[7, 0] == 0
    shrunk = losses_lesson.degrade_mask(MASK, INSTANCES, 3, grow=-1)
    expected = np.zeros_like(MASK)
    expected[2, 2] = 1  # the 3x3 square keeps its centre; the 2x2 square vanishes
    assert (shrunk == expected).all()


def test_degrade_noise_and_ignore():
    mask = np.where(np.arange(64).reshape(8, 8) < 8, 255, MASK)
    clean = losses_lesson.degrade_mask(mask, None, 3)
    assert (clean[0] == 0).all()  # ignored pixels become background in the prediction
    big = np.zeros((100, 100), dtype=np.int64)
    noisy = losses_lesson.degrade_mask(big, None, 5, noise=0.2, seed=1)
    assert (noisy != 0).mean() == pytest.approx(0.2 * 4 / 5, abs=0.02)
    assert (noisy == losses_lesson.degrade_mask(big, None, 5, noise=0.2, seed=1)).all()  # seeded
    with pytest.raises(ValueError):
        losses_lesson.degrade_mask(MASK, None, 3, drop=1)


def test_outcome_map_by_hand():
    target = np.array([[0, 0, 1, 1, 2, 255]])
    pred = np.array([[0, 1, 1, 0, 1, 2]])
    names = [losses_lesson.OUTCOMES[k] for k in losses_lesson.outcome_map(pred, target)[0]]
    assert names == ["tn", "fp", "tp", "fn", "wrong_class", "ignored"]
    assert losses_lesson.outcome_colours().shape == (len(losses_lesson.OUTCOMES), 3)


def test_score_masks():
    perfect = losses_lesson.score_masks(MASK, MASK, 3, 0.99)
    assert perfect.miou == pytest.approx(1.0) and np.allclose(perfect.iou, 1.0)
    worse = losses_lesson.score_masks(losses_lesson.degrade_mask(MASK, INSTANCES, 3, drop=1), MASK, 3, 0.99)
    assert worse.iou[2] == 0 and worse.miou < 1
    assert all(worse.losses[name] > perfect.losses[name] for name in losses_lesson.COMPARED)


# ---------------------------------------------------------------- API (the launched app)
def _chart(value) -> dict:
    """A ``gr.Plot`` output as the API returns it: the Plotly figure the browser draws."""
    assert value["type"] == "plotly"
    return json.loads(value["plot"])


def test_api_simulator(client):
    summary, picture, chart, table = client.predict(1.0, 50, 0.5, 0.8, 0.999, api_name="/losses")
    assert "0.334" in summary and "200 px" in summary  # IoU 100 / (200 + 99)
    rows = dict(table["data"])
    expected = losses_lesson.simulate_imbalance(0.01, 0.5, 0.005, 0.8, 0.999)
    for name, value in expected.losses.items():
        assert rows[t(f"common.loss.{name}", "en")] == pytest.approx(value, abs=1e-4), name
    assert rows["IoU"] == pytest.approx(100 / 299, abs=1e-4)
    bars = _chart(chart)["data"][0]  # the chart carries the same numbers as the table
    assert bars["type"] == "bar" and bars["y"][0] == pytest.approx(expected.losses["ce"], abs=1e-4)
    assert _chart(picture)["data"][0]["source"].startswith("data:image/png;base64,")


@pytest.mark.parametrize(
    "args, message",
    [  # Gradio checks the sliders' bounds before the handler runs
        ((0.0, 50, 0.5, 0.8, 0.999), "less than minimum value 0.1"),
        ((1.0, 150, 0.5, 0.8, 0.999), "greater than maximum value 100"),
        ((1.0, 50, 0.5, 1.0, 0.999), "greater than maximum value 0.99"),
        ((1.0, 50, 0.5, 0.8, None), "Expected a `float`"),
    ],
)
def test_api_simulator_refuses_bad_input(client, args, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/losses")


def test_api_curves_and_masks(client):
    from gradio_client.exceptions import AppError

    focal, overlap = client.predict(0.25, 20, api_name="/losses_curves")
    assert len(_chart(focal)["data"]) == 2 * (len(losses_lesson.GAMMAS) + 1)  # loss and gradient per curve
    assert "20%" in _chart(overlap)["layout"]["title"]["text"]
    summary, panels, chart, table = client.predict(3, 0, 0, 0, 0, 0, 0.9, api_name="/losses_masks")
    assert [a["text"] for a in _chart(panels)["layout"]["annotations"]][:2] == ["<b>Image</b>", "<b>Ground truth</b>"]
    assert _chart(chart)["layout"]["shapes"][0]["y0"] == pytest.approx(0.0)  # 1 − mIoU of a perfect prediction
    assert "mIoU** 1.000" in summary  # no degradation: a perfect prediction
    assert all(value == 1.0 for _, value in table["data"][:2])  # numbers, though the page shows 1.0000
    assert table["data"][0][0] == "IoU · background"
    assert table["metadata"]["display_value"][0][1] == "1.0000"
    with pytest.raises(AppError, match="greater than maximum value 99"):
        client.predict(500, 0, 0, 0, 0, 0, 0.9, api_name="/losses_masks")


# ---------------------------------------------------------------- the tab in Chromium
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_losses_tab_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle
    from segdemo.ui.i18n import t

    with open_app(browser, app_url, lang) as (page, errors):
        goto_tab(page, "losses", lang)
        page.locator("#losses-focal-plot .main-svg").first.wait_for(timeout=30_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"losses-curves-{lang}.png"), full_page=True)

        page.get_by_role("tab", name=t("losses.section.imbalance", lang)).click()
        summary = page.locator("#losses-sim-summary")
        summary.get_by_text("0.334", exact=False).wait_for(timeout=30_000)  # the defaults on first open
        share = page.get_by_role("spinbutton", name=t("losses.sim.fg", lang))
        share.fill("0.1")
        share.press("Enter")
        summary.get_by_text("0.083", exact=False).wait_for(timeout=30_000)  # 10 found, 10 missed, 100 alarms
        page.locator("#losses-sim-chart .main-svg").first.wait_for()
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"losses-imbalance-{lang}.png"), full_page=True)

        page.get_by_role("tab", name=t("losses.section.masks", lang)).click()
        page.locator("#losses-masks-panels .main-svg").first.wait_for(timeout=30_000)
        for key in ("drop", "grow", "shift_x", "noise"):
            box = page.get_by_role("spinbutton", name=t(f"losses.masks.{key}", lang))
            box.fill("0")
            box.press("Enter")
        page.locator("#losses-masks-summary").get_by_text("1.000", exact=False).wait_for(timeout=30_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"losses-masks-{lang}.png"), full_page=True)
        assert errors == [], f"console errors in {lang}: {errors}"


def test_the_sweep_scores_each_prediction_as_if_alone():
    # One batched evaluation per loss gives the values of each simulated prediction on its own.
    sims = [losses_lesson.simulate_prediction(f, 0.7, 0.05, 0.8, 0.95) for f in (0.001, 0.02, 0.3)]
    batched = losses_lesson.compare_losses_per_image(torch.cat([s[0] for s in sims]), torch.cat([s[1] for s in sims]))
    for i, (logits, target, _) in enumerate(sims):
        alone = losses_lesson.compare_losses(logits, target)
        assert {k: v[i] for k, v in batched.items()} == pytest.approx(alone, rel=1e-5, abs=1e-6)
