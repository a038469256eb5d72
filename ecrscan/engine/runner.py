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
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from ecrscan.core.control import MAX_CONCURRENCY, Stop

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


GRACE_SECONDS = 5.0  # after a stop, how long the calls in flight may still finish
_POLL_SECONDS = 0.25  # how often a waiting runner looks at its stop request


class BoundedRunner(Generic[Tag]):
    """Run calls on ``executor`` with at most ``window`` in flight; yield them as they
    finish.  Each call carries a ``tag`` (any value) that comes back with its future.

    With a ``stop`` request, once it is set nothing new starts: queued calls (and calls
    submitted afterwards) come back at once with a cancelled future, the calls in
    flight get ``grace`` seconds to finish, and those still running then come back with
    a future that is not done (:attr:`abandoned`).  See :func:`not_reached`."""

    def __init__(
        self,
        executor: Executor,
        window: int,
        *,
        stop: Stop | None = None,
        grace: float = GRACE_SECONDS,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._executor = executor
        self._window = window
        self._backlog: deque[tuple[Tag, Callable[..., Any], tuple[Any, ...], dict[str, Any]]]
        self._backlog = deque()
        self._in_flight: dict[Future[Any], Tag] = {}
        self._finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()
        self._stop = stop
        self._grace = grace
        self._give_up_at: float | None = None  # set once the stop is seen
        self._dropped: list[Tag] = []
        self.abandoned = False  # calls were still running when the grace ran out

    def submit(self, tag: Tag, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Queue ``fn(*args, **kwargs)``; it starts once the window has room, in
        submission order (or never, once the run is stopping)."""
        if self._give_up_at is not None:
            self._dropped.append(tag)
        else:
            self._backlog.append((tag, fn, args, kwargs))

    def completed(self) -> Iterator[tuple[Tag, Future[Any]]]:
        """``(tag, future)`` of every call, in the order they finish, until nothing is
        queued or running.  Calls submitted while iterating are included.  The future is
        done (``future.result()`` returns the value or raises the call's exception),
        unless the run was stopped: see the class."""
        while self._in_flight or self._backlog or self._dropped:
            if self._give_up_at is None and self._stop is not None and self._stop.is_set():
                self._give_up_at = time.monotonic() + self._grace
                self._dropped.extend(tag for tag, *_ in self._backlog)
                self.cancel()
            while self._dropped:
                yield self._dropped.pop(0), _cancelled()
            self._fill()
            if not self._in_flight:
                continue
            future = self._next()
            if future is None:
                if self._give_up_at is not None and time.monotonic() >= self._give_up_at:
                    self.abandoned = True
                    running, self._in_flight = self._in_flight, {}
                    yield from ((tag, f) for f, tag in running.items())
                continue
            yield self._in_flight.pop(future), future

    def _next(self) -> Future[Any] | None:
        """The next finished call, or ``None`` after a short wait (to look at the stop)."""
        if self._stop is None:
            return self._finished.get()
        wait = _POLL_SECONDS
        if self._give_up_at is not None:
            wait = min(wait, max(0.0, self._give_up_at - time.monotonic()))
        try:
            return self._finished.get(timeout=wait)
        except queue.Empty:
            return None

    def cancel(self) -> None:
        """Drop the backlog and cancel the calls that have not started (running calls
        finish on their own)."""
        self._backlog.clear()
        for future in self._in_flight:
            future.cancel()

    def __enter__(self) -> BoundedRunner[Tag]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        # A bug or a callback that raised: do not let the executor run the rest of the
        # work before the error surfaces.
        if exc_type is not None:
            self.cancel()

    def _fill(self) -> None:
        while self._backlog and len(self._in_flight) < self._window:
            tag, fn, args, kwargs = self._backlog.popleft()
            future = self._executor.submit(fn, *args, **kwargs)
            self._in_flight[future] = tag
            future.add_done_callback(self._finished.put)


def _cancelled() -> Future[Any]:
    future: Future[Any] = Future()
    future.cancel()
    return future


def not_reached(future: Future[Any]) -> bool:
    """A call a stopped run never made (cancelled) or gave up waiting for."""
    return future.cancelled() or not future.done()


@contextmanager
def bounded_pool(concurrency: int, stop: Stop | None = None) -> Iterator[BoundedRunner[Any]]:
    """A :class:`BoundedRunner` over a thread pool of ``concurrency`` workers (clamped),
    shut down when the block ends (without waiting for calls a stopped run abandoned)."""
    workers = clamp_concurrency(concurrency)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ecrscan")
    runner = BoundedRunner[Any](pool, window_for(workers), stop=stop)
    try:
        with runner:
            yield runner
    finally:
        pool.shutdown(wait=not runner.abandoned, cancel_futures=True)
