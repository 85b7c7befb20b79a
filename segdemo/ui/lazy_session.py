"""Gradio's per-session state, with each component's config built on first use.

Gradio 6.31's ``SessionState.__init__`` builds the config of *every* component of the app for each new
browser session, on the server's event loop: 20–35 ms for this 356-component app while nothing else is
served. When a class opens the page and clicks at once, thirty of those queue up in front of the first
answers. Gradio only reads a component's entry when an event updates it or when a deep link asks for
all of them; here each entry is computed at that moment, from the same session copy of the component,
with the same function. The patch is installed only on the Gradio version whose ``__init__`` it mirrors.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from copy import copy
from typing import Any

GRADIO_VERSION = "6.31.0"


class LazyBlockConfigs(dict):
    """``{block id: config}`` that computes an entry on first access, in the original order when listed."""

    def __init__(self, blocks_config: Any, keys: Iterable[int]) -> None:
        super().__init__()
        self._blocks_config = blocks_config
        self._order = list(keys)
        self._pending = set(self._order)

    def __missing__(self, key: int) -> Any:
        if key not in self._pending:
            raise KeyError(key)
        self._pending.discard(key)
        value = self._blocks_config.config_for_block(key, [], self._blocks_config.blocks[key])
        super().__setitem__(key, value)
        return value

    def __setitem__(self, key: int, value: Any) -> None:
        self._pending.discard(key)
        super().__setitem__(key, value)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or key in self._pending

    def _fill(self) -> None:
        if not self._pending:
            return
        for key in self._order:
            if key in self._pending:
                self[key]
        # listed in the blocks' order, as Gradio's eager dict is
        entries = {k: dict.__getitem__(self, k) for k in self._order if dict.__contains__(self, k)}
        extra = {k: v for k, v in dict.items(self) if k not in entries}
        dict.clear(self)
        dict.update(self, {**entries, **extra})

    def items(self):  # type: ignore[override]
        self._fill()
        return super().items()

    def keys(self):  # type: ignore[override]
        self._fill()
        return super().keys()

    def values(self):  # type: ignore[override]
        self._fill()
        return super().values()

    def __iter__(self) -> Iterator[int]:
        self._fill()
        return super().__iter__()

    def __len__(self) -> int:
        return super().__len__() + len(self._pending)

    def get(self, key: int, default: Any = None) -> Any:
        return self[key] if key in self else default


def _init(self: Any, blocks: Any) -> None:
    # Mirrors gradio 6.31.0 state_holder.SessionState.__init__, with config_values computed lazily.
    self.blocks_config = copy(blocks.default_config)
    self.config_values = LazyBlockConfigs(self.blocks_config,
                                          [k for k in self.blocks_config.blocks if k in blocks.blocks])
    self.state_data = {}
    self._state_ttl = {}
    self.is_closed = False
    self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600


def install() -> bool:
    """Make new Gradio sessions build component configs lazily; False (nothing changed) on another Gradio."""
    import gradio
    from gradio import state_holder

    global original_init
    if gradio.__version__ != GRADIO_VERSION:
        return False
    if state_holder.SessionState.__init__ is not _init:
        original_init = state_holder.SessionState.__init__
        state_holder.SessionState.__init__ = _init  # type: ignore[method-assign]
    return True


#: Gradio's own ``SessionState.__init__`` once :func:`install` replaced it (for the tests' comparison).
original_init: Any = None
