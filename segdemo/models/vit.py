"""Vision Transformer parts shared by SETR, TransUNet and Swin-Unet.

Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
ICLR 2021 (https://arxiv.org/abs/2010.11929): pre-norm blocks of multi-head self-attention and a
GELU MLP, learned position embeddings. Two additions for segmentation at any input size:
:func:`pad_to_multiple` (images whose side is not a multiple of the patch or window size are padded
at the bottom/right and the logits cropped back) and :func:`resize_pos_embed` (the position table,
learned for one grid, is bilinearly resized to the grid of the image at hand).

:class:`SelfAttention` keeps its attention weights when ``keep_attention`` is set, for
:mod:`segdemo.lessons.attention`; otherwise it uses the fused ``scaled_dot_product_attention``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Zero-pad the last two dimensions at the bottom/right up to multiples of ``multiple``.

    Shape:
        ``(..., H, W)`` → ``(..., ⌈H/m⌉·m, ⌈W/m⌉·m)``; ``x`` itself when nothing is needed.
    """
    if multiple < 1:
        raise ValueError(f"multiple must be >= 1, got {multiple}")
    pad_h, pad_w = -x.shape[-2] % multiple, -x.shape[-1] % multiple
    return F.pad(x, (0, pad_w, 0, pad_h)) if pad_h or pad_w else x


def resize_pos_embed(table: torch.Tensor, grid: tuple[int, int], size: tuple[int, int]) -> torch.Tensor:
    """A learned position table for a ``grid`` of tokens, bilinearly resized to ``size``.

    Args:
        table: ``(1, gh*gw, C)``, row-major over the grid.
        grid: ``(gh, gw)`` the table was made for.
        size: ``(h, w)`` of the tokens at hand.

    Returns:
        ``(1, h*w, C)``; ``table`` itself when the sizes agree.
    """
    if tuple(grid) == tuple(size):
        return table
    c = table.shape[-1]
    as_map = table.reshape(1, grid[0], grid[1], c).permute(0, 3, 1, 2)  # (1, C, gh, gw)
    resized = F.interpolate(as_map, size=size, mode="bilinear", align_corners=False)  # (1, C, h, w)
    return resized.flatten(2).transpose(1, 2)  # (1, h*w, C)


class SelfAttention(nn.Module):
    """Multi-head self-attention over ``L`` tokens, with an optional additive bias (Swin's).

    Attributes:
        keep_attention: when True, the softmax weights of the last call are kept in
            ``last_attention`` ``(N, heads, L, L)`` (an explicit, slower computation).
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.keep_attention = False
        self.last_attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        n, length, c = x.shape
        q, k, v = self.qkv(x).reshape(n, length, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)  # (N,h,L,d)
        if self.keep_attention:
            scores = q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5  # (N, heads, L, L)
            if bias is not None:
                scores = scores + bias
            weights = scores.softmax(dim=-1)
            self.last_attention = weights.detach()
            out = weights @ v  # (N, heads, L, d)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # (N, heads, L, d)
        return self.proj(out.transpose(1, 2).reshape(n, length, c))  # (N, L, C)


class MLP(nn.Sequential):
    """Linear → GELU → Linear, hidden width ``ratio × dim``."""

    def __init__(self, dim: int, ratio: float = 4.0) -> None:
        hidden = int(dim * ratio)
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + attn(LN(x))``, then ``x + MLP(LN(x))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
        self.attn = SelfAttention(dim, heads)
        self.mlp = MLP(dim, mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))  # (N, L, C)
        return x + self.mlp(self.norm2(x))


class ViTEncoder(nn.Module):
    """A plain ViT on a feature map: ``patch×patch`` patch embedding, position table, ``depth`` blocks.

    No class token: segmentation reads every patch token.

    Args:
        in_channels: channels of the input map (3 for an image; TransUNet feeds a CNN map with patch 1).
        dim, depth, heads, mlp_ratio: the Transformer's width, blocks, heads, MLP ratio.
        patch: patch side (16 for SETR); the input must be a multiple of it (see :func:`pad_to_multiple`).
        grid: the token grid the position table is learned for (resized for other sizes).
        taps: indices of blocks whose (normalised) outputs are returned, e.g. SETR-MLA's four;
            empty = only the last.

    Shape:
        ``(N, C_in, H, W)`` → list of ``(N, dim, H/p, W/p)`` maps, one per tap (the last block's if none).
    """

    def __init__(self, in_channels: int, dim: int, depth: int, heads: int, patch: int, grid: tuple[int, int],
                 mlp_ratio: float = 4.0, taps: tuple[int, ...] = ()) -> None:
        super().__init__()
        if depth < 1 or patch < 1 or any(t < 0 or t >= depth for t in taps):
            raise ValueError(f"need depth >= 1, patch >= 1 and taps within the blocks, got {depth}, {patch}, {taps}")
        self.patch, self.grid = patch, (int(grid[0]), int(grid[1]))
        self.taps = tuple(taps) or (depth - 1,)
        self.patch_embed = nn.Conv2d(in_channels, dim, patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid[0] * self.grid[1], dim))
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, mlp_ratio) for _ in range(depth))
        self.norms = nn.ModuleList(nn.LayerNorm(dim, eps=1e-6) for _ in self.taps)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks.apply(_init_linear)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.patch_embed(x)  # (N, C, h, w)
        n, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2) + resize_pos_embed(self.pos_embed, self.grid, (h, w))  # (N, hw, C)
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                tokens = self.norms[self.taps.index(i)](x)
                outputs.append(tokens.transpose(1, 2).reshape(n, c, h, w))  # (N, C, h, w)
        return outputs


def _init_linear(module: nn.Module) -> None:
    # ViT's initialisation: truncated normal (std 0.02) weights, zero biases.
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
