"""Attention you can see: where one pixel's token attends, per layer and head, for the zoo's attention models.

Pick a point; every self-attention layer of SegFormer, SETR, TransUNet or Swin-Unet gives, for the
token that covers the point, a softmax over the tokens it reads (the keys). This module runs one
forward pass with forward hooks on the attention modules, recomputes that one row of weights from the
hooked inputs (the models themselves use fused attention kernels that never form the weights), and
lays each head's row back onto the image: a key token covering ``c×c`` pixels paints them with its
weight. Without Gradio; the Segment tab draws the result (:mod:`segdemo.ui.attention`).

What differs between the models is what a query can see:

* SETR, TransUNet: global attention over every 16×16-pixel token, in every block;
* SegFormer: global, but the keys are a grid shortened ``sr`` times per side (8, 4, 2, 1 per stage);
* Swin-Unet: only the ``M×M`` window that holds the query (shifted by ``M/2`` in every second block).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from segdemo import serving
from segdemo.errors import InputError
from segdemo.lessons.segment import _magma
from segdemo.strings import both

#: The registry names whose attention can be shown.
ATTENTION_MODELS = ("segformer", "setr", "transunet", "swinunet")


@dataclass(frozen=True)
class LayerAttention:
    """One self-attention layer's weights for the query token, laid onto the image.

    Attributes:
        label: the layer's name, ``{"en": ..., "zh": ...}``.
        weights: ``(heads, H, W)`` float32; each head's weights over its keys (summing to 1 over the
            key tokens), every pixel carrying the weight of the key token that covers it.
        cell: side in pixels of this layer's query token (4 to 32).
    """

    label: dict[str, str]
    weights: np.ndarray
    cell: int

    def mean(self) -> np.ndarray:
        """The heads' average, ``(H, W)``: the default view."""
        return self.weights.mean(axis=0)


def _row(q: torch.Tensor, k: torch.Tensor, heads: int, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax weights of one query over ``L`` keys, per head.

    Args:
        q: ``(C,)`` the query's projection; k: ``(L, C)`` the keys'; bias: ``(heads, L)`` added scores.

    Returns:
        ``(heads, L)`` float32, rows summing to 1.
    """
    d = q.shape[-1] // heads
    scores = torch.einsum("hd,lhd->hl", q.float().view(heads, d), k.float().view(-1, heads, d)) * d**-0.5
    if bias is not None:
        scores = scores + bias.float()
    return scores.softmax(dim=-1)


def _paint(keys: torch.Tensor, key_cell: int, size: tuple[int, int]) -> np.ndarray:
    """``(heads, h, w)`` key weights → ``(heads, H, W)``: each key fills its ``key_cell²`` pixels; the rest 0."""
    painted = keys.repeat_interleave(key_cell, dim=1).repeat_interleave(key_cell, dim=2)[:, : size[0], : size[1]]
    out = torch.zeros(keys.shape[0], *size)
    out[:, : painted.shape[1], : painted.shape[2]] = painted
    return out.numpy().astype(np.float32)


def _query_cell(point: tuple[int, int], cell: int, grid: tuple[int, int]) -> tuple[int, int]:
    return min(point[0] // cell, grid[0] - 1), min(point[1] // cell, grid[1] - 1)


class _Collector:
    """Forward hooks that turn each attention call into a :class:`LayerAttention`."""

    def __init__(self, point: tuple[int, int], size: tuple[int, int]) -> None:
        self.point, self.size = point, size
        self.layers: list[LayerAttention] = []
        self.handles: list[torch.utils.hooks.RemovableHandle] = []

    def hook(self, module: nn.Module, function: Callable, pre: bool = False) -> None:
        register = module.register_forward_pre_hook if pre else module.register_forward_hook
        self.handles.append(register(function))

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()

    def add(self, label: dict[str, str], keys: torch.Tensor, key_cell: int, cell: int) -> None:
        self.layers.append(LayerAttention(label, _paint(keys, key_cell, self.size), cell))


def _vit_hooks(collector: _Collector, encoder: nn.Module, cell: int) -> None:
    """SETR's and TransUNet's ViT: global attention over the patch grid, one token per ``cell`` pixels."""
    grid: dict[str, tuple[int, int]] = {}
    collector.hook(encoder.patch_embed, lambda m, args, out: grid.update(hw=tuple(out.shape[-2:])))
    for i, block in enumerate(encoder.blocks):
        def on_attention(module, args, out, i=i):
            h, w = grid["hw"]
            r, c = _query_cell(collector.point, cell, (h, w))
            q, k, _ = module.qkv(args[0][:1]).chunk(3, dim=-1)  # (1, L, C) each
            weights = _row(q[0, r * w + c], k[0], module.heads)  # (heads, L)
            collector.add(both("attention.layer_block", block=i + 1), weights.view(-1, h, w), cell, cell)
        collector.hook(block.attn, on_attention)


def _segformer_hooks(collector: _Collector, model: nn.Module) -> None:
    for s, blocks in enumerate(model.encoder.block):
        cell = 4 * 2**s
        for j, block in enumerate(blocks):
            def on_attention(module, args, out, s=s, j=j, cell=cell):
                x, h, w = args
                r, c = _query_cell(collector.point, cell, (h, w))
                reduced = module.reduce(x[:1], h, w)  # (1, L', C)
                q, k = module.q(x[:1, r * w + c]), module.kv(reduced)[..., : x.shape[-1]]
                weights = _row(q[0], k[0], module.heads)  # (heads, L')
                hk, wk = (max(1, h // module.sr), max(1, w // module.sr)) if module.sr > 1 else (h, w)
                collector.add(both("attention.layer_stage", stage=s + 1, block=j + 1), weights.view(-1, hk, wk),
                              cell * module.sr, cell)
            collector.hook(block.attn, on_attention)


def _swin_hooks(collector: _Collector, model: nn.Module) -> None:
    stages = [("attention.layer_encoder", s, stage) for s, stage in enumerate(model.encoder)]
    stages += [("attention.layer_decoder", s, stage) for s, stage in enumerate(model.decoder)]
    for key, s, stage in stages:
        cell = 4 * 2**s
        for j, block in enumerate(stage):
            geometry: dict[str, int] = {}

            def before(module, args, geometry=geometry, cell=cell):
                # Where the query lands after padding to whole windows and the cyclic shift.
                _, h, w, _ = args[0].shape
                m, shift = module.window, module.shift
                hp, wp = -(-h // m) * m, -(-w // m) * m
                r, c = _query_cell(collector.point, cell, (h, w))
                rr, cc = (r - shift) % hp, (c - shift) % wp
                geometry.update(h=h, w=w, hp=hp, wp=wp, window=(rr // m) * (wp // m) + cc // m,
                                index=(rr % m) * m + cc % m, row0=(rr // m) * m, col0=(cc // m) * m)

            def on_attention(module, args, out, geometry=geometry, block=block, key=key, s=s, j=j, cell=cell):
                windows, bias = args  # (N·nW, M², C), (N·nW or 1, heads, M², M²)
                g, m = geometry, block.window
                q, k, _ = module.qkv(windows[g["window"]]).chunk(3, dim=-1)  # (M², C) each
                b = bias[g["window"] if bias.shape[0] > 1 else 0, :, g["index"]]  # (heads, M²)
                weights = _row(q[g["index"]], k, module.heads, b).view(-1, m, m)  # (heads, M, M)
                canvas = torch.zeros(weights.shape[0], g["hp"], g["wp"])
                canvas[:, g["row0"]: g["row0"] + m, g["col0"]: g["col0"] + m] = weights
                canvas = torch.roll(canvas, (block.shift, block.shift), dims=(1, 2))[:, : g["h"], : g["w"]]
                collector.add(both(key, stage=s + 1, block=j + 1), canvas, cell, cell)

            collector.hook(block, before, pre=True)
            collector.hook(block.attn.attn, on_attention)


def query_attention(model: nn.Module, name: str, x: torch.Tensor, point: tuple[int, int]) -> list[LayerAttention]:
    """Every self-attention layer's weights for the token under ``point``, in forward order.

    Args:
        model: a zoo model of architecture ``name`` (one of :data:`ATTENTION_MODELS`); not modified
            (hooks are removed afterwards).
        x: ``(1, 3, H, W)`` normalised image.
        point: ``(row, col)`` in pixels, inside the image.

    Raises:
        ValueError: ``name`` has no attention to show, or ``point`` is outside the image.
    """
    if name not in ATTENTION_MODELS:
        raise ValueError(f"{name!r} has no self-attention to show; models with attention: {ATTENTION_MODELS}")
    height, width = x.shape[-2:]
    if not (0 <= point[0] < height and 0 <= point[1] < width):
        raise ValueError(f"point {point} is outside the {height}×{width} image")
    collector = _Collector((int(point[0]), int(point[1])), (int(height), int(width)))
    try:
        if name == "segformer":
            _segformer_hooks(collector, model)
        elif name == "setr":
            _vit_hooks(collector, model.encoder, 16)
        elif name == "transunet":
            _vit_hooks(collector, model.transformer, 16)
        else:
            _swin_hooks(collector, model)
        with torch.inference_mode():
            model(x)
    finally:
        collector.close()
    return collector.layers


def overlay(image: np.ndarray, weights: np.ndarray, point: tuple[int, int], alpha: float = 0.6) -> np.ndarray:
    """``weights`` ``(H, W)`` as a heat map (magma, scaled to its maximum) over ``image``, the query marked.

    Returns:
        ``(H, W, 3)`` uint8.
    """
    top = float(weights.max())
    index = (np.clip(weights / top if top > 0 else weights, 0, 1) * 255 + 0.5).astype(np.uint8)
    heat = np.take(_magma(), index, axis=0).astype(np.float32)
    out = (1 - alpha) * image.astype(np.float32) + alpha * heat
    r, c = point
    arm = max(2, min(image.shape[:2]) // 40)
    out[max(0, r - arm): r + arm + 1, c] = (0, 255, 255)  # a cyan cross on the query pixel
    out[r, max(0, c - arm): c + arm + 1] = (0, 255, 255)
    return out.round().clip(0, 255).astype(np.uint8)


def attention_for(key: str, image: np.ndarray, point: tuple[int, int], user: str | None = None) -> list[LayerAttention]:
    """:func:`query_attention` for the Segment tab's model ``key`` on an ``(H, W, 3)`` uint8 image.

    The served model is copied first: hooks on the shared, cached model would also fire for the other
    requests it is serving.

    Raises:
        InputError: ``err.no_attention`` when the model has no self-attention; ``err.point_outside``.
    """
    seg = serving.segmenter(key, user)
    name = seg.card.get("model", "")
    if name not in ATTENTION_MODELS:
        raise InputError("err.no_attention", "{name} has no self-attention to show; pick one of {models}.",
                         name=name or key, models=", ".join(ATTENTION_MODELS))
    height, width = image.shape[:2]
    if not (0 <= point[0] < height and 0 <= point[1] < width):
        raise InputError("err.point_outside", "Click inside the image.")
    x = seg.preprocess(image)
    scale = (x.shape[-2] / height, x.shape[-1] / width)  # tiny images are enlarged by preprocess
    inner = (min(int(point[0] * scale[0]), x.shape[-2] - 1), min(int(point[1] * scale[1]), x.shape[-1] - 1))
    layers = query_attention(copy.deepcopy(seg.model), name, x, inner)
    if x.shape[-2:] != (height, width):
        layers = [LayerAttention(layer.label, _resize(layer.weights, (height, width)), layer.cell) for layer in layers]
    return layers


def _resize(weights: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    resized = torch.nn.functional.interpolate(torch.from_numpy(weights)[None], size=size, mode="nearest")
    return resized[0].numpy()
