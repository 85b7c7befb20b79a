"""Bilingual text (English / Simplified Chinese) for the whole UI.

Two ways to show a string, both reading the tables in :mod:`segdemo.strings`:

- ``i18n("key")`` for component labels and static text: Gradio translates it in the
  browser from the browser's language (``gr.I18n``).
- ``t("key", lang, **params)`` for text a handler renders at request time (tables,
  messages, plots); ``lang`` comes from :func:`lang_of`, which reads the same browser
  language from the request's ``Accept-Language`` header.
"""

from __future__ import annotations

import functools

import gradio as gr

from segdemo.strings import LANGS, strings, t

__all__ = ["LANGS", "gradio_i18n", "i18n", "lang_of", "strings", "t"]

# Browsers send zh-CN, zh-Hans, zh-SG ...: every Chinese variant gets the Simplified table.
_GRADIO_LOCALES = {"en": ("en",), "zh": ("zh", "zh-CN", "zh-Hans", "zh-SG", "zh-TW", "zh-HK")}


@functools.cache
def _gradio_i18n() -> gr.I18n:
    tables = {lang: {k: pair[i] for k, pair in strings().items()} for i, lang in enumerate(LANGS)}
    return gr.I18n(**{loc: tables[lang] for lang, locs in _GRADIO_LOCALES.items() for loc in locs})


def i18n(key: str) -> gr.I18nData:
    """A translatable string for a component; fails early on an unknown key."""
    if key not in strings():
        raise KeyError(f"unknown string key {key!r}")
    return _gradio_i18n()(key)


def gradio_i18n() -> gr.I18n:
    """The ``gr.I18n`` to pass to ``demo.launch(i18n=...)``."""
    return _gradio_i18n()


def chosen_lang(request: gr.Request | None) -> str | None:
    """The language the page asked for with ``?lang=en`` / ``?lang=zh``, or None.

    An event's request goes to Gradio's queue, not to the page, so the page's address comes from the
    ``Referer`` header (browsers send the full address, query included, on same-origin requests); a direct
    GET with ``?lang=`` counts too.
    """
    if request is None:
        return None
    from urllib.parse import parse_qs, urlparse

    headers = getattr(request, "headers", None) or {}
    queries = [urlparse(headers.get("referer", "") or "").query]
    try:
        queries.append(str(request.query_params))
    except (AttributeError, KeyError):
        pass
    for query in queries:
        lang = (parse_qs(query).get("lang") or [""])[0].strip().lower()
        if lang in LANGS:
            return lang
    return None


def lang_of(request: gr.Request | None) -> str:
    """The reader's language: ``?lang=`` in the page's address (:func:`chosen_lang`), else ``"zh"`` if the
    browser prefers Chinese over English, else ``"en"``.

    Reads ``Accept-Language`` (e.g. ``"zh-CN,zh;q=0.9,en;q=0.8"``) and takes the first
    of English/Chinese by quality, the order the browser itself would use.
    """
    chosen = chosen_lang(request)
    if chosen:
        return chosen
    header = ""
    if request is not None:
        headers = getattr(request, "headers", None) or {}
        header = headers.get("accept-language", "") or ""
    best, best_q = "en", -1.0
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        lang = tag.strip().lower()[:2]
        if lang not in LANGS:
            continue
        try:
            quality = float(q) if q else 1.0
        except ValueError:
            quality = 0.0
        if quality > best_q:
            best, best_q = lang, quality
    return best
