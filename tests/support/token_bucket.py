"""A token-bucket rate limiter on a virtual clock, as AWS applies per account and region:
one bucket shared by every operation, or one per operation (a missing operation takes
the ``"*"`` bucket, or is not limited).  A call that finds no token is throttled and
takes none."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

ANY = "*"


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    capacity: float  # the burst
    tokens: float = -1.0  # -1: full at the first call
    at: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.at = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = max(self.at, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Limits:
    """The buckets of one account and region, by operation (``"*"``: every other)."""

    buckets: Mapping[str, TokenBucket]
    granted: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def shared(cls, rate: float, capacity: float | None = None) -> Limits:
        return cls({ANY: TokenBucket(rate, rate if capacity is None else capacity)})

    @classmethod
    def per_operation(cls, rates: Mapping[str, float], others: float) -> Limits:
        buckets = {op: TokenBucket(r, r) for op, r in rates.items()}
        return cls({**buckets, ANY: _PerOperation(others)})  # type: ignore[dict-item]

    def admit(self, operation: str, now: float) -> bool:
        """Whether a call of ``operation`` at ``now`` is answered (else throttled)."""
        with self._lock:
            bucket = self.buckets.get(operation) or self.buckets.get(ANY)
            if isinstance(bucket, _PerOperation):
                bucket = bucket.of(operation)
            ok = bucket is None or bucket.take(now)
            (self.granted if ok else self.throttled)[operation] += 1
            return ok


class _PerOperation:
    """A bucket of its own for each operation not named, all at one rate."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.each: dict[str, TokenBucket] = {}

    def of(self, operation: str) -> TokenBucket:
        if operation not in self.each:
            self.each[operation] = TokenBucket(self.rate, self.rate)
        return self.each[operation]
