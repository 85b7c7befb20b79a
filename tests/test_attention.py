"""Attention you can see: the query's weights per layer, checked against the models' own computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segdemo.lessons import attention
from segdemo.models import create_model
from segdemo.models.vit import SelfAttention

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(name: str):
    torch.manual_seed(0)
    return create_model(name, 3).eval()


@pytest.mark.parametrize(("name", "layers"), [("setr", 4), ("transunet", 4), ("segformer", 8), ("swinunet", 14)])
def test_every_attention_layer_gives_one_map_per_head_summing_to_one(name, layers):
    model = _model(name)
    x = torch.randn(1, 3, 45, 61)
    result = attention.query_attention(model, name, x, (20, 30))
    assert len(result) == layers  # Swin-Unet: 8 encoder + 6 decoder blocks
    for layer in result:
        assert layer.weights.shape[1:] == (45, 61) and layer.weights.dtype == np.float32
        assert set(layer.label) == {"en", "zh"} and all(layer.label.values())
        # Each key token paints cell² pixels (fewer at the cropped borders): the per-token weights sum to 1,
        # so the painted total lies between 0 and cell².
        assert (layer.weights >= 0).all() and layer.mean().shape == (45, 61)
    # hooks are gone: a second pass adds nothing
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_vit_query_row_equals_the_explicit_attention():
    # SETR's first block: the hooked row must equal row q of the explicit softmax(QKᵀ/√d) of the module.
    model = _model("setr")
    x = torch.randn(1, 3, 48, 64)  # 3×4 tokens of 16 px
    point = (20, 40)  # token (1, 2), index 6
    layers = attention.query_attention(model, "setr", x, point)
    attn = model.encoder.blocks[0].attn
    attn.keep_attention = True
    with torch.no_grad():
        model(x)
    attn.keep_attention = False
    expected = attn.last_attention[0, :, 6].view(-1, 3, 4)  # (heads, 3, 4)
    got = torch.from_numpy(layers[0].weights[:, ::16, ::16])  # one pixel per token
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)
    assert np.allclose(layers[0].weights.sum(axis=(1, 2)), 16 * 16)  # every token 16×16 pixels, rows sum to 1


def test_swin_query_sees_only_its_window_and_the_shift_moves_it():
    model = _model("swinunet")
    x = torch.randn(1, 3, 64, 64)  # 16×16 tokens at 1/4, windows of 4 tokens = 16 px
    layers = attention.query_attention(model, "swinunet", x, (20, 20))  # token (5, 5)
    plain, shifted = layers[0].mean(), layers[1].mean()
    rows, cols = np.nonzero(plain)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (16, 31, 16, 31)  # its window: tokens 4..7
    rows, cols = np.nonzero(shifted)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (8, 23, 8, 23)  # shifted by 2 tokens: 2..5


def test_swin_window_weights_equal_the_module_with_its_bias_and_mask():
    model = _model("swinunet")
    x = torch.randn(1, 3, 32, 32)  # 8×8 tokens, 2×2 windows of 4×4
    point = (28, 4)  # token (7, 1); in the shifted block it lands in the bottom-left window
    layers = attention.query_attention(model, "swinunet", x, point)
    block = model.encoder[0][1]
    inner: SelfAttention = block.attn.attn
    inner.keep_attention = True
    with torch.no_grad():
        model(x)
    inner.keep_attention = False
    weights = inner.last_attention  # (nW, heads, 16, 16) of the last call of this block
    # rolled by -2: token (7, 1) → (5, 7): window 3 (bottom-right), index (1, 3) → 7
    expected = weights[3, :, 7]  # (heads, 16) in rolled window order
    canvas = torch.zeros(expected.shape[0], 8, 8)
    canvas[:, 4:8, 4:8] = expected.view(-1, 4, 4)
    canvas = torch.roll(canvas, (2, 2), dims=(1, 2))
    torch.testing.assert_close(torch.from_numpy(layers[1].weights[:, ::4, ::4]), canvas, rtol=1e-4, atol=1e-6)
    # the roll's seam is masked: tokens from the opposite border get (almost) nothing
    assert float(canvas[:, 0:2, :].sum()) < 1e-6


def test_segformer_keys_are_the_shortened_grid():
    model = _model("segformer")
    x = torch.randn(1, 3, 64, 64)  # stage 1: 16×16 tokens, keys 2×2 (sr 8), each key = 32×32 px
    first = attention.query_attention(model, "segformer", x, (5, 5))[0]
    assert first.cell == 4
    values = np.unique(first.weights[0].round(6))
    assert len(values) <= 4 and np.isclose(first.weights[0][::32, ::32].sum(), 1.0, atol=1e-5)


def test_bad_model_and_point_are_refused():
    model = _model("unet")
    with pytest.raises(ValueError, match="no self-attention"):
        attention.query_attention(model, "unet", torch.randn(1, 3, 32, 32), (0, 0))
    with pytest.raises(ValueError, match="outside"):
        attention.query_attention(_model("setr"), "setr", torch.randn(1, 3, 32, 32), (32, 0))


def test_overlay_marks_the_query_and_keeps_the_size():
    image = np.zeros((40, 50, 3), np.uint8)
    weights = np.zeros((40, 50), np.float32)
    weights[:10, :10] = 1.0
    out = attention.overlay(image, weights, (30, 30))
    assert out.shape == (40, 50, 3) and out.dtype == np.uint8
    assert tuple(out[30, 30]) == (0, 255, 255)
    assert out[5, 5].sum() > out[20, 45].sum()  # hot where the weight is


# ---------------------------------------------------------------- the Segment tab's attention section
def test_ui_model_choices_are_shipped_attention_models():
    from segdemo.ui import attention as view

    choices = view.model_choices("zh")
    assert all(key.startswith("shipped:") for _, key in choices)
    shipped = {c.model for c in __import__("segdemo.serving", fromlist=["choices"]).choices()}
    assert {key.split(":")[1] for _, key in choices} <= set(attention.ATTENTION_MODELS) | shipped
    if "segformer" in shipped:
        assert ("SegFormer（MiT）", "shipped:segformer") in choices


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_attention_section_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle
    from segdemo.strings import t

    with open_app(browser, app_url, lang, height=1400) as (page, errors):
        goto_tab(page, "segment", lang)
        page.get_by_text(t("attention.title", lang)).first.click()
        image = page.locator("#attention-image img")
        image.wait_for(timeout=30_000)
        image.scroll_into_view_if_needed()
        box = image.bounding_box()
        image.click(position={"x": box["width"] * 0.4, "y": box["height"] * 0.6})
        page.locator("#attention-result img").wait_for(timeout=30_000)
        settle(page)
        page.locator("#attention").screenshot(path=str(screenshot_dir / f"segment-attention-{lang}.png"))
        assert not [e for e in errors if "favicon" not in e]
