"""SegFormer, Fast-SCNN and LR-ASPP: published sizes, torchvision parity and their specific parts.

The registry-wide contract (odd sizes, batch 1, train/eval, optimised path) is in
``test_models_contract.py``; this file checks what is particular to each of the three.
"""

from __future__ import annotations

import urllib.error

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models import create_model
from segdemo.models.complexity import count_params
from segdemo.models.fastscnn import FeatureFusion, PyramidPooling
from segdemo.models.fuse import prepare_for_inference
from segdemo.models.segformer import EfficientSelfAttention, grid_to_tokens, tokens_to_grid

pytestmark = pytest.mark.usefixtures("one_thread")


def _params_on_meta(name: str, num_classes: int, variant: str = "paper") -> int:
    with torch.device("meta"):
        return count_params(create_model(name, num_classes, variant=variant))


def _randomise_batchnorm(model: nn.Module, seed: int = 0) -> None:
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)


# ---- paper sizes -------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "classes", "exact", "published"), [
    # Xie et al. Table 1: MiT-B0 on ADE20K (150 classes) 3.8M; the "about 3.7M" too.
    ("segformer", 150, 3_752_694, (3.8e6, 3.7e6)),
    # Poudel et al.: 1.11M on Cityscapes (19 classes); ours counts all BatchNorm affine terms.
    ("fastscnn", 19, 1_137_795, (1.11e6,)),
    # torchvision's LRASPP_MobileNet_V3_Large_Weights meta: num_params 3,221,538 at 21 classes.
    ("lraspp", 21, 3_221_538, (3.2e6,)),
])
def test_paper_variants_match_published_sizes(name, classes, exact, published):
    params = _params_on_meta(name, classes)
    assert params == exact
    for reference in published:
        assert abs(params - reference) / reference < 0.03


def test_small_variants_are_smaller():
    for name in ("segformer", "fastscnn", "lraspp"):
        assert _params_on_meta(name, 6, "small") < _params_on_meta(name, 6, "paper") / 2


# ---- SegFormer -----------------------------------------------------------------------------

def test_tokens_and_grid_are_channels_last_views():
    # Regression: transpose-then-reshape gave a batch-1 map an odd batch stride, so bilinear
    # upsampling no longer saw channels-last and ran 5x slower.
    tokens = torch.arange(2 * 3 * 4.0).view(1, 6, 4)  # (N, h*w, C) with h=2, w=3
    grid = tokens_to_grid(tokens, 2, 3)
    assert grid.shape == (1, 4, 2, 3) and grid.data_ptr() == tokens.data_ptr()
    assert grid.is_contiguous(memory_format=torch.channels_last) and grid.stride() == (24, 1, 12, 4)
    assert grid[0, 1, 1, 2] == tokens[0, 5, 1]  # token 5 = row 1, column 2
    back = grid_to_tokens(grid)
    assert back.is_contiguous() and torch.equal(back, tokens)


def test_sequence_reduction_shapes_per_stage():
    # 97×130: patch embeddings (k7 s4 p3, then k3 s2 p1) give 25×33, 13×17, 7×9, 4×5 grids;
    # reductions 8, 4, 2, 1 leave ⌊25/8⌋·⌊33/8⌋ = 3·4, ⌊13/4⌋·⌊17/4⌋ = 3·4, ⌊7/2⌋·⌊9/2⌋ = 3·4, 4·5 keys.
    model = create_model("segformer", 3, variant="paper").eval()
    queries, keys = [], []
    for blocks in model.encoder.block:
        attention = blocks[0].attn
        attention.q.register_forward_hook(lambda m, args, out: queries.append(out.shape[1]))
        attention.kv.register_forward_hook(lambda m, args, out: keys.append(out.shape[1]))
    with torch.no_grad():
        features = model.encoder(torch.randn(1, 3, 97, 130))
    assert queries == [25 * 33, 13 * 17, 7 * 9, 4 * 5]
    assert keys == [12, 12, 12, 20]
    assert [tuple(f.shape[1:]) for f in features] == [(32, 25, 33), (64, 13, 17), (160, 7, 9), (256, 4, 5)]


def test_sequence_reduction_shortens_keys_not_queries():
    attention = EfficientSelfAttention(dim=8, heads=2, sr=4)
    seen = {}
    attention.kv.register_forward_hook(lambda module, args, out: seen.update(kv=out.shape))
    out = attention(torch.randn(1, 16 * 12, 8), 16, 12)
    assert out.shape == (1, 192, 8)  # one output per query token
    assert seen["kv"] == (1, 4 * 3, 16)  # keys/values from a 4×3 grid: 16× shorter


def test_grid_smaller_than_the_reduction_is_padded_not_crashed():
    attention = EfficientSelfAttention(dim=8, heads=1, sr=8)
    assert attention(torch.randn(2, 5 * 3, 8), 5, 3).shape == (2, 15, 8)
    with pytest.raises(ValueError, match="divisible"):
        EfficientSelfAttention(dim=8, heads=3, sr=1)


def _reference_decoder(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    # The reference order: project, upsample, concatenate deepest first, fuse 4D → D.
    features = model.encoder(x)
    size = features[0].shape[-2:]
    upsampled = [F.interpolate(linear(f), size=size, mode="bilinear", align_corners=False)
                 for linear, f in zip(model.linear_c, features, strict=True)]
    return model.linear_fuse(torch.cat(upsampled[::-1], dim=1))


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
def test_segformer_decoder_in_cheap_order_equals_the_reference(train):
    torch.manual_seed(0)
    model = create_model("segformer", 4, variant="small")
    _randomise_batchnorm(model)
    model.train(train)
    x = torch.randn(2, 3, 45, 61)
    expected = _reference_decoder(model, x)
    got = model.decode(model.encoder(x))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    # ... and the same gradients reach the decoder's weights
    grads = torch.autograd.grad(got.square().sum(), [model.linear_c[2].weight, model.linear_fuse[0].weight])
    reference = torch.autograd.grad(expected.square().sum(), [model.linear_c[2].weight, model.linear_fuse[0].weight])
    for g, r in zip(grads, reference, strict=True):  # float32 sums in another order: compare as a whole
        assert ((g - r).norm() / r.norm()).item() < 1e-5


def test_segformer_folded_decoder_still_matches():
    # After BatchNorm folding linear_fuse[0] has a bias and linear_fuse[1] is an Identity.
    torch.manual_seed(0)
    model = create_model("segformer", 4, variant="small").eval()
    _randomise_batchnorm(model)
    fast = prepare_for_inference(model, channels_last=False)
    assert isinstance(fast.linear_fuse[1], nn.Identity) and fast.linear_fuse[0].bias is not None
    x = torch.randn(1, 3, 40, 56)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x), rtol=1e-4, atol=1e-4)


# ---- Fast-SCNN -----------------------------------------------------------------------------

def test_fastscnn_branches_align_at_odd_sizes():
    # Three stride-2 layers give ⌈H/8⌉; two more in the global extractor give ⌈H/32⌉; the
    # context is upsampled to the 1/8 map's exact size, whatever the rounding.
    model = create_model("fastscnn", 3).eval()
    seen = []
    model.feature_fusion.register_forward_hook(
        lambda module, args, out: seen.append((args[0].shape[-2:], args[1].shape[-2:], out.shape[-2:])))
    with torch.no_grad():
        for height in range(32, 72, 3):
            width = 2 * height - 31
            seen.clear()
            assert model(torch.randn(1, 3, height, width)).shape == (1, 3, height, width)
            (high, low, fused), = seen
            eighth = (-(-height // 8), -(-width // 8))
            assert tuple(high) == tuple(fused) == eighth
            assert tuple(low) == (-(-eighth[0] // 4), -(-eighth[1] // 4))


def test_feature_fusion_by_hand():
    torch.manual_seed(0)
    fusion = FeatureFusion(high_channels=4, low_channels=8, out_channels=6).eval()
    assert fusion.low[0][0].dilation == (4, 4) and fusion.low[0][0].groups == 8  # the paper's DWConv, dilation 4
    high, low = torch.randn(1, 4, 13, 17), torch.randn(1, 8, 4, 5)
    with torch.no_grad():
        upsampled = F.interpolate(low, size=(13, 17), mode="bilinear", align_corners=False)
        expected = F.relu(fusion.high(high) + fusion.low(upsampled))
        torch.testing.assert_close(fusion(high, low), expected)


def test_pyramid_pooling_trains_at_batch_one():
    # Regression: the 1-bin branch holds one value per channel; a plain BatchNorm raised
    # "Expected more than 1 value per channel when training" at batch size 1.
    ppm = PyramidPooling(16, 8).train()
    before = ppm.branches[0][1].running_mean.clone()
    y = ppm(torch.randn(1, 16, 2, 3))  # a 2×3 map: bins 3 and 6 repeat cells
    assert y.shape == (1, 8, 2, 3)
    y.sum().backward()
    torch.testing.assert_close(ppm.branches[0][1].running_mean, before)  # left untouched
    assert ppm.branches[1][1].running_mean.abs().sum() > 0  # the 2-bin branch (4 values) learns its stats


# ---- LR-ASPP -------------------------------------------------------------------------------

def test_lraspp_paper_is_torchvisions_model():
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    torch.manual_seed(0)
    theirs = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21).eval()
    _randomise_batchnorm(theirs)
    ours = create_model("lraspp", 21, variant="paper").eval()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, 3, 65, 81)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x)["out"])


def test_lraspp_generic_wiring_equals_torchvisions():
    # The small variant is wired by lraspp_from_mobilenet; on MobileNetV3-Large it must give
    # exactly torchvision's network (same taps, same head).
    from torchvision.models import mobilenet_v3_large
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    from segdemo.models.lraspp import lraspp_from_mobilenet

    with torch.device("meta"):
        backbone, head = lraspp_from_mobilenet(mobilenet_v3_large(weights=None, dilated=True).features, 5)
        reference = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=5)
    ours = {f"backbone.{k}": v.shape for k, v in backbone.state_dict().items()}
    ours |= {f"classifier.{k}": v.shape for k, v in head.state_dict().items()}
    assert ours == {k: v.shape for k, v in reference.state_dict().items()}


def test_lraspp_small_taps_strides_8_and_16():
    model = create_model("lraspp", 3, variant="small").eval()
    with torch.no_grad():
        features = model.backbone(torch.randn(1, 3, 64, 96))
    assert features["low"].shape[-2:] == (8, 12) and features["high"].shape[-2:] == (4, 6)


def test_lraspp_bad_options():
    with pytest.raises(ValueError, match="backbone"):
        create_model("lraspp", 3, backbone="tiny")
    with pytest.raises(ValueError, match="width"):
        create_model("lraspp", 3, width=0)


def test_lraspp_voc_weights_load_into_the_registry_model(tmp_path, monkeypatch):
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    from segdemo.models import pretrained as pre
    from segdemo.models.lraspp import LRASPPMobileNetV3

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    torch.manual_seed(0)
    reference = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21).eval()
    path = pre.weights_path("lraspp_mobilenet_v3_large_voc")
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    model, info = pre.load_pretrained("lraspp_mobilenet_v3_large_voc", progress=False)
    assert isinstance(model, LRASPPMobileNetV3) and "segdemo lraspp" in info["architecture"]
    x = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x)["out"])
