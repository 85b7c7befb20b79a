"""Every tab opens in real Chromium, in English and in Chinese, with no console errors."""

from __future__ import annotations

import pytest

from browser import goto_tab, open_app
from segdemo.ui.i18n import t
from segdemo.ui.shell import TABS


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_tab_renders(browser, app_url, screenshot_dir, lang):
    """Each tab on a 1280×720 projector: the first screen and the whole page, looked at in both languages."""
    with open_app(browser, app_url, lang, width=1280, height=720) as (page, errors):
        title = t("app.title", lang).lstrip("# ")
        assert page.get_by_text(title).is_visible()
        for name, _ in TABS:
            goto_tab(page, name, lang)
            page.wait_for_timeout(300)
            page.screenshot(path=str(screenshot_dir / f"tab-{name}-{lang}.png"), full_page=True)
            page.screenshot(path=str(screenshot_dir / f"projector-{name}-{lang}.png"))
        assert errors == [], f"console errors in {lang}: {errors}"


def test_overview_content_is_translated(browser, app_url):
    with open_app(browser, app_url, "zh") as (page, _):
        assert page.get_by_text("什么是语义分割？").is_visible()
    with open_app(browser, app_url, "en") as (page, _):
        assert page.get_by_text("What is semantic segmentation?").is_visible()


def test_every_tab_works_with_no_network(browser, app_url, screenshot_dir):
    """A classroom without internet: the page asks nothing of any other host, and each tab's main
    picture still arrives (every request that is not to the app itself is refused)."""
    from urllib.parse import urlparse

    app_host = urlparse(app_url).netloc
    outside: list[str] = []
    context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})

    def only_the_app(route) -> None:
        if urlparse(route.request.url).netloc == app_host or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_app)
    page = context.new_page()
    try:
        page.goto(app_url, wait_until="load")  # see browser.open_app: the heartbeat never lets the network idle
        # Charts are drawn in the browser (Plotly's svg), pictures are images: both must arrive offline.
        pictures = {"overview": "#overview-tasks img", "segment": "#segment-card h3", "augment": "#tab-augment img",
                    "losses": "#tab-losses .main-svg", "miou": "#tab-miou img", "train": "#train-curves .main-svg",
                    "inside": "#inside-image img", "lesson": "#lesson-script a"}
        for name, _ in TABS:
            goto_tab(page, name, "en")
            page.locator(pictures[name]).first.wait_for(timeout=60_000)
        page.screenshot(path=str(screenshot_dir / "offline-train-en.png"), full_page=True)
    finally:
        context.close()
    assert outside == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_tab_is_wider_than_a_phone(browser, app_url, lang, screenshot_dir):
    """At 390×844 (a phone) no tab scrolls sideways: its widest content wraps, reflows or scrolls inside."""
    with open_app(browser, app_url, lang, width=390, height=844) as (page, errors):
        for name, _ in TABS:
            goto_tab(page, name, lang)
            page.wait_for_timeout(300)
            width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], f"{name} is {width[0]} px wide on a {width[1]} px phone"
            page.screenshot(path=str(screenshot_dir / f"phone-{name}-{lang}.png"))  # what a student sees first
        goto_tab(page, "segment", lang)
        page.screenshot(path=str(screenshot_dir / f"phone-segment-{lang}.png"))
        # A chart of two panels side by side keeps 720 px (squeezed, its titles overlapped) and scrolls
        # sideways inside its own box, not the page.
        goto_tab(page, "losses", lang)
        plot = page.locator("#losses-focal-plot .js-plotly-plot")
        plot.wait_for(timeout=60_000)
        assert plot.evaluate("(el) => el.getBoundingClientRect().width") >= 720
        overlaps = plot.evaluate("""(el) => {
            const boxes = [...el.querySelectorAll('g.annotation')].map((a) => a.getBoundingClientRect());
            return boxes.flatMap((a, i) => boxes.slice(i + 1).filter((b) => a.left < b.right && b.left < a.right
                && a.top < b.bottom && b.top < a.bottom)).length; }""")
        assert overlaps == 0  # the panels' titles and notes
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width
        page.locator("#losses-focal-plot").screenshot(path=str(screenshot_dir / f"phone-losses-chart-{lang}.png"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_segment_button_and_result_share_a_projector_screen(browser, app_url, lang, screenshot_dir):
    """At 1280×720 (a classroom projector) the Segment button and the picture it produces are both on
    the first screen: no scrolling between pressing and seeing."""
    with open_app(browser, app_url, lang, width=1280, height=720) as (page, errors):
        goto_tab(page, "segment", lang)
        page.locator("#segment-slider img").first.wait_for(timeout=60_000)
        button, result = page.locator("#segment-run").bounding_box(), page.locator("#segment-slider").bounding_box()
        assert button["y"] + button["height"] <= 720 and result["y"] + result["height"] / 2 <= 720, (button, result)
        page.screenshot(path=str(screenshot_dir / f"projector-segment-{lang}.png"))
