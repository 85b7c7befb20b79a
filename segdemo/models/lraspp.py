"""LR-ASPP on MobileNetV3 (Howard et al. 2019), torchvision's implementation behind the zoo's contract."""

from __future__ import annotations

import torch
from torch import nn

from segdemo.models.registry import ModelCard, register_model


class LRASPP(nn.Module):
    """torchvision's LR-ASPP (dilated MobileNetV3, 1/8 and 1/16 features, a squeeze-excite-like
    global gate instead of ASPP's parallel atrous branches), returning the logits tensor.

    From Howard et al., "Searching for MobileNetV3" (ICCV 2019).

    Args:
        num_classes: K.
        backbone: ``"large"`` (the paper's, 3.2M parameters at 21 classes) or ``"small"``.

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, backbone: str = "large") -> None:
        super().__init__()
        from torchvision.models import mobilenet_v3_large, mobilenet_v3_small
        from torchvision.models.segmentation.lraspp import _lraspp_mobilenetv3

        builders = {"large": mobilenet_v3_large, "small": mobilenet_v3_small}
        if backbone not in builders:
            raise ValueError(f"backbone must be 'large' or 'small', got {backbone!r}")
        # weights=None: nothing is downloaded; the published weights come through segdemo.models.pretrained.
        self.model = _lraspp_mobilenetv3(builders[backbone](weights=None, dilated=True), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]  # (N, K, H, W): torchvision upsamples to the input size


@register_model(ModelCard(
    name="lraspp",
    display={"en": "LR-ASPP MobileNetV3", "zh": "LR-ASPP MobileNetV3"},
    paper="Searching for MobileNetV3",
    year=2019,
    url="https://arxiv.org/abs/1905.02244",
    idea={
        "en": "A mobile backbone found by architecture search plus a lite head: one 1×1 branch gated by global "
              "pooling replaces ASPP's costly atrous branches, and 1/8 features sharpen the edges.",
        "zh": "通过架构搜索得到的移动端骨干网络加上轻量头部：用一个由全局池化门控的 1×1 分支代替 ASPP "
              "昂贵的空洞卷积分支，再用 1/8 分辨率的特征细化边缘。",
    },
    family="Real-time",
    variants={"small": {"backbone": "small"}, "paper": {"backbone": "large"}},
))
def lraspp(num_classes: int, backbone: str = "large") -> LRASPP:
    """LR-ASPP with a MobileNetV3-Large (paper) or -Small backbone."""
    return LRASPP(num_classes, backbone)
