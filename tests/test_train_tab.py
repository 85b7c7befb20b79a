"""Train tab: bounded background runs (learning, stop, limits), the ``/train`` API and the browser."""

from __future__ import annotations

import pytest

from segdemo import train_sessions as T
from segdemo.errors import InputError

AppError = pytest.importorskip("gradio_client.exceptions").AppError


def _tiny(steps: int = 30, **kw):
    config, notices = T.make_config("unet", "ce", "none", 64, steps, 0)
    config.options = {"init_features": 4}
    config.val_size, config.eval_every, config.lr = 8, 10, 5e-3
    for key, value in kw.items():
        setattr(config, key, value)
    return config, notices


def test_a_short_run_improves_on_the_untrained_model():
    config, _ = _tiny(40)
    run = T.start("learner", config)
    T.wait(run, 120)
    assert run.state == "done" and len(run.steps) == 40
    assert run.steps[-1][1] < run.steps[0][1]
    first, best = run.vals[0][1], max(v for _, v in run.vals)
    assert best > first and run.best["miou"] == pytest.approx(best)
    assert len(run.previews) == T.PREVIEW_SCENES and run.previews[0].shape == (64, 64)
    from segdemo.checkpoints import load_checkpoint

    assert load_checkpoint(run.checkpoint).card["model"] == "unet"


def test_stop_ends_the_run_and_keeps_the_best():
    config, _ = _tiny(400)
    run = T.start("stopper", config)
    while len(run.steps) < 3 and run.active:
        pass
    T.stop("stopper")
    T.wait(run, 30)
    assert run.state == "stopped" and len(run.steps) < 400 and run.checkpoint


def test_limits_clamp_and_refuse():
    _, notices = T.make_config("unet", "ce", "none", 64, T.MAX_STEPS + 100, 0)
    assert notices == [("train.notice_clamped", {"asked": T.MAX_STEPS + 100, "limit": T.MAX_STEPS})]
    with pytest.raises(InputError, match="one of"):
        T.make_config("unet", "ce", "none", 1000, 10, 0)
    with pytest.raises(InputError, match="no model"):
        T.make_config("resnet", "ce", "none", 64, 10, 0)
    config, _ = _tiny(400)
    run = T.start("busy", config)
    try:
        with pytest.raises(InputError, match="already have a run"):
            T.start("busy", _tiny(10)[0])
    finally:
        T.stop("busy")
        T.wait(run, 30)


def test_api_train_returns_final_metrics(client):
    plot, previews, status, files = client.predict("unet", "ce", "none", 64, 20, 0, api_name="/train")
    assert "20/20" in status and "mIoU" in status
    assert len(previews) == T.PREVIEW_SCENES and len(files) == 2
    with pytest.raises(AppError, match="nope"):
        client.predict("nope", "ce", "none", 64, 20, 0, api_name="/train")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_train_tab_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app

    with open_app(browser, app_url, lang) as (page, errors):
        goto_tab(page, "train", lang)
        page.locator("#train-go").click()
        page.locator("#train-curves img").wait_for(timeout=60_000)
        page.wait_for_function("() => /[1-9]\\d*\\//.test(document.querySelector('#train-status').innerText)",
                               timeout=60_000)
        page.locator("#train-stop").click()
        page.locator("#train-previews img").first.wait_for(timeout=60_000)
        page.wait_for_function("() => document.querySelector('#train-status').innerText.includes('mIoU **')"
                               " || /(Stopped|已停止|Finished|完成)/.test(document.querySelector('#train-status')"
                               ".innerText)", timeout=60_000)
        page.screenshot(path=str(screenshot_dir / f"train-run-{lang}.png"), full_page=True)
        assert not [e for e in errors if "favicon" not in e]
