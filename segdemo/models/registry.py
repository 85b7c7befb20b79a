"""The model registry: names → builders, plus a card per model.

Every architecture registers a thin builder with :func:`register_model`; the app, the
training CLI and the benchmark only ever call :func:`create_model`.

The contract every registered model keeps (tested over the whole registry):
input ``(N, 3, H, W)`` float, any ``H, W >= 32``; output logits ``(N, K, H, W)`` at the
input size, in train and eval mode, batch size 1 included.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from segdemo.models.complexity import count_gflops, count_params

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelCard:
    """What a reader should know about an architecture.

    Attributes:
        name: registry name, e.g. ``"unet"``.
        display: display name, ``{"en": ..., "zh": ...}``.
        paper: paper title.
        year: publication year.
        url: link to the paper.
        idea: the key idea in one sentence, ``{"en": ..., "zh": ...}``.
        family: grouping for pickers, e.g. ``"FCN"``, ``"U-Net"``, ``"DeepLab"``,
            ``"Transformer"``, ``"Real-time"``.
        variants: named option sets; ``"small"`` is the CPU-trainable variant the app
            ships, ``"paper"`` the size of the paper.
        default_variant: the variant :func:`create_model` uses when no option is given.
    """

    name: str
    display: dict[str, str]
    paper: str
    year: int
    url: str
    idea: dict[str, str]
    family: str
    variants: dict[str, dict[str, Any]] = field(default_factory=lambda: {"small": {}})
    default_variant: str = "small"


_BUILDERS: dict[str, Builder] = {}
_CARDS: dict[str, ModelCard] = {}


def register_model(card: ModelCard) -> Callable[[Builder], Builder]:
    """Decorator registering ``builder(num_classes, **options)`` under ``card.name``.

    Raises:
        ValueError: if the name is taken or the card is inconsistent.
    """

    def decorator(builder: Builder) -> Builder:
        if card.name in _BUILDERS:
            raise ValueError(f"model {card.name!r} is already registered")
        if card.default_variant not in card.variants:
            raise ValueError(
                f"model {card.name!r}: default variant {card.default_variant!r} "
                f"is not one of {sorted(card.variants)}"
            )
        _BUILDERS[card.name] = builder
        _CARDS[card.name] = card
        return builder

    return decorator


def _ensure_loaded() -> None:
    # Importing the architecture modules runs their @register_model decorators.
    from segdemo.models import _architectures  # noqa: F401


def list_models() -> list[str]:
    """Registered model names, sorted."""
    _ensure_loaded()
    return sorted(_BUILDERS)


def _check_name(name: str) -> None:
    _ensure_loaded()
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(sorted(_BUILDERS))}")


def get_card(name: str) -> ModelCard:
    """The static :class:`ModelCard` of ``name`` (no model is built)."""
    _check_name(name)
    return _CARDS[name]


def resolve_options(name: str, variant: str | None = None, **options: Any) -> dict[str, Any]:
    """The builder options for ``variant`` (default: the card's), overridden by ``options``."""
    card = get_card(name)
    variant = variant or card.default_variant
    if variant not in card.variants:
        raise ValueError(
            f"model {name!r} has no variant {variant!r}; valid variants: {', '.join(card.variants)}"
        )
    return {**card.variants[variant], **options}


def create_model(name: str, num_classes: int, variant: str | None = None, **options: Any) -> nn.Module:
    """Build a registered model.

    Args:
        name: a name from :func:`list_models`.
        num_classes: number of output channels K.
        variant: a key of the card's ``variants`` (default: the card's default variant).
        **options: builder options, overriding the variant's.

    Returns:
        A freshly initialised ``nn.Module`` mapping ``(N,3,H,W)`` to ``(N,K,H,W)``.

    Raises:
        ValueError: unknown name or variant, or ``num_classes < 1``.
    """
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    opts = resolve_options(name, variant, **options)
    return _BUILDERS[name](num_classes=int(num_classes), **opts)


@functools.cache
def _measure(name: str, variant: str, num_classes: int) -> tuple[int, float]:
    model = create_model(name, num_classes, variant=variant).eval()
    return count_params(model), count_gflops(model, (1, 3, 512, 512))


def model_card(name: str, variant: str | None = None, num_classes: int = 21) -> dict[str, Any]:
    """The card of ``name`` as a plain dict, with params and GFLOPs at 512×512 measured.

    Params and GFLOPs are measured once per (name, variant, num_classes) on a freshly built
    model, so they are always those of the code, never typed in by hand.
    """
    card = get_card(name)
    variant = variant or card.default_variant
    resolve_options(name, variant)  # validates the variant
    params, gflops = _measure(name, variant, num_classes)
    return {
        "name": card.name,
        "display": dict(card.display),
        "paper": card.paper,
        "year": card.year,
        "url": card.url,
        "idea": dict(card.idea),
        "family": card.family,
        "variant": variant,
        "variants": sorted(card.variants),
        "num_classes": num_classes,
        "params": params,
        "gflops_512": gflops,
    }
