"""The model zoo: one registry, one contract (see :mod:`segdemo.models.registry`)."""

from segdemo.models.registry import (
    ModelCard,
    create_model,
    get_card,
    list_models,
    model_card,
    register_model,
)

__all__ = ["ModelCard", "create_model", "get_card", "list_models", "model_card", "register_model"]
