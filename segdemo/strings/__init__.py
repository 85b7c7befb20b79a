"""Every user-visible string of the app, in English and Simplified Chinese, without gradio.

One module per tab, each a ``STRINGS`` dict ``key -> (English, 简体中文)``. Keys are namespaced by their
module (``"segment.run"``) so that tables never collide; :func:`strings` merges them and refuses
duplicates. Backends that must name something in the reader's language (a figure's axis, a model's
training data) call :func:`t` or :func:`both`; the UI wraps the same tables for Gradio
(:mod:`segdemo.ui.i18n`).
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

MODULES = ("common", "overview", "segment", "augment", "losses", "miou", "train", "limits", "inside", "pitfalls",
           "lesson", "attention", "charts")
LANGS = ("en", "zh")
_SHARED_PREFIXES = ("app.", "tab.", "err.", "common.")


@functools.cache
def strings() -> dict[str, tuple[str, str]]:
    """All string tables merged: ``key -> (English, Chinese)``.

    Raises:
        ValueError: a key defined twice, or outside its module's namespace.
    """
    merged: dict[str, tuple[str, str]] = {}
    for module in MODULES:
        table = importlib.import_module(f"segdemo.strings.{module}").STRINGS
        for key, pair in table.items():
            # err.* keys are the backends' InputError keys: any tab may define the ones it raises.
            allowed = _SHARED_PREFIXES if module == "common" else (f"{module}.", "err.")
            if not key.startswith(allowed):
                raise ValueError(f"string key {key!r} in strings/{module}.py must start with {allowed}")
            if key in merged:
                raise ValueError(f"string key {key!r} is defined twice")
            merged[key] = pair
    return merged


def t(key: str, lang: str = "en", **params: Any) -> str:
    """The string ``key`` in ``lang`` (``"en"`` or ``"zh"``), formatted with ``params``."""
    pair = strings()[key]
    text = pair[1] if lang == "zh" else pair[0]
    return text.format(**params) if params else text


def both(key: str, **params: Any) -> dict[str, str]:
    """``{"en": ..., "zh": ...}`` of ``key`` formatted with ``params`` (for data that travels in both languages)."""
    return {lang: t(key, lang, **params) for lang in LANGS}
