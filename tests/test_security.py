"""What a hostile visitor can reach through the launched app's file routes, and what the repo contains."""

from __future__ import annotations

import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from segdemo.lessons import miou as miou_lesson

ROOT = Path(__file__).resolve().parents[1]


def _status(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize("target", [
    "/etc/passwd",
    "../app.py",
    "app.py",
    str(ROOT / "app.py"),
    str(ROOT / "segdemo" / "checkpoints.py"),
    "../../../../etc/passwd",
    "%2e%2e/%2e%2e/etc/passwd",
])
@pytest.mark.parametrize("route", ["gradio_api/file=", "file="])
def test_file_routes_refuse_files_outside_the_app(app_url, route, target):
    status, body = _status(app_url + route + urllib.parse.quote(target, safe="/%"))
    assert status in (400, 403, 404), f"{route}{target} answered {status}"
    assert b"root:" not in body and b"def " not in body


def test_no_absolute_local_paths_or_secrets_in_the_repo():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"/work/main|/home/\w+|/root/|hf_[A-Za-z0-9]{30,}|-----BEGIN [A-Z ]*PRIVATE KEY")
    offenders = []
    for name in files:
        path = ROOT / name
        if path.suffix in (".safetensors", ".png", ".jpg", ".webp") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        if name != "tests/test_security.py" and pattern.search(text):
            offenders.append(name)
    assert offenders == []


def test_uploads_over_the_size_limit_are_refused_and_the_app_keeps_serving(app_url, hostile, client):
    import httpx

    with open(hostile["over_size_limit"], "rb") as handle:  # 30 MiB; the limit is 20 MB
        response = httpx.post(app_url + "gradio_api/upload", files={"files": ("huge.png", handle, "image/png")},
                              timeout=60)
    assert response.status_code in (400, 413), response.status_code
    with pytest.raises(ValueError, match="maximum file size"):  # gradio_client checks before sending
        from gradio_client import handle_file

        client.predict("upload", 0, handle_file(str(hostile["over_size_limit"])), "x", [], 0.5, api_name="/segment")
    assert _status(app_url)[0] == 200


def _new_files() -> set[str]:
    """Untracked and ignored files in the repo, except what the test run itself writes."""
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    skip = ("test-output/", ".venv/", ".pytest_cache/", "runs/", ".ruff_cache/", "bench-output/", ".make/")
    return {line[3:] for line in out if line[:2] in ("??", "!!")
            and not line[3:].startswith(skip) and "__pycache__" not in line}


def test_hostile_corpus_writes_nothing_outside_the_temp_folders(client, hostile):
    """Every hostile file through Segment, mIoU and Augment: each call answers (a result or a clear message), the app
    keeps serving, and nothing new appears in the project folder; downloads go to the app's temp folder."""
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    from segdemo import serving
    from segdemo.tempfiles import temp_root

    before = _new_files()
    model = serving.default_key()
    for case, path in hostile.items():
        if case == "over_size_limit" or path.is_dir():  # refused before upload (the test above); a folder
            continue
        file = handle_file(str(path))
        for args, api in ((("upload", 0, file, model, [], 0.5), "/segment"),
                          (([file], [file], None, "none", 6, 255, ""), "/miou"),
                          (("upload", 0, file, file, "light", 2, 0, 128), "/augment")):
            try:
                client.predict(*args, api_name=api)
            except AppError as error:
                assert "Traceback" not in str(error) and str(error).strip(), case
    assert _new_files() == before
    _, files = miou_lesson.export(miou_lesson.evaluate([miou_lesson.Pair("a", np.zeros((4, 4), np.int64), np.zeros((4, 4), np.int64))], 2))
    assert files.resolve().is_relative_to(temp_root().resolve())
