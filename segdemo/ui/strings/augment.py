"""Strings of the Augment tab."""

STRINGS: dict[str, tuple[str, str]] = {}
