"""The bounded, completion-ordered runner (ecrscan/engine/runner.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ecrscan.engine.runner import BoundedRunner, window_for


def test_every_call_comes_back_once_with_its_tag() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        runner: BoundedRunner[int] = BoundedRunner(pool, window=3)
        for i in range(50):
            runner.submit(i, lambda v: v * 2, i)
        results = {tag: future.result() for tag, future in runner.completed()}
    assert results == {i: i * 2 for i in range(50)}


def test_no_more_than_window_calls_are_in_the_executor() -> None:
    submitted: list[int] = []

    class CountingPool(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
            submitted.append(1)
            return super().submit(fn, *args, **kwargs)

    in_executor: list[int] = []
    with CountingPool(max_workers=2) as pool:
        runner: BoundedRunner[int] = BoundedRunner(pool, window=5)
        for i in range(100):
            runner.submit(i, lambda v: v, i)
        for _tag, _future in runner.completed():
            # at this point the executor holds what was submitted minus what came back
            in_executor.append(len(submitted) - len(in_executor))
    assert len(submitted) == 100
    assert max(in_executor) <= 5


def test_results_come_in_completion_order() -> None:
    release = threading.Event()  # "slow" finishes only once "fast" has come back

    with ThreadPoolExecutor(max_workers=2) as pool:
        runner: BoundedRunner[str] = BoundedRunner(pool, window=2)
        runner.submit("slow", release.wait, 5)
        runner.submit("fast", lambda: None)
        order = []
        for tag, _future in runner.completed():
            order.append(tag)
            release.set()
    assert order == ["fast", "slow"]


def test_work_submitted_while_iterating_is_run_too() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        runner: BoundedRunner[tuple[str, int]] = BoundedRunner(pool, window=2)
        for repo in range(3):
            runner.submit(("list", repo), lambda r: [r * 10 + i for i in range(4)], repo)
        checked = []
        for (kind, _), future in runner.completed():
            if kind == "list":
                for image in future.result():
                    runner.submit(("image", image), lambda v: v, image)
            else:
                checked.append(future.result())
    assert sorted(checked) == [r * 10 + i for r in range(3) for i in range(4)]


def test_exceptions_are_the_callers_to_take() -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    with ThreadPoolExecutor(max_workers=1) as pool:
        runner: BoundedRunner[str] = BoundedRunner(pool, window=1)
        runner.submit("bad", boom)
        runner.submit("good", lambda: "ok")
        outcomes = {}
        for tag, future in runner.completed():
            outcomes[tag] = repr(future.exception()) if future.exception() else future.result()
    assert outcomes == {"bad": "RuntimeError('boom')", "good": "ok"}


def test_an_error_in_the_caller_drops_the_backlog() -> None:
    ran: list[int] = []
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        pytest.raises(KeyError),
        BoundedRunner[int](pool, window=2) as runner,
    ):
        for i in range(1000):
            runner.submit(i, ran.append, i)
        for _tag, _future in runner.completed():
            raise KeyError("a bug in the caller")
    assert len(ran) <= 2  # the window at most, not the thousand queued calls


def test_window_for_and_bad_window() -> None:
    assert window_for(8) == 32 and window_for(0) == 4
    with ThreadPoolExecutor(max_workers=1) as pool, pytest.raises(ValueError):
        BoundedRunner(pool, window=0)
