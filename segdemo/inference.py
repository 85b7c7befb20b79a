"""Running a trained model on one image: preprocess → forward → postprocess, timed.

Used by the Segment tab, the mIoU tab's "evaluate a model" mode and the benchmarks, so the
numbers a student sees are the numbers we measure.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: The zoo's contract needs H, W >= 32; smaller images are upscaled for the forward pass.
MIN_SIDE = 32


@dataclass
class Segmentation:
    """The result of segmenting one image, at the image's own size.

    Attributes:
        labels: ``(H, W)`` class per pixel, uint8 up to 256 classes (:func:`label_dtype`), else int64.
        confidence: ``(H, W)`` float32, the max softmax probability (1 = sure).
        timings: milliseconds of ``preprocess``, ``forward`` and ``postprocess``.
        device: where the forward pass ran.
        precision: what the forward pass computed in, ``"fp32"`` or ``"bf16"``.
        logits: ``(K, H, W)`` float32 logits at the image's size, kept for :attr:`entropy`.
    """

    labels: np.ndarray
    confidence: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    precision: str = "fp32"
    logits: torch.Tensor | None = field(default=None, repr=False)

    @functools.cached_property
    def entropy(self) -> np.ndarray:
        """``(H, W)`` float32 softmax entropy divided by ``log K`` (0 = sure, 1 = uniform).

        Computed on first use: the Segment tab shows the max probability, and the entropy's
        ``K·H·W`` logarithms would be a third of the postprocessing of every request.
        """
        if self.logits is None:
            raise ValueError("this segmentation kept no logits to compute the entropy from")
        log_probs = self.logits.float().log_softmax(dim=0)  # (K, H, W)
        entropy = -(log_probs.exp() * log_probs).sum(0)
        num_classes = self.logits.shape[0]
        if num_classes > 1:
            entropy = entropy / math.log(num_classes)
        return entropy.cpu().numpy()


def label_dtype(num_classes: int) -> torch.dtype:
    """The dtype of a predicted label map: uint8 up to 256 classes (a byte per pixel, as a mask file
    stores it: the pictures, tables and masks drawn from it read an eighth of int64's bytes), else int64."""
    return torch.uint8 if num_classes <= 256 else torch.int64


def labels_and_confidence(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The arg-max class and the max softmax probability of every pixel.

    Args:
        logits: ``(K, H, W)`` float scores.

    Returns:
        ``labels`` ``(H, W)`` (:func:`label_dtype`: uint8 up to 256 classes), the first class with the
        highest score (as ``torch.argmax``),
        and ``confidence`` ``(H, W)`` float, ``max_k softmax(l)_k = 1 / sum_k exp(l_k - l_max)``.
    """
    if logits.ndim != 3 or logits.shape[0] < 1:
        raise ValueError(f"expected (K, H, W) logits, got shape {tuple(logits.shape)}")
    num_classes = logits.shape[0]
    # torch.max/argmax over the class dimension (not the innermost) is not vectorised on CPU: 3 ms
    # for 6 classes at 512×512, 30 ms for argmax. amax and amin are: the first class whose score
    # equals the max is the smallest of "k, or k + K where l_k < l_max" (1 ms).
    peak = logits.amax(dim=0)  # (H, W)
    small = torch.uint8 if num_classes <= 128 else torch.int32  # k + K must fit
    index = torch.arange(num_classes, dtype=small, device=logits.device).view(-1, 1, 1)
    labels = (index + (logits != peak).to(small) * num_classes).amin(dim=0)  # (H, W)
    labels = labels.clamp_(max=num_classes - 1)  # NaN scores (a diverged model) give class K-1
    labels = labels.to(label_dtype(num_classes))
    # softmax over dim 0 is vectorised, and its max is exp(0) / sum_k exp(l_k - l_max): one pass
    # instead of subtract, exp, sum and reciprocal (0.3 ms of ~2 at 512×512, 6 classes).
    confidence = torch.softmax(logits, dim=0).amax(dim=0)  # (H, W)
    return labels, confidence


class Segmenter:
    """A model in eval mode plus what it needs to read an image (normalisation, classes).

    Args:
        model: any zoo model (``(N,3,H,W)`` → logits ``(N,K,H,W)``), float32 or, from
            :func:`segdemo.models.fuse.prepare_for_inference`, bfloat16: inputs are given in the
            dtype of its weights and the logits are read back as float32.
        normalization: ``{"mean": [3 floats], "std": [3 floats]}`` applied to RGB in [0, 1].
        card: the checkpoint card (classes, palette, metrics), kept for the UI.
        channels_last: run convolutions in NHWC, faster on CPUs.
    """

    def __init__(self, model: nn.Module, normalization: dict[str, list[float]], card: dict[str, Any] | None = None,
                 *, device: str | torch.device = "cpu", channels_last: bool = True) -> None:
        self.device = torch.device(device)
        self.channels_last = channels_last
        self.model = model.eval().to(self.device)
        self.dtype = next((p.dtype for p in self.model.parameters() if p.is_floating_point()), torch.float32)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.mean = torch.tensor(normalization["mean"], device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(normalization["std"], device=self.device).view(1, 3, 1, 1)
        # (x/255 − mean)/std as one multiply-subtract on the image's own bytes
        self._scale = 1.0 / (255.0 * self.std)
        self._shift = self.mean / self.std
        self.card = card or {}

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """``(H, W, 3)`` uint8 RGB → normalised ``(1, 3, H', W')`` in the model's dtype, ``min(H', W') >= 32``."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        # An (H, W, 3) buffer seen as (1, 3, H, W) already has channels-last strides: no reordering.
        if not image.flags.writeable:  # torch warns about (and must not alias) read-only buffers
            image = image.copy()
        x = torch.from_numpy(np.ascontiguousarray(image)).to(self.device).permute(2, 0, 1).unsqueeze(0)
        height, width = image.shape[:2]
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        if min(height, width) < MIN_SIDE:
            # bilinear weights sum to 1, so resizing before normalising gives the same values
            scale = MIN_SIDE / min(height, width)
            size = (max(MIN_SIDE, math.ceil(height * scale)), max(MIN_SIDE, math.ceil(width * scale)))
            x = F.interpolate(x.to(torch.float32), size=size, mode="bilinear", align_corners=False)
        # One fused pass straight from the bytes (about half the time of convert, multiply, subtract).
        x = torch.addcmul(-self._shift, x, self._scale)  # (1, 3, H, W) float32
        return x.contiguous(memory_format=layout).to(self.dtype)

    @torch.inference_mode()
    def __call__(self, image: np.ndarray) -> Segmentation:
        """Segment one ``(H, W, 3)`` uint8 RGB image."""
        t0 = time.perf_counter()
        x = self.preprocess(image)
        t1 = time.perf_counter()
        logits = self.model(x)  # (1, K, H', W')
        t2 = time.perf_counter()
        height, width = image.shape[:2]
        if logits.shape[-2:] != (height, width):
            logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
        # (K, H, W) float32 in one copy; channels-last halves the speed of the reductions. A float32
        # tensor's .to(float32, memory_format=...) returns it as it is, strides and all: hence contiguous().
        logits = logits[0].to(torch.float32, memory_format=torch.contiguous_format).contiguous()
        labels, confidence = labels_and_confidence(logits)
        result = Segmentation(
            labels=labels.cpu().numpy(),
            confidence=confidence.cpu().numpy(),
            device=str(self.device),
            precision="bf16" if self.dtype == torch.bfloat16 else "fp32",
            logits=logits,
        )
        t3 = time.perf_counter()
        result.timings = {"preprocess": (t1 - t0) * 1e3, "forward": (t2 - t1) * 1e3,
                          "postprocess": (t3 - t2) * 1e3}
        return result


class ModelCache:
    """A bounded, thread-safe cache of :class:`Segmenter` objects, built on first use.

    Thirty students asking for the same model at once build it once: a per-key lock makes
    the others wait for the first build instead of building it again.
    """

    def __init__(self, loader: Callable[[str], Segmenter], max_size: int = 6) -> None:
        self._loader = loader
        self._max_size = max_size
        self._items: OrderedDict[str, Segmenter] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def get(self, key: str) -> Segmenter:
        """The segmenter for ``key``, loading it (once) if needed."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            segmenter = self._loader(key)
            with self._lock:
                self._items[key] = segmenter
                self._items.move_to_end(key)
                while len(self._items) > self._max_size:
                    self._items.popitem(last=False)
            return segmenter

    @property
    def max_size(self) -> int:
        """How many segmenters the cache keeps."""
        return self._max_size

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._items

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
