"""Swin-Unet (Cao et al. 2021): a U-Net made only of shifted-window Transformer blocks.

Cao, Wang, Chen, Jiang, Zhang, Tian & Wang, "Swin-Unet: Unet-like Pure Transformer for Medical Image
Segmentation" (2021, https://arxiv.org/abs/2105.05537), on Liu et al., "Swin Transformer: Hierarchical
Vision Transformer using Shifted Windows", ICCV 2021 (https://arxiv.org/abs/2103.14030).

Encoder: 4×4 patches embedded linearly, then stages of Swin blocks at 1/4, 1/8, 1/16 and (the
bottleneck) 1/32, joined by *patch merging* (concatenate each 2×2 group of tokens, 4C → 2C). Decoder:
*patch expanding* (a linear layer doubles the channels, which are rearranged into a 2×2 group: 2× the
resolution, half the channels), the encoder's tokens of the same scale concatenated and projected back
(the U-shaped skips), Swin blocks; a final ×4 expansion back to pixels and a linear classifier.

Swin block: attention only inside non-overlapping ``M×M`` windows (cost linear in the image area);
every second block shifts the windows by ``M/2`` (a cyclic roll plus a mask, so tokens that the roll
brought together from opposite borders do not attend to each other), which connects neighbouring
windows. Any input size: the image is padded to a multiple of 4, each block pads its map to a
multiple of ``M`` (as the official detection/segmentation code), merging pads to even sizes, and every
expansion is cropped back to its skip's size.

Paper variant: Swin-T (C = 96, heads 3, 6, 12, 24, two blocks per stage, M = 7) with the
symmetric decoder, 27,168,900 parameters at Synapse's 9 classes here (27.17M is the figure later papers
quote; the paper does not tabulate it).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import nn

from segdemo.models.layers import crop_to
from segdemo.models.registry import ModelCard, register_model
from segdemo.models.vit import MLP, SelfAttention, _init_linear, pad_to_multiple

PATCH = 4


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """``(N, H, W, C)`` with ``H, W`` multiples of ``window`` → ``(N·nW, window², C)``, windows row-major."""
    n, h, w, c = x.shape
    x = x.reshape(n, h // window, window, w // window, window, c).transpose(2, 3)  # (N, h/M, w/M, M, M, C)
    return x.reshape(-1, window * window, c)


def window_reverse(windows: torch.Tensor, window: int, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: ``(N·nW, window², C)`` → ``(N, H, W, C)``."""
    c = windows.shape[-1]
    x = windows.reshape(-1, height // window, width // window, window, window, c).transpose(2, 3)
    return x.reshape(-1, height, width, c)


@functools.lru_cache(maxsize=4)
def shift_mask(height: int, width: int, window: int, shift: int, device: torch.device | None = None) -> torch.Tensor:
    """The additive mask of shifted-window attention: 0 within a region, -100 across regions.

    Cached for the last few sizes (it depends on nothing else; 1.8 ms at 128×128 tokens, once per shifted
    block per forward; a 1024² upload's masks are MBs, so few are kept): callers must not change it in place.

    After rolling the map by ``-shift``, the windows along the bottom and right borders hold tokens from
    up to three regions that were not neighbours in the image (labelled 0..8 by which band of rows and
    columns they came from); tokens of different regions must not attend to each other.

    Returns:
        ``(nW, window², window²)`` for a padded ``height × width`` map (multiples of ``window``).
    """
    labels = torch.zeros(height, width, device=device)
    bands = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    for i, rows in enumerate(bands):
        for j, cols in enumerate(bands):
            labels[rows, cols] = 3 * i + j
    windows = window_partition(labels[None, :, :, None], window).squeeze(-1)  # (nW, M²)
    different = windows[:, :, None] != windows[:, None, :]  # (nW, M², M²)
    return different.float() * -100.0


class WindowAttention(nn.Module):
    """Self-attention inside ``M×M`` windows with a learned relative position bias per head.

    The bias table holds one value per head for each of the ``(2M-1)²`` possible offsets between two
    tokens of a window; ``relative_index`` maps each (query, key) pair to its offset.
    """

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.window, self.heads = window, heads
        self.attn = SelfAttention(dim, heads)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        offsets = coords[:, :, None] - coords[:, None, :] + window - 1  # (2, M², M²), each in [0, 2M-2]
        self.register_buffer("relative_index", offsets[0] * (2 * window - 1) + offsets[1], persistent=False)

    def forward(self, windows: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """``(N·nW, M², C)`` → same; ``mask`` ``(nW, M², M²)`` or None."""
        bias = self.relative_position_bias_table[self.relative_index].permute(2, 0, 1)[None]  # (1, heads, M², M²)
        if mask is not None:
            nw = mask.shape[0]
            bias = (bias + mask[:, None]).repeat(windows.shape[0] // nw, 1, 1, 1)  # (N·nW, heads, M², M²)
        return self.attn(windows, bias.to(windows.dtype))


class SwinBlock(nn.Module):
    """``x + W-MSA(LN(x))`` (shifted when ``shift > 0``), then ``x + MLP(LN(x))``, on ``(N, H, W, C)`` maps."""

    def __init__(self, dim: int, heads: int, window: int, shift: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.mlp = MLP(dim, mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, w, c = x.shape
        y = pad_to_multiple(self.norm1(x).permute(0, 3, 1, 2), self.window).permute(0, 2, 3, 1)  # (N, Hp, Wp, C)
        hp, wp = y.shape[1:3]
        mask = None
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), dims=(1, 2))
            mask = shift_mask(hp, wp, self.window, self.shift, y.device)
        y = self.attn(window_partition(y, self.window), mask)  # (N·nW, M², C)
        y = window_reverse(y, self.window, hp, wp)  # (N, Hp, Wp, C)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), dims=(1, 2))
        x = x + y[:, :h, :w]
        return x + self.mlp(self.norm2(x))


def swin_stage(dim: int, depth: int, heads: int, window: int) -> nn.Sequential:
    """``depth`` Swin blocks alternating regular and shifted (by ``M/2``) windows."""
    return nn.Sequential(*(SwinBlock(dim, heads, window, 0 if i % 2 == 0 else window // 2) for i in range(depth)))


class PatchMerging(nn.Module):
    """Each 2×2 group of tokens concatenated (4C), normalised, projected to 2C: half the resolution.

    Shape:
        ``(N, H, W, C)`` → ``(N, ⌈H/2⌉, ⌈W/2⌉, 2C)`` (odd sizes padded with zeros).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_to_multiple(x.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)  # (N, 2h, 2w, C)
        x = torch.cat((x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]), dim=-1)  # (N,h,w,4C)
        return self.reduction(self.norm(x))


class PatchExpand(nn.Module):
    """A linear layer to ``scale²·C/scale`` channels rearranged into ``scale×scale`` groups: ×scale resolution.

    Shape:
        ``(N, H, W, C)`` → ``(N, sH, sW, C_out)`` with ``C_out = C/2`` for ×2 (Swin-Unet's patch expanding)
        and ``C`` for the final ×4.
    """

    def __init__(self, dim: int, scale: int, out_dim: int) -> None:
        super().__init__()
        self.scale, self.out_dim = scale, out_dim
        self.expand = nn.Linear(dim, scale * scale * out_dim, bias=False)
        self.norm = nn.LayerNorm(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, h, w, _ = x.shape
        s = self.scale
        x = self.expand(x).reshape(n, h, w, s, s, self.out_dim).transpose(2, 3)  # (N, h, s, w, s, C')
        return self.norm(x.reshape(n, h * s, w * s, self.out_dim))


class SwinUnet(nn.Module):
    """Swin-Unet: Swin encoder (1/4 → 1/32), symmetric Swin decoder with skips, ×4 patch expanding.

    Args:
        num_classes: K.
        dim: C, the embedding width at 1/4 (96 for Swin-T); stage ``i`` has ``C·2^i``.
        depths: Swin blocks per encoder stage (the last is the 1/32 bottleneck); the decoder mirrors the
            first three.
        heads: attention heads per stage.
        window: the window side M (7).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, dim: int = 96, depths: Sequence[int] = (2, 2, 2, 2),
                 heads: Sequence[int] = (3, 6, 12, 24), window: int = 7) -> None:
        super().__init__()
        depths, heads = tuple(int(d) for d in depths), tuple(int(h) for h in heads)
        if len(depths) != 4 or len(heads) != 4 or min(depths) < 1 or window < 2:
            raise ValueError(f"need four stages of >= 1 block and window >= 2, got {depths}, {heads}, {window}")
        dims = [dim * 2**i for i in range(4)]
        self.patch_embed = nn.Conv2d(3, dim, PATCH, stride=PATCH)
        self.embed_norm = nn.LayerNorm(dim)
        self.encoder = nn.ModuleList(swin_stage(dims[i], depths[i], heads[i], window) for i in range(4))
        self.merge = nn.ModuleList(PatchMerging(dims[i]) for i in range(3))
        self.norm = nn.LayerNorm(dims[3])
        self.expand = nn.ModuleList(PatchExpand(dims[i + 1], 2, dims[i]) for i in range(3))  # 1/32→1/16→1/8→1/4
        self.concat_back = nn.ModuleList(nn.Linear(2 * dims[i], dims[i]) for i in range(3))
        self.decoder = nn.ModuleList(swin_stage(dims[i], depths[i], heads[i], window) for i in range(3))
        self.norm_up = nn.LayerNorm(dim)
        self.final_expand = PatchExpand(dim, PATCH, dim)
        self.output = nn.Conv2d(dim, num_classes, 1, bias=False)
        self.apply(_init_linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = pad_to_multiple(x, PATCH)  # (N, 3, 4h, 4w)
        y = self.embed_norm(self.patch_embed(padded).permute(0, 2, 3, 1))  # (N, h, w, C): tokens at 1/4
        skips = []
        for i, stage in enumerate(self.encoder):
            y = stage(y)  # (N, H/2^(i+2), W/2^(i+2), C·2^i)
            if i < 3:
                skips.append(y)
                y = self.merge[i](y)
        y = self.norm(y)  # (N, H/32, W/32, 8C), the bottleneck
        for i in (2, 1, 0):  # decoder: 1/16, 1/8, 1/4
            skip = skips[i]
            y = crop_to(self.expand[i](y).permute(0, 3, 1, 2), skip.shape[1:3]).permute(0, 2, 3, 1)  # ×2
            y = self.decoder[i](self.concat_back[i](torch.cat((y, skip), dim=-1)))  # (N, H/2^(i+2), ., C·2^i)
        y = self.final_expand(self.norm_up(y)).permute(0, 3, 1, 2)  # (N, C, 4h, 4w)
        logits = self.output(crop_to(y, x.shape[-2:]))  # (N, K, H, W)
        return logits.float()  # float32 as upsample_logits


@register_model(ModelCard(
    name="swinunet",
    display={"en": "Swin-Unet", "zh": "Swin-Unet"},
    paper="Swin-Unet: Unet-like Pure Transformer for Medical Image Segmentation",
    year=2021,
    url="https://arxiv.org/abs/2105.05537",
    idea={
        "en": "A U-Net built only from Transformer blocks: attention inside local windows that shift between "
              "blocks (linear cost, yet information crosses windows), patch merging to go down, patch "
              "expanding to come back up, and skip connections at every scale.",
        "zh": "完全由 Transformer 块搭成的 U-Net：注意力只在局部窗口内计算且窗口在相邻块间平移（线性代价，信息仍可"
              "跨窗口流动），用图块合并下采样、图块扩展上采样，并在每个尺度上使用跳跃连接。",
    },
    family="Transformer",
    # Small: C = 32 (Swin-T: 96), heads 1, 2, 4, 8, windows of 4×4 (7×7): a 96 px crop gives 24×24 tokens at
    # 1/4, down to 3×3 at 1/32, on which 7×7 windows would be mostly padding.
    variants={"small": {"dim": 32, "depths": [2, 2, 2, 2], "heads": [1, 2, 4, 8], "window": 4},
              "paper": {"dim": 96, "depths": [2, 2, 2, 2], "heads": [3, 6, 12, 24], "window": 7}},
))
def swinunet(num_classes: int, dim: int = 96, depths: Sequence[int] = (2, 2, 2, 2),
             heads: Sequence[int] = (3, 6, 12, 24), window: int = 7) -> SwinUnet:
    """Swin-Unet on Swin-T by default."""
    return SwinUnet(num_classes, dim, depths, heads, window)
