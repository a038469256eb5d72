"""The errors the engine and the AWS gateways share, as values the engine understands:
every gateway call raises :class:`AwsError` with an :class:`ErrorKind` (classified once,
from botocore's answer, by :mod:`ecrscan.aws.errors`); the engine reads the kind and the
:class:`~ecrscan.core.problem.Problem`, never botocore."""

from __future__ import annotations

import enum

from ecrscan.core.problem import Problem

__all__ = [
    "DEADLINE_REACHED",
    "IMAGE_NOT_FOUND",
    "INTERRUPTED",
    "NOT_AWS",
    "AccountQuotaExceeded",
    "AwsError",
    "ErrorKind",
    "FatalError",
    "NoRegionError",
    "problem_of",
]

# The code of a call not made because the run's deadline left no time (kind THROTTLED:
# it can succeed later).
DEADLINE_REACHED = "DeadlineReached"
# The code of an answer not in the service's protocol (kind PROTOCOL).
NOT_AWS = "NotAws"
# The code of a call not made because the run was stopped (a signal): kind INTERRUPTED.
INTERRUPTED = "Interrupted"
IMAGE_NOT_FOUND = "image not found"  # the reason a requested image id is skipped


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
    PROTOCOL = "protocol"  # a 200 answer not in the service's protocol (a proxy's page, {})
    OTHER = "other"

    @property
    def repository_fatal(self) -> bool:
        """Errors that make the whole repository fail rather than one image."""
        return self in (ErrorKind.REPOSITORY_NOT_FOUND, ErrorKind.ACCESS_DENIED)


class AwsError(Exception):
    """An AWS error, classified.  ``problem`` is the value results carry."""

    def __init__(self, kind: ErrorKind, problem: Problem, operation: str = "") -> None:
        super().__init__(str(problem))
        self.kind = kind
        self.problem = problem
        self.operation = operation


class AccountQuotaExceeded(Exception):
    """StartImageScan hit an account-level quota: stop starting scans."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class FatalError(Exception):
    """The run could not start at all (listing repositories or the organization's
    accounts failed)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class NoRegionError(Exception):
    """No region is known for a run (the adapters word it for their users, like
    botocore's own ``NoRegionError``)."""

    def __init__(self) -> None:
        super().__init__("You must specify a region.")


def problem_of(exc: BaseException) -> Problem | None:
    """The :class:`Problem` an AWS failure of one target carries (an :class:`AwsError`,
    or anything else with a ``problem``); ``None`` for anything else (a bug, or missing
    credentials, which no other target could survive either).  :func:`ecrscan.aws.errors.
    problem_of` also reads botocore's errors raised outside a gateway."""
    problem = getattr(exc, "problem", None)
    return problem if isinstance(problem, Problem) else None
