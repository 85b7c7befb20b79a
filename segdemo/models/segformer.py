"""SegFormer (Xie et al. 2021): a hierarchical Mix-Transformer encoder and an all-MLP decoder.

Xie, Wang, Yu, Anandkumar, Alvarez & Luo, "SegFormer: Simple and Efficient Design for Semantic
Segmentation with Transformers", NeurIPS 2021 (https://arxiv.org/abs/2105.15203).

Module layout follows the reference code (MiT ``patch_embed`` / ``block`` / ``norm`` per stage;
decoder ``linear_c``, ``linear_fuse``, ``linear_pred``), so the paper variant is MiT-B0
(3,752,694 parameters at ADE20K's 150 classes; the paper's Table 1 rounds to 3.8M).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.layers import upsample_logits
from segdemo.models.registry import ModelCard, register_model


def tokens_to_grid(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(N, H*W, C)`` tokens → ``(N, C, H, W)`` map (a channels-last view, no copy).

    Reshape-then-permute gives exact channels-last strides even for N = 1; ``transpose`` then
    ``reshape`` may give the size-1 batch dimension an odd stride, and then interpolation and
    convolutions no longer recognise the layout and take their slow contiguous kernels.
    """
    return x.reshape(x.shape[0], height, width, x.shape[2]).permute(0, 3, 1, 2)


def grid_to_tokens(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` map → ``(N, H*W, C)`` tokens (a view when the map is channels-last)."""
    return x.flatten(2).transpose(1, 2)


class OverlapPatchEmbed(nn.Module):
    """Overlapping patches: a strided convolution whose kernel exceeds its stride, then LayerNorm.

    Overlap (kernel 7 stride 4, then kernel 3 stride 2) keeps local continuity across patch
    borders, unlike ViT's disjoint 16×16 patches.
    """

    def __init__(self, in_channels: int, dim: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel, stride, padding=kernel // 2)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        x = self.proj(x)  # (N, C, H', W')
        height, width = x.shape[-2:]
        return self.norm(grid_to_tokens(x)), height, width  # (N, H'W', C)


class EfficientSelfAttention(nn.Module):
    """Multi-head self-attention whose keys/values come from a sequence shortened ``sr²`` times.

    A ``sr×sr`` convolution with stride ``sr`` reduces the ``h×w`` grid before the key/value
    projection, so the cost is ``O(L²/sr²)`` instead of ``O(L²)`` (sr = 8, 4, 2, 1 per stage).

    Args:
        dim: token channels.
        heads: attention heads (``dim`` must be divisible by it).
        sr: sequence-reduction ratio.
    """

    def __init__(self, dim: int, heads: int, sr: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by {heads} heads")
        if sr < 1:
            raise ValueError(f"sequence-reduction ratio must be >= 1, got {sr}")
        self.heads, self.sr = heads, sr
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if sr > 1:
            self.sr_conv = nn.Conv2d(dim, dim, sr, sr)
            self.norm = nn.LayerNorm(dim)

    def reduce(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """The shortened key/value sequence: ``(N, h*w, C)`` → ``(N, ⌊h/sr⌋*⌊w/sr⌋, C)``.

        As in the reference code the reduction has no padding: the last ``h mod sr`` rows (and
        ``w mod sr`` columns) are not summarised into keys/values, though they still query. A
        grid smaller than ``sr`` (inputs under 32 px) is zero-padded up to one cell rather than
        crashing.
        """
        if self.sr == 1:
            return x
        grid = tokens_to_grid(x, height, width)  # (N, C, h, w)
        if height < self.sr or width < self.sr:
            grid = F.pad(grid, (0, max(0, self.sr - width), 0, max(0, self.sr - height)))
        return self.norm(grid_to_tokens(self.sr_conv(grid)))  # (N, h*w/sr², C)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        n, length, c = x.shape
        d = c // self.heads
        q = self.q(x).reshape(n, length, self.heads, d).transpose(1, 2)  # (N, heads, L, d)
        kv = self.kv(self.reduce(x, height, width))  # (N, L', 2C)
        k, v = kv.reshape(n, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)  # 2 × (N, heads, L', d)
        out = F.scaled_dot_product_attention(q, k, v)  # (N, heads, L, d)
        return self.proj(out.transpose(1, 2).reshape(n, length, c))  # (N, L, C)


class MixFFN(nn.Module):
    """Linear → 3×3 depthwise conv → GELU → Linear.

    The depthwise convolution leaks zero padding into the tokens, which tells them where they
    are: positional information without positional embeddings, hence any input size works.
    """

    def __init__(self, dim: int, ratio: int = 4) -> None:
        super().__init__()
        hidden = dim * ratio
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        x = tokens_to_grid(self.fc1(x), height, width)  # (N, 4C, h, w)
        return self.fc2(F.gelu(grid_to_tokens(self.dwconv(x))))  # (N, L, C)


class Block(nn.Module):
    """Pre-norm Transformer block: ``x + attn(LN(x))``, then ``x + MixFFN(LN(x))``."""

    def __init__(self, dim: int, heads: int, sr: int, mlp_ratio: int = 4) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = EfficientSelfAttention(dim, heads, sr)
        self.mlp = MixFFN(dim, mlp_ratio)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), height, width)
        return x + self.mlp(self.norm2(x), height, width)


class MixTransformer(nn.Module):
    """The MiT encoder: four stages at 1/4, 1/8, 1/16 and 1/32 of the input.

    Args:
        dims: channels per stage (B0: 32, 64, 160, 256).
        heads: attention heads per stage (B0: 1, 2, 5, 8).
        depths: blocks per stage (B0: 2, 2, 2, 2).
        srs: sequence-reduction ratios (8, 4, 2, 1).

    Shape:
        ``(N, 3, H, W)`` → four maps ``(N, dims[i], ⌈H/2^(i+2)⌉, ⌈W/2^(i+2)⌉)`` (±1 cell of rounding).
    """

    def __init__(self, dims: Sequence[int], heads: Sequence[int], depths: Sequence[int],
                 srs: Sequence[int] = (8, 4, 2, 1)) -> None:
        super().__init__()
        if not len(dims) == len(heads) == len(depths) == len(srs) == 4:
            raise ValueError(f"need four stages, got dims={dims}, heads={heads}, depths={depths}, srs={srs}")
        self.patch_embed, self.block, self.norm = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        in_channels = 3
        for i, (dim, head, depth, sr) in enumerate(zip(dims, heads, depths, srs, strict=True)):
            self.patch_embed.append(OverlapPatchEmbed(in_channels, dim, 7 if i == 0 else 3, 4 if i == 0 else 2))
            self.block.append(nn.ModuleList(Block(dim, head, sr) for _ in range(depth)))
            self.norm.append(nn.LayerNorm(dim))
            in_channels = dim
        self.out_channels = tuple(int(d) for d in dims)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for embed, blocks, norm in zip(self.patch_embed, self.block, self.norm, strict=True):
            x, height, width = embed(x)  # (N, hw, C)
            for block in blocks:
                x = block(x, height, width)
            x = tokens_to_grid(norm(x), height, width)  # (N, C, h, w)
            features.append(x)
        return features


class SegFormer(nn.Module):
    """SegFormer: MiT encoder + all-MLP decoder.

    Decoder: every stage is projected to ``decoder_dim`` channels by a linear layer (a 1×1
    convolution), upsampled to 1/4 of the input, the four are concatenated (deepest first, as
    in the reference code), fused by a 1×1 conv + BN + ReLU, and classified per pixel.

    Args:
        num_classes: K.
        dims, heads, depths: the MiT's stages (defaults: B0).
        decoder_dim: the decoder's width D (256 for B0/B1, 768 for B2-B5).
        dropout: dropout before the classifier (0.1).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, dims: Sequence[int] = (32, 64, 160, 256),
                 heads: Sequence[int] = (1, 2, 5, 8), depths: Sequence[int] = (2, 2, 2, 2),
                 decoder_dim: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = MixTransformer(dims, heads, depths)
        self.linear_c = nn.ModuleList(nn.Conv2d(c, decoder_dim, 1) for c in self.encoder.out_channels)
        self.linear_fuse = nn.Sequential(nn.Conv2d(4 * decoder_dim, decoder_dim, 1, bias=False),
                                         nn.BatchNorm2d(decoder_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout2d(dropout)
        self.linear_pred = nn.Conv2d(decoder_dim, num_classes, 1)
        # The reference initialisation: MiT's own for the encoder, PyTorch's default for the
        # projections, He (fan-out) for the fusion conv and N(0, 0.01) for the classifier, so that
        # the first logits are near zero (the loss starts near ln K, not at ~10).
        self.encoder.apply(_init_weights)
        nn.init.kaiming_normal_(self.linear_fuse[0].weight, mode="fan_out", nonlinearity="relu")
        nn.init.normal_(self.linear_pred.weight, 0.0, 0.01)
        nn.init.zeros_(self.linear_pred.bias)

    def decode(self, features: list[torch.Tensor]) -> torch.Tensor:
        """The all-MLP decoder up to the fused map, in the cheap order.

        Reference order: ``fuse(cat(up(linear_c[i](f_i))))``, a ``4D → D`` layer at 1/4 resolution.
        Both linear layers are 1×1 maps and bilinear upsampling is linear with weights summing to
        one, so they commute: fusing each stage's slice of ``linear_fuse`` into its ``linear_c``
        and applying it *before* upsampling gives the same function and the same gradients with
        (for B0 at 512×512) about 16× fewer decoder multiply-adds.

        Shape:
            ``[(N, C_i, h_i, w_i)] × 4`` → ``(N, D, h_0, w_0)``.
        """
        fuse_conv = self.linear_fuse[0]
        size = features[0].shape[-2:]
        d = fuse_conv.out_channels
        fused = None
        for i, (linear, f) in enumerate(zip(self.linear_c, features, strict=True)):
            block = 3 - i  # the reference concatenates the stages deepest first
            w_fuse = fuse_conv.weight[:, block * d:(block + 1) * d, 0, 0]  # (D, D)
            weight = w_fuse @ linear.weight.flatten(1)  # (D, C_i)
            # On tokens, as the reference's MLP: the result is a channels-last map, whose bilinear
            # upsampling is several times faster on CPUs than a contiguous one.
            y = tokens_to_grid(F.linear(grid_to_tokens(f), weight, w_fuse @ linear.bias), *f.shape[-2:])
            if y.shape[-2:] != size:
                y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)  # (N, D, h_0, w_0)
            fused = y if fused is None else fused.add_(y)  # in place: y and fused are fresh tensors
        if fuse_conv.bias is not None:  # after BatchNorm folding (segdemo.models.fuse)
            fused = fused.add_(fuse_conv.bias[:, None, None])
        return self.linear_fuse[1:](fused)  # BN, ReLU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)  # (N, C_i, H/4, W/4) ... (N, C_i, H/32, W/32)
        fused = self.decode(features)  # (N, D, H/4, W/4)
        logits = self.linear_pred(self.dropout(fused))  # (N, K, H/4, W/4)
        return upsample_logits(logits, x.shape[-2:])  # (N, K, H, W)


def _init_weights(module: nn.Module) -> None:
    # MiT's initialisation: truncated normal (std 0.02) for linear layers, He-style fan-out
    # normal for convolutions, zero biases.
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
        nn.init.normal_(module.weight, 0.0, (2.0 / fan_out) ** 0.5)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


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
def segformer(num_classes: int, dims: Sequence[int] = (32, 64, 160, 256), heads: Sequence[int] = (1, 2, 5, 8),
              depths: Sequence[int] = (2, 2, 2, 2), decoder_dim: int = 256, dropout: float = 0.1) -> SegFormer:
    """SegFormer; the defaults are MiT-B0 with a 256-channel decoder (about 3.7M parameters)."""
    return SegFormer(num_classes, tuple(dims), tuple(heads), tuple(depths), decoder_dim, dropout)
