"""Segmentation losses as pure functions of logits and integer targets.

One contract for every multi-class loss here:

- ``logits``: ``(N, K, H, W)`` float, raw scores before softmax, ``K >= 2``.
- ``target``: ``(N, H, W)`` integer class ids in ``[0, K)``; pixels equal to ``ignore_index``
  (default 255, as in Pascal VOC) take no part: changing their logits changes nothing.
- The result is a scalar tensor (``reduction="mean"``); ``"none"`` gives per-pixel maps for the
  pixel-wise losses (CE, Focal) and per-class values for the region losses (Dice, Tversky, Lovász).

Region losses (Dice, Tversky, Lovász) sum their statistics over the whole batch ("batch Dice",
smp's default), so a class missing from one image but present in another is still scored stably.
The binary forms (``binary_*``) take a single sigmoid channel ``(N, 1, H, W)`` or ``(N, H, W)``
and targets in ``{0, 1}``. Binary masks are saved as 0/255, so 255 cannot also be their default
ignore label: the binary losses ignore nothing unless told (``ignore_index=None``, as smp), and a raw
0/255 mask is refused with a message instead of being read as "all foreground ignored".

``ignore_index`` may be any integer, PyTorch's ``-100`` included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

Reduction = Literal["mean", "sum", "none"]
ClassWeights = Sequence[float] | Tensor

# (1 - p_t) is clamped here before the power: d/dx x**gamma is infinite at x = 0 for gamma < 1,
# and a saturated prediction (p_t == 1.0 in float32) would otherwise turn gradients into NaN.
_TINY = 1e-12


# ---------------------------------------------------------------- argument checks and helpers
def _check_reduction(reduction: str, allowed: tuple[str, ...] = ("mean", "sum", "none")) -> None:
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")


def _check_target(logits: Tensor, target: Tensor, ignore_index: int) -> Tensor:
    """Validate the multi-class contract; return ``target`` as int64."""
    if not isinstance(logits, Tensor) or not isinstance(target, Tensor):
        raise ValueError("logits and target must be torch tensors")
    if logits.dim() != 4 or not logits.is_floating_point():
        raise ValueError(f"logits must be a float (N, K, H, W) tensor, got {logits.dtype} {tuple(logits.shape)}")
    if logits.shape[1] < 2:
        raise ValueError("multi-class losses need K >= 2 channels; for a single sigmoid channel use "
                         "binary_dice_loss / binary_focal_loss")
    if target.dim() != 3 or target.is_floating_point() or target.dtype == torch.bool:
        raise ValueError(f"target must be an integer (N, H, W) tensor, got {target.dtype} {tuple(target.shape)}")
    if target.shape[0] != logits.shape[0] or target.shape[1:] != logits.shape[2:]:
        raise ValueError(f"target {tuple(target.shape)} does not match logits {tuple(logits.shape)} "
                         "(expected (N, H, W) for (N, K, H, W))")
    target = target.long()
    num_classes = logits.shape[1]
    bad = ((target < 0) | (target >= num_classes)) & (target != ignore_index)
    if bool(bad.any()):
        values = torch.unique(target[bad])[:10].tolist()
        raise ValueError(f"target has labels {values} outside [0, {num_classes}) that are not "
                         f"ignore_index={ignore_index}")
    return target


def _valid_and_safe(target: Tensor, ignore_index: int) -> tuple[Tensor, Tensor]:
    """``valid`` (N, H, W) bool, and the target with ignored pixels set to class 0 (safe to index)."""
    valid = target != ignore_index
    return valid, torch.where(valid, target, torch.zeros_like(target))


def _class_weights(weight: ClassWeights | None, num_classes: int, like: Tensor, name: str) -> Tensor | None:
    if weight is None:
        return None
    w = torch.as_tensor(weight, dtype=like.dtype, device=like.device)
    if w.shape != (num_classes,):
        raise ValueError(f"{name} must have one value per class ({num_classes}), got shape {tuple(w.shape)}")
    if bool((w < 0).any()) or not bool(torch.isfinite(w).all()):
        raise ValueError(f"{name} must be finite and non-negative, got {w.tolist()}")
    return w


def _reduce(loss: Tensor, count: Tensor, reduction: str) -> Tensor:
    """Sum, or weighted mean ``sum(loss) / sum(count)`` that is 0 (not NaN) when everything is ignored."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    denominator = count.sum().detach()
    return total / torch.where(denominator > 0, denominator, torch.ones_like(denominator))


def _nll(logits: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int) -> Tensor:
    """−w_t log p_t per pixel, ``(N, H, W)``, 0 where ignored (PyTorch's fused kernel)."""
    return F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index, reduction="none")


# ---------------------------------------------------------------- pixel-wise losses
def cross_entropy(logits: Tensor, target: Tensor, *, weight: ClassWeights | None = None,
                  ignore_index: int = 255, reduction: Reduction = "mean") -> Tensor:
    """Pixel-wise cross-entropy, −w_t log p_t, with optional class weights.

    Same values as ``torch.nn.functional.cross_entropy`` (the weighted mean divides by the sum of
    the weights of the counted pixels), except that a batch whose pixels are all ignored gives 0
    with zero gradients instead of NaN.

    Args:
        logits: ``(N, K, H, W)`` raw scores.
        target: ``(N, H, W)`` class ids or ``ignore_index``.
        weight: ``(K,)`` class weights, e.g. inverse class frequencies for rare classes.
        ignore_index: label whose pixels are left out.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (per-pixel ``(N, H, W)``, 0 where ignored).

    Returns:
        A scalar, or ``(N, H, W)`` for ``"none"``.
    """
    _check_reduction(reduction)
    target = _check_target(logits, target, ignore_index)
    valid, safe = _valid_and_safe(target, ignore_index)
    w = _class_weights(weight, logits.shape[1], logits, "weight")
    pixel_weight = valid.to(logits.dtype) if w is None else w[safe] * valid  # (N, H, W)
    return _reduce(_nll(logits, target, w, ignore_index), pixel_weight, reduction)


def _alpha_t(alpha: float | ClassWeights | None, safe: Tensor, num_classes: int, like: Tensor) -> Tensor | float:
    if alpha is None:
        return 1.0
    if isinstance(alpha, (int, float)):
        if not math.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a non-negative number or one weight per class, got {alpha}")
        return float(alpha)
    return _class_weights(alpha, num_classes, like, "alpha")[safe]


def focal_loss(logits: Tensor, target: Tensor, *, gamma: float = 2.0, alpha: float | ClassWeights | None = None,
               ignore_index: int = 255, reduction: Reduction = "mean") -> Tensor:
    """Softmax Focal loss (Lin et al. 2017), FL(p_t) = −α_t (1 − p_t)^γ log p_t.

    ``(1 − p_t)^γ`` shrinks the loss of pixels that are already right (large p_t), so the rare,
    hard pixels dominate the gradient. γ = 0 with ``alpha=None`` is exactly cross-entropy.

    α convention: a number scales every pixel alike (as kornia's ``focal_loss``); a sequence of K
    weights gives α_t = alpha[true class] (like CE's class weights). The mean is over counted pixels
    and is *not* divided by α (unlike weighted CE), as in the paper and torchvision's
    ``sigmoid_focal_loss``. For the paper's binary α / (1 − α) see :func:`binary_focal_loss`.

    Args:
        logits: ``(N, K, H, W)`` raw scores.
        target: ``(N, H, W)`` class ids or ``ignore_index``.
        gamma: focusing parameter γ ≥ 0 (the paper's best: 2).
        alpha: ``None`` (α_t = 1), a number, or ``(K,)`` per-class weights.
        ignore_index: label whose pixels are left out.
        reduction: ``"mean"`` | ``"sum"`` | ``"none"`` (per-pixel ``(N, H, W)``).

    Returns:
        A scalar, or ``(N, H, W)`` for ``"none"``.
    """
    _check_reduction(reduction)
    if not math.isfinite(gamma) or gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    target = _check_target(logits, target, ignore_index)
    valid, safe = _valid_and_safe(target, ignore_index)
    log_pt = -_nll(logits, target, None, ignore_index)  # (N, H, W), 0 where ignored
    # -expm1(log p_t) = 1 - p_t without the cancellation of 1 - exp(.) when p_t is close to 1
    modulating = (-torch.expm1(log_pt)).clamp_min(_TINY) ** gamma
    alpha_t = _alpha_t(alpha, safe, logits.shape[1], logits)
    loss = -alpha_t * modulating * log_pt * valid
    return _reduce(loss, valid, reduction)


def _binary_inputs(logits: Tensor, target: Tensor, ignore_index: int | None) -> tuple[Tensor, Tensor, Tensor]:
    """``(N, H, W)`` logits, 0/1 float target and valid mask for the sigmoid forms."""
    if not isinstance(logits, Tensor) or not isinstance(target, Tensor) or not logits.is_floating_point():
        raise ValueError("logits must be a float tensor and target a tensor")
    if logits.dim() == 4:
        if logits.shape[1] != 1:
            raise ValueError(f"binary losses take one sigmoid channel (N, 1, H, W), got {tuple(logits.shape)}; "
                             "for K classes use the multi-class losses")
        logits = logits[:, 0]
    if logits.dim() != 3 or target.shape != logits.shape:
        raise ValueError(f"binary logits (N, 1, H, W) or (N, H, W) and target (N, H, W) must match, got "
                         f"{tuple(logits.shape)} and {tuple(target.shape)}")
    valid = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    bad = (target != 0) & (target != 1) & valid
    if bool(bad.any()):
        values = torch.unique(target[bad])[:5].tolist()
        hint = (" A 0/255 mask: divide it by 255 first (mask // 255, or mask > 127)." if 255 in values else "")
        raise ValueError(f"binary targets must be 0 or 1, got {values} (ignore_index={ignore_index}).{hint} "
                         "To leave pixels out, pass their label as ignore_index.")
    y = torch.where(valid, target, torch.zeros_like(target)).to(logits.dtype)
    return logits, y, valid


def binary_focal_loss(logits: Tensor, target: Tensor, *, gamma: float = 2.0, alpha: float | None = None,
                      ignore_index: int | None = None, reduction: Reduction = "mean") -> Tensor:
    """Sigmoid Focal loss of the paper: α_t = α for the foreground, 1 − α for the background.

    Equal to ``torchvision.ops.sigmoid_focal_loss`` (whose default is α = 0.25) on the counted
    pixels; ``alpha=None`` weighs both classes 1.

    Args:
        logits: ``(N, 1, H, W)`` or ``(N, H, W)`` foreground scores.
        target: ``(N, H, W)`` with 0, 1 or ``ignore_index``.
        ignore_index: label whose pixels are left out (``None``: none, the default; see the module doc).

    Returns:
        A scalar, or ``(N, H, W)`` for ``"none"``.
    """
    _check_reduction(reduction)
    if not math.isfinite(gamma) or gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    if alpha is not None and not 0 <= alpha <= 1:
        raise ValueError(f"binary alpha must lie in [0, 1], got {alpha}")
    logits, y, valid = _binary_inputs(logits, target, ignore_index)
    log_pt = -F.binary_cross_entropy_with_logits(logits, y, reduction="none")  # (N, H, W)
    modulating = (-torch.expm1(log_pt)).clamp_min(_TINY) ** gamma
    alpha_t = 1.0 if alpha is None else alpha * y + (1 - alpha) * (1 - y)
    return _reduce(-alpha_t * modulating * log_pt * valid, valid, reduction)


# ---------------------------------------------------------------- region losses
def _soft_counts(logits: Tensor, target: Tensor, ignore_index: int,
                 per_image: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """Soft true positives, predicted mass and ground-truth size per class, each ``(K,)`` (``(N, K)`` per image)."""
    target = _check_target(logits, target, ignore_index)
    valid, safe = _valid_and_safe(target, ignore_index)
    mask = valid.unsqueeze(1).to(logits.dtype)  # (N, 1, H, W)
    probs = logits.softmax(dim=1) * mask  # (N, K, H, W)
    onehot = torch.zeros_like(probs).scatter_(1, safe.unsqueeze(1), 1.0) * mask  # (N, K, H, W)
    dims = (2, 3) if per_image else (0, 2, 3)
    return (probs * onehot).sum(dims), probs.sum(dims), onehot.sum(dims)


def _reduce_classes(per_class: Tensor, keep: Tensor, reduction: str) -> Tensor:
    """Mean over the kept classes (0 if none); ``"none"``: ``(K,)`` with NaN for left-out classes.

    Per image (``(N, K)`` inputs): each image's mean over its kept classes, then the mean over the images
    (the Lovász reference's ``per_image=True``); ``"none"``: ``(N, K)``.
    """
    _check_reduction(reduction, ("mean", "none"))
    if reduction == "none":
        return torch.where(keep, per_class, torch.full_like(per_class, float("nan")))
    if per_class.dim() == 2:
        kept = torch.where(keep, per_class, torch.zeros_like(per_class)).sum(dim=1)
        return (kept / keep.sum(dim=1).clamp_min(1)).mean()
    if not bool(keep.any()):
        return per_class.sum() * 0.0  # keeps the graph: zero gradient, never NaN
    return per_class[keep].mean()


def _tversky(tp: Tensor, fp: Tensor, fn: Tensor, alpha: float, beta: float, smooth: float,
             tp_scale: float = 1.0) -> Tensor:
    numerator = tp_scale * tp + smooth
    denominator = tp_scale * tp + alpha * fp + beta * fn + smooth
    score = numerator / denominator.clamp_min(_TINY)
    # 0/0 (smooth = 0, nothing predicted and nothing to find) counts as perfect agreement
    return torch.where(denominator > 0, 1.0 - score, torch.zeros_like(score))


def _check_smooth(smooth: float) -> None:
    if not math.isfinite(smooth) or smooth < 0:
        raise ValueError(f"smooth must be >= 0, got {smooth}")


def dice_loss(logits: Tensor, target: Tensor, *, smooth: float = 1.0, include_absent: bool = False,
              ignore_index: int = 255, reduction: Literal["mean", "none"] = "mean", per_image: bool = False) -> Tensor:
    """Multi-class soft Dice loss: softmax, one Dice per class over the batch, then the mean.

    For class k, with p the softmax probabilities and g the one-hot target (ignored pixels removed),
    ``loss_k = 1 − (2 Σ p·g + smooth) / (Σ p + Σ g + smooth)``.

    ``smooth`` (Laplace smoothing, 1 as in the course and many tutorials; smp's default is 0) is added
    to numerator and denominator: it keeps 0/0 away and softens the loss of small classes.

    Classes absent from the target (over the whole batch) are left out of the mean by default, like
    Lovász's ``"present"`` (smp zeroes them but still divides by K). ``include_absent=True`` counts
    them, as MONAI does: loss ≈ 0 only if the model puts (almost) no probability on them anywhere, and
    → 1 as that leaked probability grows, a strong push towards confident predictions.

    Args:
        logits: ``(N, K, H, W)`` raw scores.
        target: ``(N, H, W)`` class ids or ``ignore_index``.
        smooth: the additive constant above, ≥ 0.
        include_absent: whether classes absent from the target count in the mean.
        ignore_index: label whose pixels are left out.
        reduction: ``"mean"`` or ``"none"`` (``(K,)``, NaN for left-out classes).
        per_image: one Dice per class and image (counts summed over each image alone, absent classes
            judged per image), then the mean over the images; ``"none"`` gives ``(N, K)``.

    Returns:
        A scalar in [0, 1], or ``(K,)`` (``(N, K)`` per image).
    """
    _check_smooth(smooth)
    tp, pred_sum, true_sum = _soft_counts(logits, target, ignore_index, per_image)
    per_class = _tversky(tp, pred_sum - tp, true_sum - tp, 1.0, 1.0, smooth, tp_scale=2.0)
    keep = torch.ones_like(true_sum, dtype=torch.bool) if include_absent else true_sum > 0
    return _reduce_classes(per_class, keep, reduction)


def tversky_loss(logits: Tensor, target: Tensor, *, alpha: float = 0.3, beta: float = 0.7, smooth: float = 1.0,
                 include_absent: bool = False, ignore_index: int = 255,
                 reduction: Literal["mean", "none"] = "mean", per_image: bool = False) -> Tensor:
    """Multi-class Tversky loss (Salehi et al. 2017): Dice with separate prices for FP and FN.

    ``loss_k = 1 − (TP + smooth) / (TP + α·FP + β·FN + smooth)`` with soft counts as in
    :func:`dice_loss`. α weighs false positives, β false negatives; β > α (default 0.3 / 0.7)
    favours recall, useful when missing a small structure is worse than a false alarm.
    α = β = 0.5 gives Dice: exactly ``dice_loss(smooth=2 * smooth)`` (smp's formula, same convention).

    Args:
        alpha, beta: weights of false positives and false negatives, ≥ 0.
        smooth, include_absent, ignore_index, reduction, per_image: as in :func:`dice_loss`.

    Returns:
        A scalar, or ``(K,)`` (``(N, K)`` per image).
    """
    _check_smooth(smooth)
    if not (math.isfinite(alpha) and math.isfinite(beta)) or alpha < 0 or beta < 0:
        raise ValueError(f"alpha and beta must be >= 0, got {alpha}, {beta}")
    tp, pred_sum, true_sum = _soft_counts(logits, target, ignore_index, per_image)
    per_class = _tversky(tp, pred_sum - tp, true_sum - tp, alpha, beta, smooth)
    keep = torch.ones_like(true_sum, dtype=torch.bool) if include_absent else true_sum > 0
    return _reduce_classes(per_class, keep, reduction)


def binary_dice_loss(logits: Tensor, target: Tensor, *, smooth: float = 1.0,
                     ignore_index: int | None = None) -> Tensor:
    """The course's binary soft Dice: sigmoid, then one Dice over all pixels of the batch.

    ``1 − (2 Σ p·y + smooth) / (Σ p + Σ y + smooth)`` with p = sigmoid(logits). Only for one
    foreground channel; with K-class logits use :func:`dice_loss` (mixing the two is the course's
    ``CombinedLoss`` bug).

    Args:
        logits: ``(N, 1, H, W)`` or ``(N, H, W)``.
        target: ``(N, H, W)`` with 0, 1 or ``ignore_index``.
        ignore_index: label whose pixels are left out (``None``: none, the default; see the module doc).

    Returns:
        A scalar in [0, 1].
    """
    _check_smooth(smooth)
    logits, y, valid = _binary_inputs(logits, target, ignore_index)
    p = torch.sigmoid(logits) * valid
    y = y * valid
    intersection = (p * y).sum()
    return 1.0 - (2.0 * intersection + smooth) / (p.sum() + y.sum() + smooth).clamp_min(_TINY)


def _lovasz_grad(fg_sorted: Tensor) -> Tensor:
    """Gradient of the Lovász extension of the Jaccard loss for each row (last dim) of sorted ground truth."""
    gts = fg_sorted.sum(dim=-1, keepdim=True)  # (..., K, 1)
    intersection = gts - fg_sorted.cumsum(dim=-1)  # (..., K, P)
    union = gts + (1.0 - fg_sorted).cumsum(dim=-1)  # (..., K, P), >= 1
    jaccard = 1.0 - intersection / union
    return torch.cat([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], dim=-1)


def lovasz_softmax(logits: Tensor, target: Tensor, *, classes: Literal["present", "all"] | Sequence[int] = "present",
                   ignore_index: int = 255, reduction: Literal["mean", "none"] = "mean",
                   per_image: bool = False) -> Tensor:
    """Lovász-Softmax loss (Berman et al. 2018): a smooth surrogate of 1 − IoU per class.

    For class c, the errors ``|g_c − p_c|`` over all counted pixels of the batch are sorted and
    weighted by the Lovász gradient of the Jaccard loss. For a hard (one-hot) prediction it equals
    ``1 − IoU_c`` exactly; the mean over classes tracks 1 − mIoU. Follows the authors' reference
    (``per_image=False``), vectorised over classes.

    Args:
        logits: ``(N, K, H, W)`` raw scores.
        target: ``(N, H, W)`` class ids or ``ignore_index``.
        classes: ``"present"`` (classes in the target; the reference's default), ``"all"``, or ids.
        ignore_index: label whose pixels are left out.
        reduction: ``"mean"`` or ``"none"`` (``(K,)``, NaN for left-out classes).
        per_image: the reference's ``per_image=True``: one loss per class and image, then the mean over
            the images of each image's mean; ``"none"`` gives ``(N, K)``.

    Returns:
        A scalar in [0, 1], or ``(K,)`` (``(N, K)`` per image).
    """
    target = _check_target(logits, target, ignore_index)
    num_classes = logits.shape[1]
    if per_image:
        # Ignored pixels get error 0 and no ground truth: sorted after every positive error, they add
        # nothing (error × gradient = 0) and change no earlier gradient, so each image keeps its shape.
        valid, safe = _valid_and_safe(target, ignore_index)
        valid = valid.flatten(1).unsqueeze(1).to(logits.dtype)  # (N, 1, P)
        probs = logits.softmax(dim=1).flatten(2)  # (N, K, P)
        fg = torch.zeros_like(probs).scatter_(1, safe.flatten(1).unsqueeze(1), 1.0) * valid  # (N, K, P)
        errors_sorted, order = ((fg - probs).abs() * valid).sort(dim=2, descending=True)
        per_class = (errors_sorted * _lovasz_grad(fg.gather(2, order))).sum(dim=2)  # (N, K)
    else:
        valid = (target != ignore_index).flatten()
        probs = logits.softmax(dim=1).transpose(0, 1).reshape(num_classes, -1)[:, valid]  # (K, P)
        fg = torch.zeros_like(probs).scatter_(0, target.flatten()[valid].unsqueeze(0), 1.0)  # (K, P)
        errors_sorted, order = (fg - probs).abs().sort(dim=1, descending=True)
        per_class = (errors_sorted * _lovasz_grad(fg.gather(1, order))).sum(dim=1)  # (K,)
    if classes == "present":
        keep = fg.sum(dim=-1) > 0
    elif classes == "all":
        keep = torch.ones_like(per_class, dtype=torch.bool)
    else:
        ids = list(classes)
        if not ids or any(not 0 <= int(c) < num_classes for c in ids):
            raise ValueError(f"classes must be 'present', 'all' or ids in [0, {num_classes}), got {classes!r}")
        keep = torch.zeros(num_classes, dtype=torch.bool, device=logits.device)
        keep[torch.as_tensor(ids, device=logits.device)] = True
        keep = keep.expand_as(per_class)
    return _reduce_classes(per_class, keep, reduction)


def combined_loss(logits: Tensor, target: Tensor, *, ce_weight: float = 1.0, dice_weight: float = 1.0,
                  class_weights: ClassWeights | None = None, smooth: float = 1.0, ignore_index: int = 255) -> Tensor:
    """Cross-entropy + multi-class soft Dice, both on the same K-class logits.

    ``ce_weight · CE + dice_weight · Dice``: CE gives every pixel a gradient from the start, Dice
    keeps small classes from being drowned by the background. Unlike the course's ``CombinedLoss``
    (a binary sigmoid Dice on K-channel logits, which breaks for K > 2), both terms are softmax.

    Returns:
        A scalar.
    """
    if ce_weight < 0 or dice_weight < 0:
        raise ValueError(f"ce_weight and dice_weight must be >= 0, got {ce_weight}, {dice_weight}")
    ce = cross_entropy(logits, target, weight=class_weights, ignore_index=ignore_index)
    dice = dice_loss(logits, target, smooth=smooth, ignore_index=ignore_index)
    return ce_weight * ce + dice_weight * dice
