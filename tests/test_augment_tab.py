"""The Augment tab through its API (``/augment``, ``/augment_explore``) and in a real browser (en + zh)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from segdemo.ui.i18n import t

# every picture of a gallery is there and decoded
ALL_LOADED = ("() => { const imgs = [...document.querySelectorAll('#ID img')];"
              " return imgs.length >= 8 && imgs.every(i => i.complete && i.naturalWidth > 0); }")
AppError = pytest.importorskip("gradio_client.exceptions").AppError


def _call(client, source="synthetic", scene=4, image=None, mask=None, pipeline="course", n=4, seed=0, size=128):
    from gradio_client import handle_file

    return client.predict(source, scene, handle_file(image) if image else None, handle_file(mask) if mask else None,
                          pipeline, n, seed, size, api_name="/augment")


def _png(path, array) -> str:
    Image.fromarray(array).save(path)
    return str(path)


def test_api_grid_is_reproducible_and_exports_files(client):
    grid, align, summary, applied, preview, code, py_file, json_file = _call(client)
    again = _call(client)
    assert len(grid) == 4 and len(align) == 4 and "4" in summary
    first = [np.asarray(Image.open(item["image"])) for item in grid]
    second = [np.asarray(Image.open(item["image"])) for item in again[0]]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert first[0].shape[0] == 128 and first[0].shape[1] > 3 * 128  # image | mask | overlay
    assert [row[0] for row in applied["data"]] == ["#1", "#2", "#3", "#4"]
    assert "def build_pipeline" in code and "A.Affine(" in code
    assert "A.Affine(" in open(py_file, encoding="utf-8").read()
    assert json.load(open(json_file, encoding="utf-8"))["transform"]["__class_fullname__"] == "Compose"


def test_api_other_seed_changes_grid(client):
    a = _call(client, seed=1)[0]
    b = _call(client, seed=2)[0]
    assert any(not np.array_equal(np.asarray(Image.open(x["image"])), np.asarray(Image.open(y["image"])))
               for x, y in zip(a, b, strict=True))


def test_api_upload_pair_and_image_alone(client, tmp_path):
    from segdemo.palette import voc_palette

    image = np.zeros((60, 80, 3), np.uint8)
    image[:, 40:] = 200
    mask = Image.fromarray(np.where(np.arange(80) >= 40, 1, 0).astype(np.uint8)[None].repeat(60, 0), mode="P")
    mask.putpalette(voc_palette().tobytes())  # a VOC-style palette PNG: the indices are the labels
    mask.save(tmp_path / "m.png")
    out = _call(client, "upload", image=_png(tmp_path / "im.png", image), mask=str(tmp_path / "m.png"),
                pipeline=json.dumps([{"name": "HorizontalFlip", "p": 1.0}]), n=1)
    strip = np.asarray(Image.open(out[0][0]["image"]).convert("RGB"))
    assert strip[64, 10].max() > 150  # flipped: the bright half is now on the left
    alone = _call(client, "upload", image=_png(tmp_path / "im2.png", image), n=2)
    assert len(alone[0]) == 2


@pytest.mark.parametrize("case, expected", [
    ("size_mismatch", "the mask is 10×10 but the image is 80×60"),
    ("labels", "labels above 255"),
    ("not_image", "not an image"),
    ("no_image", "Upload an image first"),
    ("bad_pipeline", "neither a preset"),
    ("bad_n", "greater than maximum value 16"),
])
def test_api_bad_input_gives_clear_message(client, tmp_path, case, expected):
    image = _png(tmp_path / "im.png", np.zeros((60, 80, 3), np.uint8))
    kwargs = {"source": "upload", "image": image}
    if case == "size_mismatch":
        kwargs["mask"] = _png(tmp_path / "m.png", np.zeros((10, 10), np.uint8))
    elif case == "labels":
        np.save(tmp_path / "m.npy", np.full((60, 80), 300, np.int64))
        kwargs["mask"] = str(tmp_path / "m.npy")
    elif case == "not_image":
        (tmp_path / "notes.png").write_text("hello, I am text")
        kwargs["image"] = str(tmp_path / "notes.png")
    elif case == "no_image":
        kwargs["image"] = None
    elif case == "bad_pipeline":
        kwargs = {"pipeline": "heavy"}
    elif case == "bad_n":
        kwargs = {"n": 99}
    with pytest.raises(AppError) as info:
        _call(client, **kwargs)
    assert expected in str(info.value)
    assert "Traceback" not in str(info.value)


def test_api_explore_one_transform(client):
    grid, text = client.predict("synthetic", 4, None, None, "Affine", 0.0, 0.0, 90.0, 3, 0, 128,
                                api_name="/augment_explore")
    assert len(grid) == 3 and all("Affine(" in item["caption"] for item in grid)
    assert "Affine" in text and t("augment.kind.geometric", "en") in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_augment_tab_in_browser(browser, app_url, screenshot_dir, lang):
    from browser import goto_tab, open_app, settle

    with open_app(browser, app_url, lang) as (page, errors):
        goto_tab(page, "augment", lang)
        grid = page.locator("#augment-grid img")
        grid.first.wait_for(timeout=60_000)
        assert grid.count() >= 8
        summary = page.locator("#augment-summary")
        assert ("seed 7" if lang == "en" else "种子 7") in summary.inner_text()
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"augment-grid-{lang}.png"), full_page=True)

        page.locator("#augment-reroll").click()
        page.wait_for_function(
            "() => { const s = document.querySelector('#augment-seed input').value;"
            " return s !== '7' && document.querySelector('#augment-summary').innerText.includes(s); }",
            timeout=30_000)
        page.get_by_role("tab", name=t("augment.view.align", lang)).click()
        page.wait_for_function(ALL_LOADED.replace("ID", "augment-align"), timeout=30_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"augment-align-{lang}.png"), full_page=True)

        page.get_by_role("tab", name=t("augment.view.explore", lang)).click()
        page.wait_for_function(ALL_LOADED.replace("ID", "augment-explore"), timeout=30_000)
        page.wait_for_selector(".progress-text", state="detached", timeout=30_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"augment-explore-{lang}.png"), full_page=True)

        # a preset goes through the switches into the pipeline: "none" leaves every sample untouched
        page.locator("#augment-preset input").click()
        page.get_by_role("option", name=t("augment.preset.none", lang)).click()
        page.wait_for_function("() => document.querySelector('#augment-summary').innerText.includes('8/8')"
                               " || document.querySelector('#augment-summary').innerText.includes('8 of 8')",
                               timeout=30_000)
        # switching to uploads waits for an image instead of complaining
        page.get_by_text(t("augment.source.upload", lang)).click()
        page.wait_for_timeout(1500)
        assert page.locator(".toast-body").count() == 0

        page.locator("#augment-pipeline").get_by_text(t("augment.pipeline", lang)).click()
        page.get_by_text("Transpose", exact=True).first.wait_for(timeout=10_000)
        settle(page)
        page.screenshot(path=str(screenshot_dir / f"augment-pipeline-{lang}.png"), full_page=True)
        assert not [e for e in errors if "favicon" not in e], errors


def test_json_file_sets_the_switches(tmp_path):
    from segdemo.augment import preset_steps
    from segdemo.augment.export import to_json
    from segdemo.lessons import augment as augment_lesson
    from segdemo.ui.augment import json_to_controls, preset_to_controls

    path = tmp_path / "light.json"
    path.write_text(to_json(preset_steps("light"), size=384))
    *values, size, steps = json_to_controls(str(path), None)
    assert size == 384 and json.loads(steps) == preset_steps("light")
    assert values == preset_to_controls("light")[:-1]
    assert augment_lesson.steps_from_controls(augment_lesson.unflatten(values)) == preset_steps("light")
