"""Helpers for the Playwright tests: open the app in a language, go to a tab, collect errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from segdemo.ui.i18n import t

LOCALES = {"en": "en-US", "zh": "zh-CN"}


@contextmanager
def open_app(browser, url: str, lang: str, width: int = 1366, height: int = 900) -> Iterator:
    """A page showing the app in ``lang``; yields ``(page, errors)``.

    ``errors`` collects console errors and uncaught page errors while the page is open.
    """
    context = browser.new_context(locale=LOCALES[lang], viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # Not "networkidle": the app's unload hook (a closed page frees its checkpoints) keeps Gradio's
        # heartbeat stream open for as long as the page is, so the network is never idle.
        page.goto(url, wait_until="load")
        page.get_by_role("tab", name=t("tab.overview", lang)).wait_for(timeout=30_000)
        yield page, errors
    finally:
        context.close()


def goto_tab(page, name: str, lang: str) -> None:
    """Click the tab ``name`` (e.g. ``"segment"``) and wait until its panel shows; on a narrow screen
    Gradio puts the tabs that do not fit behind a "More tabs" button, as a user sees them."""
    label = t(f"tab.{name}", lang)
    menu = page.locator("#tabs > .tab-wrapper")  # the app's tabs, not a tab's own inner tabs
    menu.get_by_role("tab").first.wait_for(timeout=30_000)
    tab = page.get_by_role("tab", name=label)
    if tab.count() == 0:
        menu.locator('button[aria-label="More tabs"]').click()
        tab = menu.locator(".overflow-dropdown button", has_text=label)
    tab.click()
    page.locator(f"#tab-{name}").wait_for(state="visible", timeout=15_000)


def settle(page, images: str = "img", timeout: float = 30_000) -> None:
    """Wait until no output is still pending or generating (Gradio fades those) and every image
    matching ``images`` inside the window has loaded (galleries load the others lazily), so that a
    screenshot shows the finished result."""
    page.wait_for_function(
        """(sel) => !document.querySelector('.pending, .generating, .eta-bar, .progress-text')
            && [...document.querySelectorAll(sel)].every((img) => {
                const box = img.getBoundingClientRect();
                const shown = box.width > 0 && box.bottom > 0 && box.top < window.innerHeight;
                return !shown || (img.complete && img.naturalWidth > 0);
            })""",
        arg=images, timeout=timeout)
    page.wait_for_timeout(200)  # Gradio's 0.15 s fade back from the pending opacity
