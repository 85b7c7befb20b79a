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
