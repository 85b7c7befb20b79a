"""segdemo.conventions: the same masks under segdemo's, torchmetrics' and smp's rules.

Hand-worked on a 3-class case with an absent class and a class that is only predicted, then checked
against torchmetrics and segmentation_models_pytorch themselves (test-only dependencies).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from segdemo.conventions import compare
from segdemo.lessons.losses import logits_from_labels
from segdemo.losses import dice_loss, focal_loss
from segdemo.metrics import confusion_matrix

# 4 classes on 16 pixels (+2 void): class 3 never occurs; class 2 is predicted but not in the truth.
TRUTH = np.array([[0, 0, 0, 0, 1, 1], [1, 1, 0, 0, 255, 255], [0, 1, 0, 1, 0, 0]])
PRED = np.array([[0, 0, 0, 2, 1, 1], [1, 0, 0, 0, 7, 7], [0, 1, 0, 1, 0, 0]])
K = 4


def rows(confidence=0.9, gamma=2.0):
    cm = confusion_matrix(PRED, TRUTH, K)
    return {r.key: r for r in compare(cm, confidence=confidence, gamma=gamma)}


def test_hand_worked_conventions():
    cm = confusion_matrix(PRED, TRUTH, K)
    # by hand: truth 0 (10 px): 9 right, 1 -> class 2; truth 1 (6 px): 5 right, 1 -> class 0
    assert cm.tolist() == [[9, 0, 1, 0], [1, 5, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    r = rows()
    # IoU 0 = 9/11, IoU 1 = 5/6, IoU 2 = 0/1, class 3 absent
    assert r["miou"].segdemo == pytest.approx((9 / 11 + 5 / 6 + 0) / 3)
    assert r["miou"].smp == pytest.approx((9 / 11 + 5 / 6 + 0 + 1) / 4)
    tp, t, p = np.diag(cm), cm.sum(1), cm.sum(0)
    iou = tp / np.maximum(t + p - tp, 1)
    # segdemo and torchmetrics: classes 0, 1, 2 (2 is predicted, IoU 0); smp adds class 3 as a perfect 1
    assert r["miou"].segdemo == pytest.approx(iou[:3].mean())
    assert r["miou"].torchmetrics == pytest.approx(iou[:3].mean())
    assert r["miou"].smp == pytest.approx((iou[:3].sum() + 1) / 4)
    recall = tp[:2] / t[:2]
    assert r["mean_accuracy"].segdemo == pytest.approx(recall.mean())  # over the truth's classes 0, 1
    assert r["mean_accuracy"].torchmetrics == pytest.approx(recall.sum() / 3)  # + class 2 with recall 0
    assert r["mean_accuracy"].smp == pytest.approx((recall.sum() + 2) / 4)  # + classes 2, 3 as 0/0 = 1
    dice = 2 * tp[:2] / (t[:2] + p[:2])
    assert r["dice_loss"].segdemo == pytest.approx((1 - dice).mean())
    assert r["dice_loss"].smp == pytest.approx((1 - dice).sum() / 4)
    assert math.isnan(r["dice_loss"].torchmetrics) and math.isnan(r["focal_loss"].torchmetrics)


def test_binary_focal_conventions_by_hand():
    # K = 2, one right pixel and one wrong, confidence 0.9, gamma 0 (plain cross-entropy terms)
    r = compare(np.array([[1, 1], [0, 0]]), confidence=0.9, gamma=0.0)[-1]
    assert r.segdemo == pytest.approx((-math.log(0.9) - math.log(0.1)) / 2)
    # logits (m, 0) with m = log 9: sigmoid(m) = 0.9, sigmoid(0) = 0.5
    right = -math.log(0.9) + math.log(2)  # its channel (0.9 vs 1) + the other channel (0.5 vs 0)
    wrong = -math.log(0.1) + math.log(2)  # predicted channel (0.9 vs 0) + true channel (0.5 vs 1)
    assert r.smp == pytest.approx((right + wrong) / (2 * 2))


def test_metrics_agree_with_torchmetrics():
    from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score, MulticlassJaccardIndex

    p, t = torch.tensor(PRED), torch.tensor(TRUTH)
    r = rows()
    options = {"num_classes": K, "average": "macro", "ignore_index": 255}
    assert r["miou"].torchmetrics == pytest.approx(MulticlassJaccardIndex(**options)(p, t).item(), abs=1e-6)
    assert r["mean_accuracy"].torchmetrics == pytest.approx(MulticlassAccuracy(**options)(p, t).item(), abs=1e-6)
    assert r["mean_dice"].torchmetrics == pytest.approx(MulticlassF1Score(**options)(p, t).item(), abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_random_masks_agree_with_torchmetrics(seed):
    from torchmetrics.classification import MulticlassAccuracy, MulticlassJaccardIndex

    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 7))
    t = rng.integers(0, k - 1, (2, 9, 11))  # the last class never in the truth
    t[rng.random(t.shape) < 0.1] = 255
    p = np.where(rng.random(t.shape) < 0.6, np.where(t == 255, 0, t), rng.integers(0, k, t.shape))
    r = {row.key: row for row in compare(confusion_matrix(p, t, k))}
    options = {"num_classes": k, "average": "macro", "ignore_index": 255}
    pt, tt = torch.tensor(p), torch.tensor(t)
    assert r["miou"].torchmetrics == pytest.approx(MulticlassJaccardIndex(**options)(pt, tt).item(), abs=1e-6)
    assert r["mean_accuracy"].torchmetrics == pytest.approx(MulticlassAccuracy(**options)(pt, tt).item(), abs=1e-6)


def test_segdemo_column_is_segdemo_s_own_losses():
    p, t = torch.tensor(PRED).unsqueeze(0), torch.tensor(TRUTH).unsqueeze(0)
    r = rows(confidence=0.8, gamma=2.0)
    hard = 60.0 * torch.nn.functional.one_hot(p.clamp(0, K - 1), K).permute(0, 3, 1, 2).float()
    assert r["dice_loss"].segdemo == pytest.approx(dice_loss(hard, t, smooth=0.0).item(), abs=1e-6)
    logits = logits_from_labels(p.clamp(0, K - 1), K, 0.8)
    assert r["focal_loss"].segdemo == pytest.approx(focal_loss(logits, t, gamma=2.0).item(), abs=1e-6)


smp = pytest.importorskip("segmentation_models_pytorch")


def test_metrics_and_losses_agree_with_smp():
    p, t = torch.tensor(PRED).unsqueeze(0), torch.tensor(TRUTH).unsqueeze(0)
    r = rows(confidence=0.75, gamma=2.0)
    stats = smp.metrics.get_stats(p.clamp(0, K - 1), t, mode="multiclass", num_classes=K, ignore_index=255)
    assert r["miou"].smp == pytest.approx(smp.metrics.iou_score(*stats, reduction="macro").item(), abs=1e-6)
    assert r["mean_accuracy"].smp == pytest.approx(smp.metrics.recall(*stats, reduction="macro").item(), abs=1e-6)
    assert r["mean_dice"].smp == pytest.approx(smp.metrics.f1_score(*stats, reduction="macro").item(), abs=1e-6)
    hard = 60.0 * torch.nn.functional.one_hot(p.clamp(0, K - 1), K).permute(0, 3, 1, 2).float()
    smp_dice = smp.losses.DiceLoss("multiclass", smooth=0.0, ignore_index=255)(hard, t)
    assert r["dice_loss"].smp == pytest.approx(smp_dice.item(), abs=1e-5)
    logits = logits_from_labels(p.clamp(0, K - 1), K, 0.75)
    smp_focal = smp.losses.FocalLoss("multiclass", gamma=2.0, ignore_index=255)(logits, t)
    assert r["focal_loss"].smp == pytest.approx(smp_focal.item(), abs=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="square"):
        compare(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="confidence"):
        compare(np.eye(3), confidence=0.2)
    assert all(math.isnan(v) for row in compare(np.zeros((2, 2))) for v in row.values())
