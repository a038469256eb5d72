"""The Amazon Inspector gateway: the bulk reads of ECR images ecrscan makes on
registries with enhanced scanning, with pagination, retries and error classes.

* :meth:`InspectorGateway.coverage`: ListCoverage, resourceType
  ``AWS_ECR_CONTAINER_IMAGE``, 200 images a page: each image's scan status and date.
* :meth:`InspectorGateway.image_counts`: ListFindingAggregations, aggregationType
  ``AWS_ECR_CONTAINER``, 100 images a page: each image's finding counts by severity.
* :meth:`InspectorGateway.finding_epss`: ListFindings, 100 findings asked a page (the
  model answers at most 25): each active finding's EPSS score (ECR's enhanced findings
  carry none), read only when EPSS is asked for.

Both filter by account (a delegated administrator also sees its members' images) and,
given names, by repository on the server (at most
:data:`~ecrscan.core.inspector.FILTER_VALUES` names).  Records are
:mod:`ecrscan.core.inspector` values; an image a record does not describe clearly (an
unparsable resource id) is left out, so it is read from ECR instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ecrscan.aws.gateway import Gateway
from ecrscan.core.inspector import (
    FILTER_VALUES,
    CoveredImage,
    ImageCounts,
    parse_resource_id,
)

COVERAGE_PAGE = 200  # ListCoverage maxResults: at most 200
AGGREGATION_PAGE = 100  # ListFindingAggregations maxResults: at most 100
FINDINGS_PAGE = 100  # ListFindings maxResults: at most 100
IMAGE_RESOURCE = "AWS_ECR_CONTAINER_IMAGE"
IMAGE_AGGREGATION = "AWS_ECR_CONTAINER"


class InspectorGateway(Gateway):
    """Owns the Inspector2 client of one region (reads only)."""

    SERVICE = "inspector2"

    def coverage(
        self, account: str, repositories: Sequence[str] | None = None
    ) -> Iterator[CoveredImage]:
        """Every ECR image Inspector covers in ``account`` (all pages), or in the named
        repositories only."""
        criteria: dict[str, Any] = {
            "resourceType": [_equals(IMAGE_RESOURCE)],
            "accountId": [_equals(account)],
        }
        if repositories:
            criteria["ecrRepositoryName"] = _names(repositories)
        params: dict[str, Any] = {"maxResults": COVERAGE_PAGE, "filterCriteria": criteria}
        for page in self._pages(self._read, "list_coverage", **params):
            for item in page.get("coveredResources", []):
                record = covered_record(item)
                if record is not None:
                    yield record

    def image_counts(
        self, account: str, repositories: Sequence[str] | None = None
    ) -> Iterator[ImageCounts]:
        """Finding counts by severity of every image with findings in ``account`` (all
        pages), or in the named repositories only."""
        aggregation: dict[str, Any] = {}
        if repositories:
            aggregation["repositories"] = _names(repositories)
        params: dict[str, Any] = {
            "aggregationType": IMAGE_AGGREGATION,
            "maxResults": AGGREGATION_PAGE,
            "accountIds": [_equals(account)],
            "aggregationRequest": {"awsEcrContainerAggregation": aggregation},
        }
        for page in self._pages(self._read, "list_finding_aggregations", **params):
            for item in page.get("responses", []):
                record = counts_record(item.get("awsEcrContainerAggregation") or {}, account)
                if record is not None:
                    yield record

    def finding_epss(
        self, account: str, repositories: Sequence[str] | None = None
    ) -> Iterator[tuple[str, float]]:
        """``(finding ARN, EPSS score)`` of every active ECR image finding in ``account``
        that has a score (all pages), or in the named repositories only."""
        criteria: dict[str, Any] = {
            "resourceType": [_equals(IMAGE_RESOURCE)],
            "awsAccountId": [_equals(account)],
            "findingStatus": [_equals("ACTIVE")],
        }
        if repositories:
            criteria["ecrImageRepositoryName"] = _names(repositories)
        params: dict[str, Any] = {"maxResults": FINDINGS_PAGE, "filterCriteria": criteria}
        for page in self._pages(self._read, "list_findings", **params):
            for item in page.get("findings", []):
                record = epss_record(item)
                if record is not None:
                    yield record


def _equals(value: str) -> dict[str, str]:
    return {"comparison": "EQUALS", "value": value}


def _names(repositories: Sequence[str]) -> list[dict[str, str]]:
    if len(repositories) > FILTER_VALUES:
        raise ValueError(f"at most {FILTER_VALUES} repositories in one filter")
    return [_equals(name) for name in repositories]


def covered_record(item: Mapping[str, Any]) -> CoveredImage | None:
    """A ListCoverage ``coveredResources`` entry as a record (``None``: not an image)."""
    if item.get("resourceType") != IMAGE_RESOURCE:
        return None
    parsed = parse_resource_id(str(item.get("resourceId", "")))
    if parsed is None:
        return None
    status = item.get("scanStatus") or {}
    image = (item.get("resourceMetadata") or {}).get("ecrImage") or {}
    in_use = image.get("inUseCount")
    return CoveredImage(
        account=str(item.get("accountId", "")),
        repository=parsed[0],
        digest=parsed[1],
        status_code=str(status.get("statusCode", "")),
        reason=str(status.get("reason", "")),
        last_scanned_at=_utc(item.get("lastScannedAt")),
        last_in_use_at=_utc(image.get("lastInUseAt")),
        in_use_count=int(in_use) if in_use is not None else None,
    )


def counts_record(item: Mapping[str, Any], account: str = "") -> ImageCounts | None:
    """An ``awsEcrContainerAggregation`` response as a record (``None``: no image);
    ``account`` when the response names none."""
    parsed = parse_resource_id(str(item.get("resourceId", "")))
    if parsed is None:
        return None
    raw = dict(item.get("severityCounts") or {})
    total = raw.pop("all", None)
    return ImageCounts(
        account=str(item.get("accountId") or account),
        repository=parsed[0],
        digest=parsed[1],
        counts={name.upper(): int(value) for name, value in raw.items() if value is not None},
        total=int(total) if total is not None else None,
    )


def epss_record(item: Mapping[str, Any]) -> tuple[str, float] | None:
    """A ListFindings ``findings`` entry as ``(finding ARN, EPSS score)``; ``None``
    without an ARN or a score from 0 to 1."""
    arn = item.get("findingArn")
    score = (item.get("epss") or {}).get("score")
    if not isinstance(arn, str) or not arn or isinstance(score, bool):
        return None
    if not isinstance(score, int | float) or not 0.0 <= score <= 1.0:
        return None
    return arn, float(score)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
