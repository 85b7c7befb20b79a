"""The Inside tab: receptive fields, dilation, upsampling, the models opened up, and the tab in a browser."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from segdemo.lessons import inside as lesson
from segdemo.lessons import inside_models as models
from segdemo.lessons import inside_ops as ops
from segdemo.lessons.inside_rf import Field, effective_rf, mass_radius, step, trace_receptive_field


# ---------------------------------------------------------------- theoretical receptive field
def test_three_3x3_convs_see_7_pixels():
    net = nn.Sequential(*[nn.Conv2d(3 if i == 0 else 4, 4, 3, padding=1) for i in range(3)])
    trace = trace_receptive_field(net)
    assert trace.output == Field(7.0, 1.0, False)
    assert [layer.field.size for layer in trace.layers] == [3, 5, 7]


def test_vgg16_conv5_3_sees_196_and_pool5_212():
    from torchvision.models.vgg import cfgs, make_layers

    # torchvision's vgg16(weights=None).features, without building (and initialising) its 120M-weight classifier
    features = make_layers(cfgs["D"]).eval()  # conv5_3 is features[28], pool5 features[30]
    assert trace_receptive_field(features[:29], size=32).output == Field(196.0, 16.0, False)
    assert trace_receptive_field(features[:31], size=32).output == Field(212.0, 32.0, False)


def test_strides_dilations_and_merges_by_hand():
    # conv k3 s2 (r 3, j 2) -> dilated conv k3 d2 (r 3 + 2*2*2 = 11) -> max pool k2 s2 (r 13, j 4)
    net = nn.Sequential(nn.Conv2d(3, 2, 3, stride=2, padding=1), nn.Conv2d(2, 2, 3, padding=2, dilation=2),
                        nn.MaxPool2d(2))
    assert trace_receptive_field(net).output == Field(13.0, 4.0, False)
    assert step(Field(3, 2), 3, 1, 2) == Field(11, 2)

    class Residual(nn.Module):  # the larger of two merging paths counts; a global pool marks the field
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 2, 5, padding=2), nn.Conv2d(3, 2, 1)
            self.pool = nn.AdaptiveAvgPool2d(1)

        def forward(self, x):
            return self.a(x) + self.b(x), self.pool(self.b(x)).expand(-1, -1, *x.shape[-2:]) + self.b(x)

    class First(Residual):
        def forward(self, x):
            return super().forward(x)[0]

    class Second(Residual):
        def forward(self, x):
            return super().forward(x)[1]

    assert trace_receptive_field(First()).output == Field(5.0, 1.0, False)
    assert trace_receptive_field(Second()).output.is_global


@pytest.mark.slow  # loads and runs several shipped models
def test_shipped_unet_field_by_hand():
    # 4 stages of two 3x3 convs + 2x2 pool, a bottleneck, 4 decoder stages of a 2x2 s2 upconv + two 3x3:
    # 5, 6 | 14, 16 | 32, 36 | 68, 76 | 140 | 172 | 188 | 196 | 200 (Araujo et al.'s recurrence)
    if "shipped:unet" not in models.shipped_keys():
        pytest.skip("no shipped U-Net")
    field, _ = lesson.theory("shipped:unet")
    assert field == Field(200.0, 1.0, False)
    assert lesson.theory("shipped:deeplabv3")[0].is_global  # ASPP's image pooling


# ---------------------------------------------------------------- effective receptive field
def test_erf_of_a_symmetric_net_on_a_constant_image_is_symmetric():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 5, padding=4, dilation=2),
                        nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1))
    with torch.no_grad():
        for conv in net[::2]:  # kernels symmetric under both flips and the transpose
            w = conv.weight
            w.copy_(w + w.flip(-1) + w.flip(-2) + w.flip(-1, -2))
            w.copy_(w + w.transpose(-1, -2))
    erf, _ = effective_rf(net.eval(), torch.full((1, 3, 33, 33), 0.5), (16, 16), target=0)
    assert erf.max() > 0
    for flipped in (erf[::-1], erf[:, ::-1], erf.T):
        assert np.allclose(erf, flipped, rtol=1e-5, atol=1e-7)
    radius = mass_radius(erf, (16, 16), 0.9)
    assert 0 < radius <= 1 + 2 + 4 + 1  # inside the theoretical half-width (1 + 4 + 1 taps · dilation)


def test_mass_radius_by_hand():
    weights = np.zeros((11, 11))
    weights[5, 5], weights[5, 8] = 1.0, 1.0  # half the mass at the centre, half 3 px away
    assert mass_radius(weights, (5, 5), 0.5) == 0
    assert mass_radius(weights, (5, 5), 0.9) == pytest.approx(3.0)
    assert np.isnan(mass_radius(np.zeros((3, 3)), (1, 1)))
    with pytest.raises(ValueError):
        mass_radius(weights, (5, 5), 0)


# ---------------------------------------------------------------- dilation
@pytest.mark.parametrize("rate", [1, 2, 6])
def test_dilation_taps_are_rate_apart(rate):
    taps = ops.dilation_taps((20, 30), rate)
    assert taps.shape == (9, 2) and tuple(taps[4]) == (20, 30)
    grid = taps.reshape(3, 3, 2)
    assert (np.diff(grid[..., 1], axis=1) == rate).all() and (np.diff(grid[..., 0], axis=0) == rate).all()


def test_gridding_of_rates_2_2_2_and_none_for_1_2_5():
    grid = ops.coverage([2, 2, 2])
    assert grid.shape == (13, 13) and grid.sum() == 9 ** 3  # 729 paths of 3 layers x 9 taps
    offsets = np.arange(13) - 6
    odd = (offsets[:, None] % 2 == 1) | (offsets[None, :] % 2 == 1)
    assert (grid[odd] == 0).all() and (grid[~odd] > 0).all()  # only even offsets are ever read
    hdc = ops.coverage([1, 2, 5])
    assert hdc.shape == (17, 17) and (hdc > 0).all() and hdc.sum() == 729
    assert lesson.parse_rates("1，2, 5") == [1, 2, 5]
    from segdemo.errors import InputError

    with pytest.raises(InputError):
        lesson.parse_rates("2, zero")


# ---------------------------------------------------------------- upsampling
def test_transposed_k3_paints_a_checkerboard_on_a_constant_input_and_resize_conv_does_not():
    x = torch.ones(1, 1, 8, 8)
    checker = ops.upsample2x(x, "transposed_k3")[0, 0].numpy()
    inner = checker[2:-2, 2:-2]
    # uniform kernel 4/9: outputs reached by 1, 2 or 4 kernel taps -> 4/9, 8/9, 16/9, with period 2
    assert np.allclose(inner, np.roll(inner, 2, axis=0)) and np.allclose(inner, np.roll(inner, 2, axis=1))
    assert not np.allclose(inner, np.roll(inner, 1, axis=1))
    assert sorted(np.unique(inner.round(4))) == pytest.approx([4 / 9, 8 / 9, 16 / 9], abs=1e-4)
    assert ops.ripple(checker) == pytest.approx((16 / 9 - 4 / 9) / inner.mean(), rel=1e-5)
    for method in ("resize_conv", "nearest", "bilinear", "transposed_k4"):
        flat = ops.upsample2x(x, method)[0, 0].numpy()
        assert flat.shape == (16, 16)
        assert np.allclose(flat[2:-2, 2:-2], 1.0), method
    # with random (initialisation-like) weights, k4 ripples too; resize-conv still does not
    assert ops.ripple(ops.upsample2x(x, "transposed_k4", seed=0)[0, 0].numpy()) > 0.05
    assert ops.ripple(ops.upsample2x(x, "resize_conv", seed=0)[0, 0].numpy()) < 1e-6


# ---------------------------------------------------------------- the shipped models opened up
def test_boundary_f_by_hand():
    truth = torch.zeros(1, 8, 8, dtype=torch.long)
    truth[:, :, 4:] = 1  # one vertical edge: column 3 | 4
    assert models.boundary_f(models.boundary_counts(truth, truth)) == 1.0
    shifted = torch.zeros_like(truth)
    shifted[:, :, 6:] = 1
    counts = models.boundary_counts(shifted, truth, tolerance=1)
    assert counts.tolist() == [0, 8, 0, 8]  # 2 columns away, tolerance 1: nothing matched
    assert models.boundary_counts(shifted, truth, tolerance=2).tolist() == [8, 8, 8, 8]


@pytest.fixture(scope="module")
def scene():
    from segdemo.lessons.segment import scene as draw

    image, truth = draw(3, 96)
    return np.asarray(image), np.asarray(truth)


def test_fcn_score_maps_fuse_to_the_output(scene):
    if "shipped:fcn8s" not in models.shipped_keys():
        pytest.skip("no shipped FCN-8s")
    loaded = models.load("shipped:fcn8s")
    x = models.to_input(scene[0], loaded.card)
    stages = dict(models.fcn_score_maps(loaded, x))
    assert [tuple(s.shape[-2:]) for s in stages.values()] == [(3, 3), (6, 6), (12, 12), (96, 96)]
    with torch.no_grad():
        expected = loaded.model.upscore(stages["1/8"])[..., :96, :96]
    assert torch.allclose(stages["out"], expected, atol=1e-5)


def test_silenced_branch_changes_the_output_and_is_restored(scene):
    if "shipped:deeplabv3" not in models.shipped_keys():
        pytest.skip("no shipped DeepLabV3")
    loaded = models.load("shipped:deeplabv3")
    x = models.to_input(scene[0], loaded.card)
    full, _ = models.timed(loaded.model, x)
    with models.silenced(loaded, 0) as model:
        without, _ = models.timed(model, x)
    again, _ = models.timed(loaded.model, x)
    assert not torch.allclose(full, without) and torch.equal(full, again)
    variants = lesson.aspp_variants(*scene)  # the backbone once, the head six times: the same answers
    assert variants[0].label == "full" and np.array_equal(variants[0].picture, lesson.labels_picture(full, loaded.card))
    assert np.array_equal(variants[1].picture, lesson.labels_picture(without, loaded.card))


@pytest.mark.slow  # loads and runs several shipped models
def test_output_stride_variants_reuse_the_weights(scene):
    if "shipped:deeplabv3" not in models.shipped_keys():
        pytest.skip("no shipped DeepLabV3")
    variants = lesson.stride_variants(*scene)
    assert [v.detail["map"] for v in variants] == [(12, 12), (6, 6), (3, 3)]
    assert variants[0].detail["rates"] == (2, 4, 6) and variants[2].detail["rounded"]
    assert variants[0].miou > 0.5  # the trained setting segments the scene
    model, _, _ = models.at_output_stride("shipped:deeplabv3", 16)
    base = models.load("shipped:deeplabv3").model.state_dict()
    assert all(torch.equal(v, base[k]) for k, v in model.state_dict().items())


def test_stored_ablation_matches_the_card():
    stored = lesson.stored_ablation()
    if stored is None:
        pytest.skip("python -m segdemo.tools.ablation has not been run")
    card = models.load("shipped:deeplabv3").card
    assert stored["checkpoint_sha256"] == card["sha256"]  # measured on these weights
    full = stored["aspp_ablation"][0]
    assert full["branch"] == "full" and full["miou"] == pytest.approx(card["metrics"]["miou"], abs=1e-3)
    assert [row["output_stride"] for row in stored["output_stride"]] == [8, 16, 32]


def test_feature_maps_shrink_then_grow_in_unet(scene):
    if "shipped:unet" not in models.shipped_keys():
        pytest.skip("no shipped U-Net")
    stages = lesson.feature_maps("shipped:unet", scene[0])
    sides = [s.size[0] for s in stages]
    assert sides == [96, 48, 24, 12, 6, 12, 24, 48, 96]
    assert all(s.picture.shape[:2] == (2 * lesson.TILE + 3,) * 2 and len(s.top) == lesson.TOP_CHANNELS for s in stages)


@pytest.mark.slow  # loads and runs several shipped models
def test_receptive_fields_views(scene):
    keys = lesson.available(("fcn32s", "unet"))
    if len(keys) < 2:
        pytest.skip("no shipped FCN-32s and U-Net")
    views = lesson.receptive_fields(keys, scene[0], (40, 50))
    assert [v.theory.size for v in views] == [436.0, 200.0]
    assert all(v.picture.shape == scene[0].shape and 0 < v.erf_radius < 96 for v in views)
    from segdemo.errors import InputError

    with pytest.raises(InputError):
        lesson.check_point(scene[0], (96, 10))


@pytest.mark.slow  # every shipped model: ~1 s each
def test_receptive_field_and_feature_maps_work_on_every_shipped_model(scene):
    keys = models.shipped_keys()
    assert len(keys) >= 10
    image = scene[0]
    for key in keys:
        theory, layers = lesson.theory(key)
        assert layers and (theory.is_global or theory.size > 32), key  # attention: the whole image
        (view,) = lesson.receptive_fields([key], image, (48, 48))
        assert 0 < view.erf_radius <= 96 and view.picture.shape == image.shape, key
        stages = lesson.feature_maps(key, image)
        assert len(stages) >= 2 and all(s.picture.ndim == 3 for s in stages), key
    # multi-grid (1, 2, 4) multiplies the last block's dilations: DeepLabV3-MG sees further than DeepLabV3
    if {"shipped:deeplabv3", "shipped:deeplabv3mg"} <= set(keys):
        assert lesson.theory("shipped:deeplabv3mg")[0].size > lesson.theory("shipped:deeplabv3")[0].size


# ---------------------------------------------------------------- the tab in Chromium
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_inside_tab_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle
    from segdemo.ui.i18n import t

    with open_app(browser, app_url, lang, height=1000) as (page, errors):
        goto_tab(page, "inside", lang)
        page.locator("#inside-rf-gallery img").first.wait_for(timeout=60_000)
        from playwright.sync_api import expect

        expect(page.locator("#inside-rf-table")).to_contain_text("436", timeout=60_000)  # FCN-32s's field
        picture = page.locator("#inside-image img")
        box = picture.bounding_box()
        picture.click(position={"x": box["width"] * 0.3, "y": box["height"] * 0.3})  # a new point, fields redrawn
        expect(page.locator("#inside-x input")).not_to_have_value("96", timeout=30_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"inside-{lang}.png"), full_page=True)

        page.get_by_role("tab", name=t("inside.section.dilation", lang)).click()
        page.locator("#inside-aspp-gallery img").first.wait_for(timeout=60_000)
        page.locator("#inside-dil-summary").get_by_text("2, 2, 2").wait_for()
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"inside-dilation-{lang}.png"), full_page=True)

        page.get_by_role("tab", name=t("inside.section.stride", lang)).click()
        page.locator("#inside-os-gallery img").first.wait_for(timeout=60_000)
        settle(page)
        # a new scene redraws the section on screen (not only the receptive fields)
        before = page.locator("#inside-os-gallery img").first.get_attribute("src")
        box = page.get_by_role("spinbutton", name=t("inside.scene", lang))
        box.fill("7")
        box.press("Enter")
        page.wait_for_function("old => document.querySelector('#inside-os-gallery img')?.src !== old", arg=before,
                               timeout=60_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"inside-stride-{lang}.png"), full_page=True)

        page.get_by_role("tab", name=t("inside.section.upsampling", lang)).click()
        page.locator("#inside-fcn-gallery img").first.wait_for(timeout=60_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"inside-upsampling-{lang}.png"), full_page=True)

        page.get_by_role("tab", name=t("inside.section.features", lang)).click()
        page.locator("#inside-fm-gallery img").first.wait_for(timeout=60_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"inside-features-{lang}.png"), full_page=True)
        assert errors == [], f"console errors in {lang}: {errors}"


def test_model_pickers_name_models_in_the_readers_language():
    from segdemo.models import get_card
    from segdemo.ui import inside as ui

    keys = [k for k in ui.inside_models.shipped_keys() if k in ("shipped:unet", "shipped:deeplabv3")]
    assert keys, "the shipped U-Net and DeepLabV3 checkpoints are in checkpoints/"
    for lang in ("en", "zh"):
        options = dict((key, label) for label, key in ui.model_options(keys, lang))
        for key in keys:
            assert options[key] == get_card(key.partition(":")[2]).display[lang]
    assert ui.model_options(["shipped:nope"], "zh") == [("nope", "shipped:nope")]
