"""EventBridge scan-complete events: pure parsing and evaluation.

Two event kinds carry a finished scan of one image:

* basic scanning: ``source: aws.ecr``, ``detail-type: ECR Image Scan``; the repository
  is given by name, ``scan-status`` is ``COMPLETE`` or ``FAILED``;
* enhanced scanning: ``source: aws.inspector2``, ``detail-type: Inspector2 Scan``; the
  repository is given by its ARN, ``scan-status`` is ``INITIAL_SCAN_COMPLETE`` and the
  counts include ``TOTAL``.

``finding-severity-counts`` only lists the levels that have findings (it may be absent
or empty) and ``image-tags`` may be empty.  :func:`parse_scan_event` turns either event
into a :class:`ScanEvent` or raises :class:`EventError` saying what is wrong, and
:func:`image_report` evaluates it against thresholds, so the reporter Lambda function
and ``ecrscan report --event`` reach the same verdict; :func:`wants_notification`
decides whether both publish (the message is :func:`ecrscan.render.sns.event_messages`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecrscan.core.model import Image, ImageReport, ImageStatus, ScanState
from ecrscan.core.problem import Problem
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds

ECR_SCAN = ("aws.ecr", "ECR Image Scan")
INSPECTOR_SCAN = ("aws.inspector2", "Inspector2 Scan")
SUPPORTED = (ECR_SCAN, INSPECTOR_SCAN)
# Statuses that mean "the scan finished and its counts are the image's findings".
COMPLETE_STATUSES = frozenset({"COMPLETE", "INITIAL_SCAN_COMPLETE"})
_SEVERITIES = frozenset(s.value for s in Severity)


class EventError(ValueError):
    """An event that is not a scan event this tool understands, or is malformed."""


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One finished scan, as an EventBridge event reported it."""

    source: str
    detail_type: str
    repository: str  # the repository name (also when the event gave an ARN)
    digest: str
    status: str  # scan-status as given: COMPLETE, FAILED, INITIAL_SCAN_COMPLETE ...
    tags: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)  # severity -> n, TOTAL dropped
    registry_id: str = ""  # the account that owns the repository
    region: str = ""
    time: datetime | None = None
    event_id: str = ""

    @property
    def completed(self) -> bool:
        return self.status in COMPLETE_STATUSES

    @property
    def enhanced(self) -> bool:
        return (self.source, self.detail_type) == INSPECTOR_SCAN


def parse_scan_event(event: Any) -> ScanEvent:
    """Parse an ``ECR Image Scan`` or ``Inspector2 Scan`` event; raise :class:`EventError`."""
    if not isinstance(event, Mapping):
        raise EventError(f"an EventBridge event must be a JSON object, got {type(event).__name__}")
    kind = (event.get("source"), event.get("detail-type"))
    if kind not in SUPPORTED:
        expected = " or ".join(f"{s!r}/{d!r}" for s, d in SUPPORTED)
        raise EventError(
            f"unsupported event: source {kind[0]!r}, detail-type {kind[1]!r} (expected {expected})"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise EventError(f"{kind[1]} event has no 'detail' object")
    account = _optional_text(event, "account")
    region = _optional_text(event, "region")
    repository = _required_text(detail, "repository-name", kind[1])
    if repository.startswith("arn:"):
        repository, account, region = _parse_repository_arn(repository)
    elif not account:
        account = _resource_account(event, repository, region)
    return ScanEvent(
        source=kind[0],
        detail_type=kind[1],
        repository=repository,
        digest=_required_text(detail, "image-digest", kind[1]),
        status=_required_text(detail, "scan-status", kind[1]).upper(),
        tags=_tags(detail.get("image-tags")),
        counts=_counts(detail.get("finding-severity-counts")),
        registry_id=account,
        region=region,
        time=_time(event.get("time")),
        event_id=_optional_text(event, "id"),
    )


def image_report(scan: ScanEvent, thresholds: Thresholds) -> ImageReport:
    """Evaluate one scan event the way ``report`` evaluates an image.

    A completed scan (``COMPLETE``, ``INITIAL_SCAN_COMPLETE``) is ``BREACH`` when its
    counts exceed ``thresholds`` and ``OK`` otherwise; any other status (``FAILED``, or a
    status this version does not know) is ``SCAN_FAILED``, never ``OK``.
    """
    image = Image(
        repository=scan.repository,
        registry_id=scan.registry_id,
        digest=scan.digest,
        tags=scan.tags,
    )
    counts = dict(scan.counts)
    if not scan.completed:
        description = f"scan-status {scan.status} in the {scan.detail_type} event"
        return ImageReport(
            image=image,
            state=ScanState(
                status=scan.status,
                completed_at=scan.time,
                description=description,
                counts=counts,
                source="event",
            ),
            status=ImageStatus.SCAN_FAILED,
            counts=counts,
            raw_counts=dict(counts),
            error=Problem(scan.status, description),
            account=scan.registry_id,
            region=scan.region,
        )
    breaches = thresholds.evaluate(counts)
    return ImageReport(
        image=image,
        state=ScanState(status=scan.status, completed_at=scan.time, counts=counts, source="event"),
        status=ImageStatus.BREACH if breaches else ImageStatus.OK,
        counts=counts,
        raw_counts=dict(counts),
        breaches=breaches,
        account=scan.registry_id,
        region=scan.region,
    )


def wants_notification(report: ImageReport, notify_failures: bool) -> bool:
    """Whether the reporter publishes for this evaluated event: on a breach, and on a
    scan that did not complete when ``notify_failures`` (``NOTIFY_ON_SCAN_FAILURE``)."""
    return report.status is ImageStatus.BREACH or (
        report.status is ImageStatus.SCAN_FAILED and notify_failures
    )


# -- field helpers -----------------------------------------------------------------


def _required_text(detail: Mapping[str, Any], key: str, what: str) -> str:
    value = detail.get(key)
    if not isinstance(value, str) or not value.strip():
        problem = "is missing" if value is None else f"must be a non-empty string, got {value!r}"
        raise EventError(f"{what} event: detail.{key} {problem}")
    return value.strip()


def _optional_text(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise EventError(f"event field {key!r} must be a string, got {value!r}")
    return value


def _parse_repository_arn(arn: str) -> tuple[str, str, str]:
    """``arn:<partition>:ecr:<region>:<account>:repository/<name>`` -> (name, account, region)."""
    parts = arn.split(":", 5)
    if (
        len(parts) != 6
        or parts[2] != "ecr"
        or not parts[3]
        or not parts[4]
        or not parts[5].startswith("repository/")
        or not parts[5].removeprefix("repository/")
    ):
        raise EventError(
            f"detail.repository-name {arn!r} is not an ECR repository ARN "
            "(arn:<partition>:ecr:<region>:<account>:repository/<name>)"
        )
    return parts[5].removeprefix("repository/"), parts[4], parts[3]


def _resource_account(event: Mapping[str, Any], repository: str, region: str) -> str:
    """The account of the event's ``resources`` ARN of this repository ("" when none
    names it): an event without ``account`` keeps the same notify state key."""
    resources = event.get("resources")
    for arn in resources if isinstance(resources, list) else ():
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            continue
        try:
            name, account, arn_region = _parse_repository_arn(arn)
        except EventError:
            continue
        if name == repository and (not region or arn_region == region):
            return account
    return ""


def _tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise EventError(f"detail.image-tags must be a list of strings, got {value!r}")
    return tuple(value)


def _counts(value: Any) -> dict[str, int]:
    """Severity counts; ``TOTAL`` and keys that are no severity are dropped.  Keys are
    read in any case; one level named twice (``CRITICAL`` and ``critical``) is malformed."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EventError(f"detail.finding-severity-counts must be an object, got {value!r}")
    counts: dict[str, int] = {}
    for key, number in value.items():
        name = str(key).upper()
        if name not in _SEVERITIES:
            continue
        if name in counts:  # "CRITICAL" and "critical": which one is meant is unknown
            raise EventError(f"detail.finding-severity-counts names {name} more than once")
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise EventError(
                f"detail.finding-severity-counts.{key} must be a whole number >= 0, got {number!r}"
            )
        counts[name] = number
    return counts


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise EventError(f"event time {value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise EventError(f"event time {value!r} has no time zone")
    return moment
