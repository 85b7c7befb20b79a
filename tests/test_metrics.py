"""Metrics: hand-worked values, the FCN paper's formulas, torchmetrics, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from segdemo.errors import InputError
from segdemo.metrics import ConfusionMatrix, confusion_matrix, metrics_from_confusion

X = 255
GT1 = [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, X], [2, 2, 2, X]]
PR1 = [[0, 0, 1, 1], [0, 1, 1, 1], [2, 2, 0, 0], [2, 2, 2, 1]]
GT2 = [[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0], [X, X, 0, 0]]
PR2 = [[1, 1, 1, 1], [1, 1, 2, 2], [0, 0, 0, 0], [0, 0, 0, 0]]


def test_hand_worked_two_images_four_classes():
    acc = ConfusionMatrix(4)
    acc.update(np.array(PR1), np.array(GT1))
    acc.update(torch.tensor(PR2, dtype=torch.uint8), torch.tensor(GT2, dtype=torch.int16))
    # Counted by hand (255 pixels skipped; class 3 absent everywhere):
    assert acc.matrix.tolist() == [[9, 1, 0, 0], [0, 10, 2, 0], [1, 0, 5, 0], [0, 0, 0, 0]]
    m = acc.compute()
    iou = [9 / 11, 10 / 13, 5 / 8]
    assert np.allclose(m["iou"][:3], iou) and np.isnan(m["iou"][3])
    assert m["miou"] == pytest.approx(sum(iou) / 3)
    assert m["pixel_accuracy"] == pytest.approx(24 / 28)
    assert m["mean_accuracy"] == pytest.approx((9 / 10 + 10 / 12 + 5 / 6) / 3)
    assert m["fwiou"] == pytest.approx((10 * 9 / 11 + 12 * 10 / 13 + 6 * 5 / 8) / 28)
    assert m["dice"][0] == pytest.approx(2 * 9 / (10 + 10))


def _fcn_formulas(pred, gt, k, ignore=255):
    # Long et al. 2015, §5, written directly with a per-class loop.
    keep = gt != ignore
    pred, gt = pred[keep], gt[keep]
    n = np.array([[np.sum((gt == i) & (pred == j)) for j in range(k)] for i in range(k)], dtype=np.float64)
    t = n.sum(1)
    ious, accs, fw = [], [], 0.0
    for i in range(k):
        denom = t[i] + n[:, i].sum() - n[i, i]
        if denom > 0:
            ious.append(n[i, i] / denom)
            fw += t[i] * n[i, i] / denom
        if t[i] > 0:
            accs.append(n[i, i] / t[i])
    return {"pixel_accuracy": np.trace(n) / t.sum(), "mean_accuracy": np.mean(accs), "miou": np.mean(ious),
            "fwiou": fw / t.sum()}


@pytest.mark.parametrize("seed", range(5))
def test_random_cases_match_the_paper_formulas(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 8))
    gt = rng.integers(0, k, size=(3, 17, 23))
    gt[rng.random(gt.shape) < 0.1] = 255
    pred = np.where(rng.random(gt.shape) < 0.6, np.where(gt == 255, 0, gt), rng.integers(0, k, gt.shape))
    got = metrics_from_confusion(confusion_matrix(pred, gt, k))
    for key, value in _fcn_formulas(pred, gt, k).items():
        assert abs(got[key] - value) < 1e-9, key


def test_agrees_with_torchmetrics():
    from torchmetrics.classification import MulticlassJaccardIndex

    rng = np.random.default_rng(0)
    gt = rng.integers(0, 6, size=(2, 32, 32))
    gt[:, :3] = 255
    pred = rng.integers(0, 5, size=gt.shape)  # class 5 never predicted, but present in gt
    reference = MulticlassJaccardIndex(num_classes=6, average="none", ignore_index=255)
    ref = reference(torch.tensor(pred), torch.tensor(gt)).numpy()
    assert np.allclose(metrics_from_confusion(confusion_matrix(pred, gt, 6))["iou"], ref)


def test_dataset_miou_is_not_the_mean_of_image_mious():
    acc = ConfusionMatrix(4)
    per_image = [metrics_from_confusion(acc.update(np.array(p), np.array(g)))["miou"]
                 for p, g in [(PR1, GT1), (PR2, GT2)]]
    assert acc.compute()["miou"] != pytest.approx(np.mean(per_image))
    acc.reset()
    assert acc.matrix.sum() == 0


def test_out_of_range_labels_are_named():
    with pytest.raises(InputError) as info:
        confusion_matrix(np.array([0, 7, 9]), np.array([0, 1, 300]), 4)
    assert info.value.key == "err.label_range"
    assert "7, 9, 300" in str(info.value)


def test_size_mismatch():
    with pytest.raises(InputError) as info:
        confusion_matrix(np.zeros((2, 3), int), np.zeros((3, 2), int), 2)
    assert info.value.key == "err.shape_mismatch"


def test_float_labels_are_refused():
    with pytest.raises(ValueError):
        confusion_matrix(np.zeros(3), np.zeros(3, int), 2)


def test_ignored_pixels_may_hold_any_prediction():
    cm = confusion_matrix(np.array([0, 99, 1]), np.array([0, 255, 1]), 2)
    assert cm.tolist() == [[1, 0], [0, 1]]


def test_negative_labels_are_named():
    with pytest.raises(InputError, match="-1"):
        confusion_matrix(np.array([0, -1]), np.array([0, 1]), 2)


def test_16_bit_labels_take_the_filtering_path():
    with pytest.raises(InputError, match="40000"):
        confusion_matrix(np.array([0, 1], np.uint16), np.array([40000, 1], np.uint16), 2)
    assert confusion_matrix(np.array([0, 1], np.uint16), np.array([0, 1], np.uint16), 2).trace() == 2


# ---------------------------------------------------------------- negative ignore index (PyTorch's -100)
def test_negative_ignore_index_is_skipped_like_255():
    # GT1/PR1 with the void label written as -100 instead of 255: the same counts as the test above.
    gt = np.where(np.array(GT1) == X, -100, np.array(GT1))
    cm = confusion_matrix(np.array(PR1), gt, 3, ignore_index=-100)
    assert cm.tolist() == confusion_matrix(np.array(PR1), np.array(GT1), 3).tolist()
    # counted by hand: row 0 = [3, 1, 0] (one class-0 pixel predicted 1), 14 pixels counted, 2 void skipped
    assert cm[0].tolist() == [3, 1, 0] and cm.sum() == 14
    acc = ConfusionMatrix(3, ignore_index=-100)
    acc.update(torch.tensor(PR1), torch.tensor(gt))
    assert acc.matrix.sum() == 14


def test_negative_label_that_is_not_the_ignore_index_is_named():
    with pytest.raises(InputError) as info:
        confusion_matrix(np.array([0, 1, 1]), np.array([0, -100, -7]), 2, ignore_index=-100)
    assert "-7" in str(info.value) and "-100" not in info.value.params["values"]


def test_ignore_index_must_be_an_integer():
    with pytest.raises(ValueError, match="ignore_index"):
        confusion_matrix(np.array([0]), np.array([0]), 2, ignore_index=255.0)
