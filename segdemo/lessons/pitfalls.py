"""Where the textbook code breaks: eleven live demonstrations, each a naive variant beside its fix.

Every function here runs a *minimal naive variant written for this app* (the mistake a student makes
when porting the chapter's code, not a copy of the course text) and the fix on the same input, and
returns a :class:`Demo`: the exception the naive code really raised (caught, type and message), or
its wrong numbers; the fixed numbers; a table and pictures. Nothing is hard-coded: if a library
changes its behaviour, ``tests/test_pitfalls.py`` fails and the lesson is rewritten.

All functions run in well under 2 s on a CPU (tiny channel counts; the shapes are what matter).
Strings live in :mod:`segdemo.strings.pitfalls` under ``pitfalls.<key>.*``; table headers and cells
that start with ``"pitfalls."`` are string keys the UI translates.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segdemo.checkpoints import load_checkpoint
from segdemo.data import IMAGENET_MEAN, IMAGENET_STD, SegmentationFolder, SynthScenes, render_scene
from segdemo.errors import InputError
from segdemo.imageio import resize_mask
from segdemo.lessons.losses import degrade_mask, logits_from_labels
from segdemo.losses import cross_entropy, dice_loss
from segdemo.metrics import confusion_matrix, metrics_from_confusion
from segdemo.models import create_model
from segdemo.models.layers import PoolingBatchNorm2d
from segdemo.palette import IGNORE_INDEX, SCENE_PALETTE, colorize, full_palette, overlay
from segdemo.serving import checkpoint_dir
from segdemo.strings import both
from segdemo.tempfiles import temp_dir

#: The colour of "a label that does not exist" in the pictures (magenta: no class uses it).
INVALID_COLOUR = np.array([255, 0, 255], dtype=np.uint8)
FAIL = "✗"


@dataclass(frozen=True)
class Demo:
    """What one pitfall did on one input.

    Attributes:
        key: the pitfall (``pitfalls.<key>.*`` strings).
        error: ``"TypeName: message"`` the naive code raised (or warned), caught as it happened; ``None``
            when the naive code ran and returned a wrong result instead.
        naive: numbers of the naive variant (parameters of the string ``pitfalls.<key>.naive``).
        fixed: numbers of the fix (parameters of ``pitfalls.<key>.fixed``).
        headers: the table's columns: string keys, or ``{"en", "zh"}`` texts (a header with a number in it).
        rows: the table; a ``str`` cell starting with ``"pitfalls."`` is a string key.
        pictures: ``(caption key, (H, W, 3) uint8)`` pairs.
        on: what it ran on, ``(string key, params)`` (e.g. the tab's current image and its size), or ``None``.
    """

    key: str
    error: str | None
    naive: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    headers: tuple[str | dict[str, str], ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    pictures: tuple[tuple[str, np.ndarray], ...] = ()
    on: tuple[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class Current:
    """The input a tab shows right now, which its pitfalls run on (every field optional).

    Attributes:
        image: ``(H, W, 3)`` uint8, the picture on the tab.
        truth: ``(H, W)`` int label map (255 = ignore) of that picture, or of the tab's mask pair.
        pred: ``(H, W)`` int label map predicted for it (Losses: the degraded copy; mIoU: the uploaded one).
        num_classes: classes of ``truth``/``pred``.
        label: what it is, as a string key of :mod:`segdemo.strings.pitfalls` (``pitfalls.on.*``).
    """

    image: np.ndarray | None = None
    truth: np.ndarray | None = None
    pred: np.ndarray | None = None
    num_classes: int | None = None
    label: str = "pitfalls.on.default"
    palette: np.ndarray | None = None


def _attempt(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    """``(result, None)`` or ``(None, "TypeName: first line of the message")`` of calling ``fn``."""
    try:
        return fn(), None
    except Exception as exc:  # noqa: BLE001 - showing the real exception is the lesson
        return None, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"


def _hw(t: torch.Tensor | np.ndarray) -> str:
    return f"{t.shape[-2]}×{t.shape[-1]}"


def _scene(index: int, size: int):
    return render_scene(0, index, size)


def _check_size(size: int | tuple[int, int], low: int = 32, high: int = 1024) -> tuple[int, int]:
    """``(H, W)`` of ``size`` (a side, or ``(H, W)`` e.g. of the tab's image), each in ``[low, high]``."""
    height, width = (size, size) if np.isscalar(size) else size
    height, width = int(height), int(width)
    if not (low <= height <= high and low <= width <= high):
        raise ValueError(f"size must be in [{low}, {high}] pixels, got {height}×{width}")
    return height, width


def _on(current: Current | None, **params: Any) -> tuple[str, dict[str, Any]] | None:
    return None if current is None else (current.label, params)


# ---------------------------------------------------------------- 1. FCN-8s skip fusion
class _NaiveFCN8s(nn.Module):
    """FCN-8s's geometry with 4 channels: one size-keeping 3×3 conv and a 2×2 max-pool per VGG stage.

    ``mode``:
      - ``"valid"``: a literal port without the paper's padding: fc6 a 7×7 conv with no padding,
        PyTorch's default (floor) pooling, ×2 transposed convs (kernel 4, stride 2, padding 1), sum.
      - ``"same"``: the same, fc6 padded by 3 so it keeps the map's size.
      - ``"paper"``: the paper's fix: conv1_1 pads the image by 100, Caffe's round-up pooling, fc6 valid,
        transposed convs without padding, and each finer score map cropped at offsets 5, 9 and 31.
      - ``"interp"``: the other fix: as ``"same"``, each upsampled map interpolated to its partner's size.
    Records each stage's size in ``self.sizes``.
    """

    def __init__(self, mode: str, classes: int = 2, width: int = 4) -> None:
        super().__init__()
        self.mode = mode
        paper = mode == "paper"
        self.stages = nn.ModuleList(
            nn.Conv2d(3 if i == 0 else width, width, 3, padding=100 if (paper and i == 0) else 1) for i in range(5))
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=paper)
        self.fc6 = nn.Conv2d(width, width, 7, padding=3 if mode in ("same", "interp") else 0)
        self.score_fr = nn.Conv2d(width, classes, 1)
        self.score_pool4 = nn.Conv2d(width, classes, 1)
        self.score_pool3 = nn.Conv2d(width, classes, 1)
        pad = 0 if paper else 1
        self.upscore2 = nn.ConvTranspose2d(classes, classes, 4, stride=2, padding=pad)
        self.upscore_pool4 = nn.ConvTranspose2d(classes, classes, 4, stride=2, padding=pad)
        self.upscore8 = nn.ConvTranspose2d(classes, classes, 16, stride=8, padding=0 if paper else 4)
        self.sizes: dict[str, str] = {}

    def _fuse(self, up: torch.Tensor, skip: torch.Tensor, offset: int) -> torch.Tensor:
        if self.mode == "paper":  # Caffe's Crop layer: cut the skip's scores at a fixed offset
            skip = skip[..., offset:offset + up.shape[-2], offset:offset + up.shape[-1]]
        elif self.mode == "interp":
            up = F.interpolate(up, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return up + skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sizes = {"input": _hw(x)}
        pools = []
        h = x
        for i, conv in enumerate(self.stages):
            h = self.pool(torch.relu(conv(h)))
            pools.append(h)
            self.sizes[f"pool{i + 1}"] = _hw(h)
        pool3, pool4, pool5 = pools[2], pools[3], pools[4]
        score = self.score_fr(torch.relu(self.fc6(pool5)))
        self.sizes["fc6"] = _hw(score)
        up = self.upscore2(score)
        self.sizes["upscore2"] = _hw(up)
        score = self._fuse(up, self.score_pool4(pool4), 5)
        up = self.upscore_pool4(score)
        self.sizes["upscore_pool4"] = _hw(up)
        score = self._fuse(up, self.score_pool3(pool3), 9)
        out = self.upscore8(score)
        if self.mode == "paper":
            out = out[..., 31:31 + x.shape[-2], 31:31 + x.shape[-1]]
        elif self.mode == "interp":
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        self.sizes["output"] = _hw(out)
        return out


FCN_MODES = ("valid", "same", "paper", "interp")
FCN_STAGES = ("input", "pool3", "pool4", "pool5", "fc6", "upscore2", "upscore_pool4", "output")


@functools.lru_cache(maxsize=4)
def _fcn(mode: str) -> _NaiveFCN8s:
    torch.manual_seed(0)
    return _NaiveFCN8s(mode).eval()


def fcn_min_size(mode: str = "valid") -> int:
    """The smallest square input (px) on which fc6's 7×7 window fits pool5 in the naive ``mode``."""
    ceil = mode == "paper"
    pad = 100 if ceil else 1
    for size in range(32, 1025):
        h = size + 2 * pad - 2
        for _ in range(5):
            h = -(-h // 2) if ceil else h // 2
        if mode in ("same", "interp") or h >= 7:
            return size
    raise AssertionError("unreachable")


def fcn_skips(size: int | tuple[int, int] = 500, current: Current | None = None) -> Demo:
    """FCN-8s on a ``size`` (side or ``(H, W)``) image in the four modes of :class:`_NaiveFCN8s`.

    ``naive``: the two naive errors; ``fixed``: output sizes of the two fixes; table: each stage's size.
    With ``current`` (the tab's image) its ``(H, W)`` is used instead of ``size``.
    """
    height, width = _check_size(current.image.shape[:2] if current is not None else size)
    x = torch.zeros(1, 3, height, width)
    columns, errors = {}, {}
    with torch.no_grad():
        for mode in FCN_MODES:
            net = _fcn(mode)
            _, errors[mode] = _attempt(lambda net=net: net(x))
            columns[mode] = dict(net.sizes)
    rows = tuple((stage, *(columns[m].get(stage, FAIL) for m in FCN_MODES)) for stage in FCN_STAGES)
    return Demo(  # both naive errors are in ``naive`` (shown side by side), so no separate ``error``
        key="fcn_skips", error=None,
        # a naive variant that runs may still be wrong: at 97 px "same" returns 96×96
        naive={"size": f"{height}×{width}", "valid": errors["valid"] or "→ " + columns["valid"]["output"],
               "same": errors["same"] or "→ " + columns["same"]["output"],
               "min_size": fcn_min_size("valid")},
        fixed={"paper": columns["paper"].get("output", FAIL), "interp": columns["interp"].get("output", FAIL),
               "size": f"{height}×{width}"},
        headers=("pitfalls.col.stage", "pitfalls.fcn_skips.col.valid", "pitfalls.fcn_skips.col.same",
                 "pitfalls.fcn_skips.col.paper", "pitfalls.fcn_skips.col.interp"),
        rows=rows, on=_on(current, size=f"{height}×{width}"),
    )


# ---------------------------------------------------------------- 2. U-Net at sizes not divisible by 16
class _NaiveUNet(nn.Module):
    """U-Net's geometry with 4 channels: 4 poolings, ×2 transposed convs, skip concatenation.

    ``mode``: ``"naive"`` (concatenate as is), ``"pad"`` (pad the image to a multiple of 16, crop the
    output) or ``"interp"`` (interpolate each upsampled map to its skip's size).
    """

    def __init__(self, mode: str, width: int = 4) -> None:
        super().__init__()
        self.mode = mode
        self.down = nn.ModuleList(nn.Conv2d(3 if i == 0 else width, width, 3, padding=1) for i in range(5))
        self.up = nn.ModuleList(nn.ConvTranspose2d(width, width, 2, stride=2) for _ in range(4))
        self.merge = nn.ModuleList(nn.Conv2d(2 * width, width, 3, padding=1) for _ in range(4))
        self.rows: list[tuple[str, str, str]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        if self.mode == "pad":
            x = F.pad(x, (0, -width % 16, 0, -height % 16))
        skips, h = [], x
        for i, conv in enumerate(self.down):
            h = torch.relu(conv(h if i == 0 else F.max_pool2d(h, 2)))
            skips.append(h)
        self.rows = []
        h = skips.pop()
        for level, (up, merge) in enumerate(zip(self.up, self.merge, strict=True)):
            skip = skips.pop()
            h = up(h)
            self.rows.append((f"level {4 - level}", _hw(skip), _hw(h)))
            if self.mode == "interp":
                h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = torch.relu(merge(torch.cat((h, skip), dim=1)))
        return h[..., :height, :width]


def unet_sizes(size: int | tuple[int, int] = 100, current: Current | None = None) -> Demo:
    """U-Net on a ``size`` (side or ``(H, W)``; the tab's image with ``current``) input: the naive
    concatenation and the two fixes; table: each level's sizes."""
    height, width = _check_size(current.image.shape[:2] if current is not None else size)
    x = torch.zeros(1, 3, height, width)
    torch.manual_seed(0)
    nets = {mode: _NaiveUNet(mode).eval() for mode in ("naive", "pad", "interp")}
    with torch.no_grad():
        outs = {mode: _attempt(lambda net=net: net(x)) for mode, net in nets.items()}
    naive_rows = nets["naive"].rows
    pad_rows = {r[0]: r for r in nets["pad"].rows}
    rows = tuple((name, skip, up, pad_rows[name][1] if name in pad_rows else FAIL,
                  "✓" if skip == up else FAIL) for name, skip, up in naive_rows)
    return Demo(
        key="unet_sizes", error=outs["naive"][1],
        naive={"size": f"{height}×{width}", "remainder": f"{height % 16}, {width % 16}"},
        fixed={"pad": _hw(outs["pad"][0]) if outs["pad"][0] is not None else FAIL,
               "interp": _hw(outs["interp"][0]) if outs["interp"][0] is not None else FAIL,
               "padded": f"{height + (-height % 16)}×{width + (-width % 16)}"},
        headers=("pitfalls.col.stage", "pitfalls.unet_sizes.col.skip", "pitfalls.unet_sizes.col.up",
                 "pitfalls.unet_sizes.col.padded", "pitfalls.col.match"),
        rows=rows, on=_on(current, size=f"{height}×{width}"),
    )


# ---------------------------------------------------------------- 3. ASPP's pooling branch
def _aspp_branches(x: torch.Tensor, naive: bool) -> list[torch.Tensor]:
    torch.manual_seed(0)
    channels = x.shape[1]
    branches = [nn.Conv2d(channels, 4, 1)(x)]
    branches += [nn.Conv2d(channels, 4, 3, padding=r, dilation=r)(x) for r in (6, 12, 18)]
    pooled = nn.Conv2d(channels, 4, 1)(F.adaptive_avg_pool2d(x, 1))  # (N, 4, 1, 1)
    # The mistake: upsampling to the pooled map's own size, which leaves it 1×1.
    target = pooled.shape[-2:] if naive else x.shape[-2:]
    branches.append(F.interpolate(pooled, size=target, mode="bilinear", align_corners=False))
    return branches


def aspp_pooling(size: int | tuple[int, int] = 512, current: Current | None = None) -> Demo:
    """ASPP on the 1/8-size feature map of a ``size`` (side or ``(H, W)``; the tab's image with
    ``current``) image: the pooling branch upsampled wrongly and right."""
    height, width = _check_size(current.image.shape[:2] if current is not None else size)
    feature = torch.randn(1, 8, -(-height // 8), -(-width // 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        naive = _aspp_branches(feature, naive=True)
        fixed = _aspp_branches(feature, naive=False)
        _, error = _attempt(lambda: torch.cat(naive, dim=1))
        out = torch.cat(fixed, dim=1)
    names = ("1×1", "3×3 r=6", "3×3 r=12", "3×3 r=18", "pool")
    rows = tuple((name, _hw(a), _hw(b)) for name, a, b in zip(names, naive, fixed, strict=True))
    return Demo(
        key="aspp_pooling", error=error,
        naive={"feature": _hw(feature)}, fixed={"out": f"{out.shape[1]}×{_hw(out)}"},
        headers=("pitfalls.col.branch", "pitfalls.col.naive", "pitfalls.col.fixed"),
        rows=rows, on=_on(current, size=f"{height}×{width}"),
    )


# ---------------------------------------------------------------- 4. DeepLabV3: stem and output stride
DEEPLAB_STRIDES = (32, 16, 8)
#: ASPP rates for the shipped small DeepLabV3 (trained at output stride 8 with rates (2, 4, 6) on its
#: 1/8 map, i.e. 16, 32, 48 image pixels): the same reach in image pixels at 16, rounded at 32.
_RATES_AT = {8: (1, 2, 3), 16: (1, 2, 3), 32: (2, 2, 4)}


@functools.lru_cache(maxsize=1)
def _deeplab_models() -> tuple[dict[int, nn.Module], dict[str, Any]]:
    """The shipped small DeepLabV3 rebuilt at output strides 32, 16 and 8 with the same weights."""

    ckpt = load_checkpoint(checkpoint_dir() / "deeplabv3")
    state = ckpt.model.state_dict()
    models = {}
    for stride in DEEPLAB_STRIDES:
        options = {**ckpt.card["options"], "output_stride": stride, "rates": _RATES_AT[stride]}
        model = create_model(ckpt.card["model"], ckpt.card["num_classes"], **options)
        model.load_state_dict(state)
        models[stride] = model.eval()
    return models, ckpt.card


def _near_boundary(mask: np.ndarray, radius: int = 2) -> np.ndarray:
    """``(N, H, W)`` bool: pixels within ``radius`` px of a label change."""
    t = torch.from_numpy(mask.astype(np.float32)).unsqueeze(1)
    k = 2 * radius + 1
    high = F.max_pool2d(t, k, 1, radius)
    low = -F.max_pool2d(-t, k, 1, radius)
    return (high != low).squeeze(1).numpy()


def _normalised(images: np.ndarray) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 → ``(N, 3, H, W)`` float, ImageNet-normalised as the checkpoints expect."""
    x = torch.from_numpy(np.array(images, dtype=np.float32)).permute(0, 3, 1, 2) / 255
    return (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def _strip(pictures: list[np.ndarray]) -> np.ndarray:
    """Pictures of one height side by side, 4 px of white between them."""
    return np.concatenate([np.pad(p, ((0, 0), (0, 4), (0, 0)), constant_values=255) for p in pictures], axis=1)


#: The longest side the current image is shown to the three DeepLabV3s at (bounded work per click).
STRIDE_IMAGE_SIDE = 256


def deeplab_stride(scenes: int = 12, current: Current | None = None) -> Demo:
    """The stem skipped (the crash), then the shipped DeepLabV3 at output stride 32/16/8 on ``scenes``
    validation scenes: mIoU, accuracy near boundaries, and the IoU of the thin classes (ring, cross).

    With ``current`` (the tab's image), a second picture shows its prediction at each stride (the image
    scaled so its longest side is at most :data:`STRIDE_IMAGE_SIDE`).
    """
    demo = _deeplab_stride_scenes(scenes)
    if current is None or current.image is None:
        return demo
    models, card = _deeplab_models()
    image = _small(current.image, STRIDE_IMAGE_SIDE, floor=32)  # the models' contract: sides >= 32
    palette = np.asarray(card["classes"]["palette"], dtype=np.uint8)
    x = _normalised(image[None])
    with torch.no_grad():
        preds = [colorize(models[stride](x).argmax(1)[0].numpy(), palette) for stride in DEEPLAB_STRIDES]
    picture = _strip([image, *preds])
    return dataclasses.replace(demo, pictures=(*demo.pictures, ("pitfalls.deeplab_stride.picture_current", picture)),
                               on=_on(current, size=_hw(image.transpose(2, 0, 1))))


@functools.lru_cache(maxsize=2)  # deterministic: the same scenes and weights every time
def _deeplab_stride_scenes(scenes: int = 12) -> Demo:

    if not 1 <= scenes <= 64:
        raise ValueError(f"scenes must be in [1, 64], got {scenes}")
    models, card = _deeplab_models()
    val = card.get("validation", {})
    size = int(val.get("size", 96))
    data = SynthScenes(scenes, size=size, seed=int(val.get("seed", 1000003)))
    images, masks = zip(*(data.sample(i) for i in range(scenes)), strict=True)
    x = _normalised(np.stack(images))
    truth = np.stack(masks).astype(np.int64)
    near = _near_boundary(truth)
    k = card["num_classes"]
    backbone = models[8].backbone

    # The naive forward: straight into the residual stages, as if the image were the stem's output.
    with torch.no_grad():
        _, error = _attempt(lambda: backbone.layer1(x[:1]))
        rows, preds = [], {}
        for stride in DEEPLAB_STRIDES:
            feature = models[stride].backbone(x[:1])["out"]
            pred = models[stride](x).argmax(1).numpy()
            preds[stride] = pred
            m = metrics_from_confusion(confusion_matrix(pred, truth, k))
            iou = m["iou"]
            rows.append((f"{stride}", _hw(feature), round(m["miou"], 3), round(float((pred == truth)[near].mean()), 3),
                         round(float(iou[4]), 3), round(float(iou[5]), 3)))
    palette = np.asarray(card["classes"]["palette"], dtype=np.uint8)
    strip = [images[0], colorize(truth[0], palette)] + [colorize(preds[s][0], palette) for s in DEEPLAB_STRIDES]
    picture = _strip(strip)
    best, worst = rows[-1], rows[0]
    return Demo(
        key="deeplab_stride", error=error,
        naive={"miou": worst[2], "boundary": worst[3]},
        fixed={"miou": best[2], "boundary": best[3], "scenes": scenes, "size": size},
        headers=("pitfalls.deeplab_stride.col.stride", "pitfalls.deeplab_stride.col.feature", "mIoU",
                 "pitfalls.deeplab_stride.col.boundary", "pitfalls.deeplab_stride.col.ring",
                 "pitfalls.deeplab_stride.col.cross"),
        rows=tuple(rows),
        pictures=(("pitfalls.deeplab_stride.picture", picture),),
    )


# ---------------------------------------------------------------- 5. BatchNorm with batch size 1
def _pooling_branch(norm: nn.Module, channels: int = 8) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(channels, channels, 1, bias=False), norm, nn.ReLU())


def batchnorm_batch1(current: Current | None = None) -> Demo:
    """ASPP's pooling branch (global pool → 1×1 conv → BN) in train mode on one image, and four fixes.

    The image is the tab's (``current``, its three colour channels as the feature map) or a random map.
    """
    if current is not None and current.image is not None:
        one = _normalised(current.image[None])
        two = torch.cat([one, one.flip(-1)])  # a batch of two: the image and its mirror
    else:
        one = torch.randn(1, 8, 12, 12, generator=torch.Generator().manual_seed(0))
        two = torch.randn(2, 8, 12, 12, generator=torch.Generator().manual_seed(1))
    c = one.shape[1]
    _, error = _attempt(lambda: _pooling_branch(nn.BatchNorm2d(c), c).train()(one))
    fixes = (
        ("pitfalls.batchnorm_batch1.fix.eval", lambda: _pooling_branch(nn.BatchNorm2d(c), c).eval()(one)),
        ("pitfalls.batchnorm_batch1.fix.batch2", lambda: _pooling_branch(nn.BatchNorm2d(c), c).train()(two)),
        ("pitfalls.batchnorm_batch1.fix.groupnorm", lambda: _pooling_branch(nn.GroupNorm(1, c), c).train()(one)),
        ("pitfalls.batchnorm_batch1.fix.pooling_bn", lambda: _pooling_branch(PoolingBatchNorm2d(c), c).train()(one)),
    )
    rows = []
    for name, fn in fixes:
        out, err = _attempt(fn)
        rows.append((name, "✓ " + "×".join(map(str, out.shape)) if err is None else err))
    return Demo(key="batchnorm_batch1", error=error, naive={}, fixed={"ok": sum(r[1].startswith("✓") for r in rows)},
                headers=("pitfalls.col.fix", "pitfalls.col.result"), rows=tuple(rows),
                on=_on(current, size=_hw(one)))


# ---------------------------------------------------------------- 6. binary Dice inside a K-class loss
def naive_binary_dice(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """A binary Dice written for one foreground channel, then handed K-class logits and class ids."""
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    return 1 - (2 * inter + smooth) / (p.sum() + target.sum() + smooth)


def _pair(current: Current | None, scene: int, size: int, num_classes: int, **degrade: Any
          ) -> tuple[np.ndarray, np.ndarray, int]:
    """``(truth, prediction, K)``: the tab's pair (``current``) or scene ``scene`` and a degraded copy."""
    if current is not None and current.truth is not None and current.pred is not None:
        return current.truth.astype(np.int64), current.pred.astype(np.int64), int(current.num_classes or num_classes)
    s = _scene(scene, size)
    return s.mask.astype(np.int64), degrade_mask(s.mask, s.instances, num_classes, seed=scene, **degrade), num_classes


def binary_dice(scene: int = 3, num_classes: int = 6, current: Current | None = None) -> Demo:
    """The naive binary Dice against the multi-class softmax Dice on a perfect and a poor prediction
    (the tab's truth and prediction with ``current``)."""

    mask, poor, num_classes = _pair(current, scene, 64, num_classes, drop=1, shift=(6, 3))
    truth = torch.from_numpy(mask).unsqueeze(0)
    predictions = {"pitfalls.binary_dice.perfect": truth[0].numpy(), "pitfalls.binary_dice.poor": poor}
    rows = []
    for name, pred in predictions.items():
        logits = logits_from_labels(pred, num_classes, 0.9)
        ce = float(cross_entropy(logits, truth))
        rows.append((name, round(float(naive_binary_dice(logits, truth)), 4), round(float(dice_loss(logits, truth)), 4),
                     round(ce + float(naive_binary_dice(logits, truth)), 4), round(ce + float(dice_loss(logits, truth)), 4)))
    batch = torch.cat([truth, truth])
    _, error = _attempt(lambda: naive_binary_dice(logits_from_labels(batch, num_classes, 0.9), batch))
    return Demo(
        key="binary_dice", error=error,
        naive={"perfect": rows[0][1], "poor": rows[1][1]}, fixed={"perfect": rows[0][2], "poor": rows[1][2]},
        headers=("pitfalls.col.prediction", "pitfalls.binary_dice.col.naive", "pitfalls.binary_dice.col.fixed",
                 "pitfalls.binary_dice.col.naive_total", "pitfalls.binary_dice.col.fixed_total"),
        rows=tuple(rows), on=_on(current, size=_hw(mask)),
    )


# ---------------------------------------------------------------- 7. cross-entropy on 255 borders
def _with_border(mask: np.ndarray, width: int) -> np.ndarray:
    out = mask.astype(np.int64).copy()
    out[:width], out[-width:], out[:, :width], out[:, -width:] = IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX
    return out


def ce_ignore(scene: int = 3, border: int = 4, num_classes: int = 6, current: Current | None = None) -> Demo:
    """``F.cross_entropy`` on a mask whose border is 255, without and with ``ignore_index=255`` (the
    tab's truth, given a 255 border, and its prediction with ``current``)."""
    mask, pred, num_classes = _pair(current, scene, 64, num_classes, grow=1)
    target = torch.from_numpy(_with_border(mask, border)).unsqueeze(0)
    logits = logits_from_labels(pred, num_classes, 0.8)
    _, error = _attempt(lambda: F.cross_entropy(logits, target))
    value = float(F.cross_entropy(logits, target, ignore_index=IGNORE_INDEX))
    ignored = int((target == IGNORE_INDEX).sum())
    picture = colorize(target[0].numpy(), SCENE_PALETTE)
    return Demo(key="ce_ignore", error=error, naive={"ignored": ignored, "share": round(100 * ignored / target.numel(), 1)},
                fixed={"loss": round(value, 4), "counted": target.numel() - ignored},
                pictures=(("pitfalls.ce_ignore.picture", picture),), on=_on(current, size=_hw(mask)))


# ---------------------------------------------------------------- 8. masks resized bilinearly / read as RGB
def _palette_png(mask: np.ndarray, palette: np.ndarray = SCENE_PALETTE) -> bytes:
    from PIL import Image

    image = Image.fromarray(mask.astype(np.uint8), mode="P")
    image.putpalette(full_palette(palette).ravel().tolist())  # 256 entries: 255 stays 255
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _show_labels(mask: np.ndarray, valid: set[int], palette: np.ndarray = SCENE_PALETTE) -> np.ndarray:
    """Colour a mask; values that are no class are magenta."""
    invalid = ~np.isin(mask, list(valid))
    picture = colorize(np.where(invalid, 0, mask).astype(np.int64), palette)
    picture[invalid] = INVALID_COLOUR
    return picture


#: Table rows at most (one per class; a 256-class upload would not fit a screen).
MAX_ROWS = 32
#: The longest side a tab's mask is brought to before the demonstrations (bounded work, readable pictures).
MASK_SIDE = 128


def _small(array: np.ndarray, side: int = MASK_SIDE, labels: bool = False, floor: int = 1) -> np.ndarray:
    """``array`` scaled so its longest side is at most ``side``, no side below ``floor`` (label maps by centred
    nearest sampling, any label value)."""
    from PIL import Image

    scale = side / max(array.shape[:2])
    if scale >= 1:
        return array
    size = (max(floor, round(array.shape[1] * scale)), max(floor, round(array.shape[0] * scale)))
    if labels:
        return resize_mask(array, size)
    return np.asarray(Image.fromarray(array).resize(size, Image.BILINEAR))


def mask_resize(scene: int = 3, size: int = 64, new_size: int = 96, current: Current | None = None) -> Demo:
    """A palette-PNG mask resized bilinearly and read as RGB/255, against nearest and index reading.

    With ``current`` its mask (scaled to at most :data:`MASK_SIDE`) is used, resized by 1.5×."""
    from PIL import Image

    if current is not None and current.truth is not None:
        base = _small(current.truth, labels=True)
        new_size = (max(1, round(base.shape[1] * 1.5)), max(1, round(base.shape[0] * 1.5)))
    else:
        base = _scene(scene, size).mask
        new_size = (new_size, new_size)
    palette = SCENE_PALETTE if current is None or current.palette is None else current.palette
    mask = _with_border(base, 3)
    values = sorted(set(np.unique(mask).tolist()))
    valid = set(values)  # "no such label": any value the original mask does not have
    png = _palette_png(mask, palette)
    with Image.open(io.BytesIO(png)) as im:
        index = np.asarray(im)  # mode "P": the class ids themselves
        naive_l = np.asarray(Image.fromarray(index).resize(new_size, Image.BILINEAR))
        nearest = np.asarray(Image.fromarray(index).resize(new_size, Image.NEAREST))
        rgb = np.asarray(im.convert("RGB")) / 255.0  # the other mistake: a colour picture as a label map
    as_labels = rgb[..., 0].astype(np.int64)
    rows = [(int(v), int((mask == v).sum()), int((naive_l == v).sum()), int((nearest == v).sum()))
            for v in values[:MAX_ROWS]]
    rows.append(("pitfalls.mask_resize.other", 0, int((~np.isin(naive_l, values)).sum()),
                 int((~np.isin(nearest, values)).sum())))
    fractions = sorted(set(np.round(np.unique(rgb[..., 0]), 3).tolist()))
    return Demo(
        key="mask_resize", error=None,
        naive={"invalid": len(set(np.unique(naive_l).tolist()) - valid),
               "invalid_px": int((~np.isin(naive_l, list(valid))).sum()),
               "rgb_values": ", ".join(f"{v:g}" for v in fractions[:6]),
               "rgb_classes": ", ".join(map(str, sorted(set(np.unique(as_labels).tolist()))))},
        fixed={"invalid": len(set(np.unique(nearest).tolist()) - valid),
               "classes": ", ".join(map(str, sorted(set(np.unique(index).tolist()))))},
        headers=("pitfalls.mask_resize.col.value", both("pitfalls.mask_resize.col.original", size=_hw(mask)),
                 both("pitfalls.mask_resize.col.bilinear", size=_hw(nearest)),
                 both("pitfalls.mask_resize.col.nearest", size=_hw(nearest))),
        rows=tuple(rows),
        pictures=(("pitfalls.mask_resize.pic.original", _show_labels(mask, valid, palette)),
                  ("pitfalls.mask_resize.pic.bilinear", _show_labels(naive_l, valid, palette)),
                  ("pitfalls.mask_resize.pic.nearest", _show_labels(nearest, valid, palette))),
        on=_on(current, size=_hw(mask)),
    )


# ---------------------------------------------------------------- 9. mIoU counting ignored / absent classes
def naive_miou(pred: np.ndarray, truth: np.ndarray, num_classes: int) -> tuple[float, list[float]]:
    """mIoU as often written: every class's IoU with an epsilon, every pixel counted, mean over all K."""
    ious = []
    for c in range(num_classes):
        inter = np.logical_and(pred == c, truth == c).sum()
        union = np.logical_or(pred == c, truth == c).sum()
        ious.append(float(inter / (union + 1e-10)))
    return float(np.mean(ious)), ious


def miou_ignore(scene: int = 3, border: int = 6, num_classes: int = 6, current: Current | None = None) -> Demo:
    """The naive mIoU next to :mod:`segdemo.metrics` on one pair, and the pixels that make the difference.

    With ``current`` the tab's pair (first uploaded pair, or the model's prediction of a scene) is used;
    if its truth has no 255 pixels, a ``border``-px 255 frame is added, as VOC's masks have."""

    mask, pred, num_classes = _pair(current, scene, 96, num_classes, grow=2, shift=(3, 0))
    if mask.shape != pred.shape:
        raise ValueError(f"prediction {_hw(pred)} and ground truth {_hw(mask)} differ in size")
    mask, pred = _small(mask, 2 * MASK_SIDE, labels=True), _small(pred, 2 * MASK_SIDE, labels=True)
    palette = SCENE_PALETTE if current is None or current.palette is None else current.palette
    if current is not None and current.truth is not None and (mask == IGNORE_INDEX).any():
        truth = mask
    else:
        truth = _with_border(mask, border)
    known = truth[truth != IGNORE_INDEX]
    num_classes = max(num_classes, int(known.max(initial=0)) + 1, int(pred.max(initial=0)) + 1)
    if num_classes > 256:
        raise ValueError(f"at most 256 classes, got a label {num_classes - 1}")
    naive, naive_ious = naive_miou(pred, truth, num_classes)
    m = metrics_from_confusion(confusion_matrix(pred, truth, num_classes))
    ignored = truth == IGNORE_INDEX
    absent = [c for c in range(num_classes) if not ((pred == c).any() or (truth == c).any())]
    rows = tuple((c, round(naive_ious[c], 4), "—" if np.isnan(m["iou"][c]) else round(float(m["iou"][c]), 4),
                  int((ignored & (pred == c)).sum())) for c in range(min(num_classes, MAX_ROWS)))
    # The difference: ignored pixels counted as predictions of their class (amber), absent classes aside.
    picture = colorize(np.where(ignored, 0, truth), palette) // 3 + 80
    picture[ignored] = (255, 170, 0)
    return Demo(
        key="miou_ignore", error=None,
        naive={"miou": round(naive, 4), "absent": ", ".join(map(str, absent)) or "—", "ignored": int(ignored.sum())},
        fixed={"miou": round(float(m["miou"]), 4), "present": int((~np.isnan(m["iou"])).sum())},
        headers=("pitfalls.col.class", "pitfalls.miou_ignore.col.naive", "pitfalls.miou_ignore.col.fixed",
                 "pitfalls.miou_ignore.col.ignored"),
        rows=rows,
        pictures=(("pitfalls.miou_ignore.pic.truth", colorize(truth, palette)),
                  ("pitfalls.miou_ignore.pic.pred", colorize(pred, palette)),
                  ("pitfalls.miou_ignore.pic.diff", picture)),
        on=_on(current, size=_hw(truth)),
    )


# ---------------------------------------------------------------- 10. albumentations 2.x arguments
def _warned(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    """``fn()`` and the first warning it raised, as ``"UserWarning: message"``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    messages = [w for w in caught if "not valid for transform" in str(w.message)] or caught
    return out, (f"{messages[0].category.__name__}: {messages[0].message}" if messages else None)


def albumentations_args(scene: int = 3, current: Current | None = None) -> Demo:
    """``value``/``mask_value`` (albumentations 1.x) on 2.x, ``ShiftScaleRotate``, ``Transpose`` on a
    non-square image: 64×96 of scene ``scene``, or the tab's image and mask (``current``) scaled to a
    longest side of 96 (and cut to 2:3 if square)."""
    import albumentations as A
    import cv2

    if current is not None and current.image is not None and current.truth is not None:
        image, mask = _small(current.image, 96), _small(current.truth, 96, labels=True).astype(np.uint8)
        if image.shape[:2] != mask.shape:
            raise ValueError(f"image {_hw(image.transpose(2, 0, 1))} and mask {_hw(mask)} differ in size")
    else:
        s = _scene(scene, 96)
        image, mask = s.image, s.mask
    if image.shape[0] == image.shape[1]:  # a square image hides the Transpose mistake: cut it to 2:3
        top = image.shape[0] // 6
        image, mask = image[top:image.shape[0] - top], mask[top:image.shape[0] - top]
    image, mask = np.ascontiguousarray(image), np.ascontiguousarray(mask)
    height, width = mask.shape
    side = min(height, width)
    palette = SCENE_PALETTE if current is None or current.palette is None else current.palette
    constant = cv2.BORDER_CONSTANT
    naive_pad, pad_warning = _warned(lambda: A.PadIfNeeded(128, 128, border_mode=constant, value=0, mask_value=255,
                                                           p=1)(image=image, mask=mask))
    fixed_pad = A.PadIfNeeded(128, 128, border_mode=constant, fill=0, fill_mask=IGNORE_INDEX, p=1)(image=image, mask=mask)
    naive_ssr, ssr_warning = _warned(lambda: A.ShiftScaleRotate(
        shift_limit=(0.0625, 0.0625), scale_limit=(-0.1, -0.1), rotate_limit=(30, 30), border_mode=constant, value=0,
        mask_value=255, p=1)(image=image, mask=mask))  # fixed ranges: the same draw every time
    fixed_affine = A.Affine(translate_percent=(0.0625, 0.0625), scale=(0.9, 0.9), rotate=(30, 30),
                            border_mode=constant, fill=0, fill_mask=IGNORE_INDEX, p=1)(image=image, mask=mask)
    transposed = A.Transpose(p=1)(image=image, mask=mask)
    batch = [torch.from_numpy(image).permute(2, 0, 1), torch.from_numpy(transposed["image"]).permute(2, 0, 1)]
    _, stack_error = _attempt(lambda: torch.stack(batch))
    square = A.Compose([A.CenterCrop(side, side), A.Transpose(p=1)])(image=image, mask=mask)

    outside = np.ones((128, 128), dtype=bool)
    top, left = (128 - height) // 2, (128 - width) // 2  # PadIfNeeded centres the image
    outside[top:top + height, left:left + width] = False
    rows = (
        ("PadIfNeeded(value=, mask_value=)", int((naive_pad["mask"][outside] == 0).sum()),
         int((naive_pad["mask"][outside] == IGNORE_INDEX).sum())),
        ("PadIfNeeded(fill=, fill_mask=)", int((fixed_pad["mask"][outside] == 0).sum()),
         int((fixed_pad["mask"][outside] == IGNORE_INDEX).sum())),
        ("ShiftScaleRotate(value=, mask_value=)", "—", int((naive_ssr["mask"] == IGNORE_INDEX).sum())),
        ("Affine(fill=, fill_mask=)", "—", int((fixed_affine["mask"] == IGNORE_INDEX).sum())),
        (f"Transpose · {height}×{width}", _hw(transposed["image"].transpose(2, 0, 1)), stack_error or "✓"),
        (f"CenterCrop({side}, {side}) + Transpose", _hw(square["image"].transpose(2, 0, 1)), "✓"),
    )
    return Demo(
        key="albumentations_args", error=pad_warning,
        naive={"border_zero": rows[0][1], "ssr_warning": ssr_warning or "—", "stack": stack_error or "—",
               "version": A.__version__},
        fixed={"border_ignored": rows[1][2], "affine_ignored": rows[3][2]},
        headers=("pitfalls.col.transform", "pitfalls.albumentations_args.col.zero",
                 "pitfalls.albumentations_args.col.ignore"),
        rows=rows,
        pictures=(("pitfalls.albumentations_args.pic.naive_pad", colorize(naive_pad["mask"], palette)),
                  ("pitfalls.albumentations_args.pic.fixed_pad", colorize(fixed_pad["mask"], palette)),
                  ("pitfalls.albumentations_args.pic.naive_ssr", colorize(naive_ssr["mask"], palette)),
                  ("pitfalls.albumentations_args.pic.fixed_affine", colorize(fixed_affine["mask"], palette))),
        on=_on(current, size=f"{height}×{width}"),
    )


# ---------------------------------------------------------------- 11. pairing images and masks
def dataset_pairing(count: int = 5, missing: int = 1, current: Current | None = None) -> Demo:
    """A folder of ``count`` images (JPEG) and masks (PNG) with mask ``missing`` lost; three ways to pair.

    The scenes are drawn at 48 px, or at the size of the tab's image (``current``: the Train tab's scenes).
    """
    import os

    from PIL import Image


    if not 0 <= missing < count <= 12:
        raise ValueError(f"need 0 <= missing < count <= 12, got missing={missing}, count={count}")
    root = temp_dir("pitfalls-")
    try:
        images_dir, masks_dir = root / "images", root / "masks"
        images_dir.mkdir()
        masks_dir.mkdir()
        side = 48 if current is None or current.image is None else int(current.image.shape[0])
        scenes = [_scene(i, _check_size(side)[0]) for i in range(count)]
        for i, s in enumerate(scenes):
            Image.fromarray(s.image).save(images_dir / f"scene_{i:02d}.jpg", quality=95)
            if i != missing:
                Image.fromarray(s.mask).save(masks_dir / f"scene_{i:02d}.png")
        # Naive 1: the i-th image with the i-th mask of the sorted listings (zip stops silently).
        pairs = list(zip(sorted(os.listdir(images_dir)), sorted(os.listdir(masks_dir)), strict=False))
        # Naive 2: the mask has the image's name in the other folder; the extensions differ.
        _, name_error = _attempt(lambda: Image.open(str(images_dir / "scene_00.jpg").replace("images", "masks")))
        # Fix: pair by file stem, and refuse a lonely file by name.
        try:
            SegmentationFolder(images_dir, masks_dir)
            raise AssertionError("SegmentationFolder accepted an image without a mask")
        except InputError as exc:  # its message in both languages, with the folder shown as "data/..."
            fix_message = {lang: text.replace(str(root), "data") for lang, text in both(exc.key, **exc.params).items()}
        Image.fromarray(scenes[missing].mask).save(masks_dir / f"scene_{missing:02d}.png")
        fixed_pairs = [(a.name, b.name) for a, b in SegmentationFolder(images_dir, masks_dir).pairs]
        wrong = next(i for i, (a, b) in enumerate(pairs) if a.split(".")[0] != b.split(".")[0])
        wrong_mask = np.asarray(Image.open(masks_dir / pairs[wrong][1]))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def clean(message: str | None) -> str | None:
        return message.replace(str(root), "data") if message else message

    rows = tuple((i, a, pairs[i][1] if i < len(pairs) else FAIL, b) for i, (a, b) in enumerate(fixed_pairs))
    palette = SCENE_PALETTE
    return Demo(
        key="dataset_pairing", error=clean(name_error),
        naive={"wrong": sum(1 for a, b in pairs if a.split(".")[0] != b.split(".")[0]), "pairs": len(pairs),
               "images": count},
        fixed={"message": fix_message, "pairs": len(fixed_pairs)},
        headers=("#", "pitfalls.dataset_pairing.col.image", "pitfalls.dataset_pairing.col.naive",
                 "pitfalls.dataset_pairing.col.fixed"),
        rows=rows,
        pictures=(("pitfalls.dataset_pairing.pic.naive", overlay(scenes[wrong].image, wrong_mask, palette)),
                  ("pitfalls.dataset_pairing.pic.fixed", overlay(scenes[wrong].image, scenes[wrong].mask, palette))),
        on=_on(current, size=_hw(scenes[0].mask)),
    )


# ---------------------------------------------------------------- the catalogue
#: key -> (number in the issue, the tab it lives in, the demonstration)
PITFALLS: dict[str, tuple[int, str, Callable[..., Demo]]] = {
    "fcn_skips": (1, "segment", fcn_skips),
    "unet_sizes": (2, "segment", unet_sizes),
    "aspp_pooling": (3, "segment", aspp_pooling),
    "deeplab_stride": (4, "segment", deeplab_stride),
    "batchnorm_batch1": (5, "segment", batchnorm_batch1),
    "binary_dice": (6, "losses", binary_dice),
    "ce_ignore": (7, "losses", ce_ignore),
    "mask_resize": (8, "augment", mask_resize),
    "miou_ignore": (9, "miou", miou_ignore),
    "albumentations_args": (10, "augment", albumentations_args),
    "dataset_pairing": (11, "train", dataset_pairing),
}
#: Which demonstrations return a table / pictures (the panel lays out only those; tests check it).
WITH_TABLE = frozenset(PITFALLS) - {"ce_ignore"}
WITH_PICTURES = frozenset({"deeplab_stride", "ce_ignore", "mask_resize", "miou_ignore", "albumentations_args",
                           "dataset_pairing"})
#: Pitfalls that take an input size (the panel shows a slider for them): key -> (min, max, default).
SIZED = {"fcn_skips": (64, 512, 500), "unet_sizes": (32, 512, 100), "aspp_pooling": (64, 1024, 513)}


def for_tab(tab: str) -> list[str]:
    """The pitfall keys shown in ``tab``, in the issue's order."""
    return [key for key, (_, where, _) in PITFALLS.items() if where == tab]


def run(key: str, size: int | None = None, current: Current | None = None) -> Demo:
    """Run pitfall ``key`` on the tab's ``current`` input, or (sized pitfalls) at ``size``, or on its default."""
    if key not in PITFALLS:
        raise ValueError(f"unknown pitfall {key!r}; known: {', '.join(PITFALLS)}")
    fn = PITFALLS[key][2]
    if key in SIZED and size is not None:
        return dataclasses.replace(fn(size), on=("pitfalls.on.size", {"size": f"{int(size)}×{int(size)}"}))
    return fn() if current is None else fn(current=current)
