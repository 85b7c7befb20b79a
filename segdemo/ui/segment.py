"""Segment tab (its own issue fills this in; until then, an honest placeholder)."""

from __future__ import annotations

from segdemo.ui import placeholder

NAME = "segment"


def build() -> None:
    """Render the tab's body inside the current ``gr.Tab``."""
    placeholder.build()
