"""SegFormer, Fast-SCNN and LR-ASPP: published parameter counts and their specific parts."""

from __future__ import annotations

import pytest
import torch

from segdemo.models import create_model
from segdemo.models.complexity import count_params
from segdemo.models.segformer import EfficientSelfAttention


@pytest.mark.parametrize("name, classes, published", [
    ("segformer", 150, 3.8e6),  # Xie et al. Table 1: MiT-B0 on ADE20K, 3.8M
    ("fastscnn", 19, 1.11e6),  # Poudel et al.: 1.11M on Cityscapes
    ("lraspp", 21, 3.22e6),  # torchvision lraspp_mobilenet_v3_large, 21 VOC classes
])
def test_paper_variants_match_published_sizes(name, classes, published):
    params = count_params(create_model(name, classes, variant="paper"))
    assert abs(params - published) / published < 0.03


def test_small_variants_are_smaller():
    for name in ("segformer", "fastscnn", "lraspp"):
        assert count_params(create_model(name, 6)) < count_params(create_model(name, 6, variant="paper"))


def test_sequence_reduction_shortens_keys_not_queries():
    attention = EfficientSelfAttention(dim=8, heads=2, sr=4)
    seen = {}
    attention.kv.register_forward_hook(lambda module, args, out: seen.update(kv=out.shape))
    out = attention(torch.randn(1, 16 * 12, 8), 16, 12)
    assert out.shape == (1, 192, 8)  # one output per query token
    assert seen["kv"] == (1, 4 * 3, 16)  # keys/values from a 4×3 grid: 16× shorter


def test_fastscnn_branches_align_at_odd_sizes():
    model = create_model("fastscnn", 3).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 97, 130)).shape == (1, 3, 97, 130)
        assert model(torch.randn(1, 3, 33, 47)).shape == (1, 3, 33, 47)


def test_lraspp_unknown_backbone():
    with pytest.raises(ValueError, match="backbone"):
        create_model("lraspp", 3, backbone="tiny")
