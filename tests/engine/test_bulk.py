"""Bulk reads on enhanced registries: report and rescan take each image's state from
Amazon Inspector (the fake, answering from moto's images) in a few calls, judge exactly
as the per-image path does, and fall back to it with one notice when Inspector refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecrscan.aws.ecr import EcrGateway
from ecrscan.core.durations import Duration
from ecrscan.core.model import Decision, ImageStatus, ScanType
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.view import DEFAULT_VIEW, exit_code
from ecrscan.engine.report import ReportSettings, build_report
from ecrscan.engine.rescan import RescanSettings, rescan
from tests.support.fakes import fresh_session, quick_registry
from tests.support.inspector_fake import FakeInspector
from tests.support.registry import FakeRegistry

REGION = "us-east-1"
NOW = datetime.now(UTC)
# (status, counts) of the images of every repository, in order
PLAN: list[tuple[str, dict[str, int]]] = [
    ("ACTIVE", {"CRITICAL": 1, "HIGH": 2, "LOW": 4}),
    ("ACTIVE", {}),  # clean: not in the aggregation
    ("ACTIVE", {"MEDIUM": 1, "INFORMATIONAL": 3, "UNTRIAGED": 1}),
    ("ACTIVE", {"LOW": 1}),
    ("PENDING", {}),
    ("SCAN_ELIGIBILITY_EXPIRED", {"HIGH": 1}),
    ("FINDINGS_UNAVAILABLE", {}),  # Inspector: INTERNAL_ERROR, read per image
]
SETTLED = sum(1 for status, _ in PLAN if status != "FINDINGS_UNAVAILABLE")


def seed(registry: FakeRegistry, repositories: int) -> list[str]:
    registry.set_scan_type("ENHANCED")
    names = [f"team/app{r:02d}" for r in range(repositories)]
    for name in names:
        registry.create_repo(name)
        for i, (status, counts) in enumerate(PLAN):
            digest = registry.push(name, f"v{i}")
            completed = NOW - timedelta(hours=i + 1) if status == "ACTIVE" else None
            registry.set_scan(name, digest, status, completed_at=completed, counts=counts)
    return names


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    return quick_registry(REGION)


class Made:
    def __init__(self) -> None:
        self.gateways: list[EcrGateway] = []

    def __call__(self, region: str | None, registry_id: str | None) -> EcrGateway:
        gateway = EcrGateway(fresh_session(REGION), region=REGION, registry_id=registry_id)
        self.gateways.append(gateway)
        return gateway

    def calls(self, operation: str | None = None) -> int:
        return sum(n for g in self.gateways for op, n in g.calls.items() if operation in (None, op))


def report(settings: ReportSettings | None = None) -> tuple[Any, Made]:
    made = Made()
    return build_report(made, NOW, settings or ReportSettings()), made


def verdicts(result: Any) -> dict[tuple[str, str], tuple[str, dict[str, int]]]:
    return {
        (r.image.repository, r.image.digest): (r.status.value, dict(r.counts))
        for r in result.images
    }


def test_report_reads_states_in_bulk_and_judges_as_per_image(
    registry: FakeRegistry, inspector: FakeInspector
) -> None:
    seed(registry, 3)
    bulk, made = report()
    assert made.calls("describe_image_scan_findings") == 3  # only FINDINGS_UNAVAILABLE
    assert made.calls("list_coverage") == made.calls("list_finding_aggregations") == 1
    sources = {r.state.source for r in bulk.images if r.state is not None}
    assert sources == {"inspector2", "scan_findings"}
    inspector.deny = frozenset({"ListCoverage"})
    alone, alone_made = report()
    assert alone_made.calls("describe_image_scan_findings") == 3 * len(PLAN)
    assert verdicts(bulk) == verdicts(alone)
    assert exit_code(bulk, DEFAULT_VIEW) == exit_code(alone, DEFAULT_VIEW)
    [notice] = alone.notices
    assert notice.startswith("Amazon Inspector could not be read in bulk (AccessDeniedException")
    assert "inspector2:ListCoverage" in notice and not bulk.notices


def test_clean_images_and_the_severity_split(registry: FakeRegistry) -> None:
    seed(registry, 1)
    result, _ = report()
    by_tag = {r.image.tags[0]: r for r in result.images}
    assert by_tag["v0"].counts == {"CRITICAL": 1, "HIGH": 2, "LOW": 4}
    assert by_tag["v1"].status is ImageStatus.OK and by_tag["v1"].counts == {}
    assert by_tag["v2"].counts == {"MEDIUM": 1, "INFORMATIONAL": 3, "UNTRIAGED": 1}
    assert by_tag["v4"].status is ImageStatus.PENDING
    assert by_tag["v5"].status is ImageStatus.SCAN_FAILED


def test_findings_are_read_only_for_images_with_findings(registry: FakeRegistry) -> None:
    seed(registry, 2)
    result, made = report(ReportSettings(details=True))
    # per repository: v0, v2, v3 have findings; v6 is read per image anyway
    assert made.calls("describe_image_scan_findings") == 2 * 4
    clean = next(r for r in result.images if r.image.tags == ("v1",))
    assert clean.findings == ()


def test_few_repositories_are_filtered_on_the_server(
    registry: FakeRegistry, inspector: FakeInspector
) -> None:
    names = seed(registry, 12)
    result, _made = report(ReportSettings(filter=RepositoryFilter.compile("app0[0-2]")))
    assert {r.image.repository for r in result.images} == set(names[:3])
    [(_, coverage)] = [r for r in inspector.requests if r[0] == "ListCoverage"]
    wanted = [f["value"] for f in coverage["filterCriteria"]["ecrRepositoryName"]]
    assert wanted == names[:3]
    [(_, aggregation)] = [r for r in inspector.requests if r[0] == "ListFindingAggregations"]
    asked = aggregation["aggregationRequest"]["awsEcrContainerAggregation"]["repositories"]
    assert [f["value"] for f in asked] == names[:3]


def test_many_selected_repositories_go_in_batches_of_ten(
    registry: FakeRegistry, inspector: FakeInspector
) -> None:
    names = seed(registry, 12)
    result, made = report(ReportSettings(filter=RepositoryFilter.compile("app", ["app11"])))
    assert {r.image.repository for r in result.images} == set(names[:11])
    assert made.calls("list_coverage") == 2 and made.calls("list_finding_aggregations") == 2
    assert made.calls("describe_image_scan_findings") == 11  # FINDINGS_UNAVAILABLE only


@pytest.mark.slow
def test_pages_of_200_and_100(registry: FakeRegistry, inspector: FakeInspector) -> None:
    registry.set_scan_type("ENHANCED")
    registry.create_repo("big")
    for i in range(230):
        digest = registry.push("big", f"v{i}")
        registry.set_scan("big", digest, "ACTIVE", completed_at=NOW, counts={"HIGH": 1})
    result, made = report()
    assert made.calls("list_coverage") == 2  # 200 + 30
    assert made.calls("list_finding_aggregations") == 3  # 100 + 100 + 30
    assert made.calls("describe_image_scan_findings") == 0
    assert all(r.status is ImageStatus.BREACH for r in result.images)
    assert {body["maxResults"] for op, body in inspector.requests if op == "ListCoverage"} == {200}


def test_a_basic_registry_reads_nothing_from_inspector(
    registry: FakeRegistry, inspector: FakeInspector
) -> None:
    registry.create_repo("app")
    digest = registry.push("app", "v1")
    registry.set_scan("app", digest, "COMPLETE", completed_at=NOW, counts={})
    result, _made = report()
    assert inspector.requests == [] and result.images[0].status is ImageStatus.OK


def test_rescan_classifies_from_bulk_states(
    registry: FakeRegistry, inspector: FakeInspector
) -> None:
    seed(registry, 2)
    settings = RescanSettings(expiry=Duration.parse("7d"))
    made = Made()
    bulk = rescan(made(None, None), NOW, settings)
    assert bulk.scan_type is ScanType.ENHANCED
    assert made.calls("describe_image_scan_findings") == 2  # FINDINGS_UNAVAILABLE only
    inspector.deny = frozenset({"ListFindingAggregations"})
    alone_made = Made()
    alone = rescan(alone_made(None, None), NOW, settings)
    assert alone_made.calls("describe_image_scan_findings") == 2 * len(PLAN)

    def decisions(result: Any) -> dict[str, tuple[Decision, str]]:
        return {
            i.image.digest: (i.verdict.decision, i.verdict.reason)
            for repo in result.repositories
            for i in repo.images
        }

    assert decisions(bulk) == decisions(alone)
    assert "start_image_scan" not in made.gateways[0].calls


def test_counts_of_an_older_model_are_split_where_they_can_be(
    registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer with all/critical/high/medium only: LOW, INFORMATIONAL and UNTRIAGED
    are known to be zero when the rest adds up to ``all``; otherwise that image is read
    from ECR.  The verdicts stay the same."""
    seed(registry, 1)
    full, _ = report()
    monkeypatch.setattr(
        "tests.support.inspector_fake.SEVERITY_MEMBERS", ("all", "critical", "high", "medium")
    )
    older, made = report()
    # v0 (LOW 4), v2 (INFORMATIONAL 3, UNTRIAGED 1), v3 (LOW 1), v6 (unsettled)
    assert made.calls("describe_image_scan_findings") == 4
    assert verdicts(older) == verdicts(full)
