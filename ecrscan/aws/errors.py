"""botocore's errors, classified once: every gateway call raises
:class:`~ecrscan.core.errors.AwsError` with an :class:`~ecrscan.core.errors.ErrorKind`
(:func:`client_error`), and a botocore failure outside a call (no region, no
credentials) becomes a :class:`SetupFailure` the adapters word for their users.  The
error values themselves live in :mod:`ecrscan.core.errors` (re-exported here)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from botocore.parsers import ResponseParserError

from ecrscan.core.errors import (
    DEADLINE_REACHED,
    INTERRUPTED,
    NOT_AWS,
    AwsError,
    ErrorKind,
)
from ecrscan.core.errors import NoRegionError as CoreNoRegionError
from ecrscan.core.errors import problem_of as core_problem_of
from ecrscan.core.problem import Problem, condensed

__all__ = [
    "DEADLINE_REACHED",
    "INTERRUPTED",
    "PER_IMAGE_QUOTA_TEXT",
    "TRANSPORT_ERRORS",
    "AwsError",
    "ErrorKind",
    "NoRegionError",  # botocore's (ecrscan.core.errors has the engine's own)
    "SetupFailure",
    "SetupKind",
    "classify",
    "client_error",
    "is_throttling",
    "not_aws",
    "parser_error",
    "problem_of",
    "setup_failure",
]

PER_IMAGE_QUOTA_TEXT = "scan quota per image"


def is_throttling(code: str | None) -> bool:
    """Whether an AWS error code says the call was throttled."""
    return _CODE_KINDS.get(code or "") is ErrorKind.THROTTLED


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


def client_error(exc: ClientError, operation: str) -> AwsError:
    """A botocore ``ClientError`` of ``operation`` as the :class:`AwsError` the engine
    understands (its kind from :func:`classify`)."""
    error = exc.response.get("Error", {})
    return AwsError(
        classify(exc),
        Problem(code=error.get("Code", "Unknown"), message=condensed(error.get("Message", ""))),
        operation,
    )


# The key each operation's answer always holds (AWS returns it even when empty): an
# answer without it did not come from the service (a proxy's ``{}``, an HTML page that
# botocore's JSON parser reads as ``{"message": ...}``), never an empty result.
ALWAYS_ANSWERED = {
    ("ecr", "describe_repositories"): "repositories",
    ("ecr", "describe_images"): "imageDetails",
    ("ecr", "describe_image_scan_findings"): "imageScanStatus",
    ("ecr", "start_image_scan"): "imageScanStatus",
    ("ecr", "batch_get_image"): "images",
    ("inspector2", "list_coverage"): "coveredResources",
    ("inspector2", "list_finding_aggregations"): "responses",
    ("ecs", "describe_services"): "services",
    ("ecs", "describe_task_definition"): "taskDefinition",
    ("organizations", "list_accounts"): "Accounts",
    ("ec2", "describe_regions"): "Regions",
}
_JSON_PROTOCOLS = frozenset({"json", "rest-json"})
_NOT_AWS = "the endpoint did not answer like AWS"


def not_aws(service: Any, operation: str, response: Mapping[str, Any]) -> AwsError | None:
    """The :class:`AwsError` (kind ``PROTOCOL``) of a successful answer of ``operation``
    of ``service`` (a botocore service model) that is not the service's: a JSON service
    answering another content type, or an answer without the key
    :data:`ALWAYS_ANSWERED` names; ``None`` for a good answer."""
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    content_type = str(headers.get("content-type", "")).split(";")[0].strip()
    if service.protocol in _JSON_PROTOCOLS and content_type and "json" not in content_type:
        detail = condensed(content_type)
    else:
        key = ALWAYS_ANSWERED.get((service.service_name, operation))
        if key is None or key in response:
            return None
        detail = f"no '{key}' in the answer"
    return AwsError(ErrorKind.PROTOCOL, Problem(NOT_AWS, f"{_NOT_AWS}: {detail}"), operation)


def parser_error(exc: ResponseParserError, operation: str) -> AwsError:
    """botocore could not parse the answer (an HTML page where XML was expected)."""
    detail = condensed(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return AwsError(ErrorKind.PROTOCOL, Problem(NOT_AWS, f"{_NOT_AWS}: {detail}"), operation)


# botocore errors of one call that survived botocore's own retries.  They become
# AwsError(NETWORK) so that one image or repository fails and the run goes on; set-up
# errors (no credentials, no region) are not among them and still stop the run.
TRANSPORT_ERRORS = (BotoConnectionError, HTTPClientError, IncompleteReadError)


def problem_of(exc: BaseException) -> Problem | None:
    """The :class:`Problem` an AWS failure of one target carries (an :class:`AwsError`,
    a ``ClientError``, an unreachable endpoint); ``None`` for anything else (a bug, or
    missing credentials, which no other target could survive either)."""
    problem = core_problem_of(exc)
    if problem is not None:
        return problem
    if isinstance(exc, ClientError):
        return client_error(exc, exc.operation_name).problem
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
    if isinstance(exc, (NoRegionError, CoreNoRegionError)):
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
