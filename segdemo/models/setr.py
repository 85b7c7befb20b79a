"""SETR (Zheng et al. 2021): segmentation as sequence-to-sequence, a plain ViT on 16×16 patches.

Zheng, Lu, Zhao, Zhu, Luo, Wang, Fu, Feng, Xiang, Torr & Zhang, "Rethinking Semantic Segmentation
from a Sequence-to-Sequence Perspective with Transformers", CVPR 2021 (https://arxiv.org/abs/2012.15840).

The encoder never downsamples after the patch embedding: every block sees all ``H/16 × W/16`` tokens,
so global context is there from the first layer, and the decoder's job is to get back from 1/16:

* PUP (progressive upsampling): four times conv 3×3 → BN → ReLU → ×2 bilinear, then a classifier;
* MLA (multi-level aggregation): four evenly spaced blocks' outputs, projected, summed top-down,
  each refined and upsampled ×4, concatenated, classified.

Paper variant: ViT-Large (24 blocks, 1024 wide, 16 heads) with a position table for 768×768 crops
(48×48 tokens) and the PUP decoder. At 19 classes this code counts 305,725,715 parameters with the
naive head (1×1 conv, BN, 1×1 classifier), 310,066,707 with MLA and 309,593,875 with PUP; the paper
lists 305.67M, 310.57M and 318.31M. Naive and MLA agree within 0.2 %; the paper's PUP head is ~9M
larger than four 256-channel 3×3 stages, and its text does not say where (its auxiliary training
heads, which we leave out as the zoo trains one output, would add to MLA's count as well).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.layers import conv_bn_relu, upsample_logits
from segdemo.models.registry import ModelCard, register_model
from segdemo.models.vit import ViTEncoder, pad_to_multiple

PATCH = 16


class PUPHead(nn.Module):
    """Progressive upsampling: ``stages`` × (conv 3×3 → BN → ReLU → ×2), then a 1×1 classifier.

    Shape:
        ``(N, C, h, w)`` → ``(N, K, 2^stages·h, 2^stages·w)``.
    """

    def __init__(self, in_channels: int, channels: int, num_classes: int, stages: int = 4) -> None:
        super().__init__()
        self.convs = nn.ModuleList(conv_bn_relu(in_channels if i == 0 else channels, channels, 3)
                                   for i in range(stages))
        self.classifier = nn.Conv2d(channels, num_classes, 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = features[-1]  # (N, C, h, w)
        for conv in self.convs[:-1]:
            x = F.interpolate(conv(x), scale_factor=2, mode="bilinear", align_corners=False)  # ×2 per stage
        # The last ×2 after the 1×1 classifier: both are linear and bilinear weights sum to one, so the
        # order does not change the result, but K maps are upsampled to full size instead of C.
        logits = self.classifier(self.convs[-1](x))  # (N, K, 8h, 8w)
        return F.interpolate(logits, scale_factor=2, mode="bilinear", align_corners=False)  # (N, K, 16h, 16w)


class MLAHead(nn.Module):
    """Multi-level aggregation of four ViT blocks' outputs.

    Each tap is projected to ``channels`` (1×1); the projections are summed top-down (deepest into
    shallower, as an FPN but at one resolution), each sum refined by two 3×3 convolutions to
    ``channels/2`` and upsampled ×4; the four are concatenated, classified and upsampled ×4 more.

    Shape:
        4 × ``(N, C, h, w)`` → ``(N, K, 16h, 16w)``.
    """

    def __init__(self, in_channels: int, channels: int, num_classes: int) -> None:
        super().__init__()
        self.project = nn.ModuleList(conv_bn_relu(in_channels, channels, 1) for _ in range(4))
        self.refine = nn.ModuleList(nn.Sequential(*conv_bn_relu(channels, channels, 3),
                                                  *conv_bn_relu(channels, channels // 2, 3)) for _ in range(4))
        self.classifier = nn.Conv2d(4 * (channels // 2), num_classes, 1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        projected = [p(f) for p, f in zip(self.project, features, strict=True)]  # 4 × (N, D, h, w)
        running, sums = None, []
        for p in reversed(projected):  # top-down: the deepest first
            running = p if running is None else running + p
            sums.append(running)
        maps = [F.interpolate(r(s), scale_factor=4, mode="bilinear", align_corners=False)
                for r, s in zip(self.refine, reversed(sums), strict=True)]  # 4 × (N, D/2, 4h, 4w)
        logits = self.classifier(torch.cat(maps, dim=1))  # (N, K, 4h, 4w)
        return F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)  # (N, K, 16h, 16w)


class SETR(nn.Module):
    """SETR: pad to a multiple of 16, ViT on 16×16 patches, PUP or MLA decoder, crop back.

    Args:
        num_classes: K.
        dim, depth, heads: the ViT's width, blocks and heads (ViT-L: 1024, 24, 16).
        decoder: ``"pup"`` or ``"mla"``.
        decoder_channels: the decoder's width (256).
        image_size: the crop the position table is learned for (768 for Cityscapes); other sizes
            get it bilinearly resized.

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, dim: int = 1024, depth: int = 24, heads: int = 16, decoder: str = "pup",
                 decoder_channels: int = 256, image_size: int = 768) -> None:
        super().__init__()
        if decoder not in ("pup", "mla"):
            raise ValueError(f"decoder must be 'pup' or 'mla', got {decoder!r}")
        if depth < 4 and decoder == "mla":
            raise ValueError(f"the MLA decoder taps four blocks: need depth >= 4, got {depth}")
        grid = (image_size // PATCH, image_size // PATCH)
        taps = tuple(depth * (i + 1) // 4 - 1 for i in range(4)) if decoder == "mla" else ()
        self.encoder = ViTEncoder(3, dim, depth, heads, PATCH, grid, taps=taps)
        head = PUPHead if decoder == "pup" else MLAHead
        self.decoder = head(dim, decoder_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = pad_to_multiple(x, PATCH)  # (N, 3, 16h, 16w)
        features = self.encoder(padded)  # [(N, C, h, w)] (four for MLA)
        logits = self.decoder(features)  # (N, K, 16h, 16w)
        return upsample_logits(logits[..., : x.shape[-2], : x.shape[-1]], x.shape[-2:])  # crop: (N, K, H, W)


@register_model(ModelCard(
    name="setr",
    display={"en": "SETR (ViT, PUP)", "zh": "SETR（ViT，PUP）"},
    paper="Rethinking Semantic Segmentation from a Sequence-to-Sequence Perspective with Transformers",
    year=2021,
    url="https://arxiv.org/abs/2012.15840",
    idea={
        "en": "Treat segmentation as sequence to sequence: cut the image into 16×16 patches, let a plain "
              "Transformer relate every patch to every other from the first layer (global context, no "
              "downsampling), then upsample the 1/16 token map progressively (PUP) or aggregate several "
              "layers (MLA).",
        "zh": "把分割看作序列到序列：将图像切成 16×16 的图块，让普通 Transformer 从第一层起就把每个图块与所有"
              "图块联系起来（全局上下文，不再下采样），再把 1/16 的词元图逐级上采样（PUP）或聚合多层特征（MLA）。",
    },
    family="Transformer",
    # Small: a 4-block, 128-wide ViT (ViT-L has 24 × 1024) and a 64-channel PUP decoder, position table
    # for 96 px crops; the 16×16 patches are kept, so a 96 px crop is a 6×6 token grid.
    variants={"small": {"dim": 128, "depth": 4, "heads": 4, "decoder": "pup", "decoder_channels": 64,
                        "image_size": 96},
              "paper": {"dim": 1024, "depth": 24, "heads": 16, "decoder": "pup", "decoder_channels": 256,
                        "image_size": 768}},
))
def setr(num_classes: int, dim: int = 1024, depth: int = 24, heads: int = 16, decoder: str = "pup",
         decoder_channels: int = 256, image_size: int = 768) -> SETR:
    """SETR-PUP on ViT-Large by default (``decoder="mla"`` for SETR-MLA)."""
    return SETR(num_classes, dim, depth, heads, decoder, decoder_channels, image_size)
