"""TransUNet (Chen et al. 2021): a CNN for detail, a ViT at 1/16 for context, a U-Net decoder.

Chen, Lu, Yu, Luo, Adeli, Wang, Lu, Yuille & Zhou, "TransUNet: Transformers Make Strong Encoders for
Medical Image Segmentation" (2021, https://arxiv.org/abs/2102.04306).

The hybrid encoder ("R50-ViT-B/16"): ResNet-50's stem and first three stages (3, 4, 9 blocks) bring
the image to 1/16; a ViT-Base (12 blocks, 768 wide, 12 heads) runs on that map with 1×1 patches
(one token per 16×16 pixels, as ViT-B/16, but the tokens carry CNN features); the cascaded upsampler
reshapes the tokens back to a map and climbs to full resolution by four (×2 upsample → concatenate the
CNN's skip at 1/8, 1/4, 1/2 → two 3×3 convs) steps. The paper variant counts 105,277,081 parameters
at Synapse's 9 classes, the 105.28M that later papers quote for TransUNet (the paper itself does not
tabulate its size); its ResNet uses GroupNorm and standardised convolutions, ours the zoo's BatchNorm
bottlenecks (the same number of parameters).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.backbones import DilatedResNet
from segdemo.models.layers import conv_bn_relu
from segdemo.models.registry import ModelCard, register_model
from segdemo.models.vit import ViTEncoder


class DecoderBlock(nn.Module):
    """×2 bilinear upsampling (to the skip's exact size), concatenate the skip, two 3×3 conv-BN-ReLU."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(*conv_bn_relu(in_channels + skip_channels, out_channels, 3),
                                   *conv_bn_relu(out_channels, out_channels, 3))

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None, size: torch.Size) -> torch.Tensor:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)  # (N, C, 2h, 2w)
        if skip is not None:
            x = torch.cat((x, skip), dim=1)
        return self.convs(x)  # (N, C_out, 2h, 2w)


class TransUNet(nn.Module):
    """R50-ViT hybrid encoder and the cascaded upsampler (CUP) with CNN skips.

    Args:
        num_classes: K.
        width: the ResNet stem's channels (64); skips at 1/2, 1/4, 1/8 have w, 4w, 8w channels.
        layers: bottleneck blocks of ResNet stages 1-3 ((3, 4, 9) in the paper).
        dim, depth, heads: the ViT's (ViT-B: 768, 12, 12).
        decoder_channels: the four upsampling steps' widths ((256, 128, 64, 16)).
        grid: the 1/16 token grid the position table is learned for (14×14 for 224 px).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, width: int = 64, layers: Sequence[int] = (3, 4, 9), dim: int = 768,
                 depth: int = 12, heads: int = 12, decoder_channels: Sequence[int] = (256, 128, 64, 16),
                 grid: int = 14) -> None:
        super().__init__()
        layers, decoder_channels = tuple(int(n) for n in layers), tuple(int(c) for c in decoder_channels)
        if len(layers) != 3 or len(decoder_channels) != 4:
            raise ValueError(f"need three ResNet stages and four decoder widths, got {layers}, {decoder_channels}")
        cnn = DilatedResNet(width, (*layers, 1), output_stride=32)
        # Stages 1-3 only: ResNet's layer4 is replaced by the Transformer.
        self.stem = nn.Sequential(cnn.conv1, cnn.bn1, cnn.relu)
        self.pool, self.layer1, self.layer2, self.layer3 = cnn.maxpool, cnn.layer1, cnn.layer2, cnn.layer3
        self.transformer = ViTEncoder(16 * width, dim, depth, heads, patch=1, grid=(grid, grid))
        self.conv_more = conv_bn_relu(dim, 8 * width, 3)
        skips = (8 * width, 4 * width, width, 0)
        ins = (8 * width, *decoder_channels[:-1])
        self.decoder = nn.ModuleList(DecoderBlock(i, s, o) for i, s, o in zip(ins, skips, decoder_channels, strict=True))
        self.segmentation_head = nn.Conv2d(decoder_channels[-1], num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s2 = self.stem(x)  # (N, w, H/2, W/2)
        s4 = self.layer1(self.pool(s2))  # (N, 4w, H/4, W/4)
        s8 = self.layer2(s4)  # (N, 8w, H/8, W/8)
        s16 = self.layer3(s8)  # (N, 16w, H/16, W/16)
        tokens = self.transformer(s16)[-1]  # (N, D, H/16, W/16): one token per cell, global attention
        y = self.conv_more(tokens)  # (N, 8w, H/16, W/16)
        for block, skip in zip(self.decoder, (s8, s4, s2, None), strict=True):
            y = block(y, skip, x.shape[-2:] if skip is None else skip.shape[-2:])  # ... up to (N, c4, H, W)
        return self.segmentation_head(y).float()  # (N, K, H, W), float32 as upsample_logits


@register_model(ModelCard(
    name="transunet",
    display={"en": "TransUNet (R50-ViT)", "zh": "TransUNet（R50-ViT）"},
    paper="TransUNet: Transformers Make Strong Encoders for Medical Image Segmentation",
    year=2021,
    url="https://arxiv.org/abs/2102.04306",
    idea={
        "en": "A hybrid encoder: a CNN extracts detailed features down to 1/16, a Transformer relates all those "
              "cells to each other (global context), and a U-Net-style cascaded upsampler recovers full "
              "resolution using the CNN's high-resolution features as skips.",
        "zh": "混合编码器：CNN 提取细节特征到 1/16，Transformer 让这些位置两两相关（全局上下文），再用 U-Net "
              "式的级联上采样器借助 CNN 的高分辨率跳跃特征恢复到全分辨率。",
    },
    family="Transformer",
    # Small: a 16-channel ResNet with one block per stage and a 4-block, 128-wide ViT (R50-ViT-B: 64 channels,
    # (3, 4, 9) blocks, 12 × 768), decoder widths ÷4; position table for 96 px crops (6×6 tokens).
    variants={"small": {"width": 16, "layers": [1, 1, 1], "dim": 128, "depth": 4, "heads": 4,
                        "decoder_channels": [64, 32, 16, 8], "grid": 6},
              "paper": {"width": 64, "layers": [3, 4, 9], "dim": 768, "depth": 12, "heads": 12,
                        "decoder_channels": [256, 128, 64, 16], "grid": 14}},
))
def transunet(num_classes: int, width: int = 64, layers: Sequence[int] = (3, 4, 9), dim: int = 768, depth: int = 12,
              heads: int = 12, decoder_channels: Sequence[int] = (256, 128, 64, 16), grid: int = 14) -> TransUNet:
    """TransUNet R50-ViT-B/16 at 224 px by default."""
    return TransUNet(num_classes, width, layers, dim, depth, heads, decoder_channels, grid)
