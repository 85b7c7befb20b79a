"""Backbones: VGG16 features (for FCN) and a dilated ResNet (for DeepLab), with size options.

Module names follow torchvision's ``vgg16().features`` and ``resnet50()`` (``conv1``,
``bn1``, ``layer1.0.conv2``, ``layer1.0.downsample.0`` ...), so their state dicts load into
the paper-size variants unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from segdemo.models.layers import conv_bn

#: VGG16's convolution widths relative to its first stage; "M" is a 2×2 max pooling.
_VGG16_PLAN: tuple[int | str, ...] = (1, 1, "M", 2, 2, "M", 4, 4, 4, "M", 8, 8, 8, "M", 8, 8, 8, "M")


class VGG16Features(nn.Module):
    """VGG16's 13 convolutions and 5 poolings, returning pool3, pool4 and pool5.

    From Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
    Recognition" (2015). Pooling uses ``ceil_mode=True`` (Caffe's rounding, used by FCN) so
    that no border pixel is dropped at sizes that are not multiples of 32.

    Args:
        width: channels of the first stage (64 in the paper); the stages have
            ``width × (1, 2, 4, 8, 8)`` channels.
        batch_norm: a BatchNorm after every convolution (torchvision's ``vgg16_bn``); the plain
            net of the paper was trained in stages from shallower ones, which a from-scratch CPU
            run cannot afford, so the small variants use it.

    Shape:
        ``(N, 3, H, W)`` → ``pool3 (N, 4w, ⌈H/8⌉, ⌈W/8⌉)``, ``pool4 (N, 8w, ⌈H/16⌉, ⌈W/16⌉)``,
        ``pool5 (N, 8w, ⌈H/32⌉, ⌈W/32⌉)``.
    """

    def __init__(self, width: int = 64, batch_norm: bool = False) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        layers: list[nn.Module] = []
        pools: list[int] = []
        in_channels = 3
        for item in _VGG16_PLAN:
            if item == "M":
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                pools.append(len(layers) - 1)
            else:
                out_channels = int(item) * width
                layers.append(nn.Conv2d(in_channels, out_channels, 3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out_channels))
                layers.append(nn.ReLU(inplace=True))
                in_channels = out_channels
        self.features = nn.Sequential(*layers)
        self.out_channels = in_channels
        for module in self.features:
            # PyTorch's default init shrinks the signal layer after layer: 13 convolutions
            # without BatchNorm would give an input-independent output. He init keeps its scale.
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
        # Indices of pool3, pool4, pool5 in ``features`` (16, 23, 30 as in torchvision's vgg16).
        self._taps = tuple(pools[2:])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self._taps:
                outputs.append(x)
        pool3, pool4, pool5 = outputs  # (N,4w,H/8,W/8), (N,8w,H/16,W/16), (N,8w,H/32,W/32)
        return pool3, pool4, pool5


class Bottleneck(nn.Module):
    """ResNet's bottleneck block (1×1 → 3×3 → 1×1, ×4 expansion), stride on the 3×3 (v1.5).

    Args:
        in_channels: input channels.
        planes: inner channels; the block outputs ``4 * planes``.
        stride: stride of the 3×3 convolution.
        dilation: dilation (and padding) of the 3×3 convolution.
        downsample: projection of the identity when shapes change.
    """

    expansion = 4
    #: (conv, bn) attribute pairs that :func:`segdemo.models.fuse.fuse_conv_bn` may merge.
    conv_bn_pairs = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))

    def __init__(self, in_channels: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)  # (N, 4p, H/s, W/s)
        out = self.relu(self.bn1(self.conv1(x)))  # (N, p, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (N, p, H/s, W/s)
        out = self.bn3(self.conv3(out))  # (N, 4p, H/s, W/s)
        return self.relu(out + identity)


class DilatedResNet(nn.Module):
    """ResNet with bottleneck blocks whose last stages trade stride for dilation.

    From He et al., "Deep Residual Learning for Image Recognition" (2016); the dilation
    ("atrous") trick is DeepLab's: with ``output_stride=8`` layer3 and layer4 keep stride 1
    and dilate their 3×3 convolutions by 2 and 4, so the last feature map stays at 1/8 of the
    image while every filter still sees as far as in the undilated network. As in torchvision,
    the first block of a dilated stage keeps the previous dilation, unless ``multi_grid`` is given.

    Args:
        width: channels of the stem (64 in ResNet-50); stage ``i`` has ``width × 2^i`` inner
            channels and outputs four times that.
        layers: blocks per stage, ``(3, 4, 6, 3)`` for ResNet-50, ``(3, 4, 23, 3)`` for -101.
        output_stride: 8, 16 or 32, the ratio of image size to last feature map size.
        multi_grid: DeepLabV3's multi-grid (section 3.2): block ``i`` of layer4 uses dilation
            ``stage_rate × multi_grid[i]`` (e.g. (1, 2, 4) at output stride 16 gives 2, 4, 8), so the
            last stage's blocks see three different spacings instead of one; one entry per block.
            ``None`` keeps torchvision's rates.

    Shape:
        ``(N, 3, H, W)`` → ``{"low": (N, 4w, H/4, W/4), "out": (N, 32w, H/os, W/os)}``
        (sizes rounded up).
    """

    conv_bn_pairs = (("conv1", "bn1"),)

    def __init__(self, width: int = 64, layers: Sequence[int] = (3, 4, 6, 3), output_stride: int = 8,
                 multi_grid: Sequence[int] | None = None) -> None:
        super().__init__()
        layers = tuple(int(n) for n in layers)
        if multi_grid is not None and (len(multi_grid) != layers[-1] or min(multi_grid) < 1):
            raise ValueError(f"multi_grid needs one rate >= 1 per layer4 block ({layers[-1]}), got {multi_grid}")
        if width < 1 or len(layers) != 4 or min(layers) < 1:
            raise ValueError(f"need width >= 1 and four stages of >= 1 block, got width={width}, layers={layers}")
        if output_stride not in (8, 16, 32):
            raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride}")
        self.output_stride = output_stride
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self._in_channels = width
        self._dilation = 1
        dilate = {8: (False, True, True), 16: (False, False, True), 32: (False, False, False)}[output_stride]
        self.layer1 = self._make_stage(width, layers[0])
        self.layer2 = self._make_stage(width * 2, layers[1], stride=2, dilate=dilate[0])
        self.layer3 = self._make_stage(width * 4, layers[2], stride=2, dilate=dilate[1])
        self.layer4 = self._make_stage(width * 8, layers[3], stride=2, dilate=dilate[2],
                                       multi_grid=None if multi_grid is None else tuple(int(r) for r in multi_grid))
        self.low_channels = width * 4
        self.out_channels = width * 32
        self._init_weights()

    def _make_stage(self, planes: int, blocks: int, stride: int = 1, dilate: bool = False,
                    multi_grid: tuple[int, ...] | None = None) -> nn.Sequential:
        first_dilation = self._dilation
        if dilate:
            self._dilation *= stride
            stride = 1
        # Without multi-grid the first block keeps the previous rate (torchvision); with it every block
        # gets the stage's rate times its own unit rate (the paper's and TensorFlow DeepLab's rule).
        rates = [first_dilation] + [self._dilation] * (blocks - 1)
        if multi_grid is not None:
            rates = [self._dilation * r for r in multi_grid]
        out_channels = planes * Bottleneck.expansion
        downsample = None
        if stride != 1 or self._in_channels != out_channels:
            downsample = nn.Sequential(
                nn.Conv2d(self._in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        stage = [Bottleneck(self._in_channels, planes, stride, rates[0], downsample)]
        self._in_channels = out_channels
        stage += [Bottleneck(out_channels, planes, dilation=rates[i]) for i in range(1, blocks)]
        return nn.Sequential(*stage)

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, w, H/4, W/4)
        low = self.layer1(x)  # (N, 4w, H/4, W/4)
        x = self.layer2(low)  # (N, 8w, H/8, W/8)
        x = self.layer3(x)  # (N, 16w, H/8 or H/16, ...)
        x = self.layer4(x)  # (N, 32w, H/os, W/os)
        return {"low": low, "out": x}


class BasicBlock(nn.Module):
    """ResNet-18/34's basic block: two 3×3 convolutions and an identity (or projected) shortcut."""

    expansion = 1
    conv_bn_pairs = (("conv1", "bn1"), ("conv2", "bn2"))

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)  # (N, p, H/s, W/s)
        out = self.relu(self.bn1(self.conv1(x)))  # (N, p, H/s, W/s)
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):
    """ResNet-18 (He et al. 2016) returning its four stages, for networks that tap 1/16 and 1/32.

    Module names follow torchvision's ``resnet18`` (``conv1``, ``layer3.0.downsample.0`` ...).

    Args:
        width: stem channels (64); stage ``i`` has ``width × 2^i`` channels.
        layers: basic blocks per stage ((2, 2, 2, 2) for ResNet-18).

    Shape:
        ``(N, 3, H, W)`` → four maps ``(N, width·2^i, ⌈H/2^(i+2)⌉, ⌈W/2^(i+2)⌉)``, i = 0..3.
    """

    conv_bn_pairs = (("conv1", "bn1"),)

    def __init__(self, width: int = 64, layers: Sequence[int] = (2, 2, 2, 2)) -> None:
        super().__init__()
        layers = tuple(int(n) for n in layers)
        if width < 1 or len(layers) != 4 or min(layers) < 1:
            raise ValueError(f"need width >= 1 and four stages of >= 1 block, got width={width}, layers={layers}")
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_channels = width
        stages = []
        for i, blocks in enumerate(layers):
            planes, stride = width * 2**i, 1 if i == 0 else 2
            downsample = None
            if stride != 1 or in_channels != planes:
                downsample = nn.Sequential(nn.Conv2d(in_channels, planes, 1, stride=stride, bias=False),
                                           nn.BatchNorm2d(planes))
            stages.append(nn.Sequential(BasicBlock(in_channels, planes, stride, downsample),
                                        *(BasicBlock(planes, planes) for _ in range(1, blocks))))
            in_channels = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.out_channels = tuple(width * 2**i for i in range(4))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (N, w, H/4, W/4)
        c2 = self.layer1(x)  # (N, w, H/4, W/4)
        c3 = self.layer2(c2)  # (N, 2w, H/8, W/8)
        c4 = self.layer3(c3)  # (N, 4w, H/16, W/16)
        c5 = self.layer4(c4)  # (N, 8w, H/32, W/32)
        return [c2, c3, c4, c5]


def _conv_bn(in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1, groups: int = 1,
             dilation: int = 1, relu: bool = True) -> nn.Sequential:
    """MobileNetV2's ``Conv → BN → ReLU6``, 1×1 unless told."""
    return conv_bn(in_channels, out_channels, kernel, stride, groups, dilation, relu, activation=nn.ReLU6)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: expand ×t (1×1), depthwise 3×3 (strided or dilated), linear 1×1 projection."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.residual = stride == 1 and in_channels == out_channels
        layers = [] if expansion == 1 else [_conv_bn(in_channels, hidden)]
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden, dilation=dilation),
                   _conv_bn(hidden, out_channels, relu=False)]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


#: MobileNetV2's stages (Sandler et al. 2018, Table 2): expansion t, channels c, blocks n, stride s.
_MOBILENETV2_PLAN = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                     (6, 320, 1, 1))


class MobileNetV2(nn.Module):
    """MobileNetV2's feature extractor without its last 1×1 (1280) convolution and classifier.

    Sandler, Howard, Zhu, Zhmoginov & Chen, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    CVPR 2018. With ``output_stride=16`` the last stride-2 stage keeps stride 1 and dilates its
    depthwise convolutions by 2 (as DeepLab does).

    Args:
        width: channel multiplier (1.0 = the paper's), channels rounded to multiples of 8.
        output_stride: 16 or 32.

    Shape:
        ``(N, 3, H, W)`` → ``{"low": (N, 24w, H/4, W/4), "out": (N, 320w, H/os, W/os)}`` (rounded up).
    """

    def __init__(self, width: float = 1.0, output_stride: int = 16) -> None:
        super().__init__()
        if width <= 0 or output_stride not in (16, 32):
            raise ValueError(f"need width > 0 and output_stride 16 or 32, got {width}, {output_stride}")

        def c(channels: int) -> int:
            return max(8, int(round(channels * width / 8)) * 8)

        layers: list[nn.Module] = [_conv_bn(3, c(32), 3, 2)]
        in_channels, stride_so_far, dilation = c(32), 2, 1
        self._low_index = 0
        for t, channels, n, s in _MOBILENETV2_PLAN:
            if s == 2 and stride_so_far == output_stride:
                dilation, s = dilation * 2, 1
            for i in range(n):
                layers.append(InvertedResidual(in_channels, c(channels), s if i == 0 else 1, t,
                                               dilation if i > 0 or s == 1 else 1))
                in_channels = c(channels)
            stride_so_far *= s
            if stride_so_far == 4 and not self._low_index:
                self._low_index = len(layers) - 1
        self.features = nn.Sequential(*layers)
        self.low_channels, self.out_channels = c(24), in_channels
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        low = self.features[: self._low_index + 1](x)  # (N, 24w, H/4, W/4)
        out = self.features[self._low_index + 1:](low)  # (N, 320w, H/os, W/os)
        return {"low": low, "out": out}
