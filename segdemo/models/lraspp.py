"""LR-ASPP on MobileNetV3 (Howard et al. 2019), built from torchvision's modules without weights.

Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu, Pang, Vasudevan, Le & Adam, "Searching for
MobileNetV3", ICCV 2019 (https://arxiv.org/abs/1905.02244), section 6.4.

The paper variant *is* torchvision's ``lraspp_mobilenet_v3_large`` (3,221,538 parameters at 21
classes): same modules, same ``state_dict`` keys, so torchvision's COCO/VOC weights load into it
unchanged (:mod:`segdemo.models.pretrained`). Torchvision is imported only when a model is built.
"""

from __future__ import annotations

import torch
from torch import nn

from segdemo.models.layers import upsample_logits
from segdemo.models.registry import ModelCard, register_model

BACKBONES = ("large", "small")


def lraspp_from_mobilenet(features: nn.Sequential, num_classes: int,
                          inter_channels: int = 128) -> tuple[nn.Module, nn.Module]:
    """LR-ASPP's (backbone, head) on the ``features`` of a dilated MobileNetV3, as torchvision wires them.

    The low-level tap is the first block at output stride 8 (C2), the high-level one the last
    layer (C5, kept at stride 16 by the dilated last stage).

    Returns:
        ``(backbone, head)``: an ``IntermediateLayerGetter`` returning ``{"low", "high"}`` and
        torchvision's ``LRASPPHead``.
    """
    from torchvision.models._utils import IntermediateLayerGetter
    from torchvision.models.segmentation.lraspp import LRASPPHead

    strided = [i for i, block in enumerate(features) if getattr(block, "_is_cn", False)]
    stages = [0, *strided, len(features) - 1]
    low, high = stages[-4], stages[-1]
    backbone = IntermediateLayerGetter(features, return_layers={str(low): "low", str(high): "high"})
    head = LRASPPHead(features[low].out_channels, features[high].out_channels, num_classes, inter_channels)
    return backbone, head


class LRASPPMobileNetV3(nn.Module):
    """Lite R-ASPP: a 1×1 conv on the 1/16 features gated by their global average (squeeze-and-excite
    style), upsampled to 1/8 and added to a 1×1 classifier of the 1/8 features.

    Args:
        num_classes: K.
        backbone: ``"large"`` (the paper's) or ``"small"`` MobileNetV3, last stage dilated.
        width: MobileNetV3's width multiplier.
        inter_channels: channels of the head's 1/16 branch (128).

    Shape:
        ``(N, 3, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int, backbone: str = "large", width: float = 1.0,
                 inter_channels: int = 128) -> None:
        super().__init__()
        if backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
        if width <= 0 or inter_channels < 1:
            raise ValueError(f"need width > 0 and inter_channels >= 1, got {width}, {inter_channels}")
        if backbone == "large" and width == 1.0 and inter_channels == 128:
            from torchvision.models.segmentation import lraspp_mobilenet_v3_large

            reference = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=num_classes)
            self.backbone, self.classifier = reference.backbone, reference.classifier
        else:
            from torchvision.models import mobilenet_v3_large, mobilenet_v3_small

            build = mobilenet_v3_large if backbone == "large" else mobilenet_v3_small
            features = build(weights=None, dilated=True, width_mult=width).features
            self.backbone, self.classifier = lraspp_from_mobilenet(features, num_classes, inter_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone(x)  # {"low": (N, C_l, H/8, W/8), "high": (N, C_h, H/16, W/16)}
        logits = self.classifier(features)  # (N, K, H/8, W/8)
        return upsample_logits(logits, x.shape[-2:])  # (N, K, H, W)


@register_model(ModelCard(
    name="lraspp",
    display={"en": "LR-ASPP (MobileNetV3)", "zh": "LR-ASPP（MobileNetV3）"},
    paper="Searching for MobileNetV3",
    year=2019,
    url="https://arxiv.org/abs/1905.02244",
    idea={
        "en": "A mobile segmentation head: the deepest MobileNetV3 features pass a cheap 1×1 convolution "
              "re-weighted by their global average (instead of ASPP's costly atrous branches), then are added "
              "to a classifier of the 1/8 features that keeps the edges.",
        "zh": "面向移动端的分割头：MobileNetV3 最深层特征经过一个廉价的 1×1 卷积，并由其全局平均值加权"
              "（代替 ASPP 昂贵的空洞卷积分支），再与保留边缘的 1/8 分辨率特征分类结果相加。",
    },
    family="Real-time",
    variants={"small": {"backbone": "small", "width": 1.0, "inter_channels": 128},
              "paper": {"backbone": "large", "width": 1.0, "inter_channels": 128}},
))
def lraspp(num_classes: int, backbone: str = "large", width: float = 1.0, inter_channels: int = 128) -> LRASPPMobileNetV3:
    """LR-ASPP; the defaults are torchvision's ``lraspp_mobilenet_v3_large`` (3.2M parameters at 21 classes)."""
    return LRASPPMobileNetV3(num_classes, backbone, width, inter_channels)
