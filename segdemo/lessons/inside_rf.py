"""Receptive fields: the theoretical one from the layer graph, the effective one from a gradient.

Theoretical (Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill
2019): a cell of a feature map sees a square of ``r`` input pixels, and neighbouring cells are ``j`` input
pixels apart (the jump, or cumulative stride). A layer with kernel ``k``, stride ``s`` and dilation ``d``
maps ``(r, j)`` to ``(r + (k - 1)·d·j, j·s)``. Where paths merge (a residual sum, a skip, a
concatenation) the field is the largest of theirs. :func:`trace_receptive_field` follows a real forward
pass with a ``TorchFunctionMode``, so functional ops (``F.interpolate``, crops, sums, ``cat``) count as well
as modules, and any model of the zoo can be traced without naming its layers.

Effective (Luo, Li, Urtasun & Zemel, "Understanding the Effective Receptive Field in Deep Convolutional
Neural Networks", NeurIPS 2016): the gradient of one output pixel's logit with respect to the input.
It is concentrated near the centre, much smaller than the theoretical square.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from segdemo.models.complexity import GLOBAL_HOOKS_LOCK


@dataclass(frozen=True)
class Field:
    """Receptive field of a feature map's cells in input pixels.

    Attributes:
        size: side ``r`` of the square of input pixels one cell depends on (conv paths).
        jump: distance ``j`` in input pixels between neighbouring cells (the output stride of the map).
        is_global: some path goes through a global pooling: every input pixel reaches every cell.
    """

    size: float = 1.0
    jump: float = 1.0
    is_global: bool = False


@dataclass(frozen=True)
class Layer:
    """One convolution, pooling or resampling on the way, with the field after it."""

    name: str  # parameter name of a convolution's module ("backbone.layer1.0.conv2"), else the op
    kernel: int
    stride: float  # < 1 for upsampling
    dilation: int
    field: Field


@dataclass
class Trace:
    """What :func:`trace_receptive_field` found: the output's field and every layer on the way."""

    output: Field
    layers: list[Layer] = field(default_factory=list)


def _pair(value, index: int = 0) -> int:
    if isinstance(value, (tuple, list)):
        return int(value[index])
    return int(value)


def _arg(args: tuple, kwargs: dict, position: int, name: str, default):
    if len(args) > position:
        return args[position]
    return kwargs.get(name, default)


def _merge(fields: list[Field]) -> Field:
    return Field(max(f.size for f in fields), min(f.jump for f in fields), any(f.is_global for f in fields))


def step(field_in: Field, kernel: int, stride: float, dilation: int = 1) -> Field:
    """Araujo et al.'s recurrence for one sliding window: ``r + (k-1)·d·j``, ``j·s``."""
    return Field(field_in.size + (kernel - 1) * dilation * field_in.jump, field_in.jump * stride, field_in.is_global)


def transposed_step(field_in: Field, kernel: int, stride: int, dilation: int = 1) -> Field:
    """A transposed convolution: an output cell is reached by ``ceil(((k-1)·d + 1) / s)`` input cells."""
    reach = math.ceil(((kernel - 1) * dilation + 1) / stride)
    return Field(field_in.size + (reach - 1) * field_in.jump, field_in.jump / stride, field_in.is_global)


#: Ops that mix every position with every other (attention): the field becomes the whole image.
_GLOBAL_OPS = {"matmul", "bmm", "baddbmm", "scaled_dot_product_attention", "einsum"}


class _Tracer(TorchFunctionMode):
    """Carries a :class:`Field` along every tensor computed from the traced input."""

    def __init__(self, names: dict[int, str]) -> None:
        super().__init__()
        self.fields: dict[int, tuple[torch.Tensor, Field]] = {}  # id → (tensor kept alive, field)
        self.layers: list[Layer] = []
        self.names = names

    def mark(self, tensor: torch.Tensor, value: Field) -> None:
        self.fields[id(tensor)] = (tensor, value)

    def field_of(self, tensor: torch.Tensor) -> Field | None:
        entry = self.fields.get(id(tensor))
        return entry[1] if entry is not None and entry[0] is tensor else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        inputs = [f for f in (self.field_of(t) for t in tree_flatten((args, kwargs))[0]
                              if isinstance(t, torch.Tensor)) if f is not None]
        if not inputs:
            return out
        name = getattr(func, "__name__", str(func))
        merged = _merge(inputs)
        x = args[0] if args else None
        new = merged
        if name == "conv2d":
            weight = args[1]
            new = step(merged, int(weight.shape[-1]), _pair(_arg(args, kwargs, 3, "stride", 1)),
                       _pair(_arg(args, kwargs, 5, "dilation", 1)))
            self.layers.append(Layer(self.names.get(id(weight), "conv2d"), int(weight.shape[-1]),
                                     new.jump / merged.jump, _pair(_arg(args, kwargs, 5, "dilation", 1)), new))
        elif name == "conv_transpose2d":
            weight = args[1]
            stride = _pair(_arg(args, kwargs, 3, "stride", 1))
            dilation = _pair(_arg(args, kwargs, 7, "dilation", 1))
            new = transposed_step(merged, int(weight.shape[-1]), stride, dilation)
            self.layers.append(Layer(self.names.get(id(weight), "conv_transpose2d"), int(weight.shape[-1]),
                                     1 / stride, dilation, new))
        elif name in ("max_pool2d", "avg_pool2d", "max_pool2d_with_indices"):
            kernel = _pair(_arg(args, kwargs, 1, "kernel_size", 1))
            stride = _arg(args, kwargs, 2, "stride", None)
            stride = kernel if stride in (None, [], ()) else _pair(stride)
            dilation = _pair(_arg(args, kwargs, 4, "dilation", 1)) if name != "avg_pool2d" else 1
            new = step(merged, kernel, stride, dilation)
            self.layers.append(Layer(name, kernel, stride, dilation, new))
        elif name in ("adaptive_avg_pool2d", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices"):
            new = Field(merged.size, merged.jump * x.shape[-1], True)
            self.layers.append(Layer(name, int(x.shape[-1]), x.shape[-1], 1, new))
        elif name == "interpolate" and isinstance(out, torch.Tensor) and out.dim() == 4:
            mode = _arg(args, kwargs, 3, "mode", "nearest")
            taps = {"nearest": 1, "nearest-exact": 1, "bilinear": 2, "bicubic": 4, "area": 2}.get(mode, 2)
            scale = x.shape[-1] / out.shape[-1]
            new = Field(merged.size + (taps - 1) * merged.jump, merged.jump * scale, merged.is_global)
            self.layers.append(Layer(f"interpolate ({mode})", taps, scale, 1, new))
        elif name in _GLOBAL_OPS:
            new = Field(merged.size, merged.jump, True)
        for tensor in tree_flatten(out)[0]:
            if isinstance(tensor, torch.Tensor):
                self.mark(tensor, new)
        return out


@torch.no_grad()
def trace_receptive_field(model: nn.Module, size: int = 64) -> Trace:
    """The theoretical receptive field of ``model``'s output, by following one forward pass.

    Args:
        model: any module taking ``(1, 3, size, size)`` (the zoo's models, ``vgg16().features[:31]``, ...).
        size: side of the dummy input; the field does not depend on it (except through global pooling).

    Returns:
        The output's :class:`Field` and the convolutions, poolings and resamplings in execution order.
    """
    names = {id(p): n.removesuffix(".weight") for n, p in model.named_parameters()}
    x = torch.zeros(1, 3, size, size, dtype=next(model.parameters()).dtype)
    tracer = _Tracer(names)
    tracer.mark(x, Field())
    with tracer:
        out = model(x)
    out = out["out"] if isinstance(out, dict) else out
    result = tracer.field_of(out)
    if result is None:
        raise ValueError("the model's output does not depend on its input through traced ops")
    return Trace(result, tracer.layers)


def effective_rf(model: nn.Module, x: torch.Tensor, point: tuple[int, int],
                 target: int | None = None) -> tuple[np.ndarray, int]:
    """Gradient magnitude of one output pixel's logit with respect to the input (Luo et al. 2016).

    Args:
        model: returns ``(1, K, H, W)`` logits at the input size (float32, eval mode).
        x: ``(1, 3, H, W)`` normalised input.
        point: the output pixel ``(y, x)``.
        target: class whose logit is differentiated; by default the one predicted at ``point``.

    Returns:
        ``(|∂z/∂x|`` summed over the colour channels, ``(H, W)`` float32; the class used).
    """
    y0, x0 = (int(v) for v in point)
    if not (0 <= y0 < x.shape[-2] and 0 <= x0 < x.shape[-1]):
        raise ValueError(f"point {point} is outside the {tuple(x.shape[-2:])} input")
    with GLOBAL_HOOKS_LOCK, torch.enable_grad():  # not while a FLOP count hooks every module
        inp = x.detach().clone().requires_grad_(True)
        logits = model(inp)
        logits = logits["out"] if isinstance(logits, dict) else logits
        cls = int(logits[0, :, y0, x0].argmax()) if target is None else int(target)
        (grad,) = torch.autograd.grad(logits[0, cls, y0, x0], inp)
    return grad[0].abs().sum(0).float().numpy(), cls


def mass_radius(weights: np.ndarray, point: tuple[int, int], mass: float = 0.9) -> float:
    """Smallest radius (px) of a disc around ``point`` holding ``mass`` of ``weights``' total.

    Args:
        weights: ``(H, W)`` non-negative (an ERF).
        point: centre ``(y, x)``.
        mass: fraction in (0, 1].

    Returns:
        The radius in pixels; 0 if all the mass is on ``point``, ``nan`` if ``weights`` is all zero.
    """
    if not 0 < mass <= 1:
        raise ValueError(f"mass must be in (0, 1], got {mass}")
    total = float(weights.sum())
    if total <= 0:
        return float("nan")
    yy, xx = np.indices(weights.shape, dtype=np.float32)
    distance = np.hypot(yy - point[0], xx - point[1]).ravel()
    order = np.argsort(distance, kind="stable")
    cumulative = np.cumsum(weights.ravel()[order], dtype=np.float64) / total
    index = int(np.searchsorted(cumulative, mass - 1e-9))
    return float(distance[order][min(index, len(order) - 1)])
