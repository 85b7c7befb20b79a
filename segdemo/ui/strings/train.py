"""Strings of the Train tab."""

STRINGS: dict[str, tuple[str, str]] = {}
