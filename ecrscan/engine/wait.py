"""Waiting for scans to end (``report --wait``, ``scan``): polling rounds with capped
exponential backoff until every awaited scan has ended, the timeout has passed or a stop
was requested; a watcher hears where each awaited scan stands after every round.

The clock and the sleep are injected (:class:`Pacing`) so tests never sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecrscan.core.control import Stop
from ecrscan.core.model import ImageReport, ScanState
from ecrscan.engine.inspect import ImageInspector, Waiting
from ecrscan.engine.runner import BoundedRunner, not_reached

POLL_FIRST = 5.0  # first pause between polls, doubled each round ...
POLL_CAP = 15.0  # ... up to this while few scans are awaited (a CI job hears soon) ...
POLL_RATE = 5.0  # ... and up to one round per (awaited / this) seconds with many ...
POLL_CAP_MAX = 60.0  # ... but never longer than this

Done = list[tuple[tuple[Any, ...], ImageReport]]


@dataclass(frozen=True)
class WaitUpdate:
    """Where one awaited scan stands: ``status`` is the scan status (``NOT FOUND YET``
    before the scan is registered), ``done`` once it ended or the wait gave up."""

    label: str
    status: str
    waited: float  # seconds since the wait began
    remaining: float  # seconds until the timeout
    done: bool = False


Watch = Callable[[WaitUpdate], None]


@dataclass(frozen=True)
class Pacing:
    """How ``--wait`` waits: the clock it reads, how it sleeps between polling rounds
    (injected so tests never sleep), and who hears how the awaited scans stand after
    every round."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    watch: Watch | None = None


def poll_cap(awaited: int) -> float:
    """The longest pause between polling rounds for ``awaited`` scans: short for a few
    (a finished scan is seen within :data:`POLL_CAP` seconds), longer for many, so that
    the rounds average at most :data:`POLL_RATE` calls a second."""
    return min(POLL_CAP_MAX, max(POLL_CAP, awaited / POLL_RATE))


def wait_for_scans(
    run: ImageInspector,
    runner: BoundedRunner[Any],
    waiting: list[Waiting],
    timeout: float,
    stop: Stop | None,
    pacing: Pacing,
) -> Done:
    """Poll the waiting images in rounds until their scans end, ``timeout`` seconds pass
    or ``stop`` is requested; whatever is still waiting then is reported as it stands
    (PENDING or NO_SCAN).  ``pacing.watch`` hears where each image stands after every round."""
    sleep, clock, watch = pacing.sleep, pacing.clock, pacing.watch or _ignore
    if stop is not None and sleep is time.sleep:
        sleep = stop.sleep  # a stop wakes the polling at once
    done: Done = []
    started = clock()
    deadline = started + max(0.0, timeout)
    delay = POLL_FIRST
    stopped = stop.is_set if stop is not None else lambda: False

    def tell(item: Waiting, status: str, finished: bool = False) -> None:
        now = clock()
        watch(WaitUpdate(_label(item), status, now - started, deadline - now, finished))

    for item in waiting:
        tell(item, _status(item.state))
    while waiting and not stopped():
        remaining = deadline - clock()
        if remaining <= 0:
            break
        sleep(min(delay, remaining))
        delay = min(delay * 2, poll_cap(len(waiting)))
        for item in waiting:
            runner.submit(item, run.inspect, item.target, first=False)
        waiting = []
        for item, future in runner.completed():
            outcome = None if not_reached(future) else future.result()
            if outcome is None:  # stopped: reported as it stood
                waiting.append(item)
            elif isinstance(outcome, Waiting):
                waiting.append(outcome)
                tell(outcome, _status(outcome.state))
            else:
                done.append((item.target.order, outcome))
                tell(item, _status(outcome.state) if outcome.state else outcome.status.value, True)
    for item in waiting:
        done.append((item.target.order, run.unfinished(item)))
        tell(item, f"{_status(item.state)}, gave up", True)
    return done


def _status(state: ScanState | None) -> str:
    if state is None or state.never_scanned:
        return "NOT FOUND YET"
    return state.status or "UNKNOWN"


def _label(item: Waiting) -> str:
    return item.target.reference or item.target.image.label


def _ignore(update: WaitUpdate) -> None:
    return None
