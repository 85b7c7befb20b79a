"""DeepLabV3 with multi-grid: the last ResNet stage's three blocks dilated at unit rates (1, 2, 4).

Chen, Papandreou, Schroff & Adam, "Rethinking Atrous Convolution for Semantic Image Segmentation"
(2017, https://arxiv.org/abs/1706.05587), section 3.2 and Table 3 ("Multi-grid"): within block4,
the three 3×3 convolutions get rates ``r × (1, 2, 4)`` (r = the stage's rate: 2 at output stride 16,
4 at 8) instead of ``r`` each. Stacked identical dilations sample the input on a sparse grid and
leave holes ("gridding"); different rates in a row fill them and grow the receptive field faster.
The paper compares multi-grid settings on VOC val in its Tables 3 and 5, (1, 2, 4) with ASPP being
the one it keeps.

Same module and weights layout as :mod:`segdemo.models.deeplab`'s DeepLabV3: multi-grid changes no
parameter, only the dilations. Registered under its own name so that it ships its own checkpoint
and its effect can be read against ``deeplabv3``'s in the Segment tab's comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

from segdemo.models.deeplab import _R50, _SMALL_BACKBONE, DeepLabV3
from segdemo.models.registry import ModelCard, register_model


@register_model(ModelCard(
    name="deeplabv3mg",
    display={"en": "DeepLabV3 multi-grid (1, 2, 4)", "zh": "DeepLabV3 多网格（1, 2, 4）"},
    paper="Rethinking Atrous Convolution for Semantic Image Segmentation",
    year=2017,
    url="https://arxiv.org/abs/1706.05587",
    idea={
        "en": "Multi-grid: the three blocks of the last ResNet stage use dilation rates in the ratio 1 : 2 : 4 "
              "instead of one shared rate, so consecutive atrous convolutions sample different grids and leave "
              "no holes in the receptive field (no gridding), at no extra parameter.",
        "zh": "多网格：ResNet 最后一个阶段的三个残差块使用 1 : 2 : 4 比例的膨胀率而不是同一个膨胀率，"
              "相邻空洞卷积采样不同的网格，感受野中不留空洞（避免网格效应），且不增加任何参数。",
    },
    family="DeepLab",
    # Small: deeplabv3's small network (output stride 8, so rates 4, 8, 16 on the 12×12 map of a 96 px
    # crop) with a third block in layer4, since multi-grid needs one unit rate per block.
    variants={"small": {**_SMALL_BACKBONE, "output_stride": 8, "layers": [2, 2, 2, 3], "multi_grid": [1, 2, 4]},
              "paper": {**_R50, "output_stride": 16, "multi_grid": [1, 2, 4]}},
))
def deeplabv3mg(num_classes: int, width: int = 64, layers: Sequence[int] = (3, 4, 6, 3), output_stride: int = 16,
                aspp_channels: int = 256, rates: Sequence[int] = (6, 12, 18),
                multi_grid: Sequence[int] = (1, 2, 4)) -> DeepLabV3:
    """DeepLabV3 on ResNet-50 with multi-grid (1, 2, 4) at output stride 16 (the paper's setting) by default."""
    return DeepLabV3(num_classes, width, layers, output_stride, aspp_channels, rates, multi_grid)
