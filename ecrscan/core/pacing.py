"""An adaptive client-side rate per operation, and one shared by all operations, learnt
from the throttled answers of one account and region (AIMD: multiplicative decrease,
additive increase).

Nothing is paced until an operation is throttled.  Then:

* the throttled operation is paced at :data:`BETA` of the rate its calls succeeded at
  over the last :data:`WINDOW` seconds (what the service granted), and the rate grows
  again by :data:`GROWTH` of that rate per second while no throttle comes back, so
  pacing fades out once throttling stops;
* when another operation was throttled within :data:`WINDOW` seconds, the signals show
  one limit shared by all operations: every operation is also paced together, at
  :data:`BETA` of the rate all calls succeeded at;
* one rate is cut once per throttling episode: an answer to a call sent before the last
  cut says nothing new (it was sent at the old rate), so it cuts nothing.

Calls are admitted in the order they ask (each takes the next free slot of its
operation's rate and of the shared one), and a rate never falls below
:data:`MIN_RATE`, so no operation is starved.  The times are passed in: no clock here.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

SHARED = "*"  # the key of the rate every operation shares
BETA = 0.9  # a cut paces at this share of the rate the service granted
GROWTH = 0.05  # per second without throttling, the rate grows by this share of its cut
WINDOW = 4.0  # seconds: the successes a granted rate is measured over
MIN_RATE = 0.1  # calls per second: no rate is cut below this
FIRST_RATE = 1.0  # calls per second, when nothing has succeeded yet to measure
HISTORY = 256  # successes remembered per operation


@dataclass
class Rate:
    """One paced rate: ``cut_rate`` calls per second at ``cut_at``, growing since."""

    cut_rate: float = math.inf
    cut_at: float = -math.inf
    next_at: float = -math.inf  # the next free slot
    throttled_at: float = -math.inf  # the last throttled answer seen
    successes: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))

    @property
    def paced(self) -> bool:
        return self.cut_rate < math.inf

    def at(self, now: float) -> float:
        """Calls per second at ``now`` (infinite: not paced)."""
        return self.cut_rate * (1.0 + GROWTH * max(0.0, now - self.cut_at))

    def granted(self, now: float, started: float) -> float | None:
        """Successes per second over the last :data:`WINDOW` seconds (or since
        ``started``, when the run is younger); None with fewer than two."""
        since = now - WINDOW
        count = sum(1 for t in self.successes if t > since)
        span = now - max(since, started)
        return count / span if count >= 2 and span > 0 else None

    def cut(self, now: float, granted: float | None) -> None:
        rate = BETA * granted if granted is not None else None
        if rate is None:
            rate = BETA * self.at(now) if self.paced else FIRST_RATE
        if self.paced:
            rate = min(rate, self.at(now))
        self.cut_rate, self.cut_at = max(MIN_RATE, rate), now


class Pacer:
    """The rates of one account and region; not thread-safe (the throttle gate holds
    its lock around every call)."""

    def __init__(self, started: float = 0.0) -> None:
        self.started = started
        self.active = False  # any rate paced: False keeps the fast path to a flag test
        self.rates: dict[str, Rate] = {}
        self.shared = Rate()
        self.cuts = 0

    def _rate(self, operation: str) -> Rate:
        rate = self.rates.get(operation)
        if rate is None:
            rate = self.rates[operation] = Rate()
        return rate

    def rate(self, operation: str, now: float) -> float:
        """The calls per second ``operation`` is paced at (infinite: not paced)."""
        own = self._rate(operation).at(now)
        return min(own, self.shared.at(now)) if self.shared.paced else own

    def reserve(self, operation: str, now: float) -> float:
        """The time a call of ``operation`` asking at ``now`` may be sent (``now`` or
        later); the slot is taken."""
        if not self.active:
            return now
        paced = [self._rate(operation)]
        if self.shared.paced:
            paced.append(self.shared)
        slot = max([now] + [r.next_at for r in paced if r.paced])
        for rate in paced:
            if rate.paced:
                rate.next_at = slot + 1.0 / rate.at(slot)
        return slot

    def success(self, operation: str, now: float) -> None:
        self._rate(operation).successes.append(now)
        self.shared.successes.append(now)

    def throttled(self, operation: str, sent_at: float, now: float) -> None:
        """A call of ``operation`` sent at ``sent_at`` was throttled (seen at ``now``)."""
        own = self._rate(operation)
        others = [r for key, r in self.rates.items() if key != operation]
        shared_signal = self.shared.paced or any(
            now - r.throttled_at <= WINDOW for r in others
        )
        own.throttled_at = now
        self.active = True
        if sent_at >= own.cut_at:
            own.cut(now, own.granted(now, self.started))
            own.next_at = max(own.next_at, now + 1.0 / own.at(now))
            self.cuts += 1
        if shared_signal and sent_at >= self.shared.cut_at:
            self.shared.cut(now, self.shared.granted(now, self.started))
            self.shared.next_at = max(self.shared.next_at, now + 1.0 / self.shared.at(now))
            self.cuts += 1
