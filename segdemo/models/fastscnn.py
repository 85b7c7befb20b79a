"""Fast-SCNN (Poudel et al. 2019): a two-branch real-time network whose branches share their first layers.

Poudel, Liwicki & Cipolla, "Fast-SCNN: Fast Semantic Segmentation Network", BMVC 2019
(https://arxiv.org/abs/1902.04502). Layer plan of the paper's Table 1; the paper reports
1.11M parameters (19 Cityscapes classes), this code gives 1,137,795 (+2.5%: the paper's count
apparently leaves out some BatchNorm or bias terms).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.layers import PoolingBatchNorm2d, conv_bn, upsample_logits
from segdemo.models.registry import ModelCard, register_model


def ds_conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """Depthwise-separable convolution: 3×3 depthwise (BN, ReLU), then 1×1 pointwise (BN, ReLU)."""
    return nn.Sequential(conv_bn(in_channels, in_channels, 3, stride, groups=in_channels),
                         conv_bn(in_channels, out_channels, 1))


class Bottleneck(nn.Module):
    """MobileNetV2's inverted residual: expand ×t (1×1), depthwise 3×3, linear projection (1×1).

    The residual is added when stride is 1 and the channels do not change.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int = 6) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.residual = stride == 1 and in_channels == out_channels
        self.block = nn.Sequential(conv_bn(in_channels, hidden, 1),
                                   conv_bn(hidden, hidden, 3, stride, groups=hidden),
                                   conv_bn(hidden, out_channels, 1, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class PyramidPooling(nn.Module):
    """PSPNet's pyramid pooling: average-pool to 1, 2, 3, 6 bins, project to C/4, upsample, concatenate.

    Shape:
        ``(N, C, h, w)`` → ``(N, C_out, h, w)``.
    """

    def __init__(self, channels: int, out_channels: int, bins: Sequence[int] = (1, 2, 3, 6)) -> None:
        super().__init__()
        self.bins = tuple(bins)
        # The 1-bin branch holds one value per channel: at batch size 1 in training plain BatchNorm
        # cannot normalise it (and raises); PoolingBatchNorm2d then falls back to running statistics.
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv2d(channels, channels // 4, 1, bias=False), PoolingBatchNorm2d(channels // 4),
                          nn.ReLU(inplace=True))
            for _ in self.bins)
        self.out = conv_bn(channels + len(self.bins) * (channels // 4), out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        # Bins larger than the map (small inputs) just repeat cells: adaptive pooling allows it.
        pooled = [F.interpolate(branch(F.adaptive_avg_pool2d(x, b)), size=size, mode="bilinear", align_corners=False)
                  for b, branch in zip(self.bins, self.branches, strict=True)]  # 4 × (N, C/4, h, w)
        return self.out(torch.cat([x, *pooled], dim=1))  # (N, C_out, h, w)


class FeatureFusion(nn.Module):
    """Fast-SCNN's fusion: the 1/32 context, upsampled to the 1/8 map's exact size, plus the 1/8 map.

    Low-resolution branch: upsample ×4, 3×3 depthwise conv with dilation 4 (the upsampling
    factor, so the filter taps fall on distinct low-resolution cells), 1×1 conv; high-resolution
    branch: 1×1 conv; sum, ReLU. Upsampling to the *size* of the 1/8 map (not by a factor)
    keeps the two aligned at sizes that are not multiples of 32.
    """

    def __init__(self, high_channels: int, low_channels: int, out_channels: int, scale: int = 4) -> None:
        super().__init__()
        self.low = nn.Sequential(conv_bn(low_channels, low_channels, 3, groups=low_channels, dilation=scale),
                                 conv_bn(low_channels, out_channels, 1, relu=False))
        self.high = conv_bn(high_channels, out_channels, 1, relu=False)

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        low = F.interpolate(low, size=high.shape[-2:], mode="bilinear", align_corners=False)  # (N, C_l, h, w)
        return F.relu(self.high(high) + self.low(low))  # (N, C_out, h, w)


class FastSCNN(nn.Module):
    """Learning to downsample (1/8) → global feature extractor (1/32, + pyramid pooling) → fusion → classifier.

    The shallow learning-to-downsample module feeds both branches: its 1/8 output is the
    high-resolution (spatial detail) branch and the input of the deep global feature extractor.

    Args:
        num_classes: K.
        width: channel multiplier (1.0 = the paper's 32/48/64 ... 128 channels), rounded to
            multiples of 8.
        expansion: the bottlenecks' expansion factor t (6 in the paper).
        dropout: dropout before the last 1×1 convolution.

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, width: float = 1.0, expansion: int = 6, dropout: float = 0.1) -> None:
        super().__init__()
        if width <= 0 or expansion < 1:
            raise ValueError(f"need width > 0 and expansion >= 1, got {width}, {expansion}")

        def c(channels: int) -> int:
            return max(8, int(round(channels * width / 8)) * 8)

        self.learning_to_downsample = nn.Sequential(conv_bn(3, c(32), 3, 2), ds_conv(c(32), c(48), 2),
                                                    ds_conv(c(48), c(64), 2))
        stages: list[nn.Module] = []
        in_channels = c(64)
        for out_channels, stride in ((c(64), 2), (c(96), 2), (c(128), 1)):
            for i in range(3):
                stages.append(Bottleneck(in_channels, out_channels, stride if i == 0 else 1, expansion))
                in_channels = out_channels
        self.global_feature_extractor = nn.Sequential(*stages, PyramidPooling(c(128), c(128)))
        self.feature_fusion = FeatureFusion(c(64), c(128), c(128))
        self.classifier = nn.Sequential(ds_conv(c(128), c(128)), ds_conv(c(128), c(128)), nn.Dropout(dropout),
                                        nn.Conv2d(c(128), num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shared = self.learning_to_downsample(x)  # (N, 64w, H/8, W/8)
        context = self.global_feature_extractor(shared)  # (N, 128w, H/32, W/32)
        fused = self.feature_fusion(shared, context)  # (N, 128w, H/8, W/8)
        logits = self.classifier(fused)  # (N, K, H/8, W/8)
        return upsample_logits(logits, x.shape[-2:])  # (N, K, H, W)


@register_model(ModelCard(
    name="fastscnn",
    display={"en": "Fast-SCNN", "zh": "Fast-SCNN"},
    paper="Fast-SCNN: Fast Semantic Segmentation Network",
    year=2019,
    url="https://arxiv.org/abs/1902.04502",
    idea={
        "en": "Two branches share their first layers (learning to downsample): a shallow 1/8-resolution path "
              "keeps edges, a deep 1/32-resolution path adds context, and a cheap fusion joins them in real time.",
        "zh": "两个分支共享前几层（学习下采样）：浅层 1/8 分辨率路径保留边缘，深层 1/32 分辨率路径提供上下文，"
              "再以很小的代价融合，实现实时分割。",
    },
    family="Real-time",
    variants={"small": {"width": 0.5}, "paper": {"width": 1.0}},
))
def fastscnn(num_classes: int, width: float = 1.0, expansion: int = 6, dropout: float = 0.1) -> FastSCNN:
    """Fast-SCNN; ``width=1`` is the paper's network (1.14M parameters at 19 classes)."""
    return FastSCNN(num_classes, width, expansion, dropout)
