"""DFANet (Li et al. 2019): one light backbone, reused three times, its features aggregated at two levels.

Li, Xiong, Fan & Sun, "DFANet: Deep Feature Aggregation for Real-Time Semantic Segmentation",
CVPR 2019 (https://arxiv.org/abs/1904.02216).

Backbone: the paper's XceptionA (Table 1: a 3×3 stride-2 conv to 8 channels, then encoder stages of
4, 6 and 4 Xception blocks with 48, 96 and 192 channels, and an "FC attention" that re-weights the
last stage's channels through the ImageNet classifier's 1000-way fully-connected layer). Three
copies run in cascade:

* sub-network aggregation: the attended output of backbone ``n`` (upsampled ×4) is concatenated to
  the input of backbone ``n+1``, which refines it at half the resolution again;
* sub-stage aggregation: stage ``k`` of backbone ``n+1`` also reads the output of stage ``k`` of
  backbone ``n`` (same resolution), so every stage reuses the features of its twin.

The decoder sums the three backbones' first-stage maps (detail) and their attention outputs
(context), all projected to 32 channels at 1/4, and classifies. The paper reports 7.8M parameters
for DFANet A; the paper variant here counts 1.82M (1,815,675) at 19 classes: the paper's Table 1 gives the
stage widths but not the inner layout of its Xception blocks, taken here as three separable
convolutions with a ×4 bottleneck (c/4, c/4, c), as in public re-implementations.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.layers import PoolingBatchNorm2d, upsample_logits
from segdemo.models.registry import ModelCard, register_model


def separable(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    """Depthwise 3×3 (strided) → pointwise 1×1 → BN.

    BN is :class:`PoolingBatchNorm2d`: the third backbone runs at 1/64, a single cell for small inputs.
    """
    return nn.Sequential(nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels, bias=False),
                         nn.Conv2d(in_channels, out_channels, 1, bias=False), PoolingBatchNorm2d(out_channels))


class XceptionBlock(nn.Module):
    """Three ReLU → separable conv units (c/4, c/4, c; the last strided) plus a (projected) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        inner = max(1, out_channels // 4)
        self.units = nn.Sequential(nn.ReLU(), *separable(in_channels, inner), nn.ReLU(inplace=True),
                                   *separable(inner, inner), nn.ReLU(inplace=True),
                                   *separable(inner, out_channels, stride))
        self.skip = None
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                      PoolingBatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(x) + (x if self.skip is None else self.skip(x))  # (N, C, H/s, W/s)


def encoder_stage(in_channels: int, out_channels: int, blocks: int) -> nn.Sequential:
    """A stage: one stride-2 block then ``blocks - 1`` at stride 1."""
    return nn.Sequential(XceptionBlock(in_channels, out_channels, 2),
                         *(XceptionBlock(out_channels, out_channels) for _ in range(blocks - 1)))


class FCAttention(nn.Module):
    """Global average → fully-connected (the classifier's ``fc_dim`` outputs) → 1×1 back to C → sigmoid gate.

    Shape:
        ``(N, C, h, w)`` → ``(N, C, h, w)``.
    """

    def __init__(self, channels: int, fc_dim: int = 1000) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, fc_dim)
        self.project = nn.Linear(fc_dim, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.sigmoid(self.project(self.fc(x.mean(dim=(2, 3)))))  # (N, C)
        return x * weights[:, :, None, None]


class Backbone(nn.Module):
    """One XceptionA copy; ``extra`` are the channels the aggregation concatenates to each stage's input."""

    def __init__(self, in_channels: int, widths: Sequence[int], blocks: Sequence[int], fc_dim: int,
                 extra: Sequence[int] = (0, 0, 0)) -> None:
        super().__init__()
        channels = [in_channels, *widths]
        self.stages = nn.ModuleList(encoder_stage(channels[i] + extra[i], channels[i + 1], blocks[i])
                                    for i in range(3))
        self.attention = FCAttention(widths[-1], fc_dim)

    def forward(self, x: torch.Tensor, previous: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """Stage outputs ``[enc2, enc3, enc4, attended]``; ``previous`` = the former backbone's list."""
        outputs = []
        for i, stage in enumerate(self.stages):
            if previous is not None and i > 0:  # sub-stage aggregation: the twin stage's output, same size
                x = torch.cat((x, previous[i]), dim=1)
            x = stage(x)
            outputs.append(x)
        outputs.append(self.attention(x))
        return outputs


class DFANet(nn.Module):
    """DFANet: conv1 → three cascaded backbones with sub-network and sub-stage aggregation → decoder.

    Args:
        num_classes: K.
        stem: conv1's channels (8).
        widths: the three encoder stages' channels ((48, 96, 192) for XceptionA).
        blocks: Xception blocks per stage ((4, 6, 4)).
        fc_dim: the FC attention's hidden size (1000, ImageNet's classes).
        decoder_dim: the decoder's channels (32).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, stem: int = 8, widths: Sequence[int] = (48, 96, 192),
                 blocks: Sequence[int] = (4, 6, 4), fc_dim: int = 1000, decoder_dim: int = 32) -> None:
        super().__init__()
        widths, blocks = tuple(int(w) for w in widths), tuple(int(b) for b in blocks)
        if len(widths) != 3 or len(blocks) != 3 or min(blocks) < 1:
            raise ValueError(f"need three stages of >= 1 block, got widths={widths}, blocks={blocks}")
        self.conv1 = nn.Sequential(nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True))
        extra = (widths[2], widths[1], widths[2])  # attended map; twin enc3; twin enc4
        self.backbones = nn.ModuleList([Backbone(stem, widths, blocks, fc_dim),
                                        Backbone(widths[0], widths, blocks, fc_dim, extra),
                                        Backbone(widths[0], widths, blocks, fc_dim, extra)])
        self.reduce_low = nn.ModuleList(nn.Sequential(nn.Conv2d(widths[0], decoder_dim, 1, bias=False),
                                                      PoolingBatchNorm2d(decoder_dim), nn.ReLU(inplace=True))
                                        for _ in range(3))
        self.reduce_high = nn.ModuleList(nn.Sequential(nn.Conv2d(widths[2], decoder_dim, 1, bias=False),
                                                       PoolingBatchNorm2d(decoder_dim), nn.ReLU(inplace=True))
                                         for _ in range(3))
        self.fuse_low = nn.Sequential(nn.Conv2d(decoder_dim, decoder_dim, 1, bias=False), nn.BatchNorm2d(decoder_dim),
                                      nn.ReLU(inplace=True))
        self.classifier = nn.Conv2d(decoder_dim, num_classes, 1)

    @staticmethod
    def _up(x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stem = self.conv1(x)  # (N, 8, H/2, W/2)
        b1 = self.backbones[0](stem)  # enc2..4 at 1/4, 1/8, 1/16; attended (N, 192, H/16, W/16)
        # sub-network aggregation: backbone n's attended output, ×4, joins backbone n+1's input
        b2 = self.backbones[1](torch.cat((b1[0], self._up(b1[3], b1[0].shape[-2:])), dim=1), b1)  # 1/8 ... 1/32
        b3 = self.backbones[2](torch.cat((b2[0], self._up(b2[3], b2[0].shape[-2:])), dim=1), b2)  # 1/16 ... 1/64
        size = b1[0].shape[-2:]  # 1/4
        low = sum(self._up(reduce(b[0]), size) for reduce, b in zip(self.reduce_low, (b1, b2, b3), strict=True))
        high = sum(self._up(reduce(b[3]), size) for reduce, b in zip(self.reduce_high, (b1, b2, b3), strict=True))
        fused = self.fuse_low(low) + high  # (N, D, H/4, W/4)
        logits = self.classifier(fused)  # (N, K, H/4, W/4)
        return upsample_logits(logits, x.shape[-2:])  # (N, K, H, W)


@register_model(ModelCard(
    name="dfanet",
    display={"en": "DFANet", "zh": "DFANet"},
    paper="DFANet: Deep Feature Aggregation for Real-Time Semantic Segmentation",
    year=2019,
    url="https://arxiv.org/abs/1904.02216",
    idea={
        "en": "Feature reuse instead of a bigger network: one light backbone is run three times in cascade, "
              "each copy refining the previous one's output (sub-network aggregation) and reading its twin "
              "stages (sub-stage aggregation); a small decoder sums detail and context from all three.",
        "zh": "用特征复用代替更大的网络：同一个轻量主干级联运行三次，每一份都细化上一份的输出（子网络聚合）"
              "并读取对应阶段的特征（子阶段聚合）；小型解码器把三者的细节与上下文相加。",
    },
    family="Real-time",
    # Small: half the stage widths, (2, 3, 2) blocks, a 64-way FC attention; same three-backbone cascade.
    variants={"small": {"widths": [24, 48, 96], "blocks": [2, 3, 2], "fc_dim": 64, "decoder_dim": 32},
              "paper": {"widths": [48, 96, 192], "blocks": [4, 6, 4], "fc_dim": 1000, "decoder_dim": 32}},
))
def dfanet(num_classes: int, stem: int = 8, widths: Sequence[int] = (48, 96, 192), blocks: Sequence[int] = (4, 6, 4),
           fc_dim: int = 1000, decoder_dim: int = 32) -> DFANet:
    """DFANet A (XceptionA backbone) by default."""
    return DFANet(num_classes, stem, widths, blocks, fc_dim, decoder_dim)
