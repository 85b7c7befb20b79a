"""Every tab opens in real Chromium, in English and in Chinese, with no console errors."""

from __future__ import annotations

import pytest

from browser import goto_tab, open_app
from segdemo.ui.i18n import t
from segdemo.ui.shell import TABS


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_tab_renders(browser, app_url, screenshot_dir, lang):
    with open_app(browser, app_url, lang) as (page, errors):
        title = t("app.title", lang).lstrip("# ")
        assert page.get_by_text(title).is_visible()
        for name, _ in TABS:
            goto_tab(page, name, lang)
            page.wait_for_timeout(300)
            page.screenshot(path=str(screenshot_dir / f"tab-{name}-{lang}.png"), full_page=True)
        assert errors == [], f"console errors in {lang}: {errors}"


def test_overview_content_is_translated(browser, app_url):
    with open_app(browser, app_url, "zh") as (page, _):
        assert page.get_by_text("什么是语义分割？").is_visible()
    with open_app(browser, app_url, "en") as (page, _):
        assert page.get_by_text("What is semantic segmentation?").is_visible()
