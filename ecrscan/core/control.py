"""How a run is controlled, in values both the engine and the AWS gateways read: the
stop request a signal sets (:class:`Stop`), the deadline of a Lambda invocation or job
(:class:`Deadline`, on a clock passed in), why a call was not admitted
(:class:`BudgetSpent`), how many calls run at once (the concurrency bounds) and how long
one call may wait (:class:`Timeouts`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_CONCURRENCY = 8  # parallel AWS calls per target (worker threads)
MAX_CONCURRENCY = 64
DEFAULT_MAX_CONCURRENCY = 64  # parallel AWS calls over every target of a run
READ_ATTEMPTS = 3  # of a read call, botocore's own retries included

DEADLINE = "deadline"  # BudgetSpent.reason: the run's deadline leaves no time
STOPPED = "stopped"  # BudgetSpent.reason: the run was stopped (a signal)
EXHAUSTED = "exhausted"  # BudgetSpent.reason: the call used its attempts or time


class BudgetSpent(Exception):
    """Raised by the throttle gate when a call has used all its attempts, when the
    run's :class:`Deadline` leaves no time to wait, or when the run was stopped.
    ``reason`` says which."""

    def __init__(self, message: str, reason: str = EXHAUSTED) -> None:
        super().__init__(message)
        self.reason = reason


class Stop:
    """A run's stop request, seen by every worker: set once (by a signal handler), then
    no new call is admitted and :meth:`sleep` returns at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def set(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the run is stopped meanwhile."""
        self._event.wait(max(0.0, seconds))


@dataclass(frozen=True)
class Deadline:
    """An absolute time on ``clock`` after which a run starts nothing new."""

    at: float
    clock: Callable[[], float] = field(compare=False, repr=False)

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float]) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - self.clock()

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection, for each read of an answer, and for one whole
    call (``call``: connect to last byte, botocore's retries included; an answer that
    drips in one byte at a time restarts the read timeout with each byte, never this
    one)."""

    connect: float = 5.0
    read: float = 30.0
    # Above the 108 s three attempts against a silent endpoint take with the default
    # connect and read timeouts (:meth:`bound`), so a slow but honest call is never cut
    # by it; a dripping endpoint fails in two minutes instead of never.
    call: float = 120.0

    def bound(self, attempts: int = READ_ATTEMPTS) -> float:
        """The longest one call can take before it fails: every attempt connecting and
        then waiting a whole read timeout, plus botocore's backoff between attempts (at
        most 2**(n-1) seconds after attempt n), or the call timeout if that is less."""
        backoff = sum(2.0 ** (n - 1) for n in range(1, attempts))
        return min(attempts * (self.connect + self.read) + backoff, self.call)


DEFAULT_TIMEOUTS = Timeouts()
