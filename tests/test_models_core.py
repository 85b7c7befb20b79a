"""FCN, U-Net and DeepLab: paper sizes, parity with torchvision, the course's defects, dilation rates."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models import create_model
from segdemo.models.backbones import DilatedResNet
from segdemo.models.complexity import count_params
from segdemo.models.deeplab import ASPP, ASPPPooling, aspp_rates
from segdemo.models.fcn import FCN
from segdemo.models.fuse import fuse_conv_bn
from segdemo.models.layers import (
    AtrousDepthwiseConv2d,
    BilinearUpsample,
    PoolingBatchNorm2d,
    bilinear_kernel,
    crop_to,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _params_on_meta(name: str, num_classes: int, **options) -> int:
    # Paper-size models are counted on the meta device: no memory, no initialisation time.
    with torch.device("meta"):
        return count_params(create_model(name, num_classes, variant="paper", **options))


def _randomise_batchnorm(model: nn.Module, seed: int = 0) -> None:
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
            module.weight.data.uniform_(0.5, 1.5, generator=generator)
            module.bias.data.uniform_(-0.5, 0.5, generator=generator)


# ---- paper sizes -------------------------------------------------------------------------

def test_fcn8s_paper_has_134m_parameters():
    # By hand: VGG16 convolutions 14,714,688; fc6 7·7·512·4096+4096 = 102,764,544;
    # fc7 4096·4096+4096 = 16,781,312; score_fr 4096·21+21 = 86,037; score_pool4 512·21+21 = 10,773;
    # score_pool3 256·21+21 = 5,397; upscore2, upscore_pool4 21·21·4·4 = 7,056 each;
    # upscore (×8) 21·21·16·16 = 112,896.
    params = _params_on_meta("fcn8s", 21)
    assert params == 134_489_759
    assert abs(params - 134e6) / 134e6 < 0.03


def test_unet_32_has_the_courses_7763041_parameters():
    assert _params_on_meta("unet", 1, in_channels=3) == 7_763_041


def test_unet_state_dict_keys_are_budas():
    # Buda et al.'s names: block "encoder1" holds enc1conv1, enc1norm1, ...; "bottleneck" holds bottleneckconv1 ...
    blocks = {f"encoder{i}": f"enc{i}" for i in range(1, 5)} | {f"decoder{i}": f"dec{i}" for i in range(1, 5)}
    blocks["bottleneck"] = "bottleneck"
    expected = {"conv.weight", "conv.bias"}
    for block, prefix in blocks.items():
        for i in (1, 2):
            expected.add(f"{block}.{prefix}conv{i}.weight")
            expected |= {f"{block}.{prefix}norm{i}.{p}"
                         for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}
    expected |= {f"upconv{i}.{p}" for i in range(1, 5) for p in ("weight", "bias")}
    with torch.device("meta"):
        keys = set(create_model("unet", 1, variant="paper").state_dict())
    assert keys == expected


def test_deeplabv3_paper_matches_torchvision_size():
    from torchvision.models.segmentation import deeplabv3_resnet50

    ours = _params_on_meta("deeplabv3", 21)
    with torch.device("meta"):
        theirs = count_params(deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21))
    assert ours == theirs
    assert abs(ours - 39.6e6) / 39.6e6 < 0.03


# ---- parity with torchvision -------------------------------------------------------------

def test_torchvision_deeplabv3_state_dict_gives_the_same_logits():
    from torchvision.models.segmentation import deeplabv3_resnet50

    torch.manual_seed(0)
    theirs = deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21)
    _randomise_batchnorm(theirs)
    ours = create_model("deeplabv3", 21, variant="paper")
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(1, 3, 65, 81)  # odd size on purpose
    with torch.no_grad():
        expected = theirs.eval()(x)["out"]
        got = ours.eval()(x)
    assert got.shape == expected.shape == (1, 21, 65, 81)
    assert (got - expected).abs().max().item() < 1e-4


# ---- the course's defects ----------------------------------------------------------------

@pytest.mark.parametrize("stride", [32, 16, 8])
def test_fcn_fuses_skips_at_every_size(stride):
    # The course's FCN added an upsampled pool5 score map to pool4's without matching their
    # sizes, which crashed as soon as H or W was not a multiple of 32.
    model = FCN(num_classes=2, stride=stride, width=1, fc_channels=4).eval()
    with torch.no_grad():
        for height in range(32, 72):
            width = 2 * height - 31
            assert model(torch.randn(1, 3, height, width)).shape == (1, 2, height, width)


def test_crop_to_keeps_the_top_left_and_refuses_to_grow():
    x = torch.arange(20.0).view(1, 1, 4, 5)
    torch.testing.assert_close(crop_to(x, (3, 2)), torch.tensor([[[[0.0, 1.0], [5.0, 6.0], [10.0, 11.0]]]]))
    with pytest.raises(ValueError, match="larger"):
        crop_to(x, (5, 5))


@pytest.mark.parametrize("factor", [2, 8, 32])
def test_bilinear_upsample_is_aligned_with_half_pixel_interpolation(factor):
    # A ramp upsampled by the transposed convolution equals F.interpolate(align_corners=False)
    # away from the border: output pixel o of cell i sits at the centre of the cell.
    up = BilinearUpsample(1, factor)
    ramp = torch.arange(6.0).view(1, 1, 1, 6).expand(1, 1, 6, 6).contiguous()
    with torch.no_grad():
        got = up(ramp)
    expected = F.interpolate(ramp, scale_factor=factor, mode="bilinear", align_corners=False)
    inner = slice(factor, 5 * factor)
    torch.testing.assert_close(got[..., inner, inner], expected[..., inner, inner])
    assert got.shape[-2:] == (6 * factor, 6 * factor)


def test_bilinear_kernel_by_hand():
    # factor 2: taps 1 - |t - 1.5| / 2 for t = 0..3 = [0.25, 0.75, 0.75, 0.25]
    kernel = bilinear_kernel(2, 2)
    taps = torch.tensor([0.25, 0.75, 0.75, 0.25])
    torch.testing.assert_close(kernel[0, 0], taps[:, None] * taps[None, :])
    assert kernel[0, 1].abs().sum() == 0 and kernel[1, 0].abs().sum() == 0


def test_fcn_initialisation_follows_the_paper():
    model = FCN(num_classes=3, stride=8, width=2, fc_channels=8)
    torch.testing.assert_close(model.upscore2.weight.data, bilinear_kernel(3, 2))
    torch.testing.assert_close(model.upscore.weight.data, bilinear_kernel(3, 8))
    assert model.score_pool4.weight.abs().sum() == 0 and model.score_pool3.weight.abs().sum() == 0
    assert model.upscore.weight.requires_grad  # learnable


def test_aspp_pooling_branch_is_broadcast_to_the_feature_size():
    # The course's version interpolated the pooled vector "to its own size" (1×1), so the
    # concatenation with the other branches failed.
    branch = ASPPPooling(8, 4).eval()
    x = torch.randn(2, 8, 5, 7)
    with torch.no_grad():
        y = branch(x)
        pooled = branch[3](branch[2](branch[1](x.mean(dim=(2, 3), keepdim=True))))
    assert y.shape == (2, 4, 5, 7)
    torch.testing.assert_close(y, pooled.expand(-1, -1, 5, 7))
    assert ASPP(8, (1, 2, 3), 4).eval()(x).shape == (2, 4, 5, 7)


def test_deeplab_layer1_receives_the_stem_output_not_the_image():
    # The course's forward fed the raw image to layer1.
    model = create_model("deeplabv3", 2, width=4, layers=(1, 1, 1, 1), aspp_channels=8).eval()
    seen = []
    model.backbone.layer1.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape))
    with torch.no_grad():
        model(torch.randn(1, 3, 65, 81))
    assert seen == [torch.Size([1, 4, 17, 21])]  # stem: conv s2 → 33×41, maxpool s2 → 17×21


def test_pooling_batchnorm_trains_on_a_single_value():
    # nn.BatchNorm2d raises "Expected more than 1 value per channel" here.
    norm = PoolingBatchNorm2d(3)
    _randomise_batchnorm(norm)
    before = norm.running_mean.clone()
    x = torch.randn(1, 3, 1, 1)
    y = norm.train()(x)
    torch.testing.assert_close(y, norm.eval()(x))
    torch.testing.assert_close(norm.running_mean, before)
    reference = nn.BatchNorm2d(3)
    reference.load_state_dict(norm.state_dict())
    batch = torch.randn(4, 3, 1, 1)
    torch.testing.assert_close(norm.train()(batch), reference.train()(batch))


# ---- output stride and atrous rates ------------------------------------------------------

@pytest.mark.parametrize(("output_stride", "rates", "dilations", "feature"), [
    (8, (12, 24, 36), (1, 2, 4), 8),
    (16, (6, 12, 18), (1, 1, 2), 4),
])
def test_output_stride_sets_dilations_and_rates(output_stride, rates, dilations, feature):
    assert aspp_rates(output_stride) == rates
    model = create_model("deeplabv3", 2, width=4, layers=(1, 2, 2, 2), output_stride=output_stride,
                         aspp_channels=8, rates=[6, 12, 18])
    assert model.classifier[0].rates == rates
    backbone: DilatedResNet = model.backbone
    # last block of layer2/3/4 (the first block of a dilated stage keeps the previous dilation)
    got = tuple(stage[-1].conv2.dilation[0] for stage in (backbone.layer2, backbone.layer3, backbone.layer4))
    assert got == dilations
    with torch.no_grad():
        assert backbone.eval()(torch.randn(1, 3, 64, 64))["out"].shape[-2:] == (feature, feature)


@pytest.mark.parametrize("name", ["deeplabv3", "deeplabv3plus"])
def test_small_variants_scale_the_rates_to_their_crops_and_keep_the_weights(name):
    """Rates are image pixels given at output stride 16: (1, 2, 3) for ~96 px crops, doubled at stride 8."""
    def rates(model):
        return (model.classifier[0] if name == "deeplabv3" else model.aspp).rates

    small = create_model(name, 3, variant="small", output_stride=16)
    assert rates(small) == (1, 2, 3)
    assert rates(create_model(name, 3, variant="small", output_stride=8)) == (2, 4, 6)
    paper_rates = create_model(name, 3, variant="small", output_stride=16, rates=[6, 12, 18])
    assert rates(paper_rates) == (6, 12, 18)
    assert small.state_dict().keys() == paper_rates.state_dict().keys()
    with torch.no_grad():
        assert small.eval()(torch.randn(1, 3, 33, 47)).shape == (1, 3, 33, 47)
    for bad in ([1, 2], [0, 2, 3]):
        with pytest.raises(ValueError, match="rates"):
            create_model(name, 3, variant="small", rates=bad)


def test_deeplabv3plus_uses_48_low_level_channels_and_rates_of_its_stride():
    model = create_model("deeplabv3plus", 2, variant="small", output_stride=8, rates=[6, 12, 18])
    assert model.aspp.rates == (12, 24, 36)
    with torch.device("meta"):
        paper = create_model("deeplabv3plus", 21, variant="paper")
    assert paper.project_low[0].out_channels == 48 and paper.aspp.rates == (6, 12, 18)


def test_bad_output_stride_raises():
    with pytest.raises(ValueError, match="output_stride"):
        create_model("deeplabv3", 2, output_stride=4)


# ---- the optimised path's pieces ---------------------------------------------------------

def test_atrous_depthwise_conv_equals_a_padded_conv():
    torch.manual_seed(0)
    conv = AtrousDepthwiseConv2d(4, dilation=6)
    reference = nn.Conv2d(4, 4, 3, padding=6, dilation=6, groups=4, bias=False)
    reference.weight.data.copy_(conv.weight.data)
    x = torch.randn(1, 4, 9, 11)
    torch.testing.assert_close(conv(x), reference(x))


def test_fuse_folds_every_batchnorm_of_the_resnet_and_the_unet():
    deeplab = create_model("deeplabv3", 2, width=4, layers=(1, 1, 1, 1), aspp_channels=8).eval()
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in deeplab.modules())
    assert fuse_conv_bn(deeplab) == norms
    assert not any(isinstance(m, nn.BatchNorm2d) for m in deeplab.modules())
    unet = create_model("unet", 1).eval()
    assert fuse_conv_bn(unet) == 18  # 9 double convolutions
    with pytest.raises(ValueError, match="eval"):
        fuse_conv_bn(create_model("unet", 1).train())


# ---- the benchmark CLI (smoke test; timings are never asserted) ----------------------------

@pytest.mark.slow
def test_bench_models_writes_json(tmp_path, capsys):
    import json

    from segdemo.tools import bench

    out = tmp_path / "models.json"
    status = bench.main(["models", "--quick", "--only", "unet", "--variants", "small", "--no-torchvision",
                         "--json", str(out)])
    assert status == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    (row,) = report["models"]
    assert row["name"] == "unet" and row["variant"] == "small"
    assert row["params"] == count_params(create_model("unet", 21)) and row["gflops"] > 0
    assert row["eager_ms"] > 0 and row["optimized_fp32_ms"] > 0 and row["optimized_ms"] > 0
    assert row["precision"] == ("bf16" if report["meta"]["native_bf16"] else "fp32")
    assert "unet" in capsys.readouterr().out


@pytest.mark.slow
def test_bench_models_measures_the_precision_the_app_uses(tmp_path, monkeypatch):
    import json

    from segdemo.tools import bench

    monkeypatch.setenv("SEGDEMO_PRECISION", "bf16")
    out = tmp_path / "models.json"
    assert bench.main(["models", "--quick", "--only", "fastscnn", "--variants", "small", "--no-torchvision",
                       "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text(encoding="utf-8"))["models"]
    assert row["precision"] == "bf16"
    assert row["speedup"] == pytest.approx(row["eager_ms"] / row["optimized_ms"], abs=0.01)


def test_fcn_paper_variant_fixes_the_last_upsampling_to_bilinear_as_the_paper():
    """Long et al.: the ×2 upsamplings are initialised bilinear and learned, the final one is fixed bilinear."""
    from segdemo.models.layers import bilinear_kernel

    paper = create_model("fcn8s", 3, variant="paper")
    assert not paper.upscore.weight.requires_grad
    assert paper.upscore2.weight.requires_grad and paper.upscore_pool4.weight.requires_grad
    torch.testing.assert_close(paper.upscore.weight, bilinear_kernel(3, 8))
    assert create_model("fcn8s", 3, variant="small").upscore.weight.requires_grad  # said on the card
