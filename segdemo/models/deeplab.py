"""DeepLabV3 and DeepLabV3+ on a dilated ResNet.

Chen, Papandreou, Schroff & Adam, "Rethinking Atrous Convolution for Semantic Image
Segmentation" (2017, https://arxiv.org/abs/1706.05587), and Chen, Zhu, Papandreou, Schroff
& Adam, "Encoder-Decoder with Atrous Separable Convolution for Semantic Image Segmentation",
ECCV 2018 (https://arxiv.org/abs/1802.02611).

Names match torchvision's ``deeplabv3_resnet50`` (``backbone.layer4.2.conv2``,
``classifier.0.convs.4.1`` ...): its state dict, random or COCO-trained, loads into our
paper-size DeepLabV3 and gives the same logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.backbones import DilatedResNet
from segdemo.models.layers import PoolingBatchNorm2d, conv_bn_relu, upsample_logits
from segdemo.models.registry import ModelCard, register_model


def aspp_rates(output_stride: int, rates: Sequence[int] = (6, 12, 18)) -> tuple[int, int, int]:
    """ASPP's three atrous rates: ``rates`` at output stride 16 ((6, 12, 18), the paper's), doubled at 8,
    halved at 32.

    The rates are fixed in *image* pixels: a feature map twice as fine needs twice the rate. The paper's
    rates suit its ~513 px crops; on crops a few times smaller they exceed the feature map, and a 3×3
    atrous filter whose outer taps all fall in the padding degenerates to a 1×1 filter (Chen et al. 2017,
    Sec. 3.3), so the small variants scale them down.
    """
    if output_stride not in (8, 16, 32):
        raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
    rates = tuple(int(r) for r in rates)
    if len(rates) != 3 or min(rates) < 1 or (output_stride == 32 and any(r % 2 for r in rates)):
        raise ValueError(f"rates must be three dilation rates >= 1 (even at output stride 32), got {rates}")
    first, second, third = (rate * 16 // output_stride for rate in rates)
    return first, second, third


class ASPPPooling(nn.Sequential):
    """ASPP's image-level branch: global average → 1×1 conv → BN → ReLU, broadcast back.

    The pooled ``(N, C, 1, 1)`` vector is expanded to the *input feature map's* size, so it
    concatenates with the other branches (a constant map carrying whole-image context).
    Its BatchNorm is :class:`PoolingBatchNorm2d`, which also trains at batch size 1.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(in_channels, out_channels, 1, bias=False),
            PoolingBatchNorm2d(out_channels),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        pooled = super().forward(x)  # (N, C_out, 1, 1)
        return pooled.expand(-1, -1, height, width)  # (N, C_out, h, w)


class ASPP(nn.Module):
    """Atrous Spatial Pyramid Pooling: five parallel views of one feature map, fused.

    Branches: a 1×1 convolution, three 3×3 convolutions with dilation ``rates`` and the
    image pooling branch; their concatenation is projected back to ``out_channels`` by a
    1×1 convolution, BN, ReLU and dropout.

    Args:
        in_channels: channels of the backbone's last map.
        rates: the three dilation rates, see :func:`aspp_rates`.
        out_channels: channels of every branch and of the output (256 in the papers).
        dropout: dropout after the projection (0.5 in torchvision's DeepLabV3, 0.1 in V3+).
        separable: depthwise-separable atrous convolutions (DeepLabV3+).

    Shape:
        ``(N, C_in, h, w)`` → ``(N, C_out, h, w)``.
    """

    def __init__(self, in_channels: int, rates: Sequence[int], out_channels: int = 256,
                 dropout: float = 0.5, separable: bool = False) -> None:
        super().__init__()
        branches: list[nn.Module] = [conv_bn_relu(in_channels, out_channels, 1)]
        branches += [conv_bn_relu(in_channels, out_channels, 3, dilation=int(rate), separable=separable)
                     for rate in rates]
        branches.append(ASPPPooling(in_channels, out_channels))
        self.convs = nn.ModuleList(branches)
        self.project = nn.Sequential(
            nn.Conv2d(len(branches) * out_channels, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
        )

    @property
    def rates(self) -> tuple[int, ...]:
        """The dilation rates of the three atrous branches (read from the modules)."""
        return tuple(branch[0].dilation[0] for branch in self.convs[1:-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        views = torch.cat([branch(x) for branch in self.convs], dim=1)  # (N, 5*C_out, h, w)
        return self.project(views)  # (N, C_out, h, w)


class DeepLabHead(nn.Sequential):
    """DeepLabV3's head as in torchvision: ASPP, a 3×3 conv-BN-ReLU, a 1×1 classifier."""

    def __init__(self, in_channels: int, num_classes: int, rates: Sequence[int], channels: int = 256) -> None:
        super().__init__(
            ASPP(in_channels, rates, channels),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, num_classes, 1),
        )


class DeepLabV3(nn.Module):
    """DeepLabV3: a dilated ResNet, ASPP on its last map, bilinear upsampling to the input.

    Args:
        num_classes: K.
        width: ResNet stem channels (64 for ResNet-50).
        layers: ResNet blocks per stage ((3, 4, 6, 3) for ResNet-50).
        output_stride: 8 (torchvision's and the paper's evaluation setting) or 16.
        aspp_channels: channels of ASPP and the head (256).
        rates: ASPP's atrous rates at output stride 16 (see :func:`aspp_rates`; the paper's (6, 12, 18)
            by default).
        multi_grid: unit rates of layer4's blocks (the paper's (1, 2, 4); see
            :class:`~segdemo.models.backbones.DilatedResNet`), ``None`` for none.

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, width: int = 64, layers: Sequence[int] = (3, 4, 6, 3),
                 output_stride: int = 8, aspp_channels: int = 256, rates: Sequence[int] = (6, 12, 18),
                 multi_grid: Sequence[int] | None = None) -> None:
        super().__init__()
        self.backbone = DilatedResNet(width, layers, output_stride, multi_grid)
        self.classifier = DeepLabHead(self.backbone.out_channels, num_classes, aspp_rates(output_stride, rates),
                                      aspp_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone(x)["out"]  # (N, 32w, H/os, W/os)
        logits = self.classifier(features)  # (N, K, H/os, W/os)
        return upsample_logits(logits, x.shape[-2:])  # (N, K, H, W)


class DeepLabV3Plus(nn.Module):
    """DeepLabV3+: DeepLabV3's encoder plus a decoder that restores boundaries from layer1.

    Decoder: ASPP's output (1/16) is upsampled ×4 to layer1's size, concatenated with
    layer1 projected to ``low_channels`` (48: few, so that the rich ASPP features are not
    drowned), refined by two 3×3 convolutions and classified, then upsampled ×4.
    ASPP and decoder use atrous *separable* convolutions when ``separable`` (the paper's).

    Args:
        num_classes: K.
        width, layers, output_stride: the dilated ResNet's (output stride 16 in the paper).
        aspp_channels: channels of ASPP and the decoder (256).
        low_channels: channels of the projected low-level features (48).
        separable: depthwise-separable 3×3 convolutions in ASPP and decoder.
        rates: ASPP's atrous rates at output stride 16 (see :func:`aspp_rates`).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, width: int = 64, layers: Sequence[int] = (3, 4, 6, 3),
                 output_stride: int = 16, aspp_channels: int = 256, low_channels: int = 48,
                 separable: bool = True, rates: Sequence[int] = (6, 12, 18)) -> None:
        super().__init__()
        self.backbone = DilatedResNet(width, layers, output_stride)
        self.aspp = ASPP(self.backbone.out_channels, aspp_rates(output_stride, rates), aspp_channels,
                         dropout=0.1, separable=separable)
        self.project_low = conv_bn_relu(self.backbone.low_channels, low_channels, 1)
        self.fuse = nn.Sequential(
            conv_bn_relu(aspp_channels + low_channels, aspp_channels, 3, separable=separable),
            conv_bn_relu(aspp_channels, aspp_channels, 3, separable=separable),
        )
        self.classifier = nn.Conv2d(aspp_channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone(x)
        low = self.project_low(features["low"])  # (N, 48, H/4, W/4)
        context = self.aspp(features["out"])  # (N, A, H/os, W/os)
        context = F.interpolate(context, size=low.shape[-2:], mode="bilinear", align_corners=False)  # (N,A,H/4,W/4)
        fused = self.fuse(torch.cat((context, low), dim=1))  # (N, A, H/4, W/4)
        logits = self.classifier(fused)  # (N, K, H/4, W/4)
        return upsample_logits(logits, x.shape[-2:])  # (N, K, H, W)


# Small variants train on ~96 px crops, 5× smaller than the paper's: rates scaled down alike (aspp_rates).
_SMALL_BACKBONE = {"width": 16, "layers": [2, 2, 2, 2], "output_stride": 16, "aspp_channels": 64, "rates": [1, 2, 3]}
_R50 = {"width": 64, "layers": [3, 4, 6, 3], "aspp_channels": 256}


@register_model(ModelCard(
    name="deeplabv3",
    display={"en": "DeepLabV3 (ResNet)", "zh": "DeepLabV3（ResNet）"},
    paper="Rethinking Atrous Convolution for Semantic Image Segmentation",
    year=2017,
    url="https://arxiv.org/abs/1706.05587",
    idea={
        "en": "Atrous (dilated) convolutions keep the feature map at 1/8 or 1/16 of the image without shrinking "
              "the receptive field, and ASPP sees several scales at once through parallel atrous convolutions of "
              "different rates plus an image-level pooling branch.",
        "zh": "空洞（膨胀）卷积让特征图保持在原图的 1/8 或 1/16 而感受野不缩小；ASPP 通过不同膨胀率的并行空洞卷积"
              "加上全图池化分支，同时观察多个尺度。",
    },
    family="DeepLab",
    # Output stride 8, as the paper evaluates: on 96 px crops stride 16 leaves a 6×6 map and no decoder
    # to recover edges (val mIoU 0.75 at 16, 0.91 at 8 on the same weights after fine-tuning).
    variants={"small": {**_SMALL_BACKBONE, "output_stride": 8}, "paper": {**_R50, "output_stride": 8}},
))
def deeplabv3(num_classes: int, width: int = 64, layers: Sequence[int] = (3, 4, 6, 3), output_stride: int = 8,
              aspp_channels: int = 256, rates: Sequence[int] = (6, 12, 18)) -> DeepLabV3:
    """DeepLabV3; the defaults are torchvision's ``deeplabv3_resnet50`` (ResNet-50, output stride 8)."""
    return DeepLabV3(num_classes, width, layers, output_stride, aspp_channels, rates)


@register_model(ModelCard(
    name="deeplabv3plus",
    display={"en": "DeepLabV3+ (ResNet)", "zh": "DeepLabV3+（ResNet）"},
    paper="Encoder-Decoder with Atrous Separable Convolution for Semantic Image Segmentation",
    year=2018,
    url="https://arxiv.org/abs/1802.02611",
    idea={
        "en": "DeepLabV3 becomes the encoder of an encoder-decoder: a light decoder fuses its upsampled output "
              "with 48-channel low-level features to sharpen object boundaries, and atrous separable "
              "convolutions keep it cheap.",
        "zh": "把 DeepLabV3 作为编码器：轻量解码器将其上采样输出与投影到 48 通道的低层特征融合，使物体边界更清晰；"
              "空洞可分离卷积降低计算量。",
    },
    family="DeepLab",
    variants={"small": {**_SMALL_BACKBONE, "low_channels": 24},
              "paper": {**_R50, "output_stride": 16, "low_channels": 48}},
))
def deeplabv3plus(num_classes: int, width: int = 64, layers: Sequence[int] = (3, 4, 6, 3), output_stride: int = 16,
                  aspp_channels: int = 256, low_channels: int = 48, separable: bool = True,
                  rates: Sequence[int] = (6, 12, 18)) -> DeepLabV3Plus:
    """DeepLabV3+ on a dilated ResNet-50 (output stride 16) by default."""
    return DeepLabV3Plus(num_classes, width, layers, output_stride, aspp_channels, low_channels, separable, rates)
