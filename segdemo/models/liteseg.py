"""LiteSeg (Emara et al. 2019): a MobileNetV2 encoder with a deeper, densely connected ASPP (DASPP).

Emara, Abd El Munim & Abbas, "LiteSeg: A Novel Lightweight ConvNet for Semantic Segmentation",
DICTA 2019 (https://arxiv.org/abs/1912.06683).

DASPP differs from DeepLabV3+'s ASPP in two ways: each atrous 3×3 branch is followed by a second
3×3 convolution (deeper, more non-linearity per scale at little cost on a small map), and the
backbone's output is concatenated with the branches before the 1×1 fusion (a dense short-cut, so
the fused map still sees the unfiltered features). The decoder is DeepLabV3+'s: upsample to 1/4,
concatenate low-level features, two 3×3 convolutions. The paper reports 4.38M parameters for
LiteSeg-MobileNetV2; the paper variant here counts 3.22M (3,218,803) at 19 classes: its text does not give
every width (e.g. of the DASPP branches, taken as 96 here, or whether MobileNetV2's last 1×1
convolution to 1280 channels is kept; it is not).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.backbones import MobileNetV2
from segdemo.models.layers import PoolingBatchNorm2d, conv_bn_relu, upsample_logits
from segdemo.models.registry import ModelCard, register_model


class DASPP(nn.Module):
    """Dense ASPP: 1×1, three (atrous 3×3 → 3×3) branches, image pooling, and the input, fused by a 1×1.

    Shape:
        ``(N, C_in, h, w)`` → ``(N, C, h, w)``.
    """

    def __init__(self, in_channels: int, channels: int, rates: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList([conv_bn_relu(in_channels, channels, 1)])
        for rate in rates:
            self.branches.append(nn.Sequential(*conv_bn_relu(in_channels, channels, 3, dilation=rate),
                                               *conv_bn_relu(channels, channels, 3)))
        self.pool = nn.Sequential(nn.Conv2d(in_channels, channels, 1, bias=False), PoolingBatchNorm2d(channels),
                                  nn.ReLU(inplace=True))
        self.fuse = conv_bn_relu(in_channels + (len(rates) + 2) * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = [branch(x) for branch in self.branches]  # (1 + rates) × (N, C, h, w)
        pooled = self.pool(F.adaptive_avg_pool2d(x, 1)).expand(-1, -1, *x.shape[-2:])  # (N, C, h, w)
        return self.fuse(torch.cat((x, *maps, pooled), dim=1))  # dense short-cut: x itself is concatenated


class LiteSeg(nn.Module):
    """LiteSeg: MobileNetV2 (output stride 16) → DASPP → DeepLabV3+-style decoder at 1/4.

    Args:
        num_classes: K.
        width: MobileNetV2's width multiplier (1.0 in the paper).
        channels: DASPP's and the decoder's channels (96).
        rates: DASPP's atrous rates (3, 6, 9 in the paper).
        output_stride: MobileNetV2's output stride (16 or 32).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, width: float = 1.0, channels: int = 96, rates: Sequence[int] = (3, 6, 9),
                 output_stride: int = 16) -> None:
        super().__init__()
        self.backbone = MobileNetV2(width, output_stride)
        self.daspp = DASPP(self.backbone.out_channels, channels, tuple(int(r) for r in rates))
        self.decoder = nn.Sequential(conv_bn_relu(channels + self.backbone.low_channels, channels, 3),
                                     conv_bn_relu(channels, channels, 3))
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone(x)
        low = features["low"]  # (N, 24w, H/4, W/4)
        context = self.daspp(features["out"])  # (N, C, H/os, W/os)
        context = F.interpolate(context, size=low.shape[-2:], mode="bilinear", align_corners=False)  # (N,C,H/4,W/4)
        fused = self.decoder(torch.cat((context, low), dim=1))  # (N, C, H/4, W/4)
        logits = self.classifier(fused)  # (N, K, H/4, W/4)
        return upsample_logits(logits, x.shape[-2:])  # (N, K, H, W)


@register_model(ModelCard(
    name="liteseg",
    display={"en": "LiteSeg (MobileNetV2)", "zh": "LiteSeg（MobileNetV2）"},
    paper="LiteSeg: A Novel Lightweight ConvNet for Semantic Segmentation",
    year=2019,
    url="https://arxiv.org/abs/1912.06683",
    idea={
        "en": "A lightweight encoder (MobileNetV2) with a deeper ASPP whose branches get a second 3×3 "
              "convolution and whose fusion also sees the encoder's own output (a dense short-cut), then a "
              "DeepLabV3+-style decoder with low-level features.",
        "zh": "轻量编码器（MobileNetV2）加上更深的 ASPP：每个空洞分支后再接一个 3×3 卷积，融合时还拼接编码器自身的"
              "输出（密集短连接），最后用 DeepLabV3+ 式解码器结合低层特征。",
    },
    family="Real-time",
    # Small: MobileNetV2 at half width, 48-channel DASPP; rates (1, 2, 3) since 96 px crops give 6×6 maps
    # at output stride 16, on which the paper's rates (3, 6, 9) would mostly read zero padding.
    variants={"small": {"width": 0.5, "channels": 48, "rates": [1, 2, 3]},
              "paper": {"width": 1.0, "channels": 96, "rates": [3, 6, 9]}},
))
def liteseg(num_classes: int, width: float = 1.0, channels: int = 96, rates: Sequence[int] = (3, 6, 9),
            output_stride: int = 16) -> LiteSeg:
    """LiteSeg-MobileNetV2 with the paper's DASPP rates by default."""
    return LiteSeg(num_classes, width, channels, rates, output_stride)
