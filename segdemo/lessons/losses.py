"""The computations behind the Losses tab: loss curves, an imbalance simulator, degraded real masks.

Every number here comes from :mod:`segdemo.losses` (the functions the trainer uses) and every IoU
from :mod:`segdemo.metrics`, so the tab can never disagree with training. Gradients for the curves
are taken with autograd through the same functions, not from a separate formula.

Hard label maps have no scores, so to score them with a loss each pixel gets the logit margin that
gives its predicted class the probability ``confidence`` (:func:`logits_from_labels`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from segdemo import losses
from segdemo.data import SynthScenes
from segdemo.metrics import confusion_matrix, metrics_from_confusion
from segdemo.palette import scene_classes

GAMMAS = (0.0, 0.5, 1.0, 2.0, 5.0)
#: The losses compared in the simulator and on real masks, in display order.
COMPARED = ("ce", "weighted_ce", "focal", "dice", "lovasz", "tversky", "ce+dice")
#: Display names for :data:`COMPARED` (the registry's, plus the weighted CE shown beside CE).
FOCAL_GAMMA = 2.0
TVERSKY_ALPHA, TVERSKY_BETA = 0.3, 0.7


# ---------------------------------------------------------------- curves
@dataclass(frozen=True)
class FocalCurves:
    """Loss and gradient against p_t, the probability of the true class.

    ``grad`` is ∂loss/∂z for the true-class logit z of a two-class softmax whose other logit is 0
    (so p_t = sigmoid(z)); it is negative: a step down the gradient raises z.
    """

    p: np.ndarray  # (M,)
    ce: np.ndarray  # (M,)
    ce_grad: np.ndarray  # (M,)
    focal: dict[float, np.ndarray]  # gamma -> (M,)
    focal_grad: dict[float, np.ndarray]  # gamma -> (M,)
    alpha: float


def _loss_and_grad(fn, p: np.ndarray, **options) -> tuple[np.ndarray, np.ndarray]:
    """Per-point loss and ∂loss/∂z through ``fn``, for a two-class softmax with logits (0, z), target 1."""
    z = torch.tensor(np.log(p) - np.log1p(-p), dtype=torch.float64, requires_grad=True)  # logit(p), (M,)
    logits = torch.stack([torch.zeros_like(z), z]).reshape(1, 2, -1, 1)  # (1, 2, M, 1)
    target = torch.ones(1, p.size, 1, dtype=torch.long)
    loss = fn(logits, target, reduction="none", **options).reshape(-1)  # (M,): points are independent
    (grad,) = torch.autograd.grad(loss.sum(), z)
    return loss.detach().numpy(), grad.numpy()


def focal_curves(gammas: tuple[float, ...] = GAMMAS, alpha: float = 1.0, num: int = 199) -> FocalCurves:
    """Cross-entropy and Focal loss (with their gradients) against p_t, as Lin et al. 2017, Fig. 1.

    Args:
        gammas: focusing parameters to draw.
        alpha: α of the Focal loss (scales its curves; CE is unweighted), > 0.
        num: number of points in ``p`` (0.005 … 0.995).
    """
    if not 0 < alpha <= 10 or num < 2:
        raise ValueError(f"alpha must be in (0, 10] and num >= 2, got {alpha}, {num}")
    p = np.linspace(0.005, 0.995, num)
    ce, ce_grad = _loss_and_grad(losses.cross_entropy, p)
    focal, focal_grad = {}, {}
    for gamma in gammas:
        focal[gamma], focal_grad[gamma] = _loss_and_grad(losses.focal_loss, p, gamma=gamma, alpha=alpha)
    return FocalCurves(p, ce, ce_grad, focal, focal_grad, alpha)


@dataclass(frozen=True)
class OverlapCurves:
    """Region losses of a prediction that slides over a ground-truth region of the same size."""

    overlap: np.ndarray  # (M,) fraction of the region covered by the prediction
    iou: np.ndarray  # (M,) IoU of the region class
    dice_region: np.ndarray  # (M,) Dice loss of the region class
    dice_mean: np.ndarray  # (M,) Dice loss averaged over region and background
    lovasz_region: np.ndarray  # (M,) Lovász loss of the region class
    region_fraction: float


def overlap_curves(region_fraction: float = 0.1, num: int = 21, confidence: float = 0.999) -> OverlapCurves:
    """Dice and Lovász loss against the overlap of a predicted and a true region (1-D strip, 400 px).

    Args:
        region_fraction: the region's share of the image, in (0, 0.5].
        num: number of overlaps from 0 to 1.
        confidence: probability of each pixel's predicted class (see :func:`logits_from_labels`).
    """
    if not 0 < region_fraction <= 0.5:
        raise ValueError(f"region_fraction must be in (0, 0.5], got {region_fraction}")
    width = 400
    size = max(1, round(region_fraction * width))
    target = torch.zeros(1, 1, width, dtype=torch.long)
    target[..., :size] = 1
    overlap = np.linspace(0.0, 1.0, num)
    rows: list[tuple[float, float, float, float]] = []
    for o in overlap:
        start = size - round(o * size)
        pred = torch.zeros_like(target)
        pred[..., start:start + size] = 1
        logits = logits_from_labels(pred, 2, confidence)
        dice = losses.dice_loss(logits, target, reduction="none")
        lovasz = losses.lovasz_softmax(logits, target, classes="all", reduction="none")
        inter, union = float((pred & target).sum()), float((pred | target).sum())
        rows.append((inter / union, float(dice[1]), float(dice.mean()), float(lovasz[1])))
    iou, dice_region, dice_mean, lovasz_region = map(np.array, zip(*rows, strict=True))
    return OverlapCurves(overlap, iou, dice_region, dice_mean, lovasz_region, region_fraction)


# ---------------------------------------------------------------- scoring hard predictions
def logits_from_labels(labels: Tensor | np.ndarray, num_classes: int, confidence: float | Tensor) -> Tensor:
    """Logits that give each pixel's label the probability ``confidence`` under softmax.

    The label's logit is ``m = log(confidence · (K − 1) / (1 − confidence))``, the others 0.
    ``confidence`` is one number or a tensor broadcastable to the labels (one per pixel).

    Shape:
        labels ``(N, H, W)`` or ``(H, W)`` → logits ``(N, K, H, W)`` (float32).
    """
    labels = torch.as_tensor(labels, dtype=torch.long)
    if labels.dim() == 2:
        labels = labels.unsqueeze(0)
    conf = torch.as_tensor(confidence, dtype=torch.float64)
    if not bool(((conf > 1.0 / num_classes) & (conf < 1.0)).all()):
        raise ValueError(f"confidence must be in (1/K, 1) = ({1 / num_classes:.3f}, 1), got {confidence}")
    margin = torch.log(conf * (num_classes - 1) / (1.0 - conf)).to(torch.float32)  # () or (N, H, W)
    onehot = F.one_hot(labels.clamp(0, num_classes - 1), num_classes).permute(0, 3, 1, 2)  # (N, K, H, W)
    return onehot.to(torch.float32) * margin.unsqueeze(-3) if margin.dim() else onehot.to(torch.float32) * margin


def balanced_weights(target: Tensor, num_classes: int, ignore_index: int = 255) -> Tensor:
    """Class weights ``n / (K' · n_k)`` over the K' classes present (absent classes get 0), as sklearn's 'balanced'."""
    labels = target[target != ignore_index].flatten()
    return _balanced(torch.bincount(labels, minlength=num_classes).to(torch.float32))


def _balanced(counts: Tensor) -> Tensor:
    """``(..., K)`` pixel counts per class → weights ``n / (K' · n_k)`` for the K' present classes, 0 for absent."""
    present = counts > 0
    total = counts.sum(dim=-1, keepdim=True)
    return torch.where(present, total / (present.sum(dim=-1, keepdim=True) * counts.clamp_min(1)),
                       torch.zeros_like(counts))


def compare_losses(logits: Tensor, target: Tensor, ignore_index: int = 255) -> dict[str, float]:
    """Every loss of :data:`COMPARED` on the same logits ``(N, K, H, W)`` and target ``(N, H, W)``."""
    weights = balanced_weights(target, logits.shape[1], ignore_index)
    options = {"ignore_index": ignore_index}
    with torch.no_grad():
        values = {
            "ce": losses.cross_entropy(logits, target, **options),
            "weighted_ce": losses.cross_entropy(logits, target, weight=weights, **options),
            "focal": losses.focal_loss(logits, target, gamma=FOCAL_GAMMA, **options),
            "dice": losses.dice_loss(logits, target, **options),
            "lovasz": losses.lovasz_softmax(logits, target, **options),
            "tversky": losses.tversky_loss(logits, target, alpha=TVERSKY_ALPHA, beta=TVERSKY_BETA, **options),
            "ce+dice": losses.combined_loss(logits, target, **options),
        }
    return {name: float(values[name]) for name in COMPARED}


def compare_losses_per_image(logits: Tensor, target: Tensor, ignore_index: int = 255) -> dict[str, np.ndarray]:
    """Every loss of :data:`COMPARED` for each image of a batch alone: ``{name: (N,)}``, the values
    :func:`compare_losses` gives each image on its own (to float rounding), in one evaluation per loss.

    Shape:
        logits ``(N, K, H, W)``, target ``(N, H, W)``.
    """
    options = {"ignore_index": ignore_index}
    valid = (target != ignore_index).to(logits.dtype)  # (N, H, W)
    pixels = valid.sum(dim=(1, 2)).clamp_min(1)  # (N,)
    safe = torch.where(target != ignore_index, target, torch.zeros_like(target))
    # balanced_weights of each image alone
    weights = _balanced(torch.zeros(logits.shape[:2]).scatter_add_(1, safe.flatten(1), valid.flatten(1)))  # (N, K)
    pixel_weight = weights.gather(1, safe.flatten(1)).view_as(valid) * valid  # (N, H, W)

    def per_class_mean(values: Tensor) -> Tensor:  # (N, K) with NaN for left-out classes → (N,), 0 if none
        return values.nanmean(dim=1).nan_to_num(0.0)

    with torch.no_grad():
        nll = losses.cross_entropy(logits, target, reduction="none", **options)  # (N, H, W), 0 where ignored
        ce = nll.sum(dim=(1, 2)) / pixels
        dice = per_class_mean(losses.dice_loss(logits, target, reduction="none", per_image=True, **options))
        values = {
            "ce": ce,
            "weighted_ce": (nll * pixel_weight).sum(dim=(1, 2)) / pixel_weight.sum(dim=(1, 2)).clamp_min(1e-12),
            "focal": losses.focal_loss(logits, target, gamma=FOCAL_GAMMA, reduction="none", **options)
            .sum(dim=(1, 2)) / pixels,
            "dice": dice,
            "lovasz": per_class_mean(losses.lovasz_softmax(logits, target, reduction="none", per_image=True,
                                                           **options)),
            "tversky": per_class_mean(losses.tversky_loss(logits, target, alpha=TVERSKY_ALPHA, beta=TVERSKY_BETA,
                                                          reduction="none", per_image=True, **options)),
            "ce+dice": ce + dice,
        }
    return {name: values[name].double().numpy() for name in COMPARED}


def iou_of(pred: Tensor | np.ndarray, target: Tensor | np.ndarray, num_classes: int,
           ignore_index: int = 255) -> tuple[np.ndarray, float]:
    """Per-class IoU (NaN for classes in neither map) and mIoU, from :mod:`segdemo.metrics`."""
    cm = confusion_matrix(pred, target, num_classes, ignore_index=ignore_index)
    result = metrics_from_confusion(cm)
    return np.asarray(result["iou"], dtype=np.float64), float(result["miou"])


# ---------------------------------------------------------------- imbalance simulator
@dataclass(frozen=True)
class Imbalance:
    """One simulated binary prediction, its losses and IoU, and the same quality at other foreground shares."""

    losses: dict[str, float]  # name -> value, names of COMPARED
    iou: float  # IoU of the foreground class
    miou: float
    counts: dict[str, int]  # tp, fn, fp, tn (pixels)
    outcome: np.ndarray  # (H, W) uint8, OUTCOMES index of each pixel (for a picture)
    sweep_fraction: np.ndarray  # (S,) foreground shares
    sweep_losses: dict[str, np.ndarray]  # name -> (S,)
    sweep_iou: np.ndarray  # (S,) IoU of the foreground
    sweep_miou: np.ndarray  # (S,)


SIM_SHAPE = (100, 200)  # 20,000 pixels: 0.1 % foreground is still 20 pixels
#: Pixel outcomes of a prediction, the indices of :func:`outcome_colours`.
OUTCOMES = ("tn", "tp", "fn", "fp", "wrong_class", "ignored")


@functools.cache
def _disk_order() -> tuple[np.ndarray, np.ndarray]:
    """Pixel indices of SIM_SHAPE by distance to the centre, and their column (for a left-to-right split)."""
    h, w = SIM_SHAPE
    yy, xx = np.mgrid[:h, :w]
    order = np.argsort(np.hypot(yy - (h - 1) / 2, xx - (w - 1) / 2).ravel(), kind="stable")
    return order, xx.ravel()


def simulate_prediction(fg_fraction: float, recall: float, false_positive_rate: float, confidence: float,
                        easy_confidence: float) -> tuple[Tensor, Tensor, np.ndarray]:
    """A binary ground truth with ``fg_fraction`` foreground and a prediction of the given quality.

    The foreground (a disk) is found from the left by ``recall``; the false alarms are a ring of
    background around it. Foreground, misses and false alarms are the "hard" pixels: the prediction
    gives its class the probability ``confidence``. The correctly rejected background is "easy" and
    gets ``easy_confidence`` (real models are very sure there; how sure decides how much its many
    pixels weigh in CE, and how much leaked probability soft Dice counts as false positives).

    Args:
        fg_fraction: share of foreground pixels, in [0.001, 0.5].
        recall: share of the foreground predicted as foreground, in [0, 1].
        false_positive_rate: share of the background predicted as foreground, in [0, 1].
        confidence, easy_confidence: probabilities of the predicted class, in (0.5, 1).

    Returns:
        ``(logits (1, 2, H, W), target (1, H, W), outcome (H, W) uint8)`` (see :data:`OUTCOMES`).
    """
    if not 0.001 <= fg_fraction <= 0.5 or not 0 <= recall <= 1 or not 0 <= false_positive_rate <= 1:
        raise ValueError(f"need fg_fraction in [0.001, 0.5], recall and false_positive_rate in [0, 1], got "
                         f"{fg_fraction}, {recall}, {false_positive_rate}")
    order, column = _disk_order()
    total = order.size
    n_fg = max(1, round(fg_fraction * total))
    n_tp, n_fp = round(recall * n_fg), round(false_positive_rate * (total - n_fg))
    fg = order[:n_fg]
    outcome = np.zeros(total, dtype=np.uint8)  # tn
    outcome[fg] = OUTCOMES.index("fn")
    outcome[fg[np.argsort(column[fg], kind="stable")[:n_tp]]] = OUTCOMES.index("tp")
    outcome[order[n_fg:n_fg + n_fp]] = OUTCOMES.index("fp")
    outcome = outcome.reshape(SIM_SHAPE)
    target = torch.from_numpy((outcome == 1) | (outcome == 2)).long().unsqueeze(0)  # (1, H, W)
    pred = torch.from_numpy((outcome == 1) | (outcome == 3)).long().unsqueeze(0)
    conf = torch.where(torch.from_numpy(outcome == 0), easy_confidence, confidence).unsqueeze(0)
    return logits_from_labels(pred, 2, conf), target, outcome


SWEEP_FRACTIONS = np.geomspace(0.001, 0.5, 13)


def simulate_imbalance(fg_fraction: float, recall: float, false_positive_rate: float, confidence: float,
                       easy_confidence: float) -> Imbalance:
    """Every compared loss and the IoU for one simulated prediction, and for the same quality
    (recall, false-alarm rate, confidences) at the foreground shares of :data:`SWEEP_FRACTIONS`.

    Args: as :func:`simulate_prediction`.
    """
    quality = (recall, false_positive_rate, confidence, easy_confidence)
    logits, target, outcome = simulate_prediction(fg_fraction, *quality)
    iou, miou = iou_of(logits.argmax(1), target, 2)
    sweep_losses, sweep_iou, sweep_miou = _sweep(*quality)
    counts = {name: int((outcome == OUTCOMES.index(name)).sum()) for name in ("tp", "fn", "fp", "tn")}
    return Imbalance(
        losses=compare_losses(logits, target), iou=float(iou[1]), miou=miou, counts=counts, outcome=outcome,
        sweep_fraction=SWEEP_FRACTIONS.copy(), sweep_losses={k: v.copy() for k, v in sweep_losses.items()},
        sweep_iou=sweep_iou.copy(), sweep_miou=sweep_miou.copy(),
    )


@functools.lru_cache(maxsize=256)
def _sweep(recall: float, false_positive_rate: float, confidence: float,
           easy_confidence: float) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Losses ``{name: (S,)}``, IoU ``(S,)`` and mIoU ``(S,)`` at :data:`SWEEP_FRACTIONS` for one quality.

    Cached: it does not depend on the object share, the slider a class moves most. The S predictions
    are one batch, scored per image (:func:`compare_losses_per_image`): one evaluation of each loss
    instead of S.
    """
    sims = [simulate_prediction(float(f), recall, false_positive_rate, confidence, easy_confidence)
            for f in SWEEP_FRACTIONS]
    logits, target = torch.cat([s[0] for s in sims]), torch.cat([s[1] for s in sims])  # (S, 2, H, W), (S, H, W)
    scores = [iou_of(s[0].argmax(1), s[1], 2) for s in sims]
    sweep_losses = compare_losses_per_image(logits, target)
    return sweep_losses, np.array([ious[1] for ious, _ in scores]), np.array([mean for _, mean in scores])


def outcome_colours() -> np.ndarray:
    """``(len(OUTCOMES), 3)`` uint8 colours: dark background, green hit, amber miss, red false alarm,
    purple wrong class, grey ignored (colour-blind safe enough to tell apart on a projector)."""
    return np.array([[38, 40, 52], [46, 160, 90], [240, 170, 30], [215, 48, 39], [150, 80, 200],
                     [150, 150, 150]], dtype=np.uint8)


# ---------------------------------------------------------------- degraded real masks
def _shift(labels: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Move the map by (dx, dy) pixels, filling the uncovered border with background (0)."""
    h, w = labels.shape
    out = np.zeros_like(labels)
    if abs(dx) < w and abs(dy) < h:
        out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            labels[max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _square_max(x: Tensor, radius: int) -> Tensor:
    """Max over the ``(2r+1)×(2r+1)`` window around each pixel of ``(N, C, H, W)``, as a row pass then a
    column pass (the same maximum: 2k comparisons per pixel instead of k², 3× faster for r = 8)."""
    k = 2 * radius + 1
    rows = F.max_pool2d(x, (1, k), stride=1, padding=(0, radius))
    return F.max_pool2d(rows, (k, 1), stride=1, padding=(radius, 0))


def _grow(labels: np.ndarray, radius: int, num_classes: int) -> np.ndarray:
    """Dilate (radius > 0) the objects into the background, or erode them (radius < 0) to background."""
    if radius == 0:
        return labels
    t = torch.from_numpy(labels).long()
    onehot = F.one_hot(t, num_classes).permute(2, 0, 1).unsqueeze(0).float()  # (1, K, H, W)
    r = abs(radius)
    if radius > 0:
        grown = _square_max(onehot[:, 1:], r)[0]  # (K-1, H, W)
        # a background pixel takes the first object class reaching it
        out = torch.where((t == 0) & (grown.amax(0) > 0), grown.argmax(0) + 1, t)
    else:
        # min-pool: 1 where the whole window has the pixel's class (the border does not erode)
        whole = -_square_max(-onehot, r)[0]  # (K, H, W)
        out = torch.where(whole.gather(0, t.unsqueeze(0))[0] > 0, t, torch.zeros_like(t))
    return out.numpy().astype(labels.dtype)


def degrade_mask(mask: np.ndarray, instances: np.ndarray | None, num_classes: int, *, drop: int = 0,
                 grow: int = 0, shift: tuple[int, int] = (0, 0), noise: float = 0.0, seed: int = 0,
                 ignore_index: int = 255) -> np.ndarray:
    """A plausible wrong prediction made from a ground truth, in this order:

    drop the ``drop`` smallest objects (a model's typical miss), dilate/erode by ``grow`` pixels,
    shift by ``(dx, dy)`` pixels, then give a ``noise`` share of pixels a random class.

    Args:
        mask: ``(H, W)`` class ids (``ignore_index`` pixels become background in the prediction).
        instances: ``(H, W)`` object ids (0 = no object), or None (then ``drop`` must be 0).
        num_classes: K; class 0 is the background.

    Returns:
        ``(H, W)`` int64 predicted class ids.
    """
    if not 0 <= noise <= 1 or drop < 0:
        raise ValueError(f"noise must be in [0, 1] and drop >= 0, got {noise}, {drop}")
    pred = np.where(mask == ignore_index, 0, mask).astype(np.int64)
    if drop:
        if instances is None:
            raise ValueError("dropping objects needs the instance map")
        ids, areas = np.unique(instances[instances > 0], return_counts=True)
        pred[np.isin(instances, ids[np.argsort(areas, kind="stable")][:drop])] = 0
    pred = _shift(_grow(pred, int(grow), num_classes), int(shift[0]), int(shift[1]))
    if noise > 0:
        rng = np.random.default_rng(seed)
        hit = rng.random(pred.shape) < noise
        pred[hit] = rng.integers(0, num_classes, size=int(hit.sum()))
    return pred


@dataclass(frozen=True)
class MaskScores:
    """Every compared loss and the IoU of a degraded prediction against its ground truth."""

    losses: dict[str, float]
    iou: np.ndarray  # (K,), NaN for classes in neither map
    miou: float


def score_masks(pred: np.ndarray, target: np.ndarray, num_classes: int, confidence: float,
                ignore_index: int = 255) -> MaskScores:
    """Score a hard prediction ``(H, W)`` against ``target`` ``(H, W)`` with every compared loss and IoU."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {target.shape} differ in size")
    target_t = torch.tensor(target, dtype=torch.long).unsqueeze(0)  # (1, H, W), a copy: scenes are read-only
    values = compare_losses(logits_from_labels(pred, num_classes, confidence), target_t, ignore_index)
    iou, miou = iou_of(pred, target, num_classes, ignore_index)
    return MaskScores(values, iou, miou)


def outcome_map(pred: np.ndarray, target: np.ndarray, ignore_index: int = 255) -> np.ndarray:
    """``(H, W)`` uint8 :data:`OUTCOMES` index of each pixel (class 0 is the background).

    Correct background → tn, correct object → tp, object predicted as background → fn,
    background predicted as an object → fp, one object class for another → wrong_class.
    """
    kind = np.full(target.shape, OUTCOMES.index("wrong_class"), dtype=np.uint8)
    kind[(pred == target) & (target == 0)] = OUTCOMES.index("tn")
    kind[(pred == target) & (target != 0)] = OUTCOMES.index("tp")
    kind[(pred == 0) & (target != 0)] = OUTCOMES.index("fn")
    kind[(pred != 0) & (target == 0)] = OUTCOMES.index("fp")
    kind[target == ignore_index] = OUTCOMES.index("ignored")
    return kind


@dataclass(frozen=True)
class Scene:
    """A synthetic scene with what the tab needs to show it."""

    image: np.ndarray  # (H, W, 3) uint8
    mask: np.ndarray  # (H, W) int64 class ids
    instances: np.ndarray  # (H, W) int64 object ids, 0 = none
    names: dict[str, tuple[str, ...]]  # language -> class names
    palette: np.ndarray  # (K, 3) uint8


@functools.lru_cache(maxsize=32)
def scene(index: int, size: int = 192) -> Scene:
    """Scene ``index`` of the synthetic set (:class:`segdemo.data.SynthScenes`), cached; arrays are read-only."""

    image, mask, instances = SynthScenes(index + 1, size=size).render(index)
    arrays = [np.asarray(a) for a in (image, mask, instances)]
    for a in arrays:
        a.setflags(write=False)
    classes = scene_classes()
    names = {"en": tuple(classes["names"]), "zh": tuple(classes.get("names_zh", classes["names"]))}
    return Scene(*arrays, names=names, palette=np.asarray(classes["palette"], dtype=np.uint8))


def masks_pair(scene_index: int, drop: int = 0, grow: int = 0, shift_x: int = 0, shift_y: int = 0,
               noise: float = 0.0) -> tuple[Scene, np.ndarray]:
    """Section 3's pair: ``(scene info, (H, W) int64 prediction)``, the scene's mask degraded as the
    sliders say (``noise`` a fraction of pixels)."""
    info = scene(scene_index)
    pred = degrade_mask(info.mask, info.instances, len(info.palette), drop=drop, grow=grow, shift=(shift_x, shift_y),
                        noise=noise, seed=scene_index)
    return info, pred


@dataclass(frozen=True)
class MasksLesson:
    """Section 3 for one setting of its sliders (:func:`masks_lesson`)."""

    scene: Scene
    pred: np.ndarray  # (H, W) int64, the degraded prediction
    scores: MaskScores
    outcome: np.ndarray  # (H, W) uint8 OUTCOMES index of each pixel


def masks_lesson(scene_index: int, drop: int, grow: int, shift_x: int, shift_y: int, noise: float,
                 confidence: float) -> MasksLesson:
    """:func:`masks_pair`, its :func:`score_masks` at ``confidence`` and its :func:`outcome_map`: a pure
    function of its arguments, so the app computes it in a worker process (``segdemo.workers``)."""
    info, pred = masks_pair(scene_index, drop, grow, shift_x, shift_y, noise)
    scores = score_masks(pred, info.mask, len(info.palette), confidence)
    return MasksLesson(info, pred, scores, outcome_map(pred, info.mask))
