"""U-Net, in the form the course uses: Buda et al.'s brain-MRI U-Net (batch-normalised).

Ronneberger, Fischer & Brox, "U-Net: Convolutional Networks for Biomedical Image
Segmentation", MICCAI 2015 (https://arxiv.org/abs/1505.04597); the variant with "same"
padding and BatchNorm is Buda, Saha & Mazurowski (2019), whose module names we keep
(``encoder1.enc1conv1`` ... ``conv``) so their published state dict loads unchanged.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from segdemo.models.layers import crop_to
from segdemo.models.registry import ModelCard, register_model


def double_conv(in_channels: int, features: int, name: str) -> nn.Sequential:
    """Two ``3×3 conv (no bias) → BN → ReLU``, named ``{name}conv1``, ``{name}norm1`` ..."""
    return nn.Sequential(OrderedDict([
        (f"{name}conv1", nn.Conv2d(in_channels, features, 3, padding=1, bias=False)),
        (f"{name}norm1", nn.BatchNorm2d(features)),
        (f"{name}relu1", nn.ReLU(inplace=True)),
        (f"{name}conv2", nn.Conv2d(features, features, 3, padding=1, bias=False)),
        (f"{name}norm2", nn.BatchNorm2d(features)),
        (f"{name}relu2", nn.ReLU(inplace=True)),
    ]))


class UNet(nn.Module):
    """Encoder of four double-conv + pool stages, a bottleneck, and a mirrored decoder.

    Each decoder stage upsamples ×2 with a 2×2 transposed convolution, concatenates the
    encoder features of the same resolution (the skip connection that gives U-Net its
    sharp boundaries) and applies a double convolution; a 1×1 convolution gives the logits.
    Pooling rounds up (``ceil_mode``), so an upsampled map covers its skip and is cropped to
    it: any ``H, W`` works, not only multiples of 16. At multiples of 16 this is exactly
    Buda et al.'s network, except that we return logits (they apply a sigmoid).

    Args:
        num_classes: output channels K (1 for a binary mask read through a sigmoid).
        init_features: channels of the first stage (32 in the course; 64 in Ronneberger).
        in_channels: input channels (3).

    Shape:
        ``(N, C_in, H, W)`` → ``(N, K, H, W)`` logits.
    """

    def __init__(self, num_classes: int = 1, init_features: int = 32, in_channels: int = 3) -> None:
        super().__init__()
        if init_features < 1 or in_channels < 1:
            raise ValueError(f"init_features and in_channels must be >= 1, got {init_features}, {in_channels}")
        f = init_features
        self.encoder1 = double_conv(in_channels, f, "enc1")
        self.pool1 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.encoder2 = double_conv(f, 2 * f, "enc2")
        self.pool2 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.encoder3 = double_conv(2 * f, 4 * f, "enc3")
        self.pool3 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.encoder4 = double_conv(4 * f, 8 * f, "enc4")
        self.pool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.bottleneck = double_conv(8 * f, 16 * f, "bottleneck")
        self.upconv4 = nn.ConvTranspose2d(16 * f, 8 * f, 2, stride=2)
        self.decoder4 = double_conv(16 * f, 8 * f, "dec4")
        self.upconv3 = nn.ConvTranspose2d(8 * f, 4 * f, 2, stride=2)
        self.decoder3 = double_conv(8 * f, 4 * f, "dec3")
        self.upconv2 = nn.ConvTranspose2d(4 * f, 2 * f, 2, stride=2)
        self.decoder2 = double_conv(4 * f, 2 * f, "dec2")
        self.upconv1 = nn.ConvTranspose2d(2 * f, f, 2, stride=2)
        self.decoder1 = double_conv(2 * f, f, "dec1")
        self.conv = nn.Conv2d(f, num_classes, 1)

    @staticmethod
    def _up(upconv: nn.Module, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        # Upsample, crop to the skip's size (they differ by one cell at odd sizes), concatenate.
        return torch.cat((crop_to(upconv(x), skip.shape[-2:]), skip), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        enc1 = self.encoder1(x)  # (N, f, H, W)
        enc2 = self.encoder2(self.pool1(enc1))  # (N, 2f, H/2, W/2)
        enc3 = self.encoder3(self.pool2(enc2))  # (N, 4f, H/4, W/4)
        enc4 = self.encoder4(self.pool3(enc3))  # (N, 8f, H/8, W/8)
        bottleneck = self.bottleneck(self.pool4(enc4))  # (N, 16f, H/16, W/16)
        dec4 = self.decoder4(self._up(self.upconv4, bottleneck, enc4))  # (N, 8f, H/8, W/8)
        dec3 = self.decoder3(self._up(self.upconv3, dec4, enc3))  # (N, 4f, H/4, W/4)
        dec2 = self.decoder2(self._up(self.upconv2, dec3, enc2))  # (N, 2f, H/2, W/2)
        dec1 = self.decoder1(self._up(self.upconv1, dec2, enc1))  # (N, f, H, W)
        return self.conv(dec1).float()  # (N, K, H, W), float32 as upsample_logits


@register_model(ModelCard(
    name="unet",
    display={"en": "U-Net", "zh": "U-Net"},
    paper="U-Net: Convolutional Networks for Biomedical Image Segmentation",
    year=2015,
    url="https://arxiv.org/abs/1505.04597",
    idea={
        "en": "A contracting path gathers context and a symmetric expanding path recovers detail, each decoder "
              "stage concatenating the encoder features of the same resolution (skip connections).",
        "zh": "收缩路径获取上下文，对称的扩张路径恢复细节，每个解码阶段都拼接同一分辨率的编码器特征（跳跃连接）。",
    },
    family="U-Net",
    # "paper" is the course's size (Buda et al., 7.76M params); Ronneberger et al. used 64
    # features, no BatchNorm and unpadded convolutions.
    variants={"small": {"init_features": 8}, "paper": {"init_features": 32}},
))
def unet(num_classes: int, init_features: int = 32, in_channels: int = 3) -> UNet:
    """U-Net with ``init_features`` channels in the first stage (32 = the course's 7.76M-param net)."""
    return UNet(num_classes, init_features, in_channels)
