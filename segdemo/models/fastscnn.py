"""Fast-SCNN (Poudel et al. 2019): a two-branch real-time network sharing its first layers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.registry import ModelCard, register_model


def conv_bn(in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1, groups: int = 1,
            relu: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(out_channels)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


def ds_conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """Depthwise-separable convolution: 3×3 depthwise, then 1×1 pointwise."""
    return nn.Sequential(conv_bn(in_channels, in_channels, 3, stride, groups=in_channels),
                         conv_bn(in_channels, out_channels, 1))


class Bottleneck(nn.Module):
    """MobileNetV2's inverted residual (expand ×t, depthwise 3×3, project), residual when shapes allow."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int = 6) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.residual = stride == 1 and in_channels == out_channels
        self.block = nn.Sequential(conv_bn(in_channels, hidden, 1), conv_bn(hidden, hidden, 3, stride, groups=hidden),
                                   conv_bn(hidden, out_channels, 1, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


class PyramidPooling(nn.Module):
    """PSPNet's pyramid pooling: average-pool to 1, 2, 3, 6 bins, project, upsample, concatenate."""

    def __init__(self, channels: int, out_channels: int, bins: tuple[int, ...] = (1, 2, 3, 6)) -> None:
        super().__init__()
        self.bins = bins
        # No BatchNorm on pooled maps: a 1×1 map has one value per channel, which BN cannot normalise
        # in training with batch size 1.
        self.branches = nn.ModuleList(nn.Sequential(nn.Conv2d(channels, channels // 4, 1), nn.ReLU(inplace=True))
                                      for _ in bins)
        self.out = conv_bn(2 * channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        pooled = [F.interpolate(branch(F.adaptive_avg_pool2d(x, b)), size=size, mode="bilinear", align_corners=False)
                  for b, branch in zip(self.bins, self.branches, strict=True)]
        return self.out(torch.cat([x, *pooled], dim=1))


class FastSCNN(nn.Module):
    """Learning to downsample (to 1/8) → global feature extractor (to 1/32, + pyramid pooling) → fusion → classifier.

    From Poudel et al., "Fast-SCNN: Fast Semantic Segmentation Network" (BMVC 2019).

    Args:
        num_classes: K.
        width: channel multiplier (1.0 = the paper's 32/48/64 … 128 channels).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, width: float = 1.0) -> None:
        super().__init__()

        def c(channels: int) -> int:
            return max(8, int(round(channels * width / 8)) * 8)

        self.downsample = nn.Sequential(conv_bn(3, c(32), 3, 2), ds_conv(c(32), c(48), 2), ds_conv(c(48), c(64), 2))
        stages, in_channels = [], c(64)
        for out_channels, stride in ((c(64), 2), (c(96), 2), (c(128), 1)):
            for i in range(3):
                stages.append(Bottleneck(in_channels, out_channels, stride if i == 0 else 1))
                in_channels = out_channels
        self.global_features = nn.Sequential(*stages, PyramidPooling(c(128), c(128)))
        self.lowres = nn.Sequential(conv_bn(c(128), c(128), 3, groups=c(128)), conv_bn(c(128), c(128), 1, relu=False))
        self.highres = conv_bn(c(64), c(128), 1, relu=False)
        self.classifier = nn.Sequential(ds_conv(c(128), c(128)), ds_conv(c(128), c(128)), nn.Dropout(0.1),
                                        nn.Conv2d(c(128), num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shared = self.downsample(x)  # (N, 64w, H/8, W/8)
        context = self.global_features(shared)  # (N, 128w, H/32, W/32)
        context = F.interpolate(context, size=shared.shape[-2:], mode="bilinear", align_corners=False)
        fused = F.relu(self.highres(shared) + self.lowres(context))  # (N, 128w, H/8, W/8)
        logits = self.classifier(fused)  # (N, K, H/8, W/8)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)  # (N, K, H, W)


@register_model(ModelCard(
    name="fastscnn",
    display={"en": "Fast-SCNN", "zh": "Fast-SCNN"},
    paper="Fast-SCNN: Fast Semantic Segmentation Network",
    year=2019,
    url="https://arxiv.org/abs/1902.04502",
    idea={
        "en": "Two branches share their first layers (learning to downsample): a shallow high-resolution path "
              "keeps edges, a deep low-resolution path adds context, and a cheap fusion joins them in real time.",
        "zh": "两个分支共享前几层（学习下采样）：浅层高分辨率路径保留边缘，深层低分辨率路径提供上下文，"
              "再以很小的代价融合，实现实时分割。",
    },
    family="Real-time",
    variants={"small": {"width": 0.5}, "paper": {"width": 1.0}},
))
def fastscnn(num_classes: int, width: float = 1.0) -> FastSCNN:
    """Fast-SCNN; ``width=1`` is the paper's network (about 1.1M parameters)."""
    return FastSCNN(num_classes, width)
