"""Train tab through the app: the ``/train`` API (metrics, clamp, refusal, stop) and the browser."""

from __future__ import annotations

import json
import time

import pytest

from segdemo.lessons import train as train_lesson

AppError = pytest.importorskip("gradio_client.exceptions").AppError


@pytest.fixture
def small_limits(monkeypatch):
    # The app runs in this process: its tab reads these module limits.
    monkeypatch.setattr(train_lesson, "MAX_STEPS", 20)


def test_api_train_returns_final_metrics_and_clamps(client, small_limits):
    plot, previews, status, files, metrics = client.predict("fastscnn", "ce", "none", 64, 25, 0, api_name="/train")
    assert metrics["state"] == "done" and metrics["steps_done"] == metrics["steps_planned"] == 20  # clamped
    assert 0 <= metrics["first_val_miou"] <= metrics["best_val_miou"] <= 1
    assert metrics["checkpoint"].startswith("session:")
    assert "20/20" in status and f"{metrics['best_val_miou']:.3f}" in status
    assert sorted(f.rsplit(".", 1)[1] for f in files) == ["json", "safetensors"]
    curves = json.loads(plot["plot"])  # a Plotly figure: loss and val mIoU of the run
    assert [trace.get("xaxis", "x") for trace in curves["data"][2:]] == ["x", "x2"]
    assert 0 <= curves["data"][-1]["y"][-1] <= metrics["best_val_miou"] + 1e-4 and previews


@pytest.mark.parametrize(
    "args, message",
    [
        (("nope", "ce", "none", 64, 10, 0), "nope"),  # Gradio's own check of the choices
        (("unet", "ce", "none", 100, 10, 0), "100"),
        (("unet", "ce", "wild", 64, 10, 0), "wild"),
        (("unet", "ce", "none", 64, 0, 0), "less than minimum"),
    ],
)
def test_api_train_refuses_bad_settings(client, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/train")


def test_api_second_run_is_refused_and_stop_keeps_the_result(client):
    job = client.submit("unet", "ce", "none", 64, 200, 1, api_name="/train")
    deadline = time.monotonic() + 60
    while not any(r.active and r.state == "running" for runs in train_lesson._runs.values() for r in runs):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with pytest.raises(AppError, match="already have a run"):
        client.predict("unet", "ce", "none", 64, 10, 0, api_name="/train")
    assert "Stopping" in client.predict(api_name="/train_stop")
    *_, status, files, metrics = job.result(timeout=60)
    assert metrics["state"] == "stopped" and metrics["steps_done"] < 200 and len(files) == 2
    assert "Stopped" in status


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_train_tab_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle

    with open_app(browser, app_url, lang, height=1000) as (page, errors):
        goto_tab(page, "train", lang)
        page.locator("#train-curves .main-svg").first.wait_for(timeout=30_000)
        page.screenshot(path=str(screenshot_dir / f"train-idle-{lang}.png"), full_page=True)
        assert page.locator("#train-curves .scatterlayer .trace").count() == 2  # the empty panels' traces
        page.locator("#train-go").click()
        # the curve is drawn while training (a line appears), and the status counts steps
        page.wait_for_function("() => document.querySelectorAll('#train-curves .scatterlayer .trace').length > 2",
                               timeout=60_000)
        page.wait_for_function("() => /\\b([2-9]|\\d\\d+)\\/100\\b/.test(document.querySelector('#train-status')"
                               ".innerText)", timeout=60_000)
        page.wait_for_timeout(3000)
        page.screenshot(path=str(screenshot_dir / f"train-running-{lang}.png"), full_page=True)
        page.locator("#train-stop").click()
        page.wait_for_function("() => /(Stopped|已停止)/.test(document.querySelector('#train-status').innerText)",
                               timeout=30_000)
        page.locator("#train-download a").first.wait_for(timeout=10_000)
        page.screenshot(path=str(screenshot_dir / f"train-stopped-{lang}.png"), full_page=True)
        # the run is now a model of this session in the Segment tab's picker
        goto_tab(page, "segment", lang)
        mine = "Your run 1" if lang == "en" else "你的第 1 次训练"
        page.locator("#segment-model input").click()
        page.get_by_role("option", name=mine).first.click(timeout=15_000)
        page.locator("#segment-card h3").filter(has_text=mine).wait_for(timeout=15_000)
        page.locator("#segment-run").click()
        # the gallery's caption names the model (the tab opened on the default model's result)
        page.locator("#segment-gallery").filter(has_text=mine).wait_for(timeout=60_000)
        page.locator("#segment-summary").filter(has_text="mIoU").wait_for(timeout=60_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"train-model-in-segment-{lang}.png"), full_page=True)
        assert not [e for e in errors if "favicon" not in e]


def test_api_trained_model_can_segment_in_the_same_session(client, small_limits):
    """The run's checkpoint key works in /segment for the same client (session), not for another one."""
    from gradio_client import Client

    *_, metrics = client.predict("fastscnn", "ce", "none", 64, 10, 0, api_name="/train")
    key = metrics["checkpoint"]
    pair, annotated, confidence, table, summary, gallery = client.predict(
        "scene", 3, None, key, [], 0.5, api_name="/segment")
    assert "mIoU" in summary
    with pytest.raises(AppError, match="no model"):
        Client(client.src, verbose=False).predict("scene", 3, None, key, [], 0.5, api_name="/segment")


def test_status_says_how_busy_the_server_is_now(monkeypatch):
    """The load line is part of the status, which is redrawn every second of a run (not a stale line)."""
    from types import SimpleNamespace

    from segdemo.ui.train import limits_text, status_text

    monkeypatch.setattr(train_lesson, "load", lambda: {"running": 1, "waiting": 3, "slots": 1})
    assert "1 running, 3 waiting" in status_text(None, "en")
    assert "1 个进行中，3 个排队" in status_text(None, "zh")
    run = SimpleNamespace(state="running", active=True, steps=[0.9] * 4, vals=[(4, 0.25)], best={},
                          config=SimpleNamespace(steps_per_epoch=10), steps_per_second=lambda: 2.0,
                          elapsed=lambda: 2.0, remaining=lambda: 3.0)
    text = status_text(run, "en")
    assert "**Step 4/10**" in text and "1 running, 3 waiting" in text
    monkeypatch.setattr(train_lesson, "load", lambda: {"running": 0, "waiting": 0, "slots": 1})
    assert "0 running, 0 waiting" in status_text(run, "en")
    finished = SimpleNamespace(**{**vars(run), "state": "done", "active": False, "best": {"miou": 0.5}})
    assert "waiting" not in status_text(finished, "en") and "0.500" in status_text(finished, "en")
    assert "left" in text and "left" not in status_text(finished, "en")  # no "about 0 s left" after a run
    assert "约剩" not in status_text(finished, "zh")
    assert "running" not in limits_text("en") and str(train_lesson.MAX_STEPS) in limits_text("en")
