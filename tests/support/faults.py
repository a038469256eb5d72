"""A faulty network in front of moto, at the botocore level: StartImageScan requests are
failed before moto sees them, or carried out by moto and their reply lost, and the
"server" keeps its own log of which run started each scan.

:class:`FaultyServer` is a ``before-send`` handler registered *first* on a client (moto
answers in a later ``before-send`` handler, which botocore calls too): it calls moto
itself, so it knows whether the server carried the call out, whatever the client is
told.  Each run tags its requests with a header (:meth:`FaultyServer.attach`), read here
like a server would.
"""

from __future__ import annotations

import json
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from ecrscan.core.model import Outcome

RUN_HEADER = "x-ecrscan-test-run"
START = "StartImageScan"

# The faults of one StartImageScan request:
NONE = "none"  # answered as moto answers
BEFORE = "5xx"  # a 503, the call NOT carried out
AFTER = "5xx-after"  # carried out by moto, then a 500 instead of its reply
DROPPED = "dropped"  # carried out by moto, then the connection closed (no reply)
LOST = (AFTER, DROPPED)
HANDLED = "http://answered.invalid/"  # a URL moto does not serve


class FaultyServer:
    """The faults of every StartImageScan (from ``script``, one per request, then
    ``choose``), and the server's log: ``started[run]`` holds the digests moto started
    for the requests of that run; ``sent[run]`` counts the requests; ``order[run]`` the
    operations in the order they were sent.  ``before_fault`` (if set) runs before the
    fault of a request is applied: another actor acting at that instant."""

    def __init__(
        self,
        script: Iterable[str] = (),
        choose: Callable[[], str] = lambda: NONE,
    ) -> None:
        self.script = list(script)
        self.choose = choose
        self.started: dict[str, set[str]] = defaultdict(set)
        self.sent: dict[str, int] = defaultdict(int)
        self.order: dict[str, list[str]] = defaultdict(list)
        self.before_fault: Callable[[str, str], None] | None = None
        self._lock = threading.Lock()

    def attach(self, client: Any, run: str) -> None:
        """Tag ``client``'s requests as ``run``'s and put this server in front of moto."""
        self.attach_events(client.meta.events, run)

    def attach_events(self, events: Any, run: str) -> None:
        """:meth:`attach` for an event emitter: a session's reaches every client it makes
        afterwards."""

        def tag(request: Any, **_: Any) -> None:
            request.headers[RUN_HEADER] = run

        events.register_first("before-sign.ecr.*", tag)
        events.register_first("before-send.ecr.*", self)

    def _fault(self) -> str:
        with self._lock:
            return self.script.pop(0) if self.script else self.choose()

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        run = _text(request.headers.get(RUN_HEADER, "")) or "untagged"
        operation = _text(request.headers.get("X-Amz-Target", "")).rsplit(".", 1)[-1]
        with self._lock:
            self.order[run].append(operation)
        if operation != START:
            return None  # moto answers
        with self._lock:
            self.sent[run] += 1
        digest = json.loads(request.body)["imageId"]["imageDigest"]
        fault = self._fault()
        if self.before_fault is not None:
            self.before_fault(run, digest)
        if fault == BEFORE:
            response = _error(request, 503, "ServiceUnavailableException", "try again later")
            return _answered(request, response)
        response = botocore_stubber(event_name, request)
        if response is not None and response.status_code == 200:
            with self._lock:
                self.started[run].add(digest)
        if fault == DROPPED:
            raise ConnectionClosedError(endpoint_url=request.url)
        if fault == AFTER:
            response = _error(request, 500, "ServerException", "internal error")
        return _answered(request, response)


def random_faults(seed: int, server_errors: float, lost: float) -> Callable[[], str]:
    """A ``choose`` for :class:`FaultyServer`: a share of 503s not carried out, a share of
    lost replies (half a 500 after the fact, half a dropped connection), the rest none."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def choose() -> str:
        with lock:
            roll, half = rng.random(), rng.random()
        if roll < server_errors:
            return BEFORE
        if roll < server_errors + lost:
            return AFTER if half < 0.5 else DROPPED
        return NONE

    return choose


def _answered(request: Any, response: Any) -> Any:
    """``response``, with ``request`` made one moto's own ``before-send`` handler (called
    after this one: botocore calls every handler) leaves alone, so it is not carried out
    a second time."""
    request.url = HANDLED
    return response


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _error(request: Any, status: int, code: str, message: str) -> AWSResponse:
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code}
    return AWSResponse(request.url, status, headers, MockRawResponse(body))


def mismatches(result: Any, started: set[str]) -> list[str]:
    """Where a run's record (a ``RescanResult``) and the server's log of the scans that
    run started (``started``, digests) disagree: a ``started`` the server did not start
    for it (a claim), or a scan it started that the record does not show as
    ``started`` or ``scanned_meanwhile`` (disowned).  Empty when the record holds."""
    outcomes = {r.image.digest: r.outcome for r in result.all_images()}
    claimed = [
        f"claimed {d}" for d, o in outcomes.items() if o is Outcome.STARTED and d not in started
    ]
    owned = (Outcome.STARTED, Outcome.SCANNED_MEANWHILE)
    disowned = [f"disowned {d}: {outcomes.get(d)}" for d in started if outcomes.get(d) not in owned]
    return claimed + disowned
