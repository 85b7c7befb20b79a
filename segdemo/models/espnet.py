"""ESPNet (Mehta et al. 2018): efficient spatial pyramids of dilated convolutions.

Mehta, Rastegari, Caspi, Shapiro & Hajishirzi, "ESPNet: Efficient Spatial Pyramid of Dilated
Convolutions for Semantic Segmentation", ECCV 2018 (https://arxiv.org/abs/1803.06815).

Layer plan of the authors' code (``ESPNet(classes, p, q)``: encoder ESPNet-C with input
reinforcement, then the light decoder), with the paper's α2 = 2, α3 = 8 ESP modules at levels 2
and 3. The paper reports 0.364M parameters on Cityscapes; this code gives 363,462 at 19 classes
and 365,109 at the 20 (19 + "ignore") the authors' code trains.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from segdemo.models.layers import crop_to
from segdemo.models.registry import ModelCard, register_model

#: Dilation rates of the ESP module's parallel branches (K = 5, receptive fields 3, 5, 9, 17, 33).
DILATIONS = (1, 2, 4, 8, 16)


def bn_prelu(channels: int) -> nn.Sequential:
    """BatchNorm (eps 1e-3, as the authors') then a per-channel PReLU."""
    return nn.Sequential(nn.BatchNorm2d(channels, eps=1e-3), nn.PReLU(channels))


def conv_bn_prelu(in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    """``Conv (no bias) → BN → PReLU`` with "same" padding."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False),
                         *bn_prelu(out_channels))


class ESPModule(nn.Module):
    """Reduce → split → transform → merge.

    Reduce: one convolution maps ``C_in`` to ``n = C_out/5`` channels (1×1, or 3×3 stride 2 when
    downsampling). Split/transform: five parallel 3×3 convolutions with dilations 1, 2, 4, 8, 16
    read that one map (the first branch gets the remainder ``C_out - 4n`` channels). Merge by
    hierarchical feature fusion: each branch is added to the sum of the smaller-rate ones before
    concatenation, which removes the gridding artefacts of large dilations. Then a residual (when
    shapes allow) and BN + PReLU.

    A dilated 3×3 has 9 weights whatever its rate, so the module sees a 33×33 window for about
    ``n·C_in + 9·n·C_out`` weights instead of ``9·C_in·C_out``.

    Args:
        in_channels, out_channels: C_in, C_out (at least 5 for five non-empty branches).
        stride: 2 for the downsampling variant (ESP strided, no residual).
        residual: add the input (the paper's ESP module; the decoder's merge block has none).

    Shape:
        ``(N, C_in, H, W)`` → ``(N, C_out, ⌈H/s⌉, ⌈W/s⌉)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, residual: bool = True) -> None:
        super().__init__()
        if out_channels < len(DILATIONS):
            raise ValueError(f"an ESP module needs >= {len(DILATIONS)} output channels, got {out_channels}")
        n = out_channels // len(DILATIONS)
        first = out_channels - (len(DILATIONS) - 1) * n
        kernel = 3 if stride == 2 else 1
        self.reduce = nn.Conv2d(in_channels, n, kernel, stride, kernel // 2, bias=False)
        self.branches = nn.ModuleList(
            nn.Conv2d(n, first if i == 0 else n, 3, padding=d, dilation=d, bias=False)
            for i, d in enumerate(DILATIONS))
        self.residual = residual and stride == 1 and in_channels == out_channels
        self.out = bn_prelu(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.reduce(x)  # (N, n, H/s, W/s)
        maps = [branch(reduced) for branch in self.branches]  # (N, n1, ..), 4 × (N, n, ..)
        merged = [maps[0], maps[1]]
        for m in maps[2:]:  # hierarchical feature fusion: running sums over increasing rates
            merged.append(merged[-1] + m)
        out = torch.cat(merged, dim=1)  # (N, C_out, H/s, W/s)
        return self.out(x + out if self.residual else out)


class ESPNet(nn.Module):
    """ESPNet: the ESPNet-C encoder (1/2, 1/4, 1/8, with input reinforcement) and its light decoder.

    Input reinforcement: the image, average-pooled to 1/2 and 1/4, is concatenated to the features
    entering each level, so that the spatial information lost by striding is fed back cheaply.
    Decoder: class maps at 1/8 are upsampled ×2 (transposed conv), merged with the level-2 class map
    by an ESP module, upsampled ×2, concatenated with the level-1 features, convolved and upsampled
    ×2 to the input (every step cropped to the finer map's size, so odd sizes work).

    Args:
        num_classes: K.
        p, q: ESP modules in level 2 (at 1/4) and level 3 (at 1/8); the paper's network is p=2, q=8.
        width: level-1 channels (16); levels 2 and 3 have 4× and 8× as many.

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, p: int = 2, q: int = 8, width: int = 16) -> None:
        super().__init__()
        if p < 1 or q < 1 or width < 2:
            raise ValueError(f"need p, q >= 1 and width >= 2, got p={p}, q={q}, width={width}")
        c1, c2, c3 = width, 4 * width, 8 * width
        # The decoder's merge is an ESP module on class maps: with fewer than five classes it would
        # have empty branches, so it works on max(K, 5) maps and the last layer maps them to K.
        k = max(num_classes, len(DILATIONS))
        self.level1 = conv_bn_prelu(3, c1, 3, 2)
        self.b1 = bn_prelu(c1 + 3)
        self.level2_0 = ESPModule(c1 + 3, c2, stride=2)
        self.level2 = nn.Sequential(*(ESPModule(c2, c2) for _ in range(p)))
        self.b2 = bn_prelu(2 * c2 + 3)
        self.level3_0 = ESPModule(2 * c2 + 3, c3, stride=2)
        self.level3 = nn.Sequential(*(ESPModule(c3, c3) for _ in range(q)))
        self.b3 = bn_prelu(2 * c3)
        self.classifier3 = nn.Conv2d(2 * c3, k, 1, bias=False)
        self.br3 = nn.BatchNorm2d(k, eps=1e-3)
        self.up3 = nn.ConvTranspose2d(k, k, 2, stride=2, bias=False)
        self.classifier2 = nn.Conv2d(2 * c2 + 3, k, 1, bias=False)
        self.merge2 = nn.Sequential(bn_prelu(2 * k), ESPModule(2 * k, k, residual=False))
        self.up2 = nn.ConvTranspose2d(k, k, 2, stride=2, bias=False)
        self.br2 = bn_prelu(k)
        self.merge1 = conv_bn_prelu(c1 + 3 + k, k, 3)
        self.up1 = nn.ConvTranspose2d(k, num_classes, 2, stride=2, bias=False)

    @staticmethod
    def _pool(x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 3, stride=2, padding=1)  # ⌈H/2⌉, like the stride-2 convolutions

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        image2 = self._pool(x)  # (N, 3, H/2, W/2)
        image4 = self._pool(image2)  # (N, 3, H/4, W/4)
        l1 = self.b1(torch.cat((self.level1(x), image2), dim=1))  # (N, c1+3, H/2, W/2)
        l2_0 = self.level2_0(l1)  # (N, c2, H/4, W/4)
        l2 = self.b2(torch.cat((self.level2(l2_0), l2_0, image4), dim=1))  # (N, 2c2+3, H/4, W/4)
        l3_0 = self.level3_0(l2)  # (N, c3, H/8, W/8)
        l3 = self.b3(torch.cat((l3_0, self.level3(l3_0)), dim=1))  # (N, 2c3, H/8, W/8)
        scores2 = self.classifier2(l2)  # (N, K', H/4, W/4)
        scores3 = crop_to(self.up3(self.br3(self.classifier3(l3))), scores2.shape[-2:])  # (N, K', H/4, W/4)
        merged = self.merge2(torch.cat((scores2, scores3), dim=1))  # (N, K', H/4, W/4)
        merged = crop_to(self.br2(self.up2(merged)), l1.shape[-2:])  # (N, K', H/2, W/2)
        merged = self.merge1(torch.cat((merged, l1), dim=1))  # (N, K', H/2, W/2)
        return crop_to(self.up1(merged), x.shape[-2:]).float()  # (N, K, H, W), float32 as upsample_logits


@register_model(ModelCard(
    name="espnet",
    display={"en": "ESPNet", "zh": "ESPNet"},
    paper="ESPNet: Efficient Spatial Pyramid of Dilated Convolutions for Semantic Segmentation",
    year=2018,
    url="https://arxiv.org/abs/1803.06815",
    idea={
        "en": "The ESP module factorises a convolution into a point-wise reduction and a spatial pyramid of "
              "parallel dilated 3×3 convolutions (rates 1 to 16), whose outputs are summed hierarchically "
              "before concatenation to avoid gridding: a 33×33 view for a fraction of the weights.",
        "zh": "ESP 模块把一次卷积分解为逐点降维和一组并行的空洞 3×3 卷积（膨胀率 1 到 16）构成的空间金字塔，"
              "各分支先逐级相加（分层特征融合）再拼接以消除网格效应：用很少的参数看到 33×33 的范围。",
    },
    family="Real-time",
    # The paper's network (0.36M parameters) already trains on a CPU; small keeps 3 of level 3's 8 ESP
    # modules (0.20M), since at 96 px level 3 is a 12×12 map that five stacked 33×33 views already cover.
    variants={"small": {"p": 2, "q": 3, "width": 16}, "paper": {"p": 2, "q": 8, "width": 16}},
))
def espnet(num_classes: int, p: int = 2, q: int = 8, width: int = 16) -> ESPNet:
    """ESPNet with the paper's α2=2, α3=8 by default (0.364M parameters on Cityscapes)."""
    return ESPNet(num_classes, p, q, width)
