"""Every string a user reads exists in English and Chinese, and every key used in code exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from segdemo.ui.i18n import lang_of, strings, t

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "segdemo").rglob("*.py"))]
USES = re.compile(r"""\b(?:i18n|t)\(\s*["']([a-z_]+\.[\w.]+)["']""")
ERROR_KEYS = re.compile(r"""InputError\(\s*["'](err\.[\w.]+)["']""")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _problems(table: dict[str, tuple[str, str]]) -> list[str]:
    """Every key that lacks a language, disagrees in placeholders, or has English prose but no Chinese."""
    problems = []
    for key, (en, zh) in sorted(table.items()):
        if not (en.strip() and zh.strip()):
            problems.append(f"{key}: lacks a language")
        elif _fields(en) != _fields(zh):
            problems.append(f"{key}: placeholders {sorted(_fields(en))} (en) vs {sorted(_fields(zh))} (zh)")
        elif re.search(r"[A-Za-z]{4,}\s+[A-Za-z]{4,}", en) and not CJK.search(zh):  # prose, not a name
            problems.append(f"{key}: the Chinese text has no Chinese characters")
    return problems


def test_every_string_has_both_languages_with_the_same_placeholders():
    assert len(strings()) > 300
    problems = _problems(strings())
    assert not problems, "\n".join(problems)  # one failure lists them all


def test_the_check_reports_each_broken_key():
    bad = {"x.ok": ("Open the file", "打开文件"), "x.empty": ("Save the file", " "),
           "x.fields": ("{n} files", "{count} 个文件"), "x.untranslated": ("Open this folder", "Open this folder")}
    assert [p.split(":")[0] for p in _problems(bad)] == ["x.empty", "x.fields", "x.untranslated"]


def test_every_key_used_in_code_exists():
    used = {(path.name, key) for path in SOURCES for key in USES.findall(path.read_text("utf-8"))}
    missing = sorted((name, key) for name, key in used if key not in strings())
    assert used and not missing, f"keys used but not defined: {missing}"


def test_every_backend_error_key_is_translated():
    raised = {key for path in SOURCES for key in ERROR_KEYS.findall(path.read_text("utf-8"))}
    assert "err.not_image" in raised
    assert not sorted(raised - set(strings())), "InputError keys without a translation"


def test_tab_names_exist():
    from segdemo.ui.shell import TABS

    for name, _ in TABS:
        assert f"tab.{name}" in strings()


class _Req:
    def __init__(self, header: str) -> None:
        self.headers = {"accept-language": header}


@pytest.mark.parametrize(
    "header, lang",
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,zh;q=0.5", "zh"),
        ("de-DE", "en"),
        ("", "en"),
        ("en;q=0.2,zh-TW;q=0.7", "zh"),
    ],
)
def test_language_from_request(header, lang):
    assert lang_of(_Req(header)) == lang


def test_t_formats_in_both_languages():
    assert "a.png" in t("err.not_image", "en", name="a.png")
    assert "a.png" in t("err.not_image", "zh", name="a.png") and CJK.search(t("err.not_image", "zh", name="x"))


def test_no_known_mistranslation_and_one_word_per_term():
    """Every Chinese string uses the glossary's word for a term its English names, and none of the
    mistranslations listed there (segdemo/strings/glossary.py)."""
    from segdemo.strings.glossary import GLOSSARY, MISTRANSLATIONS

    problems = []
    for key, (en, zh) in sorted(strings().items()):
        problems += [f"{key}: {wrong} (use {right})" for wrong, right in MISTRANSLATIONS.items() if wrong in zh]
        lower = en.lower()
        problems += [f"{key}: '{term}' without {word}" for term, word in GLOSSARY.items()
                     if re.search(rf"\b{re.escape(term)}", lower) and CJK.search(zh) and word not in zh]
    assert not problems, "\n".join(problems)
