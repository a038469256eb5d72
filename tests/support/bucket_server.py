"""AWS rate limits in front of moto, on a virtual clock: a ``before-send`` handler
registered first (moto answers in a later one) that makes every request take
``latency`` seconds of :class:`VirtualTime` and answers
``ThrottlingException`` when the request finds no token in its bucket
(:mod:`tests.support.token_bucket`); else moto answers.  :func:`virtual_botocore_sleep`
puts botocore's own retry delays on the same clock."""

from __future__ import annotations

import contextlib
import heapq
import json
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import botocore.endpoint
from botocore.awsrequest import AWSResponse
from moto.core.botocore_stubber import MockRawResponse

from tests.support.token_bucket import Limits

HANDLED = "http://answered.invalid/"  # a URL moto does not serve: moto leaves it alone


class VirtualTime:
    """A clock that moves only when the run's workers all sleep: then it jumps to the
    earliest wake-up.  ``workers`` is how many threads sleep at most at once (the run's
    concurrency: each worker sleeps in the throttle gate or, through its call's thread,
    in the server); when fewer sleep and nothing else touches the clock for ``quiet``
    real seconds (the run's start and tail, with idle workers), it jumps all the same.
    CPU time counts for nothing, so the figures do not depend on the machine's load."""

    def __init__(self, workers: int, quiet: float = 0.02) -> None:
        self.now = 1000.0
        self.workers = workers
        self._wakes: list[float] = []
        self._cond = threading.Condition()
        self._activity = 0
        self._closed = False
        threading.Thread(target=self._tick, args=(quiet,), daemon=True).start()

    def clock(self) -> float:
        with self._cond:
            self._activity += 1
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            self._activity += 1
            wake = self.now + max(0.0, seconds)
            heapq.heappush(self._wakes, wake)
            if len(self._wakes) >= self.workers:
                self._advance()
            while self.now < wake and not self._closed:
                self._cond.wait()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _advance(self) -> None:
        self.now = max(self.now, self._wakes[0])
        while self._wakes and self._wakes[0] <= self.now:
            heapq.heappop(self._wakes)
        self._cond.notify_all()

    def _tick(self, quiet: float) -> None:
        seen = -1
        while not self._closed:
            time.sleep(quiet)
            with self._cond:
                if self._wakes and self._activity == seen:
                    self._advance()
                seen = self._activity


class BucketServer:
    def __init__(self, limits: Limits, fake: VirtualTime, latency: float = 0.03) -> None:
        self.limits, self.fake, self.latency = limits, fake, latency

    def attach(self, events: Any) -> None:
        """In front of every ECR client ``events`` (a session's emitter) makes afterwards."""
        events.register_first("before-send.ecr.*", self)

    def __call__(self, request: Any, **_: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        sent = self.fake.clock()
        self.fake.sleep(self.latency)
        if self.limits.admit(operation, sent):
            return None  # moto answers
        code = "ThrottlingException"
        body = json.dumps({"__type": code, "message": "Rate exceeded"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
        response = AWSResponse(request.url, 400, headers, MockRawResponse(body))
        request.url = HANDLED
        return response


@contextlib.contextmanager
def virtual_botocore_sleep(fake: VirtualTime) -> Iterator[None]:
    """botocore's retry delays (``time.sleep`` in ``botocore.endpoint``) on ``fake``."""
    saved = botocore.endpoint.time
    botocore.endpoint.time = types.SimpleNamespace(  # type: ignore[assignment]
        sleep=fake.sleep, time=time.time, monotonic=time.monotonic
    )
    try:
        yield
    finally:
        botocore.endpoint.time = saved
