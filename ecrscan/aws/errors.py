"""AWS errors, classified once: every gateway call raises :class:`AwsError` with an
:class:`ErrorKind`, and a botocore failure outside a call (no region, no credentials)
becomes a :class:`SetupFailure` the adapters word for their users."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from ecrscan.core.problem import Problem, condensed

__all__ = [
    "DEADLINE_REACHED",
    "INTERRUPTED",
    "PER_IMAGE_QUOTA_TEXT",
    "TRANSPORT_ERRORS",
    "AwsError",
    "ErrorKind",
    "NoRegionError",  # botocore's, raised by the engine too when no region is known
    "SetupFailure",
    "SetupKind",
    "classify",
    "problem_of",
    "setup_failure",
]

PER_IMAGE_QUOTA_TEXT = "scan quota per image"
# The code of a call not made because the run's deadline left no time (kind THROTTLED:
# it can succeed later).
DEADLINE_REACHED = "DeadlineReached"
# The code of a call not made because the run was stopped (a signal): kind INTERRUPTED.
INTERRUPTED = "Interrupted"


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
    INTERRUPTED = "interrupted"  # not sent: the run was stopped (a signal)
    CONDITION_FAILED = "condition_failed"  # a conditional write lost: the item changed
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
    "ProvisionedThroughputExceededException": ErrorKind.THROTTLED,  # DynamoDB
    "ConditionalCheckFailedException": ErrorKind.CONDITION_FAILED,  # DynamoDB
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
            Problem(code=error.get("Code", "Unknown"), message=condensed(error.get("Message", ""))),
            operation,
        )


# botocore errors of one call that survived botocore's own retries.  They become
# AwsError(NETWORK) so that one image or repository fails and the run goes on; set-up
# errors (no credentials, no region) are not among them and still stop the run.
TRANSPORT_ERRORS = (BotoConnectionError, HTTPClientError, IncompleteReadError)


def problem_of(exc: BaseException) -> Problem | None:
    """The :class:`Problem` an AWS failure of one target carries (an :class:`AwsError`,
    a ``ClientError``, an unreachable endpoint); ``None`` for anything else (a bug, or
    missing credentials, which no other target could survive either)."""
    problem = getattr(exc, "problem", None)
    if isinstance(problem, Problem):
        return problem
    if isinstance(exc, ClientError):
        return AwsError.from_client_error(exc, exc.operation_name).problem
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return Problem(type(exc).__name__, str(exc))
    return None


class SetupKind(enum.Enum):
    """Why a run could not talk to AWS at all."""

    NO_REGION = "no_region"
    UNKNOWN_PROFILE = "unknown_profile"
    NO_CREDENTIALS = "no_credentials"
    UNREACHABLE = "unreachable"  # the endpoint could not be connected to
    REFUSED = "refused"  # AWS answered with an error outside any gateway call
    OTHER = "other"  # any other botocore failure

    @property
    def configuration(self) -> bool:
        """A configuration error: nothing could be sent (exit 2 on the command line)."""
        return self in (SetupKind.NO_REGION, SetupKind.UNKNOWN_PROFILE)


@dataclass(frozen=True, slots=True)
class SetupFailure:
    kind: SetupKind
    detail: str = ""


def setup_failure(exc: BaseException) -> SetupFailure | None:
    """What a botocore exception that escaped the gateways means; ``None`` when ``exc``
    is not botocore's."""
    if isinstance(exc, NoRegionError):
        return SetupFailure(SetupKind.NO_REGION)
    if isinstance(exc, ProfileNotFound):
        return SetupFailure(SetupKind.UNKNOWN_PROFILE, str(exc))
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return SetupFailure(SetupKind.NO_CREDENTIALS)
    if isinstance(exc, EndpointConnectionError):
        return SetupFailure(SetupKind.UNREACHABLE, str(exc))
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        return SetupFailure(SetupKind.REFUSED, f"{code}: {error.get('Message', exc)}")
    if isinstance(exc, BotoCoreError):
        return SetupFailure(SetupKind.OTHER, str(exc))
    return None
