"""serving.Foreground / foreground / yield_to_requests: training runs wait while requests are in flight."""

from __future__ import annotations

import threading
import time

import pytest

from segdemo import serving
from segdemo.training import TrainConfig, run_training


def test_a_handler_counts_while_it_works_and_not_after():
    gate = serving.Foreground()
    seen = []

    @serving.around_calls(gate.working)
    def handler(x: int) -> int:
        seen.append(gate.busy)
        return x * 2

    assert handler(4) == 8 and seen == [1] and gate.busy == 0
    with pytest.raises(ZeroDivisionError):
        serving.around_calls(gate.working)(lambda: 1 / 0)()
    assert gate.busy == 0  # an error does not leave the request counted


def test_a_generator_handler_counts_during_each_step_only():
    @serving.foreground
    def stream(n: int):
        for _ in range(n):
            yield serving.FOREGROUND.busy
        return "done"

    before = serving.FOREGROUND.busy
    steps = stream(2)
    assert next(steps) == before + 1
    assert serving.FOREGROUND.busy == before  # between steps the page is reading: nothing is worked on
    assert next(steps) == before + 1
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value == "done" and stream.foreground is True


def test_wait_quiet_returns_when_the_last_request_ends_or_at_the_timeout():
    gate = serving.Foreground()
    assert gate.wait_quiet(5.0) < 0.1  # nothing in flight: no wait
    release = threading.Event()

    def request():
        with gate.working():
            release.wait(5)

    worker = threading.Thread(target=request)
    worker.start()
    while not gate.busy:
        time.sleep(0.001)
    assert 0.15 <= gate.wait_quiet(0.2) < 1.0  # still busy: the timeout bounds the wait
    threading.Timer(0.1, release.set).start()
    waited = gate.wait_quiet(5.0)
    worker.join()
    assert 0.05 <= waited < 2.0 and gate.busy == 0  # woken when the request ended, long before 5 s
    with pytest.raises(ValueError, match="timeout and settle must be >= 0"):
        gate.wait_quiet(-1)


def test_quiet_means_no_request_for_a_moment_not_a_gap_between_two():
    gate = serving.Foreground()
    assert gate.quiet_for() == float("inf")  # nothing served yet
    with gate.working():
        assert gate.quiet_for() == 0.0
    assert gate.quiet_for() < 0.05
    began = time.perf_counter()
    assert 0.15 <= gate.wait_quiet(5.0, settle=0.2) < 1.0  # until 0.2 s after the last request ended
    assert time.perf_counter() - began >= 0.15 and gate.quiet_for() >= 0.2

    def next_request():  # a burst: another request 0.1 s after, before the room settled
        with gate.working():
            time.sleep(0.1)

    with gate.working():
        pass
    threading.Timer(0.1, next_request).start()
    waited = gate.wait_quiet(5.0, settle=0.3)
    assert 0.45 <= waited < 2.0  # 0.1 + 0.1 of request + the 0.3 s settle, not 0.3 s after the first


def test_run_training_calls_pause_before_every_training_and_validation_batch():
    steps, order = [], []

    def on_event(event):
        if event["type"] == "step":
            steps.append(event["step"])
            order.append("step")

        else:
            order.append("val")

    config = TrainConfig(model="fcn8s", variant="small", size=32, batch_size=2, epochs=1, steps_per_epoch=3,
                         val_size=2, threads=1)
    run_training(config, on_event=on_event, pause=lambda: order.append("pause"))
    assert steps == [1, 2, 3]
    # one pause before each batch is made (and before the loader finds it has no more), the validation's too
    assert order == ["pause", "step"] * 3 + ["pause"] + ["pause", "pause", "val"]


def test_served_counts_finished_requests_for_the_housekeeper():
    gate = serving.Foreground()
    with gate.working():
        assert gate.served == 0
    with pytest.raises(RuntimeError), gate.working():
        raise RuntimeError("a failed request is served too")
    assert gate.served == 2 and gate.busy == 0


def test_memory_is_trimmed_each_minute_or_when_a_busy_spell_ends():
    from segdemo import housekeeping as hk

    assert hk.should_trim(hk.TRIM_SECONDS, None, None, None)  # no model service yet: the minute's trim
    assert not hk.should_trim(hk.QUIET_SECONDS, None, None, None)
    assert hk.should_trim(hk.QUIET_SECONDS, served=120, busy=0, served_at_trim=3)  # the class stopped clicking
    assert not hk.should_trim(hk.QUIET_SECONDS, served=120, busy=2, served_at_trim=3)  # still busy
    assert not hk.should_trim(hk.QUIET_SECONDS, served=120, busy=0, served_at_trim=120)  # trimmed since
    assert hk.should_trim(hk.TRIM_SECONDS, served=120, busy=5, served_at_trim=3)


def test_runs_wait_in_turn_while_busy_and_a_stopped_run_leaves_the_line(monkeypatch):
    monkeypatch.setattr(serving, "TRAIN_YIELD_SECONDS", 0.2)
    assert serving.yield_to_requests() < 0.05  # nothing in flight: straight on
    with serving.FOREGROUND.working():
        assert 0.15 <= serving.yield_to_requests() < 1.0  # its turn: waits up to the limit
        held, release = threading.Event(), threading.Event()

        def other_run():
            with serving._TRAIN_TURN:  # another run is waiting its turn
                held.set()
                release.wait(5)

        worker = threading.Thread(target=other_run)
        worker.start()
        held.wait(5)
        started = time.perf_counter()
        stop_at = started + 0.2
        waited = serving.yield_to_requests(lambda: time.perf_counter() > stop_at)  # stopped while in line
        release.set()
        worker.join()
        assert 0.15 <= waited < 1.0 and time.perf_counter() - started < 1.0
