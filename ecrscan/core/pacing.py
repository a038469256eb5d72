"""An adaptive client-side rate per operation, and one shared by all operations, learnt
from the throttled answers of one account and region (as botocore's ``adaptive`` retry
mode does per client: a CUBIC curve over a token bucket).

Nothing is paced until an operation is throttled.  Then:

* the throttled operation is paced at :data:`BETA` of the rate granted: at its first
  throttle, the rate its calls succeeded at over the last :data:`WINDOW` seconds; after
  that, the rate the throttled call was sent at.  The rate climbs back to that limit
  over :data:`RETURN` seconds, stays near it, then grows faster and faster while no
  throttle comes (CUBIC), so pacing fades out once throttling stops;
* when another operation was throttled at its paced rate within :data:`WINDOW`
  seconds too, the signals show one limit shared by all operations: the operations'
  own rates are dropped and all are paced together, at :data:`BETA` of the rate all
  calls succeeded at; from then on a throttle cuts whichever rate bound the call;
* one rate is cut once per throttling episode: an answer to a call sent before the last
  cut says nothing new (it was sent at the old rate), so it cuts nothing.

Calls are admitted in the order they ask (each takes the next free slot of its
operation's rate and of the shared one), an operation's own rate never delays another
operation, and a rate never falls below :data:`MIN_RATE`, so no operation is starved.
The times are passed in: no clock here.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

SHARED = "*"  # the key of the rate every operation shares
BETA = 0.9  # a cut paces at this share of the rate the service granted
GROWTH = 0.02  # the cubic's scale: the rate a second past the last limit, as its share
WINDOW = 4.0  # seconds: the successes a granted rate is measured over, at most
MIN_SPAN = 1.0  # seconds: ... and at least
MIN_RATE = 0.1  # calls per second: no rate is cut below this
FIRST_RATE = 1.0  # calls per second, when nothing has succeeded yet to measure
RETURN: float = ((1.0 - BETA) / GROWTH) ** (1 / 3)  # seconds: from a cut back to the limit
HISTORY = 256  # successes remembered per operation


@dataclass
class Rate:
    """One paced rate: ``cut_rate`` calls per second at ``cut_at``, growing since."""

    cut_rate: float = math.inf
    cut_at: float = -math.inf
    limit: float = math.inf  # the rate throttled at: the cubic returns to it, then probes
    next_at: float = -math.inf  # the next free slot
    paced_throttle_at: float = -math.inf  # the last throttle of a call sent at a paced rate
    successes: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY))

    @property
    def paced(self) -> bool:
        return self.cut_rate < math.inf

    def at(self, now: float) -> float:
        """Calls per second at ``now`` (infinite: not paced): CUBIC's curve, back to the
        limit :data:`RETURN` seconds after the cut, flat near it, then faster and faster."""
        if not self.paced:
            return math.inf
        since = max(0.0, now - self.cut_at) - RETURN
        return max(self.cut_rate, self.limit * (1.0 + GROWTH * since * since * since))

    def granted(self, now: float, started: float) -> float | None:
        """Successes per second over the last :data:`WINDOW` seconds (at least
        :data:`MIN_SPAN`), or since ``started`` when the run is younger; None with fewer
        than two."""
        since = max(now - WINDOW, started)
        span = now - since
        count = sum(1 for t in self.successes if t > since)
        return count / span if count >= 2 and span >= MIN_SPAN else None

    def cut(self, now: float, sent_at: float, granted: float | None) -> None:
        """Pace at :data:`BETA` of the rate granted: the rate the throttled call was sent
        at, or, at the first throttle, the rate that succeeded (if any)."""
        if self.paced:
            base = self.at(sent_at)
        else:
            base = granted if granted is not None else FIRST_RATE / BETA
        self.limit = max(MIN_RATE, base)
        self.cut_rate, self.cut_at = max(MIN_RATE, BETA * base), now
        self.next_at = max(self.next_at, now + 1.0 / self.cut_rate)


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

    def rate_slot(self, operation: str) -> float:
        """The next free slot of ``operation`` (without taking it)."""
        own = self._rate(operation).next_at
        return max(own, self.shared.next_at) if self.shared.paced else own

    def reserve(self, operation: str, now: float, spread: float = 1.0) -> float:
        """The time a call of ``operation`` asking at ``now`` may be sent (``now`` or
        later); the slot is taken, and the next one is ``spread`` (0.5 to 1.5: a random
        jitter, so the same worker does not meet the same full bucket slot after slot)
        times the rate's spacing later."""
        if not self.active:
            return now
        paced = [self._rate(operation)]
        if self.shared.paced:
            paced.append(self.shared)
        slot = max([now] + [r.next_at for r in paced if r.paced])
        for rate in paced:
            if rate.paced:
                rate.next_at = slot + spread / rate.at(slot)
        return slot

    def success(self, operation: str, now: float) -> None:
        self._rate(operation).successes.append(now)
        self.shared.successes.append(now)

    def throttled(self, operation: str, sent_at: float, now: float) -> None:
        """A call of ``operation`` sent at ``sent_at`` was throttled (seen at ``now``):
        cut the rate that bound it, unless it was sent before that rate's last cut."""
        own = self._rate(operation)
        self.active = True
        if self.shared.paced:
            binding = self.shared if self.shared.at(sent_at) <= own.at(sent_at) else own
            if sent_at >= binding.cut_at:
                self._cut(binding, sent_at, now)
            return
        if sent_at < own.cut_at:
            return
        if own.paced:
            own.paced_throttle_at = now
            others = (r for key, r in self.rates.items() if key != operation)
            if any(now - r.paced_throttle_at <= WINDOW for r in others):
                # one limit shared by all operations: it alone explains the throttles
                for rate in self.rates.values():
                    rate.cut_rate, rate.next_at = math.inf, -math.inf
                self._cut(self.shared, sent_at, now)
                return
        self._cut(own, sent_at, now)

    def _cut(self, rate: Rate, sent_at: float, now: float) -> None:
        rate.cut(now, sent_at, rate.granted(now, self.started))
        self.cuts += 1
