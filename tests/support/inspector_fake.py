"""A fake Amazon Inspector for ListCoverage, ListFindingAggregations and ListFindings,
which moto lacks.

It answers from the same world the per-image path reads: moto's ECR backend, whose
DescribeImageScanFindings answers ``tests.support.registry.FakeRegistry.set_scan`` fixes.  So a
bulk read and a per-image read of one image can be compared.  Every request body and
every response is checked with botocore's own validator against the inspector2 model of
the installed botocore (``validate_request`` / ``validate_response``), and the responses
carry only the ``SeverityCounts`` members that model has.

Install with :meth:`FakeInspector.installed` (a context manager): it registers a
``before-send.inspector2`` handler for every botocore session created meanwhile; being
more specific than moto's ``before-send`` handler, it answers first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import botocore.handlers
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.validate import ParamValidator
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecr.models import ecr_backends

MODEL = botocore.session.get_session().get_service_model("inspector2")
SEVERITY_MEMBERS = tuple(MODEL.shape_for("SeverityCounts").members)
OPERATIONS = {
    "/coverage/list": "ListCoverage",
    "/findings/aggregation/list": "ListFindingAggregations",
    "/findings/list": "ListFindings",
}
DEFAULT_PAGE = 100
# The model lets ListFindings ask for 100 findings a page but answer at most 25.
FINDINGS_ANSWERED = MODEL.shape_for("FindingList").metadata["max"]
# ECR's enhanced scan status -> Inspector's coverage (statusCode, reason)
COVERAGE = {
    "ACTIVE": ("ACTIVE", "SUCCESSFUL"),
    "PENDING": ("ACTIVE", "PENDING_INITIAL_SCAN"),
    "IN_PROGRESS": ("ACTIVE", "SCAN_IN_PROGRESS"),
    "SCAN_ELIGIBILITY_EXPIRED": ("INACTIVE", "SCAN_ELIGIBILITY_EXPIRED"),
    "UNSUPPORTED_IMAGE": ("INACTIVE", "UNSUPPORTED_OS"),
    "FINDINGS_UNAVAILABLE": ("INACTIVE", "INTERNAL_ERROR"),
}
INSPECTOR_LEVELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED")


class ModelViolation(AssertionError):
    """A request or a response that botocore's validator rejects."""


def validate(params: Any, operation: str, which: str) -> None:
    """botocore's validator (types, required members, minimums, unknown keys), then the
    model's maximums and enums, which botocore leaves to the service."""
    model = MODEL.operation_model(operation)
    shape = model.input_shape if which == "input" else model.output_shape
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise ModelViolation(f"{operation} {which}: {report.generate_report()}")
    problems = list(_beyond(params, shape, which))
    if problems:
        raise ModelViolation(f"{operation} {which}: " + "; ".join(problems))


def _beyond(value: Any, shape: Any, path: str) -> Iterator[str]:
    """What breaks the shape's ``max`` or ``enum`` (the validator passed the rest)."""
    limit = shape.metadata.get("max")
    kind = shape.type_name
    if kind == "structure":
        for name, member in shape.members.items():
            if name in value:
                yield from _beyond(value[name], member, f"{path}.{name}")
    elif kind == "list":
        if limit is not None and len(value) > limit:
            yield f"{path}: {len(value)} items, at most {limit}"
        for i, item in enumerate(value):
            yield from _beyond(item, shape.member, f"{path}[{i}]")
    elif kind in ("integer", "long") and limit is not None and value > limit:
        yield f"{path}: {value} > {limit}"
    elif kind == "string":
        if shape.enum and value not in shape.enum:
            yield f"{path}: {value!r} is not one of the model's values"
        if limit is not None and len(value) > limit:
            yield f"{path}: longer than {limit}"


def validate_request(operation: str, params: Any) -> None:
    validate(params, operation, "input")


def validate_response(operation: str, response: Any) -> None:
    validate(response, operation, "output")


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class FakeInspector:
    """Inspector's bulk view of moto's ECR images of ``account``.

    ``omit_clean``: images with no finding are left out of the aggregation, as they may
    be in AWS.  ``deny``: operations answered with AccessDeniedException.  ``requests``
    records (operation, body) of every call.
    """

    def __init__(
        self,
        account: str = DEFAULT_ACCOUNT_ID,
        *,
        omit_clean: bool = True,
        deny: frozenset[str] = frozenset(),
    ) -> None:
        self.account = account
        self.omit_clean = omit_clean
        self.deny = deny
        # ListFindings: the EPSS score of each vulnerability id (none: no epss member)
        self.epss: dict[str, float] = {}
        # ListCoverage: the inUseCount of each image digest (none: no inUseCount member)
        self.in_use: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []

    @contextmanager
    def installed(self) -> Iterator[FakeInspector]:
        entry = ("before-send.inspector2", self.handle)
        botocore.handlers.BUILTIN_HANDLERS.append(entry)
        try:
            yield self
        finally:
            botocore.handlers.BUILTIN_HANDLERS.remove(entry)

    def calls(self, operation: str) -> int:
        return sum(1 for name, _ in self.requests if name == operation)

    # -- the HTTP side -----------------------------------------------------------------

    def handle(self, request: Any, **_: Any) -> AWSResponse:
        url = urlparse(request.url)
        operation = OPERATIONS.get(url.path)
        if operation is None:
            raise ModelViolation(f"the fake has no {request.method} {url.path}")
        body = json.loads(request.body or b"{}")
        validate_request(operation, body)
        self.requests.append((operation, body))
        if operation in self.deny:
            return _error(403, "AccessDeniedException", "not authorized: inspector2")
        region = url.hostname.split(".")[1] if url.hostname else "us-east-1"
        if operation == "ListCoverage":
            response = self.list_coverage(body, region)
        elif operation == "ListFindings":
            response = self.list_findings(body, region)
        else:
            response = self.list_finding_aggregations(body, region)
        validate_response(operation, response)
        return AWSResponse(
            request.url, 200, {}, _Raw(json.dumps(response, default=_epoch).encode())
        )

    # -- the operations ------------------------------------------------------------------

    def list_coverage(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        criteria = body.get("filterCriteria", {})
        known = {"resourceType", "accountId", "ecrRepositoryName"}
        if set(criteria) - known:
            raise ModelViolation(f"the fake does not filter on {set(criteria) - known}")
        if not _passes(criteria.get("resourceType"), "AWS_ECR_CONTAINER_IMAGE"):
            return {"coveredResources": []}
        covered = []
        for repository, digest, scan in self.images(region):
            if not (
                _passes(criteria.get("accountId"), self.account)
                and _passes(criteria.get("ecrRepositoryName"), repository)
            ):
                continue
            status = scan["imageScanStatus"]["status"]
            code, reason = COVERAGE.get(status, ("INACTIVE", "INTERNAL_ERROR"))
            entry: dict[str, Any] = {
                "resourceType": "AWS_ECR_CONTAINER_IMAGE",
                "resourceId": self.arn(region, repository, digest),
                "accountId": self.account,
                "scanType": "PACKAGE",
                "scanStatus": {"statusCode": code, "reason": reason},
                "resourceMetadata": {"ecrImage": {"tags": []}},
            }
            if digest in self.in_use:
                entry["resourceMetadata"]["ecrImage"]["inUseCount"] = self.in_use[digest]
            completed = scan["imageScanFindings"].get("imageScanCompletedAt")
            if completed is not None:
                entry["lastScannedAt"] = datetime.fromtimestamp(completed, UTC)
            covered.append(entry)
        return _page(body, covered, "coveredResources")

    def list_finding_aggregations(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        if body.get("aggregationType") != "AWS_ECR_CONTAINER":
            raise ModelViolation(f"the fake has no aggregation {body.get('aggregationType')}")
        request = (body.get("aggregationRequest") or {}).get("awsEcrContainerAggregation", {})
        if set(request) - {"repositories"}:
            raise ModelViolation(f"the fake does not filter on {set(request) - {'repositories'}}")
        responses = []
        for repository, digest, scan in self.images(region):
            if not (
                _passes(body.get("accountIds"), self.account)
                and _passes(request.get("repositories"), repository)
                and scan["imageScanStatus"]["status"] == "ACTIVE"
            ):
                continue
            counts = scan["imageScanFindings"].get("findingSeverityCounts", {})
            levels = {level: int(counts.get(level, 0)) for level in INSPECTOR_LEVELS}
            total = sum(levels.values())
            if self.omit_clean and not total:
                continue
            severity = {"all": total, **{k.lower(): v for k, v in levels.items()}}
            aggregation = {
                "resourceId": self.arn(region, repository, digest),
                "imageSha": digest,
                "repository": repository,
                "accountId": self.account,
                "imageTags": [],
                "severityCounts": {k: v for k, v in severity.items() if k in SEVERITY_MEMBERS},
            }
            responses.append({"awsEcrContainerAggregation": aggregation})
        page = _page(body, responses, "responses")
        return {"aggregationType": "AWS_ECR_CONTAINER", **page}

    def list_findings(self, body: dict[str, Any], region: str) -> dict[str, Any]:
        """The active enhanced findings of moto's ECR images, as Inspector has them:
        ECR's ``enhancedFindings`` with the resource, and ``epss`` from ``self.epss``."""
        criteria = body.get("filterCriteria", {})
        known = {"resourceType", "awsAccountId", "findingStatus", "ecrImageRepositoryName"}
        if set(criteria) - known:
            raise ModelViolation(f"the fake does not filter on {set(criteria) - known}")
        found = []
        for repository, digest, scan in self.images(region):
            if not (
                _passes(criteria.get("resourceType"), "AWS_ECR_CONTAINER_IMAGE")
                and _passes(criteria.get("awsAccountId"), self.account)
                and _passes(criteria.get("findingStatus"), "ACTIVE")
                and _passes(criteria.get("ecrImageRepositoryName"), repository)
            ):
                continue
            for item in scan["imageScanFindings"].get("enhancedFindings", []):
                found.append(self.finding(item, region, repository, digest))
        asked = int(body.get("maxResults", DEFAULT_PAGE))
        return _page({**body, "maxResults": min(asked, FINDINGS_ANSWERED)}, found, "findings")

    def finding(
        self, item: dict[str, Any], region: str, repository: str, digest: str
    ) -> dict[str, Any]:
        details = item.get("packageVulnerabilityDetails") or {}
        finding: dict[str, Any] = {
            "findingArn": item["findingArn"],
            "awsAccountId": self.account,
            "type": "PACKAGE_VULNERABILITY",
            "description": item.get("description", "-"),
            "remediation": item.get("remediation", {}),
            "severity": item.get("severity", "UNTRIAGED"),
            "firstObservedAt": datetime(2026, 1, 1, tzinfo=UTC),
            "lastObservedAt": datetime(2026, 1, 2, tzinfo=UTC),
            "status": "ACTIVE",
            "resources": [
                {
                    "type": "AWS_ECR_CONTAINER_IMAGE",
                    "id": self.arn(region, repository, digest),
                    "details": {
                        "awsEcrContainerImage": {
                            "repositoryName": repository,
                            "imageHash": digest,
                            "registry": self.account,
                        }
                    },
                }
            ],
        }
        for member in ("fixAvailable", "exploitAvailable", "packageVulnerabilityDetails"):
            if member in item:
                finding[member] = item[member]
        score = self.epss.get(details.get("vulnerabilityId", ""))
        if score is not None:
            finding["epss"] = {"score": score}
        return finding

    # -- the world -----------------------------------------------------------------------

    def images(self, region: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(repository, digest, DescribeImageScanFindings answer) of every scanned image."""
        backend = ecr_backends[self.account][region]
        for name in sorted(backend.repositories):
            for image in backend.repositories[name].images:
                digest = image.get_image_digest()
                scan = image.scan_finding_results.get(json.dumps({"imageDigest": digest}))
                if scan is not None:
                    yield name, digest, scan

    def arn(self, region: str, repository: str, digest: str) -> str:
        return f"arn:aws:ecr:{region}:{self.account}:repository/{repository}/{digest}"


def _passes(filters: list[dict[str, str]] | None, value: str) -> bool:
    """Whether ``value`` passes a filter list (values of one field are ORed)."""
    if not filters:
        return True
    for item in filters:
        comparison, wanted = item["comparison"], item["value"]
        if comparison == "EQUALS" and value == wanted:
            return True
        if comparison == "PREFIX" and value.startswith(wanted):
            return True
        if comparison == "NOT_EQUALS" and value != wanted:
            return True
    return False


def _page(body: dict[str, Any], items: list[Any], key: str) -> dict[str, Any]:
    size = int(body.get("maxResults", DEFAULT_PAGE))
    start = int(body.get("nextToken") or 0)
    page: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        page["nextToken"] = str(start + size)
    return page


def _error(status: int, code: str, message: str) -> AWSResponse:
    body = json.dumps({"message": message}).encode()
    headers = {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
    return AWSResponse("", status, headers, _Raw(body))


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON: {value!r}")
