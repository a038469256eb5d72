"""What every AWS gateway of ecrscan shares: error classes, client configuration, and
the one call loop with its retries through the shared throttle gate.

The service gateways (:mod:`ecrscan.ecr`, :mod:`ecrscan.ecs`) subclass :class:`Gateway`;
callers get AWS errors as :class:`AwsError` with an :class:`ErrorKind`, classified once,
here.
"""

from __future__ import annotations

import enum
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as BotoConnectionError

from ecrscan import __version__
from ecrscan.backoff import BudgetSpent, Throttle
from ecrscan.model import Problem

PER_IMAGE_QUOTA_TEXT = "scan quota per image"
# The code of a call not made because the run's deadline left no time (kind THROTTLED:
# it can succeed later).
DEADLINE_REACHED = "DeadlineReached"


class ErrorKind(enum.Enum):
    THROTTLED = "throttled"  # or not sent: the run's deadline left no time (retry later)
    PER_IMAGE_QUOTA = "per_image_quota"  # already scanned in the last 24 h
    ACCOUNT_QUOTA = "account_quota"  # e.g. 100,000 basic scans per region per day
    SCAN_NOT_FOUND = "scan_not_found"  # never scanned
    IMAGE_NOT_FOUND = "image_not_found"
    UNSUPPORTED_IMAGE = "unsupported_image"
    IMAGE_ARCHIVED = "image_archived"
    REPOSITORY_NOT_FOUND = "repository_not_found"
    ACCESS_DENIED = "access_denied"
    SERVER = "server"  # 5xx, worth a retry
    NETWORK = "network"  # connection refused/reset, read timeout, truncated response
    OTHER = "other"

    @property
    def repository_fatal(self) -> bool:
        """Errors that make the whole repository fail rather than one image."""
        return self in (ErrorKind.REPOSITORY_NOT_FOUND, ErrorKind.ACCESS_DENIED)


_CODE_KINDS = {
    "ThrottlingException": ErrorKind.THROTTLED,
    "Throttling": ErrorKind.THROTTLED,
    "TooManyRequestsException": ErrorKind.THROTTLED,
    "RequestLimitExceeded": ErrorKind.THROTTLED,
    "ScanNotFoundException": ErrorKind.SCAN_NOT_FOUND,
    "ImageNotFoundException": ErrorKind.IMAGE_NOT_FOUND,
    "UnsupportedImageTypeException": ErrorKind.UNSUPPORTED_IMAGE,
    "ImageArchivedException": ErrorKind.IMAGE_ARCHIVED,
    "RepositoryNotFoundException": ErrorKind.REPOSITORY_NOT_FOUND,
    "AccessDeniedException": ErrorKind.ACCESS_DENIED,
    "AccessDenied": ErrorKind.ACCESS_DENIED,
    "UnauthorizedOperation": ErrorKind.ACCESS_DENIED,
    "ServerException": ErrorKind.SERVER,
    "InternalFailure": ErrorKind.SERVER,
    "ServiceUnavailable": ErrorKind.SERVER,
}


def classify(exc: ClientError) -> ErrorKind:
    """Map a botocore ``ClientError`` to an :class:`ErrorKind`."""
    error = exc.response.get("Error", {})
    code = error.get("Code", "")
    if code == "LimitExceededException":
        message = error.get("Message", "")
        if PER_IMAGE_QUOTA_TEXT in message.lower():
            return ErrorKind.PER_IMAGE_QUOTA
        return ErrorKind.ACCOUNT_QUOTA
    kind = _CODE_KINDS.get(code)
    if kind is not None:
        return kind
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if isinstance(status, int) and status >= 500:
        return ErrorKind.SERVER
    return ErrorKind.OTHER


class AwsError(Exception):
    """An AWS error, classified.  ``problem`` is the value results carry."""

    def __init__(self, kind: ErrorKind, problem: Problem, operation: str = "") -> None:
        super().__init__(str(problem))
        self.kind = kind
        self.problem = problem
        self.operation = operation

    @classmethod
    def from_client_error(cls, exc: ClientError, operation: str) -> AwsError:
        error = exc.response.get("Error", {})
        return cls(
            classify(exc),
            Problem(code=error.get("Code", "Unknown"), message=error.get("Message", "")),
            operation,
        )


# botocore errors of one call that survived botocore's own retries.  They become
# AwsError(NETWORK) so that one image or repository fails and the run goes on; set-up
# errors (no credentials, no region) are not among them and still stop the run.
TRANSPORT_ERRORS = (BotoConnectionError, HTTPClientError, IncompleteReadError)


class Gateway:
    """Base of the service gateways: the shared throttle gate, the call counter per
    operation, client construction and :meth:`_call`."""

    def __init__(self, throttle: Throttle | None = None) -> None:
        self.throttle = throttle or Throttle()
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()

    @staticmethod
    def _client(
        session: Any,
        service: str,
        *,
        region: str | None,
        endpoint_url: str | None,
        max_pool_connections: int,
        retries: dict[str, Any],
    ) -> Any:
        config = Config(
            region_name=region,
            max_pool_connections=max_pool_connections,
            user_agent_extra=f"ecrscan/{__version__}",
            retries=retries,
        )
        kwargs: dict[str, Any] = {}
        if region:
            kwargs["region_name"] = region
        if endpoint_url:
            kwargs["endpoint_url"] = endpoint_url
        return session.client(service, config=config, **kwargs)

    def _pages(self, client: Any, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every page of a ``nextToken``-paginated call, each through :meth:`_call`
        (pages are read lazily: a caller that stops early reads no further page)."""
        while True:
            page = self._call(client, operation, **params)
            yield page
            token = page.get("nextToken")
            if not token:
                return
            params = {**params, "nextToken": token}

    def _call(self, client: Any, operation: str, **params: Any) -> dict[str, Any]:
        """Call ``operation``; retry throttling and 5xx through the shared gate.  When
        the gate's budget or the run's deadline is spent, raise the last error (or,
        before any, ``THROTTLED`` with code :data:`DEADLINE_REACHED`)."""
        method: Callable[..., dict[str, Any]] = getattr(client, operation)
        started = self.throttle.now()
        attempt = 0
        error: AwsError | None = None
        while True:
            attempt += 1
            try:
                self.throttle.wait()
            except BudgetSpent as spent:
                raise _spent(error, spent, operation) from None
            with self._calls_lock:
                self.calls[operation] += 1
            try:
                response = method(**params)
            except ClientError as exc:
                error = AwsError.from_client_error(exc, operation)
                if error.kind in (ErrorKind.THROTTLED, ErrorKind.SERVER):
                    try:
                        self.throttle.retry_or_raise(attempt, started)
                    except BudgetSpent as spent:
                        raise _spent(error, spent, operation) from exc
                    continue
                raise error from exc
            except TRANSPORT_ERRORS as exc:
                problem = Problem(type(exc).__name__, str(exc))
                raise AwsError(ErrorKind.NETWORK, problem, operation) from exc
            self.throttle.success()
            return response


def _spent(error: AwsError | None, spent: BudgetSpent, operation: str) -> AwsError:
    """The error a call gives up with: its last AWS error, with why it stopped."""
    if error is None:
        return AwsError(ErrorKind.THROTTLED, Problem(DEADLINE_REACHED, str(spent)), operation)
    return AwsError(
        error.kind, Problem(error.problem.code, f"{error.problem.message} ({spent})"), operation
    )
