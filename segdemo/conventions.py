"""The same masks under three libraries' conventions: segdemo, torchmetrics and segmentation_models_pytorch.

A student who checks segdemo's numbers with another library gets different values from the same masks;
none is wrong, they answer different questions. Everything here is computed from one ``(K, K)``
confusion matrix (rows = truth, columns = prediction, ignored pixels already left out), reimplementing
each library's documented rule, so neither library is needed at run time (the tests compare with both):

- **Absent classes.** A class in neither truth nor prediction has IoU 0/0. segdemo: NaN, left out of
  the mean; torchmetrics ``MulticlassJaccardIndex``: 0 per class, left out of ``average="macro"``; smp
  ``iou_score(reduction="macro")``: ``zero_division=1``, so it counts as a perfect 1 in a mean over all K.
- **Mean accuracy.** segdemo: mean recall over the classes in the *truth*. torchmetrics
  ``MulticlassAccuracy(average="macro")``: also a class that is only *predicted* (recall 0). smp
  ``recall(reduction="macro")``: every class, 0/0 counted as 1.
- **Mean Dice / F1.** segdemo and torchmetrics ``MulticlassF1Score(average="macro")``: over classes present;
  smp ``f1_score``: all K, absent = 1.
- **Dice loss** of the prediction as hard probabilities (smooth 0). segdemo ``dice_loss``: mean of
  ``1 − Dice`` over the classes in the truth; smp ``DiceLoss``: the same terms, but divided by all K.
- **Focal loss** (γ) on logits that give the predicted class the probability ``confidence`` (softmax),
  as :func:`segdemo.lessons.losses.logits_from_labels`. segdemo ``focal_loss``: softmax, one term per
  pixel; smp ``FocalLoss(mode="multiclass")``: K independent *sigmoid* focal losses, one per class
  channel, averaged over classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Column order of :func:`compare`.
LIBRARIES = ("segdemo", "torchmetrics", "smp")


@dataclass(frozen=True)
class Row:
    """One quantity under the three conventions (NaN: the library has no such function, or 0/0)."""

    key: str
    segdemo: float
    torchmetrics: float
    smp: float

    def values(self) -> tuple[float, float, float]:
        return self.segdemo, self.torchmetrics, self.smp


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    return np.divide(num, den, out=np.full(num.shape, zero_division, dtype=np.float64), where=den > 0)


def _mean(values: np.ndarray, keep: np.ndarray) -> float:
    return float(values[keep].mean()) if keep.any() else float("nan")


def compare(cm: np.ndarray, *, confidence: float = 0.9, gamma: float = 2.0) -> list[Row]:
    """Rows ``miou``, ``mean_accuracy``, ``mean_dice``, ``dice_loss`` and ``focal_loss`` of the module docstring.

    Args:
        cm: ``(K, K)`` confusion matrix, K ≥ 2 (ignored pixels not counted).
        confidence: softmax probability the focal-loss logits give the predicted class, in (1/K, 1).
        gamma: focal parameter γ ≥ 0.

    Returns:
        Five :class:`Row`; all NaN if ``cm`` counts no pixel.
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] < 2:
        raise ValueError(f"confusion matrix must be square with K >= 2, got shape {cm.shape}")
    k = cm.shape[0]
    if not 1.0 / k < confidence < 1.0:
        raise ValueError(f"confidence must be in (1/K, 1) = ({1 / k:.3f}, 1), got {confidence}")
    if not math.isfinite(gamma) or gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    tp, truth, pred = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    union, cardinality = truth + pred - tp, truth + pred
    seen, in_truth = union > 0, truth > 0
    if cm.sum() == 0:
        nan = float("nan")
        return [Row(key, nan, nan, nan) for key in ("miou", "mean_accuracy", "mean_dice", "dice_loss", "focal_loss")]

    iou, iou_smp = _ratio(tp, union, np.nan), _ratio(tp, union, 1.0)
    recall, recall_smp = _ratio(tp, truth, 0.0), _ratio(tp, truth, 1.0)
    dice, dice_smp = _ratio(2 * tp, cardinality, np.nan), _ratio(2 * tp, cardinality, 1.0)
    dice_loss_terms = np.where(in_truth, 1.0 - _ratio(2 * tp, cardinality, 0.0), 0.0)
    nan = float("nan")
    return [
        Row("miou", _mean(iou, seen), _mean(iou, seen), float(iou_smp.mean())),
        Row("mean_accuracy", _mean(recall, in_truth), _mean(recall, seen), float(recall_smp.mean())),
        Row("mean_dice", _mean(dice, seen), _mean(dice, seen), float(dice_smp.mean())),
        Row("dice_loss", _mean(dice_loss_terms, in_truth), nan, float(dice_loss_terms.sum() / k)),
        Row("focal_loss", *_focal(cm, confidence, gamma)),
    ]


def _focal(cm: np.ndarray, confidence: float, gamma: float) -> tuple[float, float, float]:
    """(segdemo softmax focal, NaN, smp sigmoid focal) on logits ``m`` for the predicted class, 0 elsewhere.

    Every pixel's loss depends only on whether it is right, so two per-pixel values and the trace suffice.
    """
    k, total = cm.shape[0], cm.sum()
    right = np.trace(cm)
    wrong = total - right
    m = math.log(confidence * (k - 1) / (1 - confidence))  # softmax(m, 0, ..., 0)[0] = confidence

    def softmax_term(p_t: float) -> float:
        return -((1 - p_t) ** gamma) * math.log(p_t)

    def sigmoid_term(z: float, y: int) -> float:
        bce = math.log1p(math.exp(-z)) if y else math.log1p(math.exp(z))  # z <= log(K·c/(1−c)): no overflow
        return (1 - math.exp(-bce)) ** gamma * bce

    softmax = (right * softmax_term(confidence) + wrong * softmax_term((1 - confidence) / (k - 1))) / total
    # right pixel: its class channel (m, 1) and K−1 others (0, 0); wrong pixel: the predicted channel (m, 0),
    # the true one (0, 1) and K−2 others (0, 0). smp: mean over pixels per class, then over the K classes.
    per_right = sigmoid_term(m, 1) + (k - 1) * sigmoid_term(0.0, 0)
    per_wrong = sigmoid_term(m, 0) + sigmoid_term(0.0, 1) + (k - 2) * sigmoid_term(0.0, 0)
    sigmoid = (right * per_right + wrong * per_wrong) / (total * k)
    return softmax, float("nan"), sigmoid


__all__ = ["LIBRARIES", "Row", "compare"]
