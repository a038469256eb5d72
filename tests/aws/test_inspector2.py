"""The Inspector gateway's records, and the fake's checks: botocore's validator rejects
what the inspector2 model does not allow, in requests and in responses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.aws.inspector2 import InspectorGateway, counts_record, covered_record, epss_record
from tests.support.fakes import fresh_session
from tests.support.inspector_fake import (
    SEVERITY_MEMBERS,
    FakeInspector,
    ModelViolation,
    validate_request,
    validate_response,
)
from tests.support.registry import FakeRegistry

ACCOUNT = "123456789012"
DIGEST = "sha256:" + "b" * 64
ARN = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/api/{DIGEST}"


def test_the_installed_model_counts_every_level() -> None:
    assert set(SEVERITY_MEMBERS) == {
        "all",
        "critical",
        "high",
        "medium",
        "low",
        "informational",
        "untriaged",
    }


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("ListCoverage", {"maxResults": 201}),
        ("ListCoverage", {"filterCriteria": {"ecrRepositoryName": [{"value": "x"}]}}),
        (
            "ListCoverage",
            {
                "filterCriteria": {
                    "ecrRepositoryName": [
                        {"comparison": "EQUALS", "value": f"r{i}"} for i in range(11)
                    ]
                }
            },
        ),
        ("ListFindingAggregations", {"aggregationType": "AWS_ECR_CONTAINER", "maxResults": 101}),
        ("ListFindingAggregations", {"maxResults": 10}),  # aggregationType is required
        ("ListFindingAggregations", {"aggregationType": "CONTAINERS"}),
    ],
)
def test_the_validator_rejects_bad_requests(operation: str, body: dict[str, Any]) -> None:
    with pytest.raises(ModelViolation):
        validate_request(operation, body)


def test_the_validator_accepts_the_limits() -> None:
    validate_request("ListCoverage", {"maxResults": 200})
    validate_request(
        "ListFindingAggregations", {"aggregationType": "AWS_ECR_CONTAINER", "maxResults": 100}
    )


@pytest.mark.parametrize(
    ("operation", "response"),
    [
        ("ListCoverage", {"coveredResources": [{"resourceType": "AWS_ECR_CONTAINER_IMAGE"}]}),
        (
            "ListFindingAggregations",
            {
                "aggregationType": "AWS_ECR_CONTAINER",
                "responses": [
                    {
                        "awsEcrContainerAggregation": {
                            "resourceId": ARN,
                            "severityCounts": {"severe": 1},
                        }
                    }
                ],
            },
        ),
        ("ListCoverage", {"coveredResources": [], "nextPage": "2"}),
    ],
)
def test_the_validator_rejects_bad_responses(operation: str, response: dict[str, Any]) -> None:
    with pytest.raises(ModelViolation):
        validate_response(operation, response)


def test_records() -> None:
    item = {
        "resourceType": "AWS_ECR_CONTAINER_IMAGE",
        "resourceId": ARN,
        "accountId": ACCOUNT,
        "scanType": "PACKAGE",
        "scanStatus": {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"},
        "lastScannedAt": datetime(2026, 11, 28, 10, 0),
        "resourceMetadata": {"ecrImage": {"inUseCount": 2}},
    }
    record = covered_record(item)
    assert record is not None
    assert (record.repository, record.digest, record.in_use_count) == ("team/api", DIGEST, 2)
    assert record.last_scanned_at == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert covered_record({**item, "resourceType": "AWS_ECR_REPOSITORY"}) is None
    assert covered_record({**item, "resourceId": "arn:aws:ecr:x:1:repository/api"}) is None
    counts = counts_record({"resourceId": ARN, "severityCounts": {"all": 3, "high": 3}}, ACCOUNT)
    assert counts is not None and counts.account == ACCOUNT
    assert (counts.counts, counts.total) == ({"HIGH": 3}, 3)


def test_a_refusal_is_an_access_denied_error(mocked: None, inspector: FakeInspector) -> None:
    inspector.deny = frozenset({"ListFindingAggregations"})
    gateway = InspectorGateway(fresh_session(), region="us-east-1")
    assert list(gateway.coverage(ACCOUNT)) == []
    with pytest.raises(AwsError) as caught:
        list(gateway.image_counts(ACCOUNT))
    assert caught.value.kind is ErrorKind.ACCESS_DENIED
    assert gateway.calls == {"list_coverage": 1, "list_finding_aggregations": 1}
    with pytest.raises(ValueError, match="at most 10"):
        list(gateway.coverage(ACCOUNT, [f"r{i}" for i in range(11)]))


def test_epss_records() -> None:
    finding = {"findingArn": "arn:aws:inspector2:us-east-1:1:finding/a", "epss": {"score": 0.25}}
    assert epss_record(finding) == ("arn:aws:inspector2:us-east-1:1:finding/a", 0.25)
    assert epss_record({**finding, "epss": {"score": 1}}) == (finding["findingArn"], 1.0)
    for bad in ({"epss": {}}, {"epss": {"score": 1.5}}, {"epss": {"score": True}}, {"epss": None}):
        assert epss_record({**finding, **bad}) is None
    assert epss_record({"epss": {"score": 0.1}}) is None  # no ARN


def test_finding_epss_pages_through_the_fake(
    registry: FakeRegistry, inspector: FakeInspector
) -> None:
    registry.set_scan_type("ENHANCED")
    registry.create_repo("team/api")
    findings = [_enhanced(i) for i in range(60)]  # 25 a page, as the model allows
    digest = registry.push("team/api", "v1")
    registry.set_scan(registry_repo := "team/api", digest, "ACTIVE", enhanced_findings=findings)
    inspector.epss = {f"CVE-2026-{i:04d}": i / 1000 for i in range(0, 60, 2)}  # every other
    gateway = InspectorGateway(fresh_session(), region="us-east-1")
    scores = dict(gateway.finding_epss(registry.account, [registry_repo]))
    assert len(scores) == 30 and scores[_arn(58)] == 0.058 and _arn(1) not in scores
    assert gateway.calls == {"list_findings": 3}
    [(_, first), *_] = [r for r in inspector.requests if r[0] == "ListFindings"]
    assert first["maxResults"] == 100
    assert first["filterCriteria"]["ecrImageRepositoryName"] == [
        {"comparison": "EQUALS", "value": "team/api"}
    ]
    assert dict(gateway.finding_epss(registry.account, ["other"])) == {}


def _arn(i: int) -> str:
    return f"arn:aws:inspector2:us-east-1:{ACCOUNT}:finding/f{i}"


def _enhanced(i: int) -> dict[str, Any]:
    return {
        "findingArn": _arn(i),
        "severity": "LOW",
        "status": "ACTIVE",
        "type": "PACKAGE_VULNERABILITY",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": f"CVE-2026-{i:04d}",
            "source": "NVD",
            "vulnerablePackages": [{"name": "zlib", "version": "1.2.11"}],
        },
    }
