"""Parameter and FLOP counts, measured on the model itself."""

from __future__ import annotations

import threading

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

#: ``FlopCounterMode`` hooks every module of the process while it counts (``torch.utils.module_tracker``), so a
#: gradient taken in another thread meanwhile fails ("A leaf node was passed to _will_engine_execute_node but
#: we are currently running autograd.grad()"): the Inside tab's receptive field, while the Segment tab drew a
#: model card. Counting and ``autograd.grad`` callers take this lock.
GLOBAL_HOOKS_LOCK = threading.RLock()


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
    with GLOBAL_HOOKS_LOCK, FlopCounterMode(display=False) as counter:
        model(x)
    model.train(was_training)
    return counter.get_total_flops() / 1e9
