"""Strings of the Segment tab."""

STRINGS: dict[str, tuple[str, str]] = {}
