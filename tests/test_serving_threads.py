"""serving.local_threads / lesson_threads: a request's torch thread count is its own thread's business."""

from __future__ import annotations

import threading

import pytest
import torch

from segdemo import serving


@pytest.fixture()
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _in_thread(fn):
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("value", fn()))
    thread.start()
    thread.join()
    return out["value"]


def test_torch_openmp_runtime_is_found_here():
    assert "OpenMP" in torch.__config__.parallel_info()
    assert serving._openmp() is not None


def test_the_count_holds_inside_the_block_only_and_only_for_the_calling_thread(two_threads):
    inside, other = threading.Event(), {}

    def neighbour():
        torch.get_num_threads()  # a worker thread that already ran torch work
        inside.wait(5)
        other["during"] = torch.get_num_threads()

    thread = threading.Thread(target=neighbour)
    thread.start()
    with serving.local_threads(1) as count:
        assert count == 1 and torch.get_num_threads() == 1
        inside.set()
        thread.join()
        # a thread that starts its torch work now still gets the process' setting
        assert _in_thread(torch.get_num_threads) == 2
    assert other["during"] == 2
    assert torch.get_num_threads() == 2


def test_the_setting_comes_back_after_an_exception(two_threads):
    with pytest.raises(RuntimeError), serving.local_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_a_count_below_one_is_refused():
    with pytest.raises(ValueError, match="count must be >= 1"), serving.local_threads(0):
        pass


def test_lesson_threads_runs_a_handler_on_one_thread_and_restores(two_threads):
    @serving.lesson_threads
    def handler(x: int) -> tuple[int, int]:
        """doc kept"""
        return x + 1, torch.get_num_threads()

    assert handler(1) == (2, serving.LESSON_THREADS)
    assert torch.get_num_threads() == 2
    assert handler.__doc__ == "doc kept" and handler.torch_threads == serving.LESSON_THREADS


def test_lesson_threads_sets_each_generator_step_on_the_thread_that_runs_it(two_threads):
    @serving.lesson_threads
    def stream(n: int):
        for _ in range(n):
            yield torch.get_num_threads()
        return "done"

    steps = stream(3)
    # Gradio runs each step of a sync generator on some worker thread: each must see one thread, and
    # the threads must be left as they were
    seen = [next(steps), _in_thread(lambda: next(steps)), next(steps)]
    assert seen == [serving.LESSON_THREADS] * 3
    assert torch.get_num_threads() == 2
    with pytest.raises(StopIteration) as stop:
        next(steps)
    assert stop.value.value == "done"


def test_lower_thread_priority_lowers_only_the_calling_thread():
    import os
    import sys

    if not sys.platform.startswith("linux"):
        assert serving.lower_thread_priority(5) is False
        return
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def lowered():
        assert serving.lower_thread_priority(5)
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        child = {}
        thread = threading.Thread(target=lambda: child.setdefault("nice", os.getpriority(
            os.PRIO_PROCESS, threading.get_native_id())))
        thread.start()
        thread.join()
        return mine, child["nice"]

    assert _in_thread(lowered) == (min(19, base + 5), min(19, base + 5))  # threads it starts inherit it
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
    with pytest.raises(ValueError):
        serving.lower_thread_priority(-1)
