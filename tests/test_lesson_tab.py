"""The Lesson tab: a script per tab in both languages, and links that open a tab ready for its step."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from segdemo.lessons import lesson
from segdemo.strings import LANGS, t
from segdemo.ui.shell import TABS

TAB_NAMES = [name for name, _ in TABS]


def test_the_steps_follow_the_tab_order_in_both_languages():
    steps = [tab for tab, _ in lesson.STEPS]
    assert steps == [n for n in TAB_NAMES if n != "lesson"]  # every tab but this one, in order
    for lang in LANGS:
        text = lesson.script(lang)
        for tab, _ in lesson.STEPS:
            assert t(f"lesson.step.{tab}", lang) in text
    # the steps fill the 45 minutes the intro promises, numbered in order, in both languages
    for lang, pattern in (("en", r"### (\d)\. [^(]+\((\d+) min\)"), ("zh", r"### (\d)\. [^（]+（(\d+) 分钟）")):
        found = [re.search(pattern, t(f"lesson.step.{tab}", lang)) for tab in steps]
        assert all(found), lang
        assert [int(m.group(1)) for m in found] == list(range(1, len(steps) + 1))
        assert sum(int(m.group(2)) for m in found) == 45


def test_links_carry_tab_state_and_language():
    assert lesson.link("segment", {"scene": "21", "model": "shipped:unet"}, "zh") == \
        "?tab=segment&scene=21&model=shipped%3Aunet&lang=zh"
    with pytest.raises(ValueError, match="lang must be one of"):
        lesson.link("segment", {}, "fr")
    links = [line for line in lesson.script("en").splitlines() if "](?" in line]
    assert len(links) == len(lesson.STEPS)
    assert {tab for tab, _ in lesson.STEPS} <= set(TAB_NAMES)


def test_parse_keeps_only_valid_parameters():
    query = parse_qs(urlparse("http://h/?tab=segment&scene=21&model=shipped:unet&evil=1").query)
    assert lesson.parse(query, TAB_NAMES) == {"tab": "segment", "scene": "21", "model": "shipped:unet"}
    assert lesson.parse(parse_qs("tab=nope&scene=-3"), TAB_NAMES) == {}
    assert lesson.parse(parse_qs("scene=100"), TAB_NAMES) == {}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_link_opens_segment_at_the_scene_in_the_language(browser, app_url, screenshot_dir, lang):
    from browser import open_app

    other = "en" if lang == "zh" else "zh"
    for width, height in ((1280, 720), (390, 844)):
        with open_app(browser, app_url, other, width=width, height=height) as (page, errors):
            page.goto(app_url + f"?tab=lesson&lang={lang}", wait_until="load")  # on a phone the tab
            errors.clear()  # what the page we left reported about its aborted requests     # is in a menu
            page.locator("#lesson-script").filter(has_text=t("lesson.open", lang)).wait_for(timeout=30_000)
            page.screenshot(path=str(screenshot_dir / f"lesson-{width}x{height}-{lang}.png"), full_page=True)
            assert not [e for e in errors if "favicon" not in e and "403" not in e]  # 403: the left page's files
            page = page.context.new_page()  # the link opened fresh, as from the projected script
            fresh: list[str] = []  # the first page's aborted requests are reported to its own list
            page.on("pageerror", lambda exc, fresh=fresh: fresh.append(str(exc)))
            page.goto(app_url + lesson.link("segment", {"scene": "21", "model": "shipped:unet"}, lang),
                      wait_until="load")
            page.locator("#tab-segment").wait_for(state="visible", timeout=30_000)
            page.wait_for_function("() => document.querySelector('#segment-scene input')?.value === '21'",
                                   timeout=30_000)
            page.screenshot(path=str(screenshot_dir / f"lesson-segment-link-{width}x{height}-{lang}.png"))
            assert not fresh


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_link_opens_augment_with_its_preset(browser, app_url, lang):
    from browser import open_app

    with open_app(browser, app_url, lang) as (page, errors):
        page.goto(app_url + lesson.link("augment", {"preset": "none"}, lang), wait_until="load")
        page.locator("#tab-augment").wait_for(state="visible", timeout=30_000)
        label = t("augment.preset.none", lang)
        page.wait_for_function("label => document.querySelector('#augment-preset input')?.value === label", arg=label,
                               timeout=30_000)
        # the grid follows the preset: with no transform, every sample is the original
        same = "8 of 8 identical" if lang == "en" else "8/8 个与原图完全相同"
        page.locator("#augment-summary").filter(has_text=same).wait_for(timeout=60_000)
        assert not [e for e in errors if "favicon" not in e]
