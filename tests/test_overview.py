"""Overview: one scene seen by the five tasks, through the backend, the API and the browser."""

from __future__ import annotations

import numpy as np
import pytest

from segdemo.data import render_scene
from segdemo.lessons import overview as overview_lesson

AppError = pytest.importorskip("gradio_client.exceptions").AppError


def test_views_agree_with_the_scene():
    v = overview_lesson.views(11, 2, size=96)
    scene = render_scene(11, 2, 96)
    ids = [i for i in np.unique(scene.instances) if i]
    assert len(v.boxes) == len(ids)
    for (x0, y0, x1, y1, cls), obj in zip(v.boxes, ids, strict=True):
        ys, xs = np.nonzero(scene.instances == obj)
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max(), ys.max())
        assert cls == scene.labels[obj - 1]
    # classification names the object class with the most pixels
    assert v.label == np.bincount(scene.mask[scene.mask > 0]).argmax()
    # panoptic = instance colours on things, semantic colours on stuff
    things = scene.instances > 0
    np.testing.assert_array_equal(v.panoptic[things], v.instance[things])
    np.testing.assert_array_equal(v.panoptic[~things], v.semantic[~things])
    assert (v.instance[~things] == 0).all()


def test_instance_colours_differ_per_object():
    colours = overview_lesson.instance_colours(5)
    assert colours[0].tolist() == [0, 0, 0] and len({tuple(c) for c in colours[1:]}) == 5


def test_api_five_views(client):
    gallery, summary = client.predict(7, api_name="/overview_tasks")
    assert len(gallery) == 5 and "Scene 7" in summary
    with pytest.raises(AppError, match="999"):  # Gradio's own range check on the number input
        client.predict(5000, api_name="/overview_tasks")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_overview_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import open_app, settle

    with open_app(browser, app_url, lang) as (page, errors):
        page.locator("#overview-tasks img").nth(4).wait_for(timeout=60_000)
        before = page.locator("#overview-summary").inner_text()
        page.locator("#overview-another").click()
        page.wait_for_function(f"() => document.querySelector('#overview-summary').innerText !== {before!r}",
                               timeout=20_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"overview-tasks-{lang}.png"), full_page=False)
        # every tab name in "Which tab teaches what" on one line (a narrow column broke "Overv/iew")
        cells = page.locator("#overview-map td:first-child")
        assert cells.count() == 6
        lines = cells.evaluate_all("cells => cells.map(c => c.querySelector('strong').getClientRects().length)")
        assert lines == [1] * 6  # an inline element has one box per line it spans
        assert not [e for e in errors if "favicon" not in e]
