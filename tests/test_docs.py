"""The docs name what the code reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_settings_table_names_every_environment_variable_the_code_reads():
    read = set()
    for path in [ROOT / "app.py", *(ROOT / "segdemo").rglob("*.py")]:
        read |= set(re.findall(r"SEGDEMO_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    architecture = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = architecture.split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(SEGDEMO_[A-Z0-9_]+)` \|", table, flags=re.MULTILINE))
    assert read - documented == set(), "undocumented"
    assert documented - read == set(), "documented but not read"
