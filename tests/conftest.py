"""Shared fixtures: a launched app, a gradio_client, and a real Chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Tests never reach for the internet: the app's start-up probe of the weights servers is told "offline";
# the tests of the probe itself set it per test.
os.environ.setdefault("SEGDEMO_OFFLINE", "1")

from segdemo.ui.gradio_compat import skip_component_stubs  # noqa: E402 - after the environment above

skip_component_stubs()  # like app.py: each test process imports Gradio 0.6-0.9 s faster

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "test-output"
CHROMIUM = os.environ.get("SEGDEMO_CHROMIUM", "/usr/bin/chromium")
# The machine's network is closed: background requests would only fill the console with errors.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: Fixtures that make a test part of a tier: a real browser, or the whole app served on a port.
_BROWSER_FIXTURES = {"browser"}
_APP_FIXTURES = {"app_url", "client"}


def pytest_collection_modifyitems(config, items) -> None:
    """Tier the suite by what a test needs: ``browser`` (Chromium) and ``slow`` (a served app, or
    marked ``slow`` by hand: many seconds of CPU). ``make test-fast`` runs ``-m "not browser and not slow"``."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & _BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        elif fixtures & _APP_FIXTURES:
            item.add_marker(pytest.mark.slow)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """The real app (``app.demo``) served on a free local port for the whole session."""
    import app
    from segdemo import serving
    from segdemo.ui.shell import launch_kwargs

    serving.start()  # as `python app.py` does before it serves
    port = free_port()
    app.demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        **launch_kwargs(),
    )
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        from segdemo.lessons import train

        app.demo.close()
        train.shutdown()


@pytest.fixture(scope="session")
def client(app_url: str):
    """A ``gradio_client.Client`` talking to the launched app."""
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _browser_missing_reason() -> str | None:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (make test installs Debian's chromium when run as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install -r requirements-dev.txt)"
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright; skipped without it, except under CI."""
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests are required under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = OUTPUT / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def hostile(tmp_path_factory) -> dict[str, Path]:
    """The generated hostile/broken upload corpus (``tests/hostile_corpus.py``): ``{case: path}``."""
    from hostile_corpus import write_corpus

    return write_corpus(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a test with one torch thread (model tests are many and small), then restore the setting."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
