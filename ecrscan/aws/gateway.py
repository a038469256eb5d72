"""The one call loop every AWS gateway of ecrscan shares: retries through the shared
throttle gate, a call counter per operation, ``nextToken`` pagination, and errors
classified once (:mod:`ecrscan.aws.errors`).

The service gateways (:mod:`ecrscan.aws.ecr`, :mod:`ecrscan.aws.ecs`) subclass
:class:`Gateway`; their clients come from :mod:`ecrscan.aws.clients`.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from ecrscan.aws.clients import DEFAULT_TIMEOUTS, READ_ATTEMPTS, READS, Timeouts, make_client
from ecrscan.aws.errors import (
    DEADLINE_REACHED,
    INTERRUPTED,
    TRANSPORT_ERRORS,
    AwsError,
    ErrorKind,
    client_error,
    is_throttling,
    not_aws,
    parser_error,
)
from ecrscan.aws.throttle import STOPPED, BudgetSpent, Throttle
from ecrscan.core.problem import Problem

G = TypeVar("G", bound="Gateway")

# What a call retries unless it says otherwise: both can succeed later.
RETRIED = frozenset({ErrorKind.THROTTLED, ErrorKind.SERVER})
# For calls a blind retry could repeat (StartImageScan after a server error may have
# been carried out; see ecrscan.aws.scan_start) or that retry their own way.
THROTTLING_ONLY = frozenset({ErrorKind.THROTTLED})


class Gateway:
    """Base of the service gateways of one region: the read client of :attr:`SERVICE`,
    the shared throttle gate, the call counter per operation, :meth:`_pages` and
    :meth:`_call`.

    ``session`` is a ``boto3.Session`` (or anything with a compatible ``client``
    method).  Clients are created here, once, and shared by worker threads (boto3
    clients are thread-safe; creating them is not).  Pass the run's :class:`Throttle` to
    every gateway of one account and region, so a throttle seen by any slows all down.
    """

    SERVICE = ""

    def __init__(
        self,
        session: Any,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        throttle: Throttle | None = None,
        max_pool_connections: int = 16,
        read_attempts: int = READ_ATTEMPTS,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
    ) -> None:
        self.throttle = throttle or Throttle()
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()
        self._connection: dict[str, Any] = dict(
            region=region, endpoint_url=endpoint_url, pool=max_pool_connections, timeouts=timeouts
        )
        self._read = self._client(session, {**READS, "total_max_attempts": read_attempts})
        self.region: str = self._read.meta.region_name

    def companion(self, cls: type[G], session: Any) -> G:
        """A gateway of another service with this one's region, endpoint, timeouts and
        throttle, counting its calls with this one's (so a run's call counts cover
        every service it used)."""
        other = cls(session, throttle=self.throttle, **self._connection_options())
        other.calls, other._calls_lock = self.calls, self._calls_lock
        return other

    def under(self: G, throttle: Throttle) -> G:
        """This gateway with another throttle (a view of the same gate under a job's
        deadline: :meth:`Throttle.bound_to`): the clients and the call counts are
        shared, nothing of this gateway changes."""
        view = copy.copy(self)
        view.throttle = throttle
        return view

    def _connection_options(self) -> dict[str, Any]:
        options = dict(self._connection)
        return {
            "region": self.region,
            "endpoint_url": options["endpoint_url"],
            "max_pool_connections": options["pool"],
            "timeouts": options["timeouts"],
        }

    def _client(self, session: Any, retries: Mapping[str, Any]) -> Any:
        """Another client of this gateway's service, region and endpoint.  botocore
        retries its server and connection errors, never a throttled answer: that goes
        back to :meth:`_call`, whose throttle paces the operation at the granted rate."""
        client = make_client(session, self.SERVICE, retries=retries, **self._connection)
        meta = getattr(client, "meta", None)
        if meta is not None and hasattr(meta, "service_model"):
            name = meta.service_model.service_id.hyphenize()
            meta.events.register_first(f"needs-retry.{name}", _not_when_throttled)
        return client

    def _pages(
        self, client: Any, operation: str, *, token: str = "nextToken", **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Every page of a paginated call (``token`` names the page token: ``nextToken``,
        or ``NextToken`` for Organizations and EC2), each through :meth:`_call` (pages
        are read lazily: a caller that stops early reads no further page)."""
        while True:
            page = self._call(client, operation, **params)
            yield page
            following = page.get(token)
            if not following:
                return
            params = {**params, token: following}

    def _call(
        self,
        client: Any,
        operation: str,
        *,
        retry: frozenset[ErrorKind] = RETRIED,
        **params: Any,
    ) -> dict[str, Any]:
        """Call ``operation``; retry the error kinds in ``retry`` (throttling through the
        shared gate, server errors backing off alone).  When the call's attempts or time,
        the run's deadline or the run itself (a stop) is spent, raise the last error
        (or, before any, ``THROTTLED`` with code :data:`DEADLINE_REACHED`, or
        ``INTERRUPTED``)."""
        method: Callable[..., dict[str, Any]] = getattr(client, operation)
        started = self.throttle.now()
        attempt = 0
        error: AwsError | None = None
        while True:
            attempt += 1
            try:
                sent_at = self.throttle.wait(operation)
            except BudgetSpent as spent:
                raise _spent(error, spent, operation) from None
            with self._calls_lock:
                self.calls[operation] += 1
            try:
                response = method(**params)
            except ClientError as exc:
                error = client_error(exc, operation)
                if error.kind not in retry:
                    raise error from exc
                throttled = error.kind is ErrorKind.THROTTLED
                try:
                    self.throttle.retry_or_raise(
                        attempt, started, throttled=throttled, operation=operation, sent_at=sent_at
                    )
                except BudgetSpent as spent:
                    raise _spent(error, spent, operation) from exc
                continue
            except TRANSPORT_ERRORS as exc:
                problem = Problem(type(exc).__name__, str(exc))
                raise AwsError(ErrorKind.NETWORK, problem, operation) from exc
            except ResponseParserError as exc:
                raise parser_error(exc, operation) from exc
            self.throttle.success(operation)
            wrong = not_aws(client.meta.service_model, operation, response)
            if wrong is not None:
                raise wrong
            return response


def _not_when_throttled(response: Any = None, **_: Any) -> bool | None:
    """A ``needs-retry`` handler: False (botocore does not retry) for a throttled answer,
    None (botocore's own retry handler decides) for anything else."""
    if response is None:
        return None
    code = response[1].get("Error", {}).get("Code")
    return False if is_throttling(code) else None


def _spent(error: AwsError | None, spent: BudgetSpent, operation: str) -> AwsError:
    """The error a call gives up with: its last AWS error, with why it stopped."""
    if spent.reason == STOPPED:
        return AwsError(ErrorKind.INTERRUPTED, Problem(INTERRUPTED, str(spent)), operation)
    if error is None:
        return AwsError(ErrorKind.THROTTLED, Problem(DEADLINE_REACHED, str(spent)), operation)
    return AwsError(
        error.kind, Problem(error.problem.code, f"{error.problem.message} ({spent})"), operation
    )
