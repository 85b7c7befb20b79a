"""SegFormer (Xie et al. 2021): a hierarchical Mix-Transformer encoder and an all-MLP decoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.registry import ModelCard, register_model


class OverlapPatchEmbed(nn.Module):
    """Overlapping patches (a strided convolution whose kernel exceeds its stride), then LayerNorm."""

    def __init__(self, in_channels: int, dim: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel, stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)  # (N, C, H', W')
        _, _, h, w = x.shape
        return self.norm(x.flatten(2).transpose(1, 2)), h, w  # (N, H'W', C)


class EfficientSelfAttention(nn.Module):
    """Multi-head attention whose keys/values come from a sequence shortened ``sr``² times (a strided conv)."""

    def __init__(self, dim: int, heads: int, sr: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        self.heads, self.sr = heads, sr
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.reduce = nn.Conv2d(dim, dim, sr, sr)
            self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        n, length, c = x.shape
        q = self.q(x).reshape(n, length, self.heads, c // self.heads).transpose(1, 2)  # (N, h, L, d)
        if self.sr > 1 and min(h, w) >= self.sr:
            grid = x.transpose(1, 2).reshape(n, c, h, w)
            x = self.norm(self.reduce(grid).flatten(2).transpose(1, 2))  # (N, L/sr², C)
        kv = self.kv(x).reshape(n, -1, 2, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)  # (2, N, h, L', d)
        out = F.scaled_dot_product_attention(q, kv[0], kv[1])  # (N, h, L, d)
        return self.proj(out.transpose(1, 2).reshape(n, length, c))


class MixFFN(nn.Module):
    """MLP with a 3×3 depthwise convolution inside: gives positional information without embeddings."""

    def __init__(self, dim: int, ratio: int = 4) -> None:
        super().__init__()
        hidden = dim * ratio
        self.fc1 = nn.Linear(dim, hidden)
        self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = self.fc1(x)  # (N, L, 4C)
        n, _, c = x.shape
        x = self.dw(x.transpose(1, 2).reshape(n, c, h, w)).flatten(2).transpose(1, 2)
        return self.fc2(F.gelu(x))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, sr: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = EfficientSelfAttention(dim, heads, sr)
        self.ffn = MixFFN(dim)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), h, w)
        return x + self.ffn(self.norm2(x), h, w)


class MixTransformer(nn.Module):
    """The MiT encoder: four stages at 1/4, 1/8, 1/16, 1/32 of the input.

    Args:
        dims: channels per stage (B0: 32, 64, 160, 256).
        heads: attention heads per stage (B0: 1, 2, 5, 8).
        depths: blocks per stage (B0: 2, 2, 2, 2).
        srs: sequence-reduction ratios (8, 4, 2, 1).
    """

    def __init__(self, dims: tuple[int, ...], heads: tuple[int, ...], depths: tuple[int, ...],
                 srs: tuple[int, ...] = (8, 4, 2, 1)) -> None:
        super().__init__()
        self.embeds, self.stages, self.norms = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        in_channels = 3
        for i, (dim, head, depth, sr) in enumerate(zip(dims, heads, depths, srs, strict=True)):
            self.embeds.append(OverlapPatchEmbed(in_channels, dim, 7 if i == 0 else 3, 4 if i == 0 else 2))
            self.stages.append(nn.ModuleList(Block(dim, head, sr) for _ in range(depth)))
            self.norms.append(nn.LayerNorm(dim))
            in_channels = dim
        self.out_channels = tuple(dims)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for embed, blocks, norm in zip(self.embeds, self.stages, self.norms, strict=True):
            x, h, w = embed(x)  # (N, hw, C)
            for block in blocks:
                x = block(x, h, w)
            x = norm(x).transpose(1, 2).reshape(x.shape[0], -1, h, w)  # (N, C, h, w)
            features.append(x)
        return features


class SegFormer(nn.Module):
    """SegFormer: MiT encoder + all-MLP decoder (each stage → D channels, upsampled to 1/4, fused).

    From Xie et al., "SegFormer: Simple and Efficient Design for Semantic Segmentation with
    Transformers" (NeurIPS 2021).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, dims: tuple[int, ...] = (32, 64, 160, 256),
                 heads: tuple[int, ...] = (1, 2, 5, 8), depths: tuple[int, ...] = (2, 2, 2, 2),
                 decoder_dim: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = MixTransformer(tuple(dims), tuple(heads), tuple(depths))
        self.project = nn.ModuleList(nn.Conv2d(c, decoder_dim, 1) for c in self.encoder.out_channels)
        self.fuse = nn.Sequential(nn.Conv2d(4 * decoder_dim, decoder_dim, 1, bias=False),
                                  nn.BatchNorm2d(decoder_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(decoder_dim, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)  # 1/4, 1/8, 1/16, 1/32
        size = features[0].shape[-2:]
        upsampled = [F.interpolate(p(f), size=size, mode="bilinear", align_corners=False)
                     for p, f in zip(self.project, features, strict=True)]  # 4 × (N, D, H/4, W/4)
        logits = self.classifier(self.dropout(self.fuse(torch.cat(upsampled[::-1], dim=1))))  # (N, K, H/4, W/4)
        return F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)  # (N, K, H, W)


@register_model(ModelCard(
    name="segformer",
    display={"en": "SegFormer (MiT)", "zh": "SegFormer（MiT）"},
    paper="SegFormer: Simple and Efficient Design for Semantic Segmentation with Transformers",
    year=2021,
    url="https://arxiv.org/abs/2105.15203",
    idea={
        "en": "A hierarchical Transformer encoder with overlapping patches and shortened keys/values gives "
              "multi-scale features without positional embeddings; a light all-MLP decoder fuses them.",
        "zh": "使用重叠图块和缩短键/值序列的分层 Transformer 编码器，无需位置编码即可得到多尺度特征；"
              "轻量的全 MLP 解码器将它们融合。",
    },
    family="Transformer",
    variants={"small": {"dims": (16, 32, 80, 128), "heads": (1, 1, 2, 4), "decoder_dim": 128},
              "paper": {"dims": (32, 64, 160, 256), "heads": (1, 2, 5, 8), "decoder_dim": 256}},
))
def segformer(num_classes: int, dims: tuple[int, ...] = (32, 64, 160, 256), heads: tuple[int, ...] = (1, 2, 5, 8),
              depths: tuple[int, ...] = (2, 2, 2, 2), decoder_dim: int = 256) -> SegFormer:
    """SegFormer; the defaults are MiT-B0 (about 3.7M parameters)."""
    return SegFormer(num_classes, tuple(dims), tuple(heads), tuple(depths), decoder_dim)
