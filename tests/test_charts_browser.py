"""Every chart is drawn in Chromium from data: hovering shows the numbers, in the reader's language."""

from __future__ import annotations

import re

import pytest

from segdemo.strings import t

NUMBER = re.compile(r"\d+\.\d+")


def _hover(page, chart: str, fx: float = 0.5, fy: float = 0.5, panel: int = 0) -> str:
    """Move the mouse to (fx, fy) of panel ``panel``'s plot area in ``chart`` and return the tooltip's text."""
    area = page.locator(f"{chart} .nsewdrag").nth(panel)
    area.wait_for(timeout=60_000)
    box = area.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"], steps=5)
    tip = page.locator(f"{chart} .hoverlayer .hovertext, {chart} .hoverlayer .legend").first
    tip.wait_for(timeout=10_000)
    return tip.text_content()


def _shot(page, chart: str, name: str, lang: str, screenshot_dir) -> None:
    page.locator(chart).scroll_into_view_if_needed()
    page.locator(chart).screenshot(path=str(screenshot_dir / f"charts-{name}-{lang}.png"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_charts_are_interactive_in_both_languages(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle

    with open_app(browser, app_url, lang, width=1400, height=1000) as (page, errors):
        # Losses: hover the Focal curves at p_t ≈ 0.5: every curve's loss there, CE among them
        goto_tab(page, "losses", lang)
        focal = "#losses-focal-plot"
        page.locator(f"{focal} .main-svg").first.wait_for(timeout=60_000)
        settle(page)
        _shot(page, focal, "losses-curves", lang, screenshot_dir)
        tip = _hover(page, focal, fx=0.5, fy=0.6)
        assert t("losses.plot.ce", lang) in tip and NUMBER.search(tip), tip

        page.get_by_role("tab", name=t("losses.section.imbalance", lang)).click()
        page.locator("#losses-sim-summary").get_by_text("0.334", exact=False).wait_for(timeout=60_000)
        page.locator("#losses-sim-chart .main-svg").first.wait_for()
        settle(page)
        _shot(page, "#losses-sim-chart", "losses-imbalance", lang, screenshot_dir)
        _shot(page, "#losses-sim-picture", "losses-picture", lang, screenshot_dir)
        # the tallest bar (a thin one is hard to hit: hover picks its neighbour), named in the tooltip
        from segdemo.lessons.losses import COMPARED

        bars = page.locator("#losses-sim-chart .barlayer .point path")
        boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
        tallest = max(range(len(boxes)), key=lambda i: boxes[i]["height"])
        box = boxes[tallest]
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=3)
        tip = page.locator("#losses-sim-chart .hoverlayer .hovertext").first
        tip.wait_for(timeout=10_000)
        tip = tip.text_content()
        assert t(f"common.loss.{COMPARED[tallest]}", lang) in tip and NUMBER.search(tip), tip

        page.get_by_role("tab", name=t("losses.section.masks", lang)).click()
        page.locator("#losses-masks-chart .main-svg").first.wait_for(timeout=60_000)
        settle(page)
        _shot(page, "#losses-masks-panels", "losses-masks", lang, screenshot_dir)
        _shot(page, "#losses-masks-chart", "losses-bars", lang, screenshot_dir)

        # mIoU: hover the first cell of the counts heatmap: truth, prediction and the pixel count
        goto_tab(page, "miou", lang)
        heat = "#miou-heat"
        page.locator(f"{heat} .main-svg").first.wait_for(timeout=60_000)
        settle(page)
        _shot(page, heat, "miou", lang, screenshot_dir)
        tip = _hover(page, heat, fx=0.05, fy=0.05)
        assert t("miou.plot.truth", lang) in tip and t("miou.plot.counts", lang) in tip, tip
        assert re.search(r"\d", tip.split(t("miou.plot.counts", lang))[-1]), tip

        # Overview: the timeline's dots name their architecture and score
        goto_tab(page, "overview", lang)
        timeline = "#overview-timeline"
        page.locator(f"{timeline} .scatterlayer .point").first.wait_for(timeout=60_000)
        page.wait_for_timeout(500)  # the resize announced when the tab opened (the gallery above may still load)
        width = page.locator(f"{timeline} .main-svg").first.bounding_box()["width"]
        assert width > 0.9 * page.locator(timeline).bounding_box()["width"]  # laid out at the page's width
        _shot(page, timeline, "overview", lang, screenshot_dir)
        dot = page.locator(f"{timeline} .scatterlayer .point").first
        dot.scroll_into_view_if_needed()
        box = dot.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=3)
        tip = page.locator(f"{timeline} .hoverlayer .hovertext").first
        tip.wait_for(timeout=10_000)
        assert t("overview.tl.axis_miou", lang) in tip.text_content()

        # Train: the empty chart says what to do, in the reader's language
        goto_tab(page, "train", lang)
        page.locator("#train-curves .main-svg").first.wait_for(timeout=60_000)
        settle(page)
        assert t("train.plot.empty", lang) in page.locator("#train-curves").text_content()
        _shot(page, "#train-curves", "train", lang, screenshot_dir)
        assert not [e for e in errors if "favicon" not in e], errors
