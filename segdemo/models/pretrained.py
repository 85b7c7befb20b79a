"""Published weights: torchvision's VOC-label models and Buda et al.'s brain-MRI U-Net.

Weights are downloaded on first use into the torch hub cache (``torch.hub.get_dir()``,
i.e. ``$TORCH_HOME/hub/checkpoints``), with a progress bar, and read with
``torch.load(weights_only=True)`` (no pickle code runs). Offline, a clear
:class:`~segdemo.errors.InputError` names the file and the folder to put it in.

Nothing is imported from torchvision, built or downloaded at import time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import re
import socket
import sys
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from segdemo.data import IMAGENET_NORMALIZATION
from segdemo.errors import InputError
from segdemo.models import create_model
from segdemo.palette import VOC_CLASSES, voc_palette

_HASH_IN_NAME = re.compile(r"-([a-f0-9]+)\.")  # torch.hub's convention: name-<sha256 prefix>.pt


def _without_aux(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # The auxiliary head only helps training; the inference models are built without it.
    return {k: v for k, v in state.items() if not k.startswith("aux_classifier.")}


class _MainOutput(nn.Module):
    """Makes a torchvision segmentation model (``{"out": logits}``) return the logits tensor."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]  # (N, K, H, W)


def _torchvision_builder(name: str) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from torchvision.models import segmentation

        builder = getattr(segmentation, name)
        options = {"aux_loss": False} if "lraspp" not in name else {}
        return _MainOutput(builder(weights=None, weights_backbone=None, num_classes=21, **options))

    return build


def _our_deeplabv3() -> nn.Module:
    return create_model("deeplabv3", 21, variant="paper")


def _our_lraspp() -> nn.Module:
    return create_model("lraspp", 21, variant="paper")


def _our_unet() -> nn.Module:
    return create_model("unet", 1, variant="paper", in_channels=3)


@dataclass(frozen=True)
class _Source:
    display: dict[str, str]
    build: Callable[[], nn.Module]
    weights_enum: str | None = None  # torchvision weights enum holding URL and metadata
    url: str | None = None
    architecture: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def resolve_url(self) -> str:
        # Written out, not read from torchvision's weights enum: importing torchvision.models costs
        # seconds of the app's cold start (tests check the two agree).
        if not self.url:
            raise ValueError("a weights source needs its url")
        return self.url


_VOC = {
    "classes": [{"en": en, "zh": zh} for en, zh in VOC_CLASSES],
    "normalization": IMAGENET_NORMALIZATION,
    "input_size": 520,
    "output": "softmax",
    "source": {"en": "torchvision COCO_WITH_VOC_LABELS_V1: trained on COCO train2017, only the 20 Pascal VOC "
                     "categories (BSD-3-Clause)",
               "zh": "torchvision COCO_WITH_VOC_LABELS_V1：在 COCO train2017 上训练，只用其中 20 个 Pascal VOC 类别"
                     "（BSD-3-Clause 许可）"},
}

_TV = "https://download.pytorch.org/models/"

_SOURCES: dict[str, _Source] = {
    "deeplabv3_resnet50_voc": _Source(
        {"en": "DeepLabV3-ResNet50 (VOC classes)", "zh": "DeepLabV3-ResNet50（VOC 类别）"},
        _our_deeplabv3, weights_enum="DeepLabV3_ResNet50_Weights",
        url=_TV + "deeplabv3_resnet50_coco-cd0a2569.pth",
        architecture="segdemo deeplabv3 (paper variant), loaded with torchvision's weights",
        info={**_VOC, "miou_coco_val": 66.4}),
    "fcn_resnet50_voc": _Source(
        {"en": "FCN-ResNet50 (VOC classes)", "zh": "FCN-ResNet50（VOC 类别）"},
        _torchvision_builder("fcn_resnet50"), weights_enum="FCN_ResNet50_Weights",
        url=_TV + "fcn_resnet50_coco-1167a1af.pth",
        architecture="torchvision fcn_resnet50", info={**_VOC, "miou_coco_val": 60.5}),
    "deeplabv3_mobilenet_v3_large_voc": _Source(
        {"en": "DeepLabV3-MobileNetV3-Large (VOC classes)", "zh": "DeepLabV3-MobileNetV3-Large（VOC 类别）"},
        _torchvision_builder("deeplabv3_mobilenet_v3_large"), weights_enum="DeepLabV3_MobileNet_V3_Large_Weights",
        url=_TV + "deeplabv3_mobilenet_v3_large-fc3c493d.pth",
        architecture="torchvision deeplabv3_mobilenet_v3_large", info={**_VOC, "miou_coco_val": 60.3}),
    "lraspp_mobilenet_v3_large_voc": _Source(
        {"en": "LR-ASPP-MobileNetV3-Large (VOC classes)", "zh": "LR-ASPP-MobileNetV3-Large（VOC 类别）"},
        _our_lraspp, weights_enum="LRASPP_MobileNet_V3_Large_Weights",
        url=_TV + "lraspp_mobilenet_v3_large-d234d4ea.pth",
        architecture="segdemo lraspp (paper variant = torchvision lraspp_mobilenet_v3_large), loaded with "
                     "torchvision's weights",
        info={**_VOC, "miou_coco_val": 57.9}),
    "unet_brain_mri": _Source(
        {"en": "U-Net, brain MRI (Buda et al.)", "zh": "U-Net，脑部 MRI（Buda 等）"},
        _our_unet,
        url="https://github.com/mateuszbuda/brain-segmentation-pytorch/releases/download/v1.0/unet-e012d006.pt",
        architecture="segdemo unet (init_features=32, 3 in, 1 out)",
        info={
            "classes": [{"en": "background", "zh": "背景"},
                        {"en": "FLAIR abnormality", "zh": "FLAIR 异常区域"}],
            # Buda et al. standardise each MRI volume per channel (after clipping to the 10th-99th
            # percentile); on a single slice the closest is per-image, per-channel standardisation.
            "normalization": {"per_image": True, "mean": None, "std": None},
            "palette": [[0, 0, 0], [255, 64, 64]],
            "input_size": 256,
            "output": "sigmoid",  # one channel; the abnormality probability is sigmoid(logit)
            "source": {"en": "Buda, Saha & Mazurowski (2019), LGG brain MRI segmentation (TCGA): 3 channels = "
                             "pre-contrast, FLAIR, post-contrast slices, 256×256 (MIT license)",
                       "zh": "Buda、Saha 与 Mazurowski（2019），低级别胶质瘤脑部 MRI 分割（TCGA）：3 个通道依次为"
                             "增强前、FLAIR、增强后切片，256×256（MIT 许可）"},
        }),
}


def list_pretrained() -> list[str]:
    """Keys of the published weights we can load, sorted."""
    return sorted(_SOURCES)


def _source(key: str) -> _Source:
    if key not in _SOURCES:
        raise ValueError(f"unknown pretrained weights {key!r}; valid keys: {', '.join(list_pretrained())}")
    return _SOURCES[key]


def cache_dir() -> Path:
    """Where downloaded weights live: ``torch.hub.get_dir()/checkpoints`` (follows ``$TORCH_HOME``)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_path(key: str) -> Path:
    """The cache file of ``key`` (it may not exist yet)."""
    url = _source(key).resolve_url()
    return cache_dir() / os.path.basename(url)


def is_cached(key: str) -> bool:
    """Whether the weights of ``key`` are already in the cache (no network is used)."""
    return weights_path(key).is_file()


#: Host every published weights file comes from except Buda et al.'s (GitHub); probed once, cheaply.
PROBE_HOSTS = (("download.pytorch.org", 443), ("github.com", 443))


@functools.lru_cache(maxsize=1)
def online(timeout: float = 1.5) -> bool:
    """Whether the weights servers can be reached (a TCP connection, no download), decided once per process.

    ``SEGDEMO_OFFLINE=1`` says "offline" without trying, ``SEGDEMO_OFFLINE=0`` "online" (tests, classrooms
    that know). A classroom without internet then lists uncached weights as unavailable instead of failing
    on every click.
    """
    forced = os.environ.get("SEGDEMO_OFFLINE", "").strip()
    if forced in ("0", "1"):
        return forced == "0"
    for host, port in PROBE_HOSTS:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return True
        except OSError:
            continue
    return False


def online_known() -> bool | None:
    """What is known without touching the network: ``SEGDEMO_OFFLINE`` if set, else the answer of a probe
    that already ran (:func:`online`, started in the background when the app starts serving), else None.
    Building the page asks this, so importing the app never opens a connection."""
    forced = os.environ.get("SEGDEMO_OFFLINE", "").strip()
    if forced in ("0", "1"):
        return forced == "0"
    return online() if online.cache_info().currsize else None


def available(key: str) -> bool:
    """The weights of ``key`` can be used here: cached, or downloadable because we are (or may be) online."""
    return is_cached(key) or online_known() is not False


def pretrained_info(key: str) -> dict[str, Any]:
    """What the weights need and mean: classes (en/zh), palette, normalisation, source, file, cache state.

    Returns:
        A plain dict with ``key``, ``display``, ``architecture``, ``classes``, ``palette``
        (``[[r, g, b], ...]`` per class), ``normalization`` (``mean``/``std`` on RGB in [0, 1], or
        ``per_image``), ``input_size``, ``output`` (``"softmax"`` or ``"sigmoid"``), ``source``,
        ``url``, ``file_name``, ``cache_dir``, ``path`` and ``cached``.
    """
    source = _source(key)
    path = weights_path(key)
    classes = source.info["classes"]
    palette = source.info.get("palette") or voc_palette()[: len(classes)].tolist()
    return {
        "key": key,
        "display": dict(source.display),
        "architecture": source.architecture,
        **{k: v for k, v in source.info.items() if k not in ("classes", "palette")},
        "classes": [dict(c) for c in classes],
        "palette": [list(color) for color in palette],
        "url": source.resolve_url(),
        "file_name": path.name,
        "cache_dir": str(path.parent),
        "path": str(path),
        "cached": path.is_file(),
    }


#: ``(bytes so far, total bytes or None)``; called while a weights file downloads.
ProgressFn = Callable[[int, "int | None"], None]


def _stderr_progress(done: int, total: int | None) -> None:
    share = f" {100 * done / total:5.1f}%" if total else ""
    print(f"\rdownloading weights: {done / 2**20:7.1f} MiB{share}", end="", file=sys.stderr, flush=True)


def download(url: str, path: Path, progress: bool | ProgressFn = True, chunk: int = 1 << 20) -> None:
    """Download ``url`` to ``path``, checking the sha256 prefix in its name (torch.hub's convention).

    Written to a temporary file in the same folder and renamed at the end, so a failed or partial
    download never leaves a broken cache file behind.

    Args:
        progress: True: a progress line on stderr; a function ``(done, total)``: called after every
            chunk (the Segment tab shows it as a progress bar); False: silent.

    Raises:
        InputError: ``err.weights_offline`` (no network, HTTP error or a hash mismatch), naming the
            file, the URL and the cache folder to copy it into by hand.
    """
    report = _stderr_progress if progress is True else (progress or None)
    match = _HASH_IN_NAME.search(path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(tmp, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            digest, done = hashlib.sha256(), 0
            while block := response.read(chunk):
                out.write(block)
                digest.update(block)
                done += len(block)
                if report:
                    report(done, total)
        if match and not digest.hexdigest().startswith(match.group(1)):
            raise ValueError(f"sha256 {digest.hexdigest()[:12]}… does not match {match.group(1)}")
        os.replace(tmp, path)
    except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
        raise InputError(
            "err.weights_offline",
            "Could not download the weights file {file} ({error}). Without internet, download {url} "
            "on another computer and copy it into {folder}.",
            file=path.name, url=url, folder=str(path.parent), error=type(error).__name__,
        ) from error
    finally:
        if progress is True:
            print(file=sys.stderr)
        tmp.unlink(missing_ok=True)


def load_pretrained(key: str, progress: bool | ProgressFn = True) -> tuple[nn.Module, dict[str, Any]]:
    """Build the model of ``key`` and load its published weights (downloading them once).

    Args:
        key: one of :func:`list_pretrained`.
        progress: while downloading, True: a progress line on stderr; a function ``(done, total)``:
            called after every chunk (see :func:`download`).

    Returns:
        ``(model, info)``: the model in eval mode, mapping ``(N, 3, H, W)`` to logits
        ``(N, K, H, W)``, and :func:`pretrained_info`.

    Raises:
        ValueError: unknown key.
        InputError: ``err.weights_offline`` when the file is not cached and cannot be
            downloaded; ``err.weights_corrupt`` when the cached file cannot be read.
    """
    source = _source(key)
    url, path = source.resolve_url(), weights_path(key)
    if not path.is_file():
        download(url, path, progress)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = source.build()
        model.load_state_dict(_without_aux(state) if not isinstance(model, _MainOutput)
                              else {f"model.{k}": v for k, v in _without_aux(state).items()})
    except (OSError, RuntimeError, ValueError, KeyError, AttributeError, EOFError, pickle.UnpicklingError) as error:
        raise InputError(
            "err.weights_corrupt",
            "The weights file {path} is damaged or does not match the model ({error}). Delete it and try again.",
            path=str(path), error=str(error).splitlines()[0][:200] if str(error) else type(error).__name__,
        ) from error
    return model.eval(), pretrained_info(key)
