"""Pure operations of the Inside tab: dilated taps, stacked-rate coverage, upsampling methods, drawing.

* Dilation: a 3×3 kernel at rate ``r`` reads 9 pixels ``r`` apart. Stacking rates with a common factor,
  e.g. (2, 2, 2), reads only every second pixel: the "gridding" artefact (Wang et al., "Understanding
  Convolution for Semantic Segmentation", WACV 2018); rates like (1, 2, 5) cover every pixel (their HDC).
* Upsampling: a transposed convolution whose kernel is not divisible by its stride overlaps unevenly and
  paints a checkerboard even on a constant input; resizing then convolving does not (Odena, Dumoulin &
  Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

#: The upsampling methods of the lab, in display order.
UPSAMPLERS = ("nearest", "bilinear", "transposed_k3", "transposed_k4", "resize_conv")


def dilation_taps(center: tuple[int, int], rate: int, kernel: int = 3) -> np.ndarray:
    """Pixel positions read by a ``kernel``×``kernel`` convolution with dilation ``rate`` at ``center``.

    Returns:
        ``(kernel², 2)`` int64 ``(y, x)`` positions, row by row.
    """
    if rate < 1 or kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"need rate >= 1 and an odd kernel, got rate={rate}, kernel={kernel}")
    offsets = (np.arange(kernel) - kernel // 2) * int(rate)
    dy, dx = np.meshgrid(offsets, offsets, indexing="ij")
    return np.stack([dy.ravel() + int(center[0]), dx.ravel() + int(center[1])], axis=1).astype(np.int64)


def coverage(rates: Sequence[int], kernel: int = 3) -> np.ndarray:
    """How many paths lead from each input pixel to one output pixel through a stack of dilated convolutions.

    Args:
        rates: the dilation of each ``kernel``×``kernel`` layer, input side first.

    Returns:
        ``(S, S)`` int64 counts centred on the output pixel, ``S = 1 + (kernel-1)·sum(rates)``; a 0 inside
        the square is a pixel the stack never reads (gridding).
    """
    rates = [int(r) for r in rates]
    if not rates or min(rates) < 1 or len(rates) > 8 or sum(rates) > 64:
        raise ValueError(f"rates must be 1 to 8 dilations >= 1 summing to at most 64, got {rates}")
    side = 1 + (kernel - 1) * sum(rates)
    counts = torch.zeros(1, 1, side, side, dtype=torch.float64)
    counts[0, 0, side // 2, side // 2] = 1.0
    ones = torch.ones(1, 1, kernel, kernel, dtype=torch.float64)
    for rate in reversed(rates):  # walk back from the output: each layer spreads to its taps
        counts = F.conv2d(counts, ones, padding=rate * (kernel // 2), dilation=rate)
    return counts[0, 0].round().to(torch.int64).numpy()


@functools.cache
def _kernel(method: str, channels: int, seed: int | None) -> torch.Tensor:
    """Depthwise weights of a learnable upsampler: uniform (mean gain 1) or, with a seed, random positive."""
    size = {"transposed_k3": 3, "transposed_k4": 4, "resize_conv": 3}[method]
    if seed is None:
        weight = torch.ones(channels, 1, size, size)
    else:
        weight = torch.rand(channels, 1, size, size, generator=torch.Generator().manual_seed(seed)) + 0.5
    # A ×2 transposed convolution spreads each input over 4 outputs on average: gain 4 / sum(kernel) keeps
    # the mean; resize-conv's kernel sums to 1.
    gain = 4.0 if method.startswith("transposed") else 1.0
    return weight * gain / weight.sum(dim=(2, 3), keepdim=True)


def upsample2x(x: torch.Tensor, method: str, seed: int | None = None) -> torch.Tensor:
    """Upsample ``(N, C, h, w)`` to ``(N, C, 2h, 2w)`` with one of :data:`UPSAMPLERS`, channel by channel.

    Learnable methods use a fixed depthwise kernel: uniform (``seed=None``) or random positive weights
    (``seed``), as a network would have at initialisation.
    """
    if method not in UPSAMPLERS:
        raise ValueError(f"unknown upsampling method {method!r}; valid: {', '.join(UPSAMPLERS)}")
    x = x.float()
    channels = x.shape[1]
    if method == "nearest":
        return F.interpolate(x, scale_factor=2, mode="nearest")
    if method == "bilinear":
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    weight = _kernel(method, channels, seed)
    if method == "resize_conv":
        return F.conv2d(F.interpolate(x, scale_factor=2, mode="nearest"), weight, padding=1, groups=channels)
    if method == "transposed_k3":  # output (h-1)·2 - 2 + 3 + 1 = 2h
        return F.conv_transpose2d(x, weight, stride=2, padding=1, output_padding=1, groups=channels)
    return F.conv_transpose2d(x, weight, stride=2, padding=1, groups=channels)  # k4: (h-1)·2 - 2 + 4 = 2h


def ripple(values: np.ndarray, border: int = 2) -> float:
    """Relative ripple ``(max - min) / mean |x|`` of a map's interior (0 for a flat map).

    Measures the checkerboard a method paints on a constant input; the ``border`` rows and columns are
    left out, where zero padding darkens every method.
    """
    inner = np.asarray(values, dtype=np.float64)[..., border:-border, border:-border]
    scale = float(np.abs(inner).mean())
    return 0.0 if scale == 0 else float((inner.max() - inner.min()) / scale)


# ---------------------------------------------------------------- drawing (numpy only)
@functools.cache
def colour_table(name: str = "magma") -> np.ndarray:
    """A matplotlib colour map as a ``(256, 3)`` uint8 lookup table."""
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def heat(values: np.ndarray, name: str = "magma", low: float | None = None, high: float | None = None) -> np.ndarray:
    """``(h, w)`` values as ``(h, w, 3)`` uint8 colours, scaled from ``low`` (min) to ``high`` (max)."""
    values = np.asarray(values, dtype=np.float32)
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return np.take(colour_table(name), (np.clip(scaled, 0, 1) * 255 + 0.5).astype(np.uint8), axis=0)


def blend(image: np.ndarray, colours: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """``image·(1-α) + colours·α`` in uint8 (``alpha`` scalar or ``(H, W)``)."""
    alpha = np.asarray(alpha, dtype=np.float32)
    if alpha.ndim == 2:
        alpha = alpha[..., None]
    return (image.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha).round().astype(np.uint8)


def draw_box(image: np.ndarray, center: tuple[int, int], side: float, colour: Sequence[int],
             width: int = 2) -> np.ndarray:
    """A square outline of ``side`` px centred on ``center`` ``(y, x)``, clipped to the image (in place)."""
    height, wide = image.shape[:2]
    half = side / 2
    top, bottom = int(round(center[0] - half)), int(round(center[0] + half)) - 1
    left, right = int(round(center[1] - half)), int(round(center[1] + half)) - 1
    for y0, y1, x0, x1 in ((top, top + width, left, right + 1), (bottom - width + 1, bottom + 1, left, right + 1),
                           (top, bottom + 1, left, left + width), (top, bottom + 1, right - width + 1, right + 1)):
        y0, y1, x0, x1 = max(0, y0), min(height, y1), max(0, x0), min(wide, x1)
        if y0 < y1 and x0 < x1:
            image[y0:y1, x0:x1] = colour
    return image


def draw_ring(image: np.ndarray, center: tuple[int, int], radius: float, colour: Sequence[int],
              width: float = 1.5) -> np.ndarray:
    """A circle of ``radius`` px around ``center`` ``(y, x)`` (in place)."""
    yy, xx = np.indices(image.shape[:2], dtype=np.float32)
    distance = np.hypot(yy - center[0], xx - center[1])
    image[np.abs(distance - radius) <= width / 2 + 0.5] = colour
    return image


def draw_dot(image: np.ndarray, center: tuple[int, int], radius: int, colour: Sequence[int]) -> np.ndarray:
    """A filled square dot of half-side ``radius`` at ``center`` ``(y, x)``, clipped (in place)."""
    y, x = int(center[0]), int(center[1])
    y0, y1 = max(0, y - radius), min(image.shape[0], y + radius + 1)
    x0, x1 = max(0, x - radius), min(image.shape[1], x + radius + 1)
    if y0 < y1 and x0 < x1:
        image[y0:y1, x0:x1] = colour
    return image
