"""Backbones: VGG16 features (for FCN) and a dilated ResNet (for DeepLab), with size options.

Module names follow torchvision's ``vgg16().features`` and ``resnet50()`` (``conv1``,
``bn1``, ``layer1.0.conv2``, ``layer1.0.downsample.0`` ...), so their state dicts load into
the paper-size variants unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

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
    the first block of a dilated stage keeps the previous dilation (no multi-grid).

    Args:
        width: channels of the stem (64 in ResNet-50); stage ``i`` has ``width × 2^i`` inner
            channels and outputs four times that.
        layers: blocks per stage, ``(3, 4, 6, 3)`` for ResNet-50, ``(3, 4, 23, 3)`` for -101.
        output_stride: 8, 16 or 32, the ratio of image size to last feature map size.

    Shape:
        ``(N, 3, H, W)`` → ``{"low": (N, 4w, H/4, W/4), "out": (N, 32w, H/os, W/os)}``
        (sizes rounded up).
    """

    conv_bn_pairs = (("conv1", "bn1"),)

    def __init__(self, width: int = 64, layers: Sequence[int] = (3, 4, 6, 3), output_stride: int = 8) -> None:
        super().__init__()
        layers = tuple(int(n) for n in layers)
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
        self.layer4 = self._make_stage(width * 8, layers[3], stride=2, dilate=dilate[2])
        self.low_channels = width * 4
        self.out_channels = width * 32
        self._init_weights()

    def _make_stage(self, planes: int, blocks: int, stride: int = 1, dilate: bool = False) -> nn.Sequential:
        first_dilation = self._dilation
        if dilate:
            self._dilation *= stride
            stride = 1
        out_channels = planes * Bottleneck.expansion
        downsample = None
        if stride != 1 or self._in_channels != out_channels:
            downsample = nn.Sequential(
                nn.Conv2d(self._in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        stage = [Bottleneck(self._in_channels, planes, stride, first_dilation, downsample)]
        self._in_channels = out_channels
        stage += [Bottleneck(out_channels, planes, dilation=self._dilation) for _ in range(1, blocks)]
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
