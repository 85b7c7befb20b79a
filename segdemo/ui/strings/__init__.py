"""The string tables: one module per tab, each a ``STRINGS`` dict ``key -> (English, 简体中文)``.

Keys are namespaced by their module (``"segment.run"``) so that tables never collide;
:mod:`segdemo.ui.i18n` merges them and refuses duplicates.
"""

MODULES = ("common", "overview", "segment", "augment", "losses", "miou", "train")
