"""The classroom load script, reduced: 5 users × 3 requests against the launched app, no failures."""

from __future__ import annotations

import pytest

from segdemo.serving import shipped
from segdemo.tools import loadtest


@pytest.mark.skipif(not shipped(), reason="no checkpoint in checkpoints/ yet")
def test_five_users_three_requests_each_without_failures(app_url):
    result = loadtest.run(app_url, users=5, requests=3, seed=1)
    assert result["failures"] == 0, result["errors"]
    assert result["requests"] == 15
    assert sum(row["n"] for row in result["endpoints"].values()) == 15


def test_percentile_and_memory_helpers():
    assert loadtest._percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert loadtest._percentile([1.0, 2.0, 3.0, 4.0], 95) == 4.0
    import os

    assert loadtest.peak_rss_mb(os.getpid()) > 10


def test_memory_and_cpu_count_the_app_s_child_processes():
    """The app's worker processes (segdemo.workers) are the app's memory and CPU too."""
    import os
    import subprocess
    import sys
    import time

    alone = loadtest.rss_mb(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; x = bytearray(200 * 2**20); "
                              "sum(range(3 * 10**7)); print('ready', flush=True); time.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        assert child.pid in loadtest.process_tree(os.getpid())
        assert loadtest.rss_mb(os.getpid()) - alone > 150  # the child's 200 MB, touched
        assert loadtest.peak_rss_mb(os.getpid()) > alone + 150
        assert loadtest.cpu_seconds(os.getpid()) - loadtest.cpu_seconds() > 0.3  # the child's loop
    finally:
        child.kill()
        child.wait()
    time.sleep(0.1)
    assert child.pid not in loadtest.process_tree(os.getpid())


@pytest.mark.skipif(not shipped(), reason="no checkpoint in checkpoints/ yet")
def test_sustained_mode_runs_for_its_duration(app_url):
    result = loadtest.run_sustained(app_url, users=3, duration=4, think=(0.5, 1.0), seed=2,
                                    actions={name: loadtest.ACTIONS[name] for name in ("losses_curves", "overview")})
    assert result["failures"] == 0, result["errors"]
    assert result["requests"] >= 3 and 4 <= result["seconds"] < 60
    assert set(result["endpoints"]) <= {"losses_curves", "overview"}


def test_ratios_per_endpoint_and_mask_files():
    ours = {"burst": {"endpoints": {"losses": {"p50_s": 1.0, "p95_s": 2.0}, "new": {"p50_s": 1.0, "p95_s": 1.0}}}}
    theirs = {"burst": {"endpoints": {"losses": {"p50_s": 4.0, "p95_s": 10.0}}}}
    assert loadtest.ratios(ours, theirs) == {"burst": {"losses": {"p50_s": 0.25, "p95_s": 0.2}}}
    files = loadtest.mask_files(pairs=3, size=40)
    import zipfile

    with zipfile.ZipFile(files["zip"]) as z:
        assert sorted(z.namelist()) == ["gt/00.png", "gt/01.png", "gt/02.png", "pred/00.png", "pred/01.png",
                                        "pred/02.png"]
    assert len(files["truths"]) == len(files["preds"]) == 3


def test_burst_floor_by_hand():
    w_losses, w_overview = loadtest.WEIGHTS.get("losses", 1), loadtest.WEIGHTS.get("overview", 1)
    mean = (0.2 * w_losses + 0.4 * w_overview) / (w_losses + w_overview)
    floor = loadtest.burst_floor({"losses": 0.2, "overview": 0.4, "not_an_action": 9.0}, users=30, cores=2)
    assert floor["mean_solo_s"] == pytest.approx(mean, abs=1e-3)
    assert floor["floor_s"] == pytest.approx(30 * mean / 2, abs=0.01)


def test_lean_client_gets_what_gradio_client_gets_and_the_apps_errors(app_url, client):
    from segdemo.tools.loadclient import LeanClient, RemoteError

    lean = LeanClient(app_url)
    ours = lean.predict(0.25, 10, api_name="/losses_curves")
    theirs = client.predict(0.25, 10, api_name="/losses_curves")
    assert [o["plot"] for o in ours] == [t["plot"] for t in theirs]  # the same charts, as JSON
    with pytest.raises(RemoteError, match="provide an input"):  # the tab's own message
        lean.predict(None, None, None, "none", 0, 255, "", api_name="/miou")
    # a streamed event and a second call in the same session (Train and its Stop button)
    job = lean.submit("/train", "fastscnn", "ce", "none", 64, 60, 3)
    assert lean.wait(job, first=True) is not None
    lean.predict(api_name="/train_stop")
    assert lean.wait(job)[-1]["state"] in ("stopped", "done")
    # the Segment tab's default model, as the page shows it: what the load test segments with
    from segdemo.serving import default_key

    assert lean.page_value("segment-model") == default_key()
    assert lean.page_value("no-such-element") is None


def test_cpu_seconds_of_a_process():
    import os

    spent = loadtest.cpu_seconds()
    sum(i * i for i in range(300_000))
    assert loadtest.cpu_seconds() > spent
    # this process's own, plus its live child processes' (a browser the suite started, say)
    assert loadtest.cpu_seconds(os.getpid()) >= loadtest.cpu_seconds() - 0.1
    assert loadtest.process_tree(os.getpid())[0] == os.getpid()


def test_lean_client_sends_again_once_on_a_connection_reset_before_any_answer():
    import httpx

    from segdemo.tools.loadclient import LeanClient

    calls = []

    def handler(request):
        calls.append(request.url.path)
        if len(calls) == 1 or request.url.path.endswith("upload") and len(calls) in (4, 5):
            raise httpx.ReadError("[Errno 104] Connection reset by peer")  # a kept-alive connection closing
        if request.url.path.endswith("upload"):
            return httpx.Response(200, json=["/tmp/x.png"])
        return httpx.Response(200, json={"event_id": "e1"})

    client = LeanClient("http://app/", api={"noop": (0, [])})
    client.http = httpx.Client(transport=httpx.MockTransport(handler))
    assert client.submit("noop") == "e1" and len(calls) == 2  # sent again, once
    assert client.file(__file__)["path"] == "/tmp/x.png" and len(calls) == 3
    with pytest.raises(httpx.ReadError):  # a second reset is the server's failure: reported
        client.file(__file__)
    assert len(calls) == 5
