"""Small building blocks shared by the zoo: cropping, bilinear upsampling, safe pooled BatchNorm.

Pure tensor functions first, thin modules on top.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def crop_to(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Keep the top-left ``size`` of ``x``'s last two dimensions.

    Our pooling layers use ``ceil_mode=True`` (as Caffe, where FCN was written), so a map
    upsampled by ``s`` covers *at least* the finer map it is fused with; the extra cells lie
    past the bottom/right border, and cutting them keeps every cell aligned with the pixels
    it was computed from (the original FCN's ``Crop`` layer, with offset 0 since we pad
    convolutions instead of padding the image by 100).

    Raises:
        ValueError: if ``x`` is smaller than ``size``.

    Shape:
        ``(..., H', W')`` → ``(..., H, W)`` with ``H <= H'``, ``W <= W'``.
    """
    height, width = int(size[0]), int(size[1])
    if x.shape[-2] < height or x.shape[-1] < width:
        raise ValueError(f"cannot crop {tuple(x.shape[-2:])} to the larger size {(height, width)}")
    return x[..., :height, :width]


def bilinear_kernel(channels: int, factor: int) -> torch.Tensor:
    """Weights making a ``ConvTranspose2d(channels, channels, 2*factor, factor, factor//2)``
    a per-channel bilinear upsampler (FCN's initialisation).

    Returns:
        ``(channels, channels, 2*factor, 2*factor)``, zero off the channel diagonal.
    """
    if channels < 1 or factor < 1:
        raise ValueError(f"channels and factor must be >= 1, got {channels}, {factor}")
    size = 2 * factor
    center = factor - 0.5  # kernel centre between the two middle taps
    taps = 1.0 - (torch.arange(size, dtype=torch.float32) - center).abs() / factor  # (2f,)
    kernel = taps[:, None] * taps[None, :]  # (2f, 2f)
    weight = torch.zeros(channels, channels, size, size)
    weight[torch.arange(channels), torch.arange(channels)] = kernel
    return weight


def upsample_logits(logits: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Class scores bilinearly resized to the input's ``size``, always in float32.

    The last op of most models and the largest map they write (``K·H·W`` values). Reading back
    float32 whatever the weights' dtype keeps the zoo's output contract (float32 logits) for
    the bfloat16 inference path, and is faster there: PyTorch's CPU bilinear kernel for bfloat16
    took 6–8 ms for 6–21 classes at 512×512 against 1.2–5.8 ms in float32 (2 threads). The small
    map is made NCHW-contiguous first: for a few classes the NCHW kernel is faster, and per-pixel
    reductions over the classes afterwards (arg-max, softmax) run ~2× faster on NCHW logits.

    Args:
        logits: ``(N, K, h, w)`` scores.
        size: the output ``(H, W)``.

    Returns:
        ``(N, K, H, W)`` float32, aligned like ``F.interpolate(..., align_corners=False)``.
    """
    return F.interpolate(logits.float().contiguous(), size=size, mode="bilinear", align_corners=False)


class BilinearUpsample(nn.ConvTranspose2d):
    """A learnable ×``factor`` upsampling initialised to bilinear interpolation (FCN).

    With kernel ``2f``, stride ``f`` and padding ``f/2``, the kernel centre of input cell
    ``i`` lands on output coordinate ``i*f + f/2 - 1/2``, the centre of the ``f`` output
    pixels that cell covers: an ``(h, w)`` map becomes exactly ``(f*h, f*w)``, aligned like
    ``F.interpolate(..., align_corners=False)`` (no crop offset needed).

    Args:
        channels: input and output channels (the class scores).
        factor: an even upsampling factor (2, 8, 16, 32).
    """

    def __init__(self, channels: int, factor: int) -> None:
        if factor < 2 or factor % 2:
            raise ValueError(f"factor must be an even integer >= 2, got {factor}")
        super().__init__(channels, channels, 2 * factor, stride=factor, padding=factor // 2, bias=False)
        with torch.no_grad():
            self.weight.copy_(bilinear_kernel(channels, factor))


class PoolingBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm that also works on a single value per channel (``N*H*W == 1``) in training.

    The image-pooling branch of ASPP normalises ``(N, C, 1, 1)`` features; with batch size 1
    the batch variance is undefined and ``nn.BatchNorm2d`` raises in train mode. Our choice:
    in that one case normalise with the running statistics (as in eval mode) and leave them
    untouched; with two or more values per channel it is exactly ``nn.BatchNorm2d`` (same
    parameters, same ``state_dict`` keys, so torchvision weights load unchanged).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] * x.shape[2] * x.shape[3] == 1:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                training=False, momentum=0.0, eps=self.eps)
        return super().forward(x)


class AtrousDepthwiseConv2d(nn.Conv2d):
    """A depthwise 3×3 convolution with dilation ``d``, padding ``d`` applied explicitly.

    Same parameters and result as ``nn.Conv2d(c, c, 3, padding=d, dilation=d, groups=c)``.
    Why: on CPUs, oneDNN's channels-last depthwise kernel falls back to a slow path when the
    padding exceeds 4 (measured 5-20× slower at ASPP's rates); padding the tensor first and
    convolving without padding keeps the fast kernel.
    """

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__(channels, channels, 3, padding=0, dilation=dilation, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.dilation[0]
        return super().forward(F.pad(x, (d, d, d, d)))


def conv_bn(in_channels: int, out_channels: int, kernel: int = 3, stride: int = 1, groups: int = 1,
            dilation: int = 1, relu: bool = True, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """``Conv (no bias) → BN [→ activation]`` with "same" padding (Fast-SCNN and the real-time nets use ReLU,
    MobileNetV2 ``nn.ReLU6``)."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel, stride, dilation * (kernel // 2), dilation=dilation,
                  groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu:
        layers.append(activation(inplace=True))
    return nn.Sequential(*layers)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1,
                 separable: bool = False) -> nn.Sequential:
    """``Conv → BN → ReLU`` with "same" padding, or its depthwise-separable version.

    Separable (DeepLabV3+'s atrous separable convolution): a depthwise ``k×k`` (dilated)
    convolution, BN, ReLU, then a pointwise ``1×1`` convolution, BN, ReLU.
    """
    padding = dilation * (kernel_size - 1) // 2
    if not separable or kernel_size == 1:
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
    depthwise = (AtrousDepthwiseConv2d(in_channels, dilation) if kernel_size == 3 and dilation > 1 else
                 nn.Conv2d(in_channels, in_channels, kernel_size, padding=padding, dilation=dilation,
                           groups=in_channels, bias=False))
    return nn.Sequential(
        depthwise,
        nn.BatchNorm2d(in_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )
