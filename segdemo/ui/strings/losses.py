"""Strings of the Losses tab."""

STRINGS: dict[str, tuple[str, str]] = {}
