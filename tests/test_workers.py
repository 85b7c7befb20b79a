"""segdemo.workers: the figure tabs' computations in worker processes, with the same answers and errors."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from segdemo import workers
from segdemo.errors import InputError
from segdemo.lessons import augment as augment_lesson
from segdemo.lessons import losses as losses_lesson


def test_pool_size_is_one_per_core_beyond_the_app_s_own_at_most_two(monkeypatch):
    monkeypatch.delenv(workers.ENV, raising=False)
    assert [workers.pool_size(cpus) for cpus in (1, 2, 3, 8)] == [0, 1, 2, workers.MAX_WORKERS]
    monkeypatch.setenv(workers.ENV, "0")
    assert workers.pool_size(8) == 0
    monkeypatch.setenv(workers.ENV, "3")
    assert workers.pool_size(2) == 3
    monkeypatch.setenv(workers.ENV, "two")
    with pytest.raises(ValueError, match="SEGDEMO_WORKERS must be a whole number"):
        workers.pool_size()


def test_without_a_pool_calls_run_in_the_calling_thread():
    assert not workers.running()
    assert workers.run(os.getpid) == os.getpid()
    with pytest.raises(ValueError, match="need fg_fraction"):
        workers.run(losses_lesson.simulate_imbalance, 0.9, 0.5, 0.1, 0.8, 0.99)  # share above 0.5


@pytest.fixture
def pool():
    assert workers.start(1) == 1
    try:
        yield
    finally:
        workers.stop()
    assert not workers.running()


@pytest.mark.slow
def test_a_worker_gives_the_same_answers_and_errors_as_the_calling_thread(pool):
    assert workers.run(os.getpid) != os.getpid()  # another process
    here = losses_lesson.simulate_imbalance(0.05, 0.7, 0.01, 0.8, 0.999)
    there = workers.run(losses_lesson.simulate_imbalance, 0.05, 0.7, 0.01, 0.8, 0.999)
    # one torch thread there (as the figure requests had here): sums in another order, to float32's precision
    assert there.losses == pytest.approx(here.losses, rel=1e-5) and there.counts == here.counts
    np.testing.assert_array_equal(there.outcome, here.outcome)
    masks = workers.run(losses_lesson.masks_lesson, 3, 1, 2, 4, -4, 0.05, 0.9)
    assert masks.scores.losses == pytest.approx(losses_lesson.masks_lesson(3, 1, 2, 4, -4, 0.05, 0.9).scores.losses,
                                                rel=1e-5)
    steps = [{"name": "HorizontalFlip", "p": 0.5, "params": {}}]
    grid = workers.run(augment_lesson.augmented_grid, "synthetic", 4, None, None, steps, n=3, seed=7, size=128)
    local = augment_lesson.augmented_grid("synthetic", 4, None, None, steps, n=3, seed=7, size=128)
    assert [s.applied for s in grid.samples] == [s.applied for s in local.samples]
    for theirs, ours in zip(grid.panels, local.panels, strict=True):
        np.testing.assert_array_equal(theirs["overlay"], ours["overlay"])
    # an upload's error comes back with its key and parameters, for the page's language
    with pytest.raises(InputError) as caught:
        workers.run(augment_lesson.augmented_grid, "upload", 0, None, None, steps, n=1, seed=0, size=128)
    assert caught.value.key == "err.augment_no_image"


@pytest.mark.slow
def test_a_worker_that_dies_gives_a_clear_error_and_is_replaced(pool):
    with pytest.raises(InputError) as caught:
        workers.run(os._exit, 3)  # what a crash or the system's OOM killer does to it
    assert caught.value.key == "err.worker_failed" and "try again" in str(caught.value)
    assert workers.running() and workers.run(os.getpid) != os.getpid()  # a new worker took its place


@pytest.mark.slow
def test_the_served_app_computes_in_its_worker_and_stops_it_on_sigterm():
    from segdemo.tools import loadtest
    from segdemo.tools.loadclient import LeanClient

    port = loadtest.free_port()
    process = loadtest.launch_app(port)
    try:
        deadline = time.monotonic() + 60
        while len(loadtest.process_tree(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        tree = loadtest.process_tree(process.pid)
        assert len(tree) >= 2, "no worker process"
        client = LeanClient(f"http://127.0.0.1:{port}/")
        summary, *_ = client.predict(5.0, 70, 1.0, 0.8, 0.999, api_name="/losses")
        here = losses_lesson.simulate_imbalance(0.05, 0.7, 0.01, 0.8, 0.999)
        assert f"{here.iou:.3f}" in summary  # the worker's numbers, as computed here
        summary, *_ = client.predict(3, 1, 2, 4, -4, 5.0, 0.9, api_name="/losses_masks")
        assert f"{losses_lesson.masks_lesson(3, 1, 2, 4, -4, 0.05, 0.9).scores.miou:.3f}" in summary
        client.close()
    finally:
        loadtest.stop_app(process)
    deadline = time.monotonic() + 15
    while (alive := [pid for pid in tree if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive, "a process of the app outlived it"


def _alive(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"  # zombies are gone
    except OSError:
        return False
