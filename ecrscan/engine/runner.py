"""The runner kernel: a bounded, completion-ordered runner over a thread pool, the
concurrency limits, and the progress events every engine reports.

Submitting every call of a large registry to an executor at once costs a Future (about
1.6 KB) per image before the first one runs, and ``concurrent.futures.wait(...,
FIRST_COMPLETED)`` re-scans every pending future each time one finishes: quadratic in
images.  :class:`BoundedRunner` keeps at most ``window`` calls in the executor (the rest
wait as small tuples in a backlog) and hands finished calls back through a queue their
futures put themselves on: O(1) per call.

.. code-block:: python

    with bounded_pool(n) as runner:
        for repo in repositories:
            runner.submit(("list", repo), gateway.images, repo)
        for (kind, item), future in runner.completed():
            ...                      # may call runner.submit(...) for follow-up work
            future.result()

Used from one thread (the caller's): ``submit`` and ``completed`` are not thread-safe
with each other, the workers only run the calls.
"""

from __future__ import annotations

import enum
import queue
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from ecrscan.aws.clients import MAX_CONCURRENCY

Tag = TypeVar("Tag")

WINDOW_PER_WORKER = 4  # calls kept in the executor per worker thread


class Event(enum.Enum):
    """Progress events: ``callback(event, amount)``."""

    REPOSITORIES = "repositories"  # amount = number of repositories in scope
    REPOSITORY_DONE = "repository_done"
    IMAGES_FOUND = "images_found"  # amount = images listed in one repository
    IMAGE_CHECKED = "image_checked"
    SCAN_STARTED = "scan_started"


ProgressCallback = Callable[[Event, int], None]


def no_progress(event: Event, amount: int) -> None:
    return None


def clamp_concurrency(concurrency: int) -> int:
    """``concurrency`` within 1 .. :data:`MAX_CONCURRENCY`."""
    return max(1, min(int(concurrency), MAX_CONCURRENCY))


def window_for(concurrency: int) -> int:
    """The usual window for ``concurrency`` workers: enough queued work that no worker
    idles while the caller handles a result, little enough to keep memory flat."""
    return WINDOW_PER_WORKER * max(1, concurrency)


class BoundedRunner(Generic[Tag]):
    """Run calls on ``executor`` with at most ``window`` in flight; yield them as they
    finish.  Each call carries a ``tag`` (any value) that comes back with its future."""

    def __init__(self, executor: Executor, window: int) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._executor = executor
        self._window = window
        self._backlog: deque[tuple[Tag, Callable[..., Any], tuple[Any, ...], dict[str, Any]]]
        self._backlog = deque()
        self._in_flight: dict[Future[Any], Tag] = {}
        self._finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

    def submit(self, tag: Tag, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)``; it starts once the window has room, in
        submission order."""
        self._backlog.append((tag, fn, args, kwargs))

    def completed(self) -> Iterator[tuple[Tag, Future[Any]]]:
        """``(tag, future)`` of every call, in the order they finish, until nothing is
        queued or running.  Calls submitted while iterating are included.  The future is
        done; ``future.result()`` returns the value or raises the call's exception."""
        while self._in_flight or self._backlog:
            self._fill()
            future = self._finished.get()
            yield self._in_flight.pop(future), future

    def cancel(self) -> None:
        """Drop the backlog and cancel the calls that have not started (running calls
        finish on their own)."""
        self._backlog.clear()
        for future in self._in_flight:
            future.cancel()

    def __enter__(self) -> BoundedRunner[Tag]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        # A bug, Ctrl-C or a callback that raised: do not let the executor run the rest
        # of the work before the error surfaces.
        if exc_type is not None:
            self.cancel()

    def _fill(self) -> None:
        while self._backlog and len(self._in_flight) < self._window:
            tag, fn, args, kwargs = self._backlog.popleft()
            future = self._executor.submit(fn, *args, **kwargs)
            self._in_flight[future] = tag
            future.add_done_callback(self._finished.put)


@contextmanager
def bounded_pool(concurrency: int) -> Iterator[BoundedRunner[Any]]:
    """A :class:`BoundedRunner` over a thread pool of ``concurrency`` workers (clamped),
    shut down when the block ends."""
    workers = clamp_concurrency(concurrency)
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ecrscan") as pool,
        BoundedRunner[Any](pool, window_for(workers)) as runner,
    ):
        yield runner
