"""Segmentation losses: pure functions (:mod:`.functional`) and the ``nn.Module``s the trainer uses.

>>> from segdemo.losses import create_loss, focal_loss
>>> loss_fn = create_loss("ce+dice")          # names: ce, dice, focal, ce+dice, lovasz, tversky
>>> loss = loss_fn(logits, target)             # logits (N, K, H, W), target (N, H, W) long -> scalar

Conventions (ignore_index, batch-level Dice, smoothing, absent classes) are in the functional
module's docstring and each function's.
"""

from segdemo.losses.functional import (
    binary_dice_loss,
    binary_focal_loss,
    combined_loss,
    cross_entropy,
    dice_loss,
    focal_loss,
    lovasz_softmax,
    tversky_loss,
)
from segdemo.losses.modules import (
    LOSSES,
    BinaryDiceLoss,
    BinaryFocalLoss,
    CEDiceLoss,
    CrossEntropyLoss,
    DiceLoss,
    FocalLoss,
    LovaszSoftmaxLoss,
    TverskyLoss,
    create_loss,
    list_losses,
)

__all__ = [
    "LOSSES", "BinaryDiceLoss", "BinaryFocalLoss", "CEDiceLoss", "CrossEntropyLoss", "DiceLoss",
    "FocalLoss", "LovaszSoftmaxLoss", "TverskyLoss", "binary_dice_loss", "binary_focal_loss", "combined_loss",
    "create_loss", "cross_entropy", "dice_loss", "focal_loss", "list_losses", "lovasz_softmax", "tversky_loss",
]
