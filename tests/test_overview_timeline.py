"""Overview timeline: cards per architecture, latency on demand, and "Open in Segment" picking the model.

Runs against the real app, which calls ``overview.link_segment()`` after building its tabs.
"""

from __future__ import annotations

import pytest

from segdemo.lessons import overview as overview_lesson
from segdemo.ui import overview


@pytest.fixture
def fake_latency(monkeypatch):
    # Pretend every model was measured: the test checks the wiring, the benchmark measures.
    monkeypatch.setattr(overview_lesson, "_latencies", {e.name: 10.0 + i for i, e in enumerate(overview_lesson.timeline())})


def test_segment_key_is_the_shipped_checkpoint():
    entries = {e.name: e for e in overview_lesson.timeline()}
    for name, entry in entries.items():
        assert overview.segment_key(name) == entry.segment_key
    assert overview.segment_key("no-such-model") is None


def test_api_latency_fills_every_card(client, fake_latency):
    image, *cards = client.predict(api_name="/overview_latency")
    entries = overview_lesson.timeline()
    assert len(cards) == len(entries)
    for card, entry in zip(cards, entries, strict=True):
        assert str(entry.card.year) in card and entry.card.display["en"] in card
        assert f"{entry.latency_ms:.0f} ms at {overview_lesson.LATENCY_SIZE}²" in card
        assert ("not trained yet" in card) == (entry.val_miou is None)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_open_in_segment_picks_the_model(browser, app_url, screenshot_dir, lang, fake_latency):
    from browser import open_app

    shipped = [e for e in overview_lesson.timeline() if e.segment_key]
    if not shipped:
        pytest.skip("no shipped checkpoint")
    target = next((e for e in shipped if e.name == "unet"), shipped[0])
    with open_app(browser, app_url, lang, height=1000) as (page, errors):
        card = page.locator(f"#overview-model-{target.name}")
        card.get_by_text(str(target.card.year)).first.wait_for(timeout=30_000)
        page.locator("#overview-measure").click()
        page.wait_for_function("() => /(ms at|毫秒)/.test(document.querySelector('#overview-model-unet').innerText)",
                               timeout=30_000)
        page.locator("#overview-timeline").scroll_into_view_if_needed()
        page.screenshot(path=str(screenshot_dir / f"overview-timeline-{lang}.png"), full_page=True)
        page.locator(f"#overview-open-{target.name}").click()
        page.locator("#tab-segment").wait_for(state="visible", timeout=15_000)
        name = target.card.display[lang]
        page.wait_for_function("name => document.querySelector('#segment-model input').value.includes(name)",
                               arg=name, timeout=15_000)
        page.wait_for_function("name => document.querySelector('#segment-card').innerText.includes(name)",
                               arg=name, timeout=15_000)
        page.screenshot(path=str(screenshot_dir / f"overview-open-segment-{lang}.png"), full_page=False)
        assert not [e for e in errors if "favicon" not in e]


def test_cards_name_the_family_in_the_readers_language():
    from segdemo.ui.overview import _card

    entry = next(e for e in overview_lesson.timeline() if e.card.family == "Real-time")
    assert "*实时*" in _card(entry, "zh") and "*Real-time*" in _card(entry, "en")
