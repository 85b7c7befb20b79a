"""FCN-32s, FCN-16s and FCN-8s on VGG16.

Long, Shelhamer & Darrell, "Fully Convolutional Networks for Semantic Segmentation",
CVPR 2015 (https://arxiv.org/abs/1411.4038).
"""

from __future__ import annotations

import torch
from torch import nn

from segdemo.models.backbones import VGG16Features
from segdemo.models.layers import BilinearUpsample, crop_to
from segdemo.models.registry import ModelCard, register_model


class FCN(nn.Module):
    """A fully convolutional VGG16 with skip fusion; its output stride names it (32s/16s/8s).

    1. VGG16's fully connected layers become convolutions: fc6 a 7×7 convolution over
       pool5, fc7 a 1×1 one (with dropout, as in the paper), so any image size works.
       fc6 is zero-padded by 3 (the paper pads the *image* by 100 pixels and crops later).
    2. ``score_fr`` (1×1) turns fc7 into K class scores at 1/32 of the image.
    3. 16s and 8s upsample the scores ×2 with a learnable transposed convolution
       (initialised to bilinear) and add 1×1 scores of pool4 (then pool3); these skip
       scorers start at zero, as in the paper, so training starts from the coarser net.
    4. A last transposed convolution (×32, ×16 or ×8) returns to the input size. In the paper it is
       fixed bilinear interpolation (only the ×2 steps are learned); the ``paper`` variant keeps it
       fixed, the ``small`` variant (the shipped checkpoints) lets it learn from its bilinear start.

    Pooling rounds up (``ceil_mode``), so each upsampled map covers the finer one and is
    cropped to it: fused maps stay aligned at every input size, not only multiples of 32.

    Args:
        num_classes: K.
        stride: 32, 16 or 8.
        width: VGG16's first-stage channels (64 in the paper).
        fc_channels: channels of fc6/fc7 (4096 in the paper).
        batch_norm: BatchNorm in the VGG backbone (see :class:`VGG16Features`).
        learn_final_upsampling: train the last upsampling too (False: fixed bilinear, as in the paper).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, stride: int = 8, width: int = 64, fc_channels: int = 4096,
                 batch_norm: bool = False, learn_final_upsampling: bool = True) -> None:
        super().__init__()
        if stride not in (8, 16, 32):
            raise ValueError(f"FCN stride must be 8, 16 or 32, got {stride}")
        if fc_channels < 1:
            raise ValueError(f"fc_channels must be >= 1, got {fc_channels}")
        self.stride = stride
        self.backbone = VGG16Features(width, batch_norm)
        self.fc6 = nn.Conv2d(self.backbone.out_channels, fc_channels, 7, padding=3)
        self.relu6 = nn.ReLU(inplace=True)
        self.drop6 = nn.Dropout(0.5)
        self.fc7 = nn.Conv2d(fc_channels, fc_channels, 1)
        self.relu7 = nn.ReLU(inplace=True)
        self.drop7 = nn.Dropout(0.5)
        self.score_fr = nn.Conv2d(fc_channels, num_classes, 1)
        for fc in (self.fc6, self.fc7):
            nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")
            nn.init.zeros_(fc.bias)
        if stride <= 16:
            self.upscore2 = BilinearUpsample(num_classes, 2)
            self.score_pool4 = nn.Conv2d(8 * width, num_classes, 1)
            nn.init.zeros_(self.score_pool4.weight)
            nn.init.zeros_(self.score_pool4.bias)
        if stride == 8:
            self.upscore_pool4 = BilinearUpsample(num_classes, 2)
            self.score_pool3 = nn.Conv2d(4 * width, num_classes, 1)
            nn.init.zeros_(self.score_pool3.weight)
            nn.init.zeros_(self.score_pool3.bias)
        self.upscore = BilinearUpsample(num_classes, stride)
        self.upscore.weight.requires_grad_(learn_final_upsampling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool3, pool4, pool5 = self.backbone(x)  # (N,4w,H/8,W/8), (N,8w,H/16,W/16), (N,8w,H/32,W/32)
        h = self.drop6(self.relu6(self.fc6(pool5)))  # (N, F, H/32, W/32)
        h = self.drop7(self.relu7(self.fc7(h)))  # (N, F, H/32, W/32)
        score = self.score_fr(h)  # (N, K, H/32, W/32)
        if self.stride <= 16:
            score = crop_to(self.upscore2(score), pool4.shape[-2:]) + self.score_pool4(pool4)  # (N,K,H/16,W/16)
        if self.stride == 8:
            score = crop_to(self.upscore_pool4(score), pool3.shape[-2:]) + self.score_pool3(pool3)  # (N,K,H/8,W/8)
        return crop_to(self.upscore(score), x.shape[-2:]).float()  # (N, K, H, W), float32 as upsample_logits


_PAPER = ("Fully Convolutional Networks for Semantic Segmentation", 2015, "https://arxiv.org/abs/1411.4038")
#: Small: VGG16 at 1/8 of its width and fc6/fc7 of 256 channels: 1.2M (8s) to 2.9M (32s, whose ×32
#: upsampling kernel alone holds K·K·64·64 weights) parameters at K = 21, ~40 ms at 512² on 2 cores.
_VARIANTS = {"small": {"width": 8, "fc_channels": 256, "batch_norm": True},
             "paper": {"width": 64, "fc_channels": 4096, "batch_norm": False, "learn_final_upsampling": False}}
_IDEA_COMMON = {
    "en": "Replace a classifier's fully connected layers by convolutions so that any image gives a coarse "
          "score map, then upsample it with transposed convolutions (the ×2 steps start bilinear and are learned; "
          "the paper fixes the last one to bilinear, the small variant here learns it too)",
    "zh": "把分类网络的全连接层改写成卷积，使任意尺寸的图像都得到粗糙的类别得分图，再用转置卷积上采样"
          "（×2 的上采样以双线性初始化并参与学习；论文中最后一次上采样固定为双线性，本项目的小型变体也让它参与学习）",
}


def _card(stride: int, skips: dict[str, str]) -> ModelCard:
    return ModelCard(
        name=f"fcn{stride}s",
        display={"en": f"FCN-{stride}s (VGG16)", "zh": f"FCN-{stride}s（VGG16）"},
        paper=_PAPER[0],
        year=_PAPER[1],
        url=_PAPER[2],
        idea={"en": _IDEA_COMMON["en"] + skips["en"], "zh": _IDEA_COMMON["zh"] + skips["zh"]},
        family="FCN",
        variants={variant: dict(options) for variant, options in _VARIANTS.items()},
    )


@register_model(_card(32, {"en": " in one ×32 step (no skips: coarse boundaries).",
                          "zh": "，一步放大 32 倍（无跳跃连接，边界粗糙）。"}))
def fcn32s(num_classes: int, width: int = 64, fc_channels: int = 4096, batch_norm: bool = False,
           learn_final_upsampling: bool = True) -> FCN:
    """FCN-32s: scores from pool5 only, upsampled ×32."""
    return FCN(num_classes, 32, width, fc_channels, batch_norm, learn_final_upsampling)


@register_model(_card(16, {"en": ", adding scores from pool4 (a skip connection) before the last ×16 step.",
                          "zh": "，并在最后放大 16 倍之前融合 pool4 的得分（跳跃连接）。"}))
def fcn16s(num_classes: int, width: int = 64, fc_channels: int = 4096, batch_norm: bool = False,
           learn_final_upsampling: bool = True) -> FCN:
    """FCN-16s: pool5 scores ×2, plus pool4 scores, upsampled ×16."""
    return FCN(num_classes, 16, width, fc_channels, batch_norm, learn_final_upsampling)


@register_model(_card(8, {"en": ", adding scores from pool4 and pool3 (skip connections) for finer detail.",
                         "zh": "，并逐级融合 pool4 和 pool3 的得分（跳跃连接），得到更精细的结果。"}))
def fcn8s(num_classes: int, width: int = 64, fc_channels: int = 4096, batch_norm: bool = False,
           learn_final_upsampling: bool = True) -> FCN:
    """FCN-8s: like 16s, plus pool3 scores, upsampled ×8."""
    return FCN(num_classes, 8, width, fc_channels, batch_norm, learn_final_upsampling)
