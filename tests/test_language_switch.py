"""The language switch: ``?lang=`` and the header's links override the browser's language everywhere."""

from __future__ import annotations

import pytest

from segdemo.ui.i18n import chosen_lang, lang_of, t


class FakeRequest:
    def __init__(self, headers: dict[str, str], query: str = "") -> None:
        self.headers, self.query_params = headers, query


@pytest.mark.parametrize(("headers", "query", "expected"), [
    ({"accept-language": "en-US,en;q=0.9", "referer": "http://host/?lang=zh"}, "", "zh"),
    ({"accept-language": "zh-CN,zh;q=0.9", "referer": "http://host/app/?tab=segment&lang=en"}, "", "en"),
    ({"accept-language": "zh-CN,zh;q=0.9", "referer": "http://host/?lang=fr"}, "", "zh"),  # unknown: browser's
    ({"accept-language": "en-US"}, "lang=zh", "zh"),  # a direct GET with ?lang=
    ({"accept-language": "en-US"}, "", "en"),
])
def test_the_page_address_wins_over_the_browser(headers, query, expected):
    assert lang_of(FakeRequest(headers, query)) == expected
    assert chosen_lang(None) is None and lang_of(None) == "en"


def test_the_locale_module_is_found_and_the_script_names_it():
    from segdemo.ui import gradio_compat

    name = gradio_compat.locale_module()
    assert name.startswith("core-") and name.endswith(".js")
    script = gradio_compat.locale_js()
    assert name in script and "changeLocale(lang)" in script and '["en", "zh"]' in script


def test_a_gradio_without_change_locale_stops_clearly(tmp_path):
    from segdemo.ui import gradio_compat

    (tmp_path / "core-abc.js").write_text("export{a as setupi18n}")
    with pytest.raises(RuntimeError, match="changeLocale"):
        gradio_compat.locale_module(tmp_path)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_lang_link_overrides_the_browser_in_labels_and_handler_text(browser, app_url, screenshot_dir, lang):
    """An English browser opened on ?lang=zh shows Chinese tab names and Chinese text rendered by a handler
    (the Train tab's status); a Chinese browser on ?lang=en the reverse; the header's links switch."""
    from browser import open_app

    other = "en" if lang == "zh" else "zh"
    with open_app(browser, app_url, other, width=1280, height=720) as (page, errors):
        page.goto(app_url + f"?lang={lang}", wait_until="load")
        errors.clear()  # what the page we left reported about its aborted requests
        page.get_by_role("tab", name=t("tab.overview", lang)).wait_for(timeout=30_000)
        page.get_by_role("tab", name=t("tab.train", lang)).click()
        page.locator("#train-status").filter(has_text=t("train.idle", lang).split("**")[0][:4]).wait_for(
            timeout=30_000)
        page.screenshot(path=str(screenshot_dir / f"lang-switch-{lang}-on-{other}-browser.png"))
        assert not [e for e in errors if "favicon" not in e]
        # the header's link back to the browser's language (leaving the page aborts its open requests)
        page.locator("#lang-switch a", has_text="English" if other == "en" else "中文").click()
        page.wait_for_url(f"**?lang={other}", timeout=15_000)
        page.get_by_role("tab", name=t("tab.overview", other)).wait_for(timeout=30_000)
