"""A throttle gate shared by every worker of a run.

When any call is throttled, the gate closes for a capped, jittered, exponentially growing
delay, and while the gate is "hot" it admits calls one at a time with a spacing, so a
throttled call slows everyone down and the workers do not all retry at the same instant
(no thundering herd).  Each success cools the gate by one level.

A call that names its operation is paced instead (:mod:`ecrscan.core.pacing`): a
throttled answer does not close the gate for everyone, it sets the rate of that
operation (and, when the signals show one shared limit, of all) to what the service
granted, and each call waits for its slot at that rate.

A server error (5xx) is not throttling: the call that saw it backs off alone, with the
same capped, jittered delays, and the gate stays open for the others.

A run may have a :class:`Deadline` (a Lambda invocation's end minus a margin): the gate
never sleeps past it and admits no call once it is reached (:class:`BudgetSpent`).  A
run may also be stopped (:class:`Stop`, set by a signal): the gate then admits no call,
and every sleep of the gate wakes at once.

The clock, the sleep and the random source are injected so tests never really sleep.
"""

from __future__ import annotations

import copy
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ecrscan.core.control import (
    DEADLINE,
    EXHAUSTED,
    STOPPED,
    BudgetSpent,
    Deadline,
    Stop,
)
from ecrscan.core.pacing import Pacer

__all__ = [
    "DEADLINE",
    "EXHAUSTED",
    "STOPPED",
    "BudgetSpent",
    "Deadline",
    "Stop",
    "Throttle",
    "ThrottleStats",
]


@dataclass
class _Gate:
    """The state every view of one gate shares."""

    level: int = 0
    open_at: float = 0.0  # the gate admits no call before this time


@dataclass
class ThrottleStats:
    throttled: int = 0
    slept_seconds: float = 0.0


class Throttle:
    def __init__(
        self,
        *,
        base: float = 0.25,
        cap: float = 20.0,
        max_attempts: int = 10,
        budget_seconds: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        deadline: Deadline | None = None,
        stop: Stop | None = None,
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError("backoff needs 0 < base <= cap")
        self.deadline = deadline
        self.stop = stop
        self.base = base
        self.cap = cap
        self.max_attempts = max_attempts
        self.budget_seconds = budget_seconds
        # a stopped run wakes the gate's sleepers at once
        self._sleep = stop.sleep if stop is not None and sleep is time.sleep else sleep
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()
        self._gate = _Gate()
        self._pacer = Pacer(started=clock())
        self.stats = ThrottleStats()

    @property
    def level(self) -> int:
        return self._gate.level

    def bound_to(self, deadline: Deadline | None) -> Throttle:
        """The same gate (its lock, level, spacing and statistics are shared) under
        another deadline: what one job or invocation uses, leaving this one as it is."""
        view = copy.copy(self)
        view.deadline = deadline
        return view

    def _delay(self, level: int) -> float:
        """Equal jitter: between half and all of the capped exponential delay."""
        ceiling = min(self.cap, self.base * float(2 ** max(level - 1, 0)))
        return ceiling / 2 + self._rng() * ceiling / 2

    @property
    def pacer(self) -> Pacer:
        return self._pacer

    def wait(self, operation: str | None = None) -> float:
        """Block until this caller may make its request (of ``operation``: at its paced
        rate); returns the time it may be sent.  With a :attr:`deadline`, raise
        :class:`BudgetSpent` instead of waiting when it is reached or the gate opens
        only at or after it: no sleep ever ends past the deadline."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._gate.open_at)
            if operation is not None and self._pacer.active:
                slot = self._pacer.reserve(operation, slot, 0.5 + self._rng())
            self._check_deadline(slot - now)
            if self._gate.level > 0:
                # While hot, space admissions so waiting workers trickle out.
                self._gate.open_at = slot + self._delay(self._gate.level) / 4
            pause = slot - now
            if pause > 0:
                self.stats.slept_seconds += pause
        if pause > 0:
            self._sleep(pause)
        return slot

    def _check_deadline(self, pause: float) -> None:
        if self.stop is not None and self.stop.is_set():
            raise BudgetSpent(f"the run was stopped ({self.stop.reason})", STOPPED)
        if self.deadline is None:
            return
        left = self.deadline.remaining()
        if left <= 0:
            raise BudgetSpent("the run's deadline is reached", DEADLINE)
        if pause >= left:
            raise BudgetSpent(
                f"the throttle gate opens in {pause:.1f}s, past the run's deadline "
                f"({left:.1f}s left)",
                DEADLINE,
            )

    def success(self, operation: str | None = None) -> None:
        if operation is not None:
            with self._lock:
                self._pacer.success(operation, self._clock())
        if self._gate.level:
            with self._lock:
                self._gate.level = max(0, self._gate.level - 1)

    def throttled(self, operation: str | None = None, sent_at: float | None = None) -> float:
        """Record a throttle seen by any worker; returns the delay.  Of ``operation``
        (a call sent at ``sent_at``): pace it (and, on a shared limit, all) at the rate
        granted, the delay being to its next slot.  Else close the gate."""
        if operation is not None:
            with self._lock:
                now = self._clock()
                self._pacer.throttled(operation, now if sent_at is None else sent_at, now)
                self.stats.throttled += 1
                return max(0.0, self._pacer.rate_slot(operation) - now)
        with self._lock:
            self._gate.level = min(self._gate.level + 1, 32)
            delay = self._delay(self._gate.level)
            self._gate.open_at = max(self._gate.open_at, self._clock() + delay)
            self.stats.throttled += 1
            return delay

    def retry_or_raise(
        self,
        attempt: int,
        started: float,
        *,
        throttled: bool = True,
        operation: str | None = None,
        sent_at: float | None = None,
    ) -> None:
        """After a throttle (or, ``throttled=False``, a server error) on ``attempt``
        (1-based): pace the operation (or, none named, close the gate; or back off this
        call alone), or raise :class:`BudgetSpent` when attempts or time are used up."""
        if throttled:
            self.throttled(operation, sent_at)
        if attempt >= self.max_attempts or self._clock() - started >= self.budget_seconds:
            what = "throttled" if throttled else "failing with server errors"
            raise BudgetSpent(
                f"still {what} after {attempt} attempts over {self._clock() - started:.1f}s"
            )
        if not throttled:
            delay = self._delay(attempt)
            self._check_deadline(delay)
            self._sleep(delay)

    def now(self) -> float:
        return self._clock()
