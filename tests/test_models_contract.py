"""The contract every registered model keeps, checked over the whole registry (small variants).

Input ``(N, 3, H, W)`` float with any ``H, W >= 32``; output logits ``(N, K, H, W)`` at the
input size, in train and eval mode, batch size 1 included; finite gradients; the optimised
inference path gives the same logits.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from segdemo.models import create_model, get_card, list_models, model_card
from segdemo.models.fuse import prepare_for_inference

MODELS = list_models()
SIZES = [(33, 47), (97, 130), (64, 64)]
K = 3


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, K)


def test_registry_holds_the_core_models():
    assert {"fcn32s", "fcn16s", "fcn8s", "unet", "deeplabv3", "deeplabv3plus"} <= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_forward_keeps_input_size(name, size, train):
    model = _model(name).train(train)
    batch = 1 if size == (97, 130) else 2  # batch 1 is the case that breaks BatchNorm after pooling
    x = torch.randn(batch, 3, *size)
    with torch.no_grad():
        y = model(x)
    assert isinstance(y, torch.Tensor)
    assert y.shape == (batch, K, *size)
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", MODELS)
def test_batch_of_one_trains_and_every_parameter_gets_a_finite_gradient(name):
    model = _model(name).train()
    x = torch.randn(1, 3, 33, 47)
    target = torch.randint(0, K, (1, 33, 47))
    loss = nn.functional.cross_entropy(model(x), target)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"parameters without gradient: {missing[:5]}"
    bad = [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradients: {bad[:5]}"
    assert any(p.grad.abs().sum() > 0 for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", MODELS)
def test_eval_is_deterministic_and_input_dependent(name):
    model = _model(name).eval()
    x = torch.randn(1, 3, 40, 56)
    with torch.no_grad():
        a, b, c = model(x), model(x), model(torch.flip(x, dims=[-1]))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("name", MODELS)
def test_optimised_path_gives_the_same_logits(name):
    model = _model(name).eval()
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():  # non-trivial statistics, or folding BatchNorm proves nothing
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            module.running_mean.uniform_(-0.5, 0.5, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
    x = torch.randn(1, 3, 45, 61)
    with torch.no_grad():
        expected = model(x)
    norms = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    fast = prepare_for_inference(model)
    with torch.inference_mode():
        got = fast(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == norms  # the original is untouched


@pytest.mark.parametrize("name", MODELS)
def test_bfloat16_path_keeps_the_contract_and_follows_fp32(name):
    """The app's bfloat16 path: any size in, float32 logits at that size out, close to the float32 path's.

    bfloat16 keeps 8 bits of mantissa, so each layer adds ~0.4 % relative error; the logits of an
    untrained net stay within a few percent of the float32 ones (the shipped models' val mIoU moves by
    < 0.001: ``python -m segdemo.tools.bench checkpoints``; ``test_shipped_checkpoints`` keeps it within 0.005)."""
    model = _model(name).eval()
    x = torch.randn(1, 3, 45, 61)
    with torch.inference_mode():
        expected = prepare_for_inference(model)(x.contiguous(memory_format=torch.channels_last))
        fast = prepare_for_inference(model, dtype=torch.bfloat16)
        got = fast(x.to(torch.bfloat16).contiguous(memory_format=torch.channels_last))
    assert got.dtype == torch.float32 and got.shape == expected.shape == (1, K, 45, 61)
    assert all(p.dtype == torch.bfloat16 for p in fast.parameters())
    error = float((got - expected).norm() / expected.norm())
    assert error < 0.05, f"bfloat16 logits differ from float32 by {error:.1%}"


def test_native_bf16_reads_the_kernels_cpu_flags(tmp_path):
    from segdemo.models.fuse import native_bf16

    flags = "processor\t: 0\nflags\t\t: fpu sse2 avx2 {}\n"
    cases = {"avx512f": False, "avx512f avx512_bf16": True, "amx_tile amx_bf16": True}
    for extra, expected in cases.items():
        path = tmp_path / f"{len(extra)}.txt"
        path.write_text(flags.format(extra))
        assert native_bf16(str(path)) is expected, extra
    assert native_bf16(str(tmp_path / "missing")) is False  # not Linux: keep float32


def test_inference_dtype_reads_the_setting_and_refuses_others(monkeypatch):
    from segdemo.models.fuse import inference_dtype, native_bf16

    assert inference_dtype("fp32") == torch.float32 and inference_dtype("BF16") == torch.bfloat16
    assert inference_dtype("auto") == (torch.bfloat16 if native_bf16() else torch.float32)
    monkeypatch.setenv("SEGDEMO_PRECISION", "fp32")
    assert inference_dtype() == torch.float32
    monkeypatch.setenv("SEGDEMO_PRECISION", "fp16")
    with pytest.raises(ValueError, match="auto, fp32, bf16"):
        inference_dtype()


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError, match="valid names") as info:
        create_model("no_such_net", K)
    for name in MODELS:
        assert name in str(info.value)


@pytest.mark.parametrize("name", MODELS)
def test_unknown_variant_and_bad_class_count_raise(name):
    with pytest.raises(ValueError, match="variant"):
        create_model(name, K, variant="huge")
    with pytest.raises(ValueError, match="num_classes"):
        create_model(name, 0)


@pytest.mark.parametrize("name", MODELS)
def test_card_has_every_field(name):
    card = get_card(name)
    assert card.default_variant == "small" and "small" in card.variants
    info = model_card(name)
    for key in ("name", "display", "paper", "year", "url", "idea", "family", "variant", "variants", "params",
                "gflops_512"):
        assert key in info, key
    assert info["name"] == name
    for text in ("display", "idea"):
        assert set(info[text]) >= {"en", "zh"} and all(info[text][lang].strip() for lang in ("en", "zh"))
    assert info["url"].startswith("https://") and 1990 < info["year"] <= 2030 and info["paper"]
    assert info["params"] == sum(p.numel() for p in create_model(name, 21).parameters())
    assert info["gflops_512"] > 0
