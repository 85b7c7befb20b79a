"""Segmentation metrics in two stages: a confusion matrix, then every metric from it.

Definitions follow Long et al. 2015 ("Fully Convolutional Networks for Semantic
Segmentation", §5). With ``n[i, j]`` the number of pixels of ground-truth class ``i``
predicted as class ``j``, ``t_i = Σ_j n[i, j]`` the pixels of class ``i``:

- pixel accuracy  ``Σ_i n_ii / Σ_i t_i``
- mean accuracy   ``(1/K) Σ_i n_ii / t_i``
- mean IoU        ``(1/K) Σ_i n_ii / (t_i + Σ_j n_ji − n_ii)``
- frequency-weighted IoU ``(Σ_k t_k)^-1 Σ_i t_i n_ii / (t_i + Σ_j n_ji − n_ii)``

A class absent from both ground truth and prediction has IoU 0/0: it is NaN and left out of
the means, as MMSegmentation's ``IoUMetric`` and torchmetrics' ``MulticlassJaccardIndex``
(``average="macro"``) do. Data-set metrics come from the confusion matrix summed over all
images (:class:`ConfusionMatrix`), never from averaging per-image scores.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from segdemo.errors import InputError

ArrayLike = np.ndarray | torch.Tensor


def _as_numpy(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def pixel_counts(labels: ArrayLike, minlength: int = 0) -> np.ndarray:
    """Pixels per class: ``(max(minlength, labels.max() + 1),)`` int64 counts of non-negative integer labels.

    A uint8 label map (the usual case: at most 256 classes) is counted by torch, without numpy's copy to
    64-bit indices first (0.14 against 0.31 ms at 512×512).
    """
    labels = _as_numpy(labels)
    if labels.dtype == np.uint8:
        labels = np.ascontiguousarray(labels)
        if not labels.flags.writeable:  # torch must not alias (and warns about) a read-only buffer
            labels = labels.copy()
        return torch.bincount(torch.from_numpy(labels).view(-1), minlength=minlength).numpy()
    return np.bincount(labels.ravel(), minlength=minlength)


def confusion_matrix(pred: ArrayLike, target: ArrayLike, num_classes: int, ignore_index: int | None = 255
                     ) -> np.ndarray:
    """Count ``(ground truth, prediction)`` pairs with one ``bincount``.

    Args:
        pred: predicted labels, any shape, any integer dtype (numpy or torch).
        target: ground-truth labels, same shape as ``pred``.
        num_classes: K.
        ignore_index: target label whose pixels are not counted (``None``: none); any integer,
            including a negative one such as PyTorch's ``-100``.

    Returns:
        ``(K, K)`` int64 array; rows = ground truth, columns = prediction.

    Raises:
        InputError: shapes differ (``err.shape_mismatch``), or a label outside ``[0, K)`` that
            is not ``ignore_index`` (``err.label_range``, naming the values).
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))):
        raise ValueError(f"ignore_index must be an integer or None, got {ignore_index!r}")
    p, t = _as_numpy(pred), _as_numpy(target)
    if p.shape != t.shape:
        raise InputError("err.shape_mismatch", "Prediction {pred} and ground truth {target} differ in size.",
                         pred="×".join(map(str, p.shape)), target="×".join(map(str, t.shape)))
    for arr in (p, t):
        if arr.dtype.kind not in "biu":
            raise ValueError(f"labels must be integers, got dtype {arr.dtype}")
    p, t = p.reshape(-1), t.reshape(-1)
    if ignore_index is not None and ignore_index < 0:
        # A negative label cannot index a bincount row: drop those pixels first (one boolean pass).
        keep = t != ignore_index
        p, t = p[keep], t[keep]
    if p.size == 0:
        return np.zeros((num_classes, num_classes), dtype=np.int64)
    if min(int(p.min()), int(t.min())) < 0:
        raise _label_error(np.unique(np.concatenate([p[p < 0], t[t < 0]])), num_classes, ignore_index)
    # One bincount over a combined index row * width + column, sized by the labels actually
    # present: the ignore row and any out-of-range label land in bins of their own, so no mask
    # or boolean indexing is needed (they are read off the counts afterwards).
    rows, cols = int(t.max()) + 1, max(int(p.max()) + 1, num_classes)
    rows = max(rows, num_classes)
    if rows * cols > 1 << 24:  # huge labels (e.g. 16-bit): filter first instead
        keep = t != ignore_index if ignore_index is not None else slice(None)
        p, t = p[keep], t[keep]
        bad = np.unique(np.concatenate([p[p >= num_classes], t[t >= num_classes]]))
        if bad.size:
            raise _label_error(bad, num_classes, ignore_index)
        rows = cols = num_classes
    index = t.astype(np.intp) * cols
    index += p
    counts = np.bincount(index, minlength=rows * cols).reshape(rows, cols)
    if ignore_index is not None and 0 <= ignore_index < rows:
        counts[ignore_index] = 0
    bad_rows = np.flatnonzero(counts[num_classes:].sum(axis=1)) + num_classes
    bad_cols = np.flatnonzero(counts[:, num_classes:].sum(axis=0)) + num_classes
    if bad_rows.size or bad_cols.size:
        raise _label_error(np.union1d(bad_rows, bad_cols), num_classes, ignore_index)
    return counts[:num_classes, :num_classes].astype(np.int64, copy=False)


def _label_error(bad: np.ndarray, num_classes: int, ignore_index: int | None) -> InputError:
    return InputError("err.label_range", "Labels {values} are outside 0..{last} (ignore index {ignore}).",
                      values=", ".join(map(str, bad[:10].tolist())) + (" …" if bad.size > 10 else ""),
                      last=num_classes - 1, ignore=ignore_index)


def metrics_from_confusion(cm: np.ndarray) -> dict[str, Any]:
    """Every metric of the module docstring from a ``(K, K)`` confusion matrix.

    Returns:
        A dict with per-class arrays ``iou``, ``dice``, ``precision``, ``recall``, ``f1``,
        ``accuracy`` (= recall), ``support`` (ground-truth pixels) and scalars
        ``pixel_accuracy``, ``mean_accuracy``, ``miou``, ``mdice``, ``fwiou``. Per-class
        values are NaN where undefined (0/0); the means skip NaN.
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    tp = np.diag(cm)
    support = cm.sum(axis=1)  # t_i: ground-truth pixels per class
    predicted = cm.sum(axis=0)  # pixels predicted as each class
    total = cm.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        union = support + predicted - tp
        iou = np.where(union > 0, tp / union, np.nan)
        dice = np.where(support + predicted > 0, 2 * tp / (support + predicted), np.nan)
        precision = np.where(predicted > 0, tp / predicted, np.nan)
        recall = np.where(support > 0, tp / support, np.nan)
        f1 = dice.copy()  # per class, F1 of the pixel sets is the Dice coefficient
        freq = support / total if total > 0 else np.full_like(support, np.nan)
    present = ~np.isnan(iou)
    return {
        "iou": iou,
        "dice": dice,
        "precision": precision,
        "recall": recall,
        "accuracy": recall,
        "f1": f1,
        "support": support.astype(np.int64),
        "pixel_accuracy": float(tp.sum() / total) if total > 0 else float("nan"),
        "mean_accuracy": _nanmean(recall),
        "miou": _nanmean(iou),
        "mdice": _nanmean(dice),
        "fwiou": float((freq[present] * iou[present]).sum()) if total > 0 else float("nan"),
    }


def _nanmean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


class ConfusionMatrix:
    """Accumulates a confusion matrix over a data set (``update`` / ``compute`` / ``reset``).

    Args:
        num_classes: K.
        ignore_index: target label that is not counted.
    """

    def __init__(self, num_classes: int, ignore_index: int | None = 255) -> None:
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(self, pred: ArrayLike, target: ArrayLike) -> np.ndarray:
        """Add one image or batch; returns that batch's own confusion matrix."""
        cm = confusion_matrix(pred, target, self.num_classes, self.ignore_index)
        self.matrix += cm
        return cm

    def compute(self) -> dict[str, Any]:
        """Metrics of everything added since the last reset (:func:`metrics_from_confusion`)."""
        return metrics_from_confusion(self.matrix)

    def reset(self) -> None:
        self.matrix[:] = 0
