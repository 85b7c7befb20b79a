"""segdemo.losses: values worked out by hand, conventions, gradients, ignore_index, the registry, training."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from segdemo import losses
from segdemo.strings import strings

MULTICLASS = {
    "cross_entropy": losses.cross_entropy,
    "focal_loss": losses.focal_loss,
    "dice_loss": losses.dice_loss,
    "lovasz_softmax": losses.lovasz_softmax,
    "tversky_loss": losses.tversky_loss,
    "combined_loss": losses.combined_loss,
}


def two_class_logits(p_true: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (1, 2, M, 1) whose softmax gives class 1 the probabilities ``p_true``; target all 1."""
    p = torch.tensor(p_true, dtype=torch.float64)
    z = torch.log(p / (1 - p))
    return torch.stack([torch.zeros_like(z), z]).reshape(1, 2, -1, 1), torch.ones(1, len(p_true), 1, dtype=torch.long)


def hard_logits(pred: torch.Tensor, num_classes: int, margin: float = 60.0) -> torch.Tensor:
    """Logits (N, K, H, W) whose softmax is one-hot at ``pred`` (N, H, W) to float precision."""
    return F.one_hot(pred, num_classes).permute(0, 3, 1, 2).double() * margin


# ---------------------------------------------------------------- Focal: the paper's numbers
FOCAL_TABLE = [  # (gamma, p_t, natural-log loss) worked out by hand: -(1 - p)^gamma * ln p
    (0.0, 0.1, 2.30259), (0.0, 0.5, 0.69315), (0.0, 0.9, 0.10536),
    (2.0, 0.1, 1.86509), (2.0, 0.5, 0.17329), (2.0, 0.9, 0.00105),
]


@pytest.mark.parametrize("gamma, p_t, expected", FOCAL_TABLE)
def test_focal_values_softmax(gamma, p_t, expected):
    logits, target = two_class_logits([p_t])
    assert losses.focal_loss(logits, target, gamma=gamma).item() == pytest.approx(expected, abs=6e-6)


@pytest.mark.parametrize("gamma, p_t, expected", FOCAL_TABLE)
def test_focal_values_sigmoid(gamma, p_t, expected):
    logit = torch.tensor([[[math.log(p_t / (1 - p_t))]]], dtype=torch.float64)  # (1, 1, 1)
    assert losses.binary_focal_loss(logit, torch.ones(1, 1, 1, dtype=torch.long), gamma=gamma).item() == \
        pytest.approx(expected, abs=6e-6)


@pytest.mark.parametrize("alpha", [0.25, 0.5, 2.0])
def test_focal_alpha_number_scales_every_pixel(alpha):
    torch.manual_seed(0)
    logits, target = torch.randn(2, 4, 5, 5), torch.randint(0, 4, (2, 5, 5))
    plain = losses.focal_loss(logits, target, reduction="none")
    assert torch.allclose(losses.focal_loss(logits, target, alpha=alpha, reduction="none"), alpha * plain)


def test_focal_alpha_per_class_weighs_by_true_class():
    torch.manual_seed(1)
    logits, target = torch.randn(1, 3, 4, 4), torch.randint(0, 3, (1, 4, 4))
    alpha = torch.tensor([0.1, 1.0, 3.0])
    plain = losses.focal_loss(logits, target, reduction="none")
    weighted = losses.focal_loss(logits, target, alpha=alpha, reduction="none")
    assert torch.allclose(weighted, alpha[target] * plain)
    assert losses.focal_loss(logits, target, alpha=alpha).item() == pytest.approx((alpha[target] * plain).mean().item())


@pytest.mark.parametrize("alpha", [None, 0.25, 0.75])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_binary_focal_alpha_is_the_papers_and_torchvisions(alpha, gamma):
    from torchvision.ops import sigmoid_focal_loss

    torch.manual_seed(2)
    logits, target = torch.randn(2, 1, 6, 6), torch.randint(0, 2, (2, 6, 6))
    ours = losses.binary_focal_loss(logits, target, gamma=gamma, alpha=alpha)
    ref = sigmoid_focal_loss(logits[:, 0], target.float(), alpha=-1 if alpha is None else alpha, gamma=gamma,
                             reduction="mean")
    assert ours.item() == pytest.approx(ref.item(), rel=1e-5)
    # by hand for one foreground pixel at p = 0.9: alpha * (0.1)^gamma * -ln 0.9
    one = losses.binary_focal_loss(torch.tensor([[[math.log(9.0)]]]), torch.ones(1, 1, 1, dtype=torch.long),
                              gamma=gamma, alpha=alpha)
    assert one.item() == pytest.approx((1.0 if alpha is None else alpha) * 0.1 ** gamma * -math.log(0.9), rel=1e-5)


def test_focal_with_gamma_zero_is_cross_entropy():
    torch.manual_seed(3)
    logits, target = torch.randn(2, 5, 7, 7), torch.randint(0, 5, (2, 7, 7))
    assert losses.focal_loss(logits, target, gamma=0.0).item() == pytest.approx(losses.cross_entropy(logits, target).item())


# ---------------------------------------------------------------- cross-entropy
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [255, -1])
def test_cross_entropy_matches_torch(weighted, ignore_index):
    torch.manual_seed(4)
    logits, target = torch.randn(2, 4, 6, 6), torch.randint(0, 4, (2, 6, 6))
    target[0, :2] = ignore_index
    weight = torch.tensor([0.2, 1.0, 2.0, 5.0]) if weighted else None
    ours = losses.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index)
    ref = F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index)
    assert ours.item() == pytest.approx(ref.item(), rel=1e-6)


# ---------------------------------------------------------------- Dice and Tversky
TARGET_2x2 = torch.tensor([[[0, 1], [1, 1]]])
PRED_2x2 = torch.tensor([[[1, 1], [0, 1]]])


def test_dice_by_hand():
    # class 0: I = 0, |P| = 1, |G| = 1 -> 1 - (0 + 1) / (2 + 1) = 2/3
    # class 1: I = 2, |P| = 3, |G| = 3 -> 1 - (4 + 1) / (6 + 1) = 2/7
    logits = hard_logits(PRED_2x2, 2)
    per_class = losses.dice_loss(logits, TARGET_2x2, reduction="none")
    assert per_class.tolist() == pytest.approx([2 / 3, 2 / 7], abs=1e-9)
    assert losses.dice_loss(logits, TARGET_2x2).item() == pytest.approx((2 / 3 + 2 / 7) / 2, abs=1e-9)


@pytest.mark.parametrize("smooth", [0.0, 1.0])
def test_dice_perfect_is_zero_and_disjoint_near_one(smooth):
    target = torch.zeros(1, 16, 16, dtype=torch.long)
    target[:, 4:12, 4:12] = 1
    assert losses.dice_loss(hard_logits(target, 2), target, smooth=smooth).item() == pytest.approx(0.0, abs=1e-9)
    # right everywhere but only 99 % sure: class k has TP 0.99 |G_k| and predicted mass 0.99 |G_k| + 0.01 |G_other|
    expected = 0.0
    for size, other in ((192, 64), (64, 192)):
        expected += (1 - (2 * 0.99 * size + smooth) / (0.99 * size + 0.01 * other + size + smooth)) / 2
    soft = losses.dice_loss(hard_logits(target, 2, margin=math.log(99)), target, smooth=smooth).item()
    assert soft == pytest.approx(expected, abs=1e-9) and soft < 0.014
    disjoint = hard_logits(1 - target, 2)
    assert losses.dice_loss(disjoint, target, smooth=smooth).item() > 0.99
    # the binary (course) form agrees on the foreground
    fg = torch.where(target == 1, 60.0, -60.0).double()
    assert losses.binary_dice_loss(fg, target, smooth=smooth).item() == pytest.approx(0.0, abs=1e-9)
    assert losses.binary_dice_loss(-fg, target, smooth=smooth).item() > 0.98


def test_dice_absent_class_convention():
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    target[:, :2] = 1  # class 2 absent
    wrong = target.clone()
    wrong[:, 3] = 2  # ... but predicted on 4 pixels
    logits = hard_logits(wrong, 3)
    # by default left out: NaN per class, the mean is over classes 0 and 1
    skipped = losses.dice_loss(logits, target, reduction="none")
    assert math.isnan(skipped[2].item())
    assert losses.dice_loss(logits, target).item() == pytest.approx(skipped[:2].mean().item())
    # counted: 1 - (0 + 1) / (4 + 0 + 1); and nearly free when nothing is predicted there
    counted = losses.dice_loss(logits, target, include_absent=True, reduction="none")
    assert counted[2].item() == pytest.approx(1 - 1 / 5, abs=1e-9)
    assert losses.dice_loss(hard_logits(target, 3), target, include_absent=True, reduction="none")[2].item() == \
        pytest.approx(0.0, abs=1e-9)


def test_tversky_by_hand_and_equal_to_dice_at_one_half():
    logits = hard_logits(PRED_2x2, 2)
    # alpha = 1 (false positives), beta = 0: class 0 TP 0 FP 1 -> 1 - 1/2; class 1 TP 2 FP 1 -> 1 - 3/4
    fp_only = losses.tversky_loss(logits, TARGET_2x2, alpha=1.0, beta=0.0, reduction="none")
    assert fp_only.tolist() == pytest.approx([1 / 2, 1 / 4], abs=1e-9)
    torch.manual_seed(5)
    soft, target = torch.randn(2, 4, 8, 8), torch.randint(0, 4, (2, 8, 8))
    half = dict(alpha=0.5, beta=0.5)
    assert losses.tversky_loss(soft, target, smooth=0.0, **half).item() == \
        pytest.approx(losses.dice_loss(soft, target, smooth=0.0).item(), rel=1e-6)
    assert losses.tversky_loss(soft, target, smooth=1.0, **half).item() == \
        pytest.approx(losses.dice_loss(soft, target, smooth=2.0).item(), rel=1e-6)


def test_tversky_beta_punishes_misses_more():
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[:, 2:6, 2:6] = 1
    missed = target.clone()
    missed[:, 2:4, 2:6] = 0  # half the object missed
    extra = target.clone()
    extra[:, 6:8, 2:6] = 1  # the same number of false alarms
    loss = dict(alpha=0.3, beta=0.7, reduction="none")
    assert losses.tversky_loss(hard_logits(missed, 2), target, **loss)[1] > \
        losses.tversky_loss(hard_logits(extra, 2), target, **loss)[1]


# ---------------------------------------------------------------- Lovász
def test_lovasz_is_one_minus_iou_for_hard_predictions():
    # class 1: TP 2, FP 1, FN 1 -> IoU 2/4; class 0: TP 0, FP 1, FN 1 -> IoU 0
    per_class = losses.lovasz_softmax(hard_logits(PRED_2x2, 2), TARGET_2x2, reduction="none")
    assert per_class.tolist() == pytest.approx([1.0, 0.5], abs=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lovasz_mean_is_one_minus_miou_of_present_classes(seed):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, 3, (2, 9, 9), generator=g)  # class 3 absent
    pred = torch.where(torch.rand(2, 9, 9, generator=g) < 0.3, torch.randint(0, 4, (2, 9, 9), generator=g), target)
    ious = []
    for c in range(3):
        inter, union = ((pred == c) & (target == c)).sum(), ((pred == c) | (target == c)).sum()
        ious.append(float(inter) / float(union))
    expected = 1 - sum(ious) / 3
    assert losses.lovasz_softmax(hard_logits(pred, 4), target).item() == pytest.approx(expected, abs=1e-9)


# ---------------------------------------------------------------- ignore_index and gradients
@pytest.mark.parametrize("name", sorted(MULTICLASS))
def test_ignored_pixels_change_nothing(name):
    fn = MULTICLASS[name]
    torch.manual_seed(6)
    logits, target = torch.randn(2, 4, 8, 8), torch.randint(0, 4, (2, 8, 8))
    target[:, :3] = 255
    ignored = (target == 255).unsqueeze(1).expand_as(logits)
    other = torch.where(ignored, torch.randn_like(logits) * 50, logits).requires_grad_(True)
    loss = fn(other, target)
    assert loss.item() == pytest.approx(fn(logits, target).item(), rel=1e-6)
    # ... and is the loss of the image without those rows
    assert loss.item() == pytest.approx(fn(logits[:, :, 3:], target[:, 3:]).item(), rel=1e-6)
    loss.backward()
    assert other.grad[ignored].abs().max().item() == 0.0


CASES = {
    "all_ignored": lambda: torch.full((2, 6, 6), 255),
    "one_class_only": lambda: torch.zeros(2, 6, 6, dtype=torch.long),
    "mixed": lambda: torch.randint(0, 4, (2, 6, 6), generator=torch.Generator().manual_seed(7)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("scale", [1.0, 1e4])  # 1e4: saturated softmax, p_t == 1.0 in float32
@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_gradients_are_finite(name, scale, case):
    torch.manual_seed(8)
    logits = (torch.randn(2, 4, 6, 6) * scale).requires_grad_(True)
    target = CASES[case]()
    options = {"gamma": 0.5} if name == "focal" else {}
    loss = losses.create_loss(name, **options)(logits, target)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    if case == "all_ignored":
        assert loss.item() == 0.0 and logits.grad.abs().max().item() == 0.0


@pytest.mark.parametrize("fn", [losses.binary_dice_loss, losses.binary_focal_loss])
def test_binary_gradients_are_finite(fn):
    logits = (torch.randn(2, 1, 5, 5) * 1e4).requires_grad_(True)
    target = torch.randint(0, 2, (2, 5, 5))
    target[0] = 255
    fn(logits, target, ignore_index=255).backward()
    assert torch.isfinite(logits.grad).all() and logits.grad[0].abs().max().item() == 0.0


# ---------------------------------------------------------------- the course's CombinedLoss defect
class CourseDiceLoss(nn.Module):
    """The course's binary Dice: sigmoid, flatten, compare with the (N, H, W) target."""

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
        inputs, targets = torch.sigmoid(inputs).view(-1), targets.view(-1)
        intersection = (inputs * targets).sum()
        return 1 - (2.0 * intersection + smooth) / (inputs.sum() + targets.sum() + smooth)


class CourseCombinedLoss(nn.Module):
    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return nn.CrossEntropyLoss()(inputs, targets) + CourseDiceLoss()(inputs, targets)


@pytest.mark.parametrize("num_classes", [3, 5])
def test_regression_course_combined_loss_breaks_ours_works_for_many_classes(num_classes):
    torch.manual_seed(9)
    logits = torch.randn(2, num_classes, 8, 8, requires_grad=True)
    target = torch.randint(0, num_classes, (2, 8, 8))
    with pytest.raises(RuntimeError):  # (N*K*H*W) sigmoid scores against (N*H*W) labels
        CourseCombinedLoss()(logits, target)
    loss = losses.create_loss("ce+dice")(logits, target)
    expected = losses.cross_entropy(logits, target) + losses.dice_loss(logits, target)
    assert loss.item() == pytest.approx(expected.item())
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    perfect = losses.combined_loss(hard_logits(target, num_classes), target)
    assert perfect.item() == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------- registry and arguments
def test_registry_names_and_contract():
    assert losses.list_losses() == ["ce", "dice", "focal", "ce+dice", "lovasz", "tversky"]
    torch.manual_seed(10)
    logits, target = torch.randn(2, 3, 5, 5), torch.randint(0, 3, (2, 5, 5))
    for name in losses.LOSSES:
        loss = losses.create_loss(name)(logits, target)
        assert isinstance(losses.create_loss(name), nn.Module) and loss.dim() == 0, name
        assert f"common.loss.{name}" in strings(), name  # named in both languages


def test_create_loss_options_and_buffers():
    loss = losses.create_loss("ce", weight=[1.0, 2.0, 3.0])
    assert "weight" in dict(loss.named_buffers())
    assert losses.create_loss("focal", gamma=0.0, alpha=[1.0, 1.0, 1.0]).alpha.shape == (3,)
    with pytest.raises(ValueError, match="ce, dice, focal, ce\\+dice, lovasz, tversky"):
        losses.create_loss("bce")
    with pytest.raises(ValueError, match="gamma"):
        losses.create_loss("focal", gama=2.0)


BAD_CALLS = [
    (lambda: losses.cross_entropy(torch.randn(1, 3, 4, 4), torch.full((1, 4, 4), 7)), "labels \\[7\\]"),
    (lambda: losses.dice_loss(torch.randn(1, 3, 4, 4), torch.zeros(1, 5, 4, dtype=torch.long)), "does not match"),
    (lambda: losses.focal_loss(torch.randn(1, 3, 4, 4), torch.zeros(1, 4, 4)), "integer"),
    (lambda: losses.dice_loss(torch.randn(1, 1, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long)), "binary_dice_loss"),
    (lambda: losses.focal_loss(torch.randn(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), gamma=-1), "gamma"),
    (lambda: losses.focal_loss(torch.randn(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), alpha=[1, 2]), "alpha"),
    (lambda: losses.cross_entropy(torch.randn(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), reduction="avg"),
     "reduction"),
    (lambda: losses.binary_dice_loss(torch.randn(1, 1, 4, 4), torch.full((1, 4, 4), 2)), "0 or 1"),
    (lambda: losses.lovasz_softmax(torch.randn(1, 3, 4, 4), torch.zeros(1, 4, 4, dtype=torch.long), classes=[5]),
     "classes"),
]


@pytest.mark.parametrize("call, message", BAD_CALLS)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- every loss trains
def imbalanced_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """4 images 24×24, 3 classes: background ~93 %, two rare square classes told apart by channel."""
    g = torch.Generator().manual_seed(seed)
    target = torch.zeros(4, 24, 24, dtype=torch.long)
    for i in range(4):
        for cls in (1, 2):
            y, x = torch.randint(0, 20, (2,), generator=g).tolist()
            target[i, y:y + 4, x:x + 4] = cls
    images = torch.randn(4, 3, 24, 24, generator=g) * 0.5
    images[:, 0] += (target == 1) * 1.5
    images[:, 1] += (target == 2) * 1.5
    return images, target


def miou_of(pred: torch.Tensor, target: torch.Tensor, num_classes: int = 3) -> float:
    from segdemo.metrics import confusion_matrix, metrics_from_confusion

    return float(metrics_from_confusion(confusion_matrix(pred, target, num_classes))["miou"])


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_each_loss_trains_a_tiny_model(name):
    torch.manual_seed(11)
    images, target = imbalanced_batch()
    assert (target == 0).float().mean() > 0.85
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 1))
    with torch.no_grad():  # start by predicting background everywhere, as an imbalanced model would
        model[2].bias.copy_(torch.tensor([3.0, 0.0, 0.0]))
    before = miou_of(model(images).argmax(1), target)
    loss_fn = losses.create_loss(name)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(60):
        optimizer.zero_grad()
        loss_fn(model(images), target).backward()
        optimizer.step()
    after = miou_of(model(images).argmax(1), target)
    assert after > before + 0.25 and after > 0.7, (name, before, after)


# ---------------------------------------------------------------- 0/255 binary masks and negative ignore labels
@pytest.mark.parametrize("fn", [losses.binary_dice_loss, losses.binary_focal_loss])
def test_raw_0_255_binary_mask_is_refused_with_the_fix(fn):
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[:, 2:6, 2:6] = 255  # a foreground square as saved on disk
    with pytest.raises(ValueError, match=r"\[255\].*divide it by 255"):
        fn(torch.full((1, 1, 8, 8), -10.0), target)


def test_binary_dice_of_all_background_logits_on_a_converted_mask():
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[:, 2:6, 2:6] = 1  # 16 foreground pixels
    logits = torch.full((1, 1, 8, 8), -10.0)  # sigmoid ≈ 4.54e-5 everywhere
    p = torch.sigmoid(torch.tensor(-10.0)).item()
    # by hand: 1 - (2·16p + 1) / (64p + 16 + 1)
    expected = 1 - (2 * 16 * p + 1) / (64 * p + 16 + 1)
    assert losses.binary_dice_loss(logits, target).item() == pytest.approx(expected, rel=1e-5)
    assert expected > 0.94  # close to 1, where the raw 0/255 mask scored 0.395
    # explicit ignore_index=255 still leaves void pixels out (here: the square, so nothing to find)
    void = target * 255
    assert losses.binary_dice_loss(logits, void, ignore_index=255).item() == pytest.approx(
        1 - 1 / (48 * p + 1), rel=1e-4)


@pytest.mark.parametrize("name", ["cross_entropy", "focal_loss", "dice_loss", "lovasz_softmax", "tversky_loss",
                                  "combined_loss"])
def test_negative_ignore_index_gives_the_same_loss_as_255(name):
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 6, 6)
    target = torch.randint(0, 3, (2, 6, 6))
    void = torch.rand(2, 6, 6) < 0.2
    with_255 = MULTICLASS[name](logits, torch.where(void, 255, target), ignore_index=255)
    with_minus_100 = MULTICLASS[name](logits, torch.where(void, -100, target), ignore_index=-100)
    assert with_minus_100.item() == pytest.approx(with_255.item(), abs=1e-6)


def test_negative_ignore_index_matches_pytorch_default():
    torch.manual_seed(1)
    logits, target = torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))
    target[0, 0] = -100
    assert losses.cross_entropy(logits, target, ignore_index=-100).item() == pytest.approx(
        F.cross_entropy(logits, target).item(), abs=1e-6)
    with pytest.raises(ValueError, match=r"\[-7\]"):
        losses.cross_entropy(logits, torch.where(target == -100, -7, target), ignore_index=-100)


def test_binary_losses_take_a_negative_ignore_index():
    logits = torch.tensor([[[[2.0, -1.0, 5.0]]]])
    target = torch.tensor([[[1, 0, -100]]])
    full = losses.binary_focal_loss(logits[..., :2], target[..., :2], gamma=0.0)
    assert losses.binary_focal_loss(logits, target, gamma=0.0, ignore_index=-100).item() == pytest.approx(full.item())


@pytest.mark.parametrize("name", ["dice_loss", "tversky_loss", "lovasz_softmax"])
def test_per_image_is_each_image_alone(name):
    # Lovász's reference per_image=True, and the same for the soft-count losses: one loss per class and
    # image, as if each image were its own batch (ignored pixels, an image with every pixel ignored and
    # classes absent from one image only included).
    fn = getattr(losses, name)
    torch.manual_seed(0)
    logits = torch.randn(4, 3, 9, 11)
    target = torch.randint(0, 3, (4, 9, 11))
    target[0, :2] = 255
    target[1][target[1] == 2] = 0
    target[2] = 255
    rows = fn(logits, target, reduction="none", per_image=True)  # (N, K)
    alone = torch.stack([fn(logits[i:i + 1], target[i:i + 1], reduction="none") for i in range(4)])
    assert rows.shape == (4, 3)
    assert torch.equal(rows.isnan(), alone.isnan()) and torch.allclose(rows.nan_to_num(), alone.nan_to_num(), atol=1e-6)
    mean = torch.stack([fn(logits[i:i + 1], target[i:i + 1]) for i in range(4)]).mean()
    assert fn(logits, target, per_image=True).item() == pytest.approx(mean.item(), abs=1e-6)
