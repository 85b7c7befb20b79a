"""Errors a user can cause, carrying a translation key for the UI.

Backends raise :class:`InputError` (a ``ValueError``) for bad input. Its English
message works on its own (CLI, tests); the UI looks up ``key`` in its string tables
to show the same message in the reader's language, formatted with ``params``.
"""

from __future__ import annotations

from typing import Any


class InputError(ValueError):
    """Bad user input, with a message in English and a key for translation.

    Args:
        key: string-table key, e.g. ``"err.not_image"``.
        message: the English message (``str.format`` template over ``params``).
        **params: values for the template, e.g. ``name="a.png"``.
    """

    def __init__(self, key: str, message: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(message.format(**params))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled whole (key, params, message) when it crosses from a worker process (segdemo.workers)
        return _rebuild, (type(self), self.key, str(self), self.params)


def _rebuild(cls: type[InputError], key: str, message: str, params: dict[str, Any]) -> InputError:
    error = cls.__new__(cls)
    ValueError.__init__(error, message)
    error.key, error.params = key, params
    return error
