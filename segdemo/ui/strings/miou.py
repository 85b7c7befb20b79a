"""Strings of the Miou tab."""

STRINGS: dict[str, tuple[str, str]] = {}
