"""BiSeNet V1 (Yu et al. 2018): a spatial path for detail and a context path for receptive field.

Yu, Wang, Peng, Gao, Yu & Sang, "BiSeNet: Bilateral Segmentation Network for Real-time Semantic
Segmentation", ECCV 2018 (https://arxiv.org/abs/1808.00897).

The paper variant is the ResNet-18 model: 12.8M parameters at 19 classes in this code (12,796,179). The paper's
Table 6 lists 49.0M for it, more than four ResNet-18s (11.7M each), so that figure cannot be matched
by any faithful ResNet-18 build; public re-implementations count 12.5M-13.4M. The paper's two
auxiliary heads (extra losses on the context path during training) are left out: the zoo's training
loop optimises one output, and they are dropped at inference anyway.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.backbones import ResNet18
from segdemo.models.layers import PoolingBatchNorm2d, conv_bn_relu, upsample_logits
from segdemo.models.registry import ModelCard, register_model


def _conv_bn_relu(in_channels: int, out_channels: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class SpatialPath(nn.Module):
    """Three stride-2 convolutions (7×7, 3×3, 3×3) and a 1×1 projection: wide, shallow, 1/8 of the input.

    Shape:
        ``(N, 3, H, W)`` → ``(N, C, ⌈H/8⌉, ⌈W/8⌉)``.
    """

    def __init__(self, width: int = 64, out_channels: int = 128) -> None:
        super().__init__()
        self.layers = nn.Sequential(_conv_bn_relu(3, width, 7, 2), _conv_bn_relu(width, width, 3, 2),
                                    _conv_bn_relu(width, width, 3, 2), _conv_bn_relu(width, out_channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (N, C, H/8, W/8)


class AttentionRefinement(nn.Module):
    """ARM: a 3×3 conv, then a channel gate from the map's global average (1×1 conv, BN, sigmoid).

    Shape:
        ``(N, C_in, h, w)`` → ``(N, C, h, w)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = conv_bn_relu(in_channels, out_channels, 3)
        # One value per channel: PoolingBatchNorm2d keeps batch-1 training possible.
        self.gate = nn.Sequential(nn.Conv2d(out_channels, out_channels, 1, bias=False),
                                  PoolingBatchNorm2d(out_channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # (N, C, h, w)
        return x * self.gate(F.adaptive_avg_pool2d(x, 1))  # (N, C, 1, 1) weights per channel


class ContextPath(nn.Module):
    """ResNet-18 down to 1/32; ARMs on 1/16 and 1/32, the global average added at the tail, back up to 1/8.

    Shape:
        ``(N, 3, H, W)`` → ``(N, C, ⌈H/8⌉, ⌈W/8⌉)`` (upsampled to the spatial path's exact size).
    """

    def __init__(self, width: int = 64, channels: int = 128) -> None:
        super().__init__()
        self.backbone = ResNet18(width)
        c16, c32 = self.backbone.out_channels[2:]
        self.global_context = nn.Sequential(nn.Conv2d(c32, channels, 1, bias=False), PoolingBatchNorm2d(channels),
                                            nn.ReLU(inplace=True))
        self.arm32, self.arm16 = AttentionRefinement(c32, channels), AttentionRefinement(c16, channels)
        self.refine32, self.refine16 = conv_bn_relu(channels, channels, 3), conv_bn_relu(channels, channels, 3)

    def forward(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        _, _, c16, c32 = self.backbone(x)  # (N, 4w, H/16, W/16), (N, 8w, H/32, W/32)
        tail = self.global_context(F.adaptive_avg_pool2d(c32, 1))  # (N, C, 1, 1)
        up32 = self.arm32(c32) + tail  # (N, C, H/32, W/32), the global context broadcast
        up32 = self.refine32(F.interpolate(up32, size=c16.shape[-2:], mode="bilinear", align_corners=False))
        up16 = self.arm16(c16) + up32  # (N, C, H/16, W/16)
        return self.refine16(F.interpolate(up16, size=size, mode="bilinear", align_corners=False))  # (N,C,H/8,W/8)


class FeatureFusion(nn.Module):
    """FFM: concatenate the two paths, conv-BN-ReLU, then re-weight channels SE-style, with a residual.

    The paths are at different levels of representation (detail vs. context): a plain sum would
    let one drown the other; the learned channel weights choose per channel.

    Shape:
        ``(N, C_s, h, w)``, ``(N, C_c, h, w)`` → ``(N, C, h, w)``.
    """

    def __init__(self, in_channels: int, out_channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.fuse = conv_bn_relu(in_channels, out_channels, 1)
        self.attention = nn.Sequential(nn.Conv2d(out_channels, out_channels // reduction, 1), nn.ReLU(inplace=True),
                                       nn.Conv2d(out_channels // reduction, out_channels, 1), nn.Sigmoid())

    def forward(self, spatial: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.fuse(torch.cat((spatial, context), dim=1))  # (N, C, h, w)
        return x + x * self.attention(F.adaptive_avg_pool2d(x, 1))  # (N, C, h, w)


class BiSeNet(nn.Module):
    """BiSeNet V1: spatial path (1/8) ‖ context path (1/32 → 1/8), feature fusion, classifier, ×8 upsampling.

    Args:
        num_classes: K.
        width: the ResNet-18 stem's and the spatial path's channels (64 in the paper).
        channels: the context path's and spatial path's output channels (128).
        fusion_channels: the fusion module's channels (256).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, width: int = 64, channels: int = 128, fusion_channels: int = 256) -> None:
        super().__init__()
        self.spatial_path = SpatialPath(width, channels)
        self.context_path = ContextPath(width, channels)
        self.ffm = FeatureFusion(2 * channels, fusion_channels)
        self.head = nn.Sequential(conv_bn_relu(fusion_channels, fusion_channels // 4, 3),
                                  nn.Conv2d(fusion_channels // 4, num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = self.spatial_path(x)  # (N, C, H/8, W/8)
        context = self.context_path(x, spatial.shape[-2:])  # (N, C, H/8, W/8)
        fused = self.ffm(spatial, context)  # (N, F, H/8, W/8)
        logits = self.head(fused)  # (N, K, H/8, W/8)
        return upsample_logits(logits, x.shape[-2:])  # (N, K, H, W)


@register_model(ModelCard(
    name="bisenet",
    display={"en": "BiSeNet V1", "zh": "BiSeNet V1"},
    paper="BiSeNet: Bilateral Segmentation Network for Real-time Semantic Segmentation",
    year=2018,
    url="https://arxiv.org/abs/1808.00897",
    idea={
        "en": "Two paths instead of one compromise: a shallow, wide spatial path keeps 1/8-resolution detail, a "
              "fast-downsampling context path with attention refinement gives a large receptive field, and a "
              "feature fusion module re-weights their concatenation.",
        "zh": "用两条路径代替一种折中：浅而宽的空间路径保留 1/8 分辨率的细节，快速下采样并带注意力细化的上下文路径"
              "提供大感受野，特征融合模块对二者的拼接重新加权。",
    },
    family="Real-time",
    # Small: a ResNet-18 of a quarter width (16-channel stem) and 64-channel paths; same topology.
    variants={"small": {"width": 16, "channels": 64, "fusion_channels": 128},
              "paper": {"width": 64, "channels": 128, "fusion_channels": 256}},
))
def bisenet(num_classes: int, width: int = 64, channels: int = 128, fusion_channels: int = 256) -> BiSeNet:
    """BiSeNet V1 with a ResNet-18 context path by default."""
    return BiSeNet(num_classes, width, channels, fusion_channels)
