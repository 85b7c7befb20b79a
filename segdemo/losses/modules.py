"""Thin ``nn.Module`` wrappers over :mod:`segdemo.losses.functional`, and the registry the trainer uses.

Every registered loss is called as ``loss(logits (N, K, H, W), target (N, H, W) long) -> scalar``.
Class weights are buffers, so ``loss.to(device)`` moves them with the model.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from segdemo.losses import functional as LF


def _buffer(values: Sequence[float] | Tensor | None) -> Tensor | None:
    return None if values is None else torch.as_tensor(values, dtype=torch.float32)


class CrossEntropyLoss(nn.Module):
    """Pixel-wise cross-entropy with optional class weights (see :func:`~.functional.cross_entropy`)."""

    def __init__(self, weight: Sequence[float] | Tensor | None = None, ignore_index: int = 255) -> None:
        super().__init__()
        self.register_buffer("weight", _buffer(weight))
        self.ignore_index = ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.cross_entropy(logits, target, weight=self.weight, ignore_index=self.ignore_index)


class DiceLoss(nn.Module):
    """Multi-class soft Dice (softmax, per class over the batch, mean); see :func:`~.functional.dice_loss`."""

    def __init__(self, smooth: float = 1.0, include_absent: bool = False, ignore_index: int = 255) -> None:
        super().__init__()
        LF._check_smooth(smooth)
        self.smooth, self.include_absent, self.ignore_index = smooth, include_absent, ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.dice_loss(logits, target, smooth=self.smooth, include_absent=self.include_absent,
                            ignore_index=self.ignore_index)


class BinaryDiceLoss(nn.Module):
    """The course's binary sigmoid Dice for one foreground channel; see :func:`~.functional.binary_dice_loss`."""

    def __init__(self, smooth: float = 1.0, ignore_index: int | None = None) -> None:
        super().__init__()
        self.smooth, self.ignore_index = smooth, ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.binary_dice_loss(logits, target, smooth=self.smooth, ignore_index=self.ignore_index)


class FocalLoss(nn.Module):
    """Softmax Focal loss (Lin et al. 2017); see :func:`~.functional.focal_loss`.

    Args:
        gamma: focusing parameter γ ≥ 0.
        alpha: ``None``, one number for all classes, or one weight per class.
    """

    def __init__(self, gamma: float = 2.0, alpha: float | Sequence[float] | Tensor | None = None,
                 ignore_index: int = 255) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma, self.ignore_index = gamma, ignore_index
        self.alpha_scalar = float(alpha) if isinstance(alpha, (int, float)) else None
        self.register_buffer("alpha", None if self.alpha_scalar is not None else _buffer(alpha))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        alpha = self.alpha_scalar if self.alpha_scalar is not None else self.alpha
        return LF.focal_loss(logits, target, gamma=self.gamma, alpha=alpha, ignore_index=self.ignore_index)


class BinaryFocalLoss(nn.Module):
    """Sigmoid Focal loss with the paper's α / (1 − α); see :func:`~.functional.binary_focal_loss`."""

    def __init__(self, gamma: float = 2.0, alpha: float | None = 0.25, ignore_index: int | None = None) -> None:
        super().__init__()
        self.gamma, self.alpha, self.ignore_index = gamma, alpha, ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.binary_focal_loss(logits, target, gamma=self.gamma, alpha=self.alpha,
                                    ignore_index=self.ignore_index)


class LovaszSoftmaxLoss(nn.Module):
    """Lovász-Softmax (Berman et al. 2018), a surrogate of 1 − IoU; see :func:`~.functional.lovasz_softmax`."""

    def __init__(self, classes: Literal["present", "all"] | Sequence[int] = "present", ignore_index: int = 255) -> None:
        super().__init__()
        self.classes, self.ignore_index = classes, ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.lovasz_softmax(logits, target, classes=self.classes, ignore_index=self.ignore_index)


class TverskyLoss(nn.Module):
    """Tversky loss: α prices false positives, β false negatives; see :func:`~.functional.tversky_loss`."""

    def __init__(self, alpha: float = 0.3, beta: float = 0.7, smooth: float = 1.0, include_absent: bool = False,
                 ignore_index: int = 255) -> None:
        super().__init__()
        if alpha < 0 or beta < 0:
            raise ValueError(f"alpha and beta must be >= 0, got {alpha}, {beta}")
        LF._check_smooth(smooth)
        self.alpha, self.beta, self.smooth = alpha, beta, smooth
        self.include_absent, self.ignore_index = include_absent, ignore_index

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.tversky_loss(logits, target, alpha=self.alpha, beta=self.beta, smooth=self.smooth,
                               include_absent=self.include_absent, ignore_index=self.ignore_index)


class CEDiceLoss(nn.Module):
    """Cross-entropy + multi-class soft Dice on the same logits; see :func:`~.functional.combined_loss`.

    The course's ``CombinedLoss`` put a binary Dice on K-class logits; this one works for any K ≥ 2.
    """

    def __init__(self, ce_weight: float = 1.0, dice_weight: float = 1.0,
                 class_weights: Sequence[float] | Tensor | None = None, smooth: float = 1.0,
                 ignore_index: int = 255) -> None:
        super().__init__()
        if ce_weight < 0 or dice_weight < 0:
            raise ValueError(f"ce_weight and dice_weight must be >= 0, got {ce_weight}, {dice_weight}")
        self.ce_weight, self.dice_weight, self.smooth, self.ignore_index = ce_weight, dice_weight, smooth, ignore_index
        self.register_buffer("class_weights", _buffer(class_weights))

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        return LF.combined_loss(logits, target, ce_weight=self.ce_weight, dice_weight=self.dice_weight,
                                class_weights=self.class_weights, smooth=self.smooth,
                                ignore_index=self.ignore_index)


#: The losses the trainer can pick by name.
LOSSES: dict[str, type[nn.Module]] = {
    "ce": CrossEntropyLoss,
    "dice": DiceLoss,
    "focal": FocalLoss,
    "ce+dice": CEDiceLoss,
    "lovasz": LovaszSoftmaxLoss,
    "tversky": TverskyLoss,
}



def list_losses() -> list[str]:
    """The names :func:`create_loss` accepts."""
    return list(LOSSES)


def create_loss(name: str, **options: object) -> nn.Module:
    """Build the loss called ``name`` (a key of :data:`LOSSES`) with its keyword ``options``.

    Raises:
        ValueError: unknown name (the message lists the valid ones) or an option the loss lacks.
    """
    try:
        cls = LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(LOSSES)}") from None
    parameters = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(options) - set(parameters) - {"self"})
    if unknown:
        valid = ", ".join(p for p in parameters if p != "self")
        raise ValueError(f"loss {name!r} has no option(s) {unknown}; its options are: {valid}")
    return cls(**options)
