"""Published weights, offline only: a pre-seeded torch hub cache loads, a missing one fails clearly.

The network is never touched: every test runs with TORCH_HOME in a temporary folder and
with downloads and ``urlopen`` patched to fail.
"""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request

import pytest
import torch
from torch import nn

from segdemo.errors import InputError
from segdemo.models import create_model
from segdemo.models import pretrained as pre


def _no_network(*args, **kwargs):
    raise urllib.error.URLError("network disabled in tests")


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """An empty torch hub cache in tmp and no network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # in case something called set_dir
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_network)
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path / "torch" / "hub" / "checkpoints"
    torch.set_num_threads(threads)


def _seed(key: str, state: dict[str, torch.Tensor], legacy: bool = False) -> None:
    path = pre.weights_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)


def test_keys_and_unknown_key():
    assert pre.list_pretrained() == sorted([
        "deeplabv3_mobilenet_v3_large_voc", "deeplabv3_resnet50_voc", "fcn_resnet50_voc",
        "lraspp_mobilenet_v3_large_voc", "unet_brain_mri"])
    with pytest.raises(ValueError, match="valid keys"):
        pre.pretrained_info("imagenet_magic")


@pytest.mark.parametrize("key", pre.list_pretrained())
def test_info_describes_the_weights(key, offline):
    info = pre.pretrained_info(key)
    assert len(info["classes"]) == len(info["palette"]) >= 2
    assert all(set(c) == {"en", "zh"} for c in info["classes"])
    assert set(info["source"]) == {"en", "zh"} and set(info["display"]) == {"en", "zh"}
    assert info["url"].startswith("https://") and info["url"].endswith(info["file_name"])
    assert info["cache_dir"] == str(offline) and info["cached"] is False
    assert info["output"] in ("softmax", "sigmoid")
    if key.endswith("_voc"):
        assert len(info["classes"]) == 21 and info["classes"][15] == {"en": "person", "zh": "人"}
        assert info["normalization"] == {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def test_known_file_names():
    assert pre.weights_path("deeplabv3_resnet50_voc").name == "deeplabv3_resnet50_coco-cd0a2569.pth"
    assert pre.weights_path("unet_brain_mri").name == "unet-e012d006.pt"


@pytest.mark.parametrize("key", pre.list_pretrained())
def test_empty_cache_offline_raises_a_clear_error(key, offline):
    with pytest.raises(InputError) as info:
        pre.load_pretrained(key, progress=False)
    error = info.value
    assert error.key == "err.weights_offline"
    assert pre.weights_path(key).name in str(error) and str(offline) in str(error)
    assert not pre.is_cached(key)  # nothing half-written


def test_preseeded_unet_loads_without_network():
    torch.manual_seed(0)
    reference = create_model("unet", 1, variant="paper").eval()
    _seed("unet_brain_mri", reference.state_dict(), legacy=True)  # the 2019 file predates torch's zip format
    assert pre.is_cached("unet_brain_mri")
    model, info = pre.load_pretrained("unet_brain_mri")
    assert info["cached"] is True and info["output"] == "sigmoid"
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))
    assert not model.training


def test_preseeded_torchvision_lraspp_loads_without_network():
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    torch.manual_seed(0)
    reference = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=21).eval()
    _seed("lraspp_mobilenet_v3_large_voc", reference.state_dict())
    model, _ = pre.load_pretrained("lraspp_mobilenet_v3_large_voc", progress=False)
    x = torch.randn(1, 3, 64, 80)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x)["out"])


def test_preseeded_deeplabv3_resnet50_loads_into_our_model():
    # torchvision's published file also holds the auxiliary head; our model drops it.
    from torchvision.models.segmentation import deeplabv3_resnet50

    torch.manual_seed(0)
    reference = deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True).eval()
    state = reference.state_dict()
    assert any(k.startswith("aux_classifier.") for k in state)
    _seed("deeplabv3_resnet50_voc", {k: v.half() for k, v in state.items()})  # half: a smaller test file
    model, info = pre.load_pretrained("deeplabv3_resnet50_voc", progress=False)
    assert type(model).__name__ == "DeepLabV3" and not hasattr(model, "aux_classifier")
    reference.load_state_dict({k: v.half().float() for k, v in state.items()})
    x = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        assert (model(x) - reference(x)["out"]).abs().max().item() < 1e-4


def test_a_damaged_cache_file_raises_a_clear_error():
    path = pre.weights_path("unet_brain_mri")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError) as info:
        pre.load_pretrained("unet_brain_mri")
    assert info.value.key == "err.weights_corrupt" and str(path) in str(info.value)


def test_a_file_with_wrong_keys_raises_a_clear_error():
    _seed("unet_brain_mri", nn.Linear(2, 2).state_dict())
    with pytest.raises(InputError, match="does not match") as info:
        pre.load_pretrained("unet_brain_mri")
    assert info.value.key == "err.weights_corrupt"


class _Response(io.BytesIO):
    """What ``urlopen`` returns, served from memory (the tests never touch the network)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))}


def test_download_streams_with_progress_and_checks_the_hash(tmp_path, monkeypatch):
    data = bytes(range(256)) * 5000
    prefix = hashlib.sha256(data).hexdigest()[:8]
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: _Response(data))
    seen: list[tuple[int, int | None]] = []
    path = tmp_path / f"weights-{prefix}.pth"
    pre.download("https://example.invalid/w.pth", path, lambda done, total: seen.append((done, total)), chunk=1 << 18)
    assert path.read_bytes() == data
    assert seen == [(min(len(data), (i + 1) << 18), len(data)) for i in range(5)]
    # a hash mismatch (a damaged or wrong file) leaves nothing behind in the cache folder
    bad = tmp_path / "cache" / "weights-deadbeef.pth"
    with pytest.raises(InputError) as info:
        pre.download("https://example.invalid/w.pth", bad, False)
    assert info.value.key == "err.weights_offline" and list(bad.parent.iterdir()) == []


def test_serving_downloads_published_weights_with_progress(offline, monkeypatch):
    """The Segment tab's path: a not-yet-cached key downloads once, reporting progress, then is cached."""
    from segdemo import serving

    key = "lraspp_mobilenet_v3_large_voc"
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(pre, "download", lambda url, path, progress: calls.append((url, progress))
                        or path.parent.mkdir(parents=True, exist_ok=True) or path.write_bytes(b"x"))
    reporter = lambda done, total: None  # noqa: E731
    serving.ensure_weights(f"pretrained:{key}", reporter)
    assert calls == [(pre.pretrained_info(key)["url"], reporter)] and pre.is_cached(key)
    serving.ensure_weights(f"pretrained:{key}", reporter)  # cached: no second download
    serving.ensure_weights("shipped:unet")  # nothing to download
    assert len(calls) == 1


def test_written_out_urls_are_torchvisions():
    """The URLs are constants (no torchvision import at start-up); they must be torchvision's own."""
    from torchvision.models import segmentation

    for key in pre.list_pretrained():
        source = pre._source(key)
        if source.weights_enum:
            assert source.resolve_url() == getattr(segmentation, source.weights_enum).COCO_WITH_VOC_LABELS_V1.url
