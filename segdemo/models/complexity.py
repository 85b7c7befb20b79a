"""Parameter and FLOP counts, measured on the model itself."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


@torch.inference_mode()
def count_gflops(model: nn.Module, input_shape: tuple[int, int, int, int] = (1, 3, 512, 512)) -> float:
    """GFLOPs of one forward pass, counted by PyTorch's ``FlopCounterMode``.

    Convention: one multiply-add counts as **2 FLOPs** (PyTorch's convention). Papers that
    report "GFLOPs" from MAC counters (mmcv, fvcore, thop) print half of this number.
    """
    was_training = model.training
    model.eval()
    x = torch.zeros(input_shape)
    with FlopCounterMode(display=False) as counter:
        model(x)
    model.train(was_training)
    return counter.get_total_flops() / 1e9
