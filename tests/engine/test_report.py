"""The report engine against moto (with explicit scan states) and botocore's Stubber."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.core.errors import FatalError
from ecrscan.core.ignore import IgnoreRule
from ecrscan.core.imageref import parse_image_ref
from ecrscan.core.model import Image, ImageStatus
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.problem import Problem
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds
from ecrscan.core.view import DEFAULT_VIEW, exit_code
from ecrscan.engine.report import ReportSettings, build_report
from ecrscan.engine.runner import Event
from ecrscan.engine.wait import POLL_CAP, POLL_FIRST, Pacing, poll_cap
from tests.support.registry import FakeRegistry

REGION = "us-east-1"
ACCOUNT = "123456789012"
NOW = datetime.now(UTC)


def basic_finding(cve: str, severity: str, package: str = "openssl") -> dict[str, Any]:
    return {
        "name": cve,
        "severity": severity,
        "uri": f"https://nvd.example/{cve}",
        "attributes": [
            {"key": "package_name", "value": package},
            {"key": "package_version", "value": "1.0"},
            {"key": "CVSS3_SCORE", "value": "7.5"},
        ],
    }


class Gateways:
    """``gateway_for`` over moto, recording what was asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[str | None, str | None]] = []
        self.made: dict[tuple[str | None, str | None], EcrGateway] = {}

    def __call__(self, region: str | None, registry_id: str | None) -> EcrGateway:
        self.asked.append((region, registry_id))
        gateway = EcrGateway(boto3.Session(), region=region or REGION, registry_id=registry_id)
        self.made[(region, registry_id)] = gateway
        return gateway

    def calls(self, operation: str) -> int:
        return sum(g.calls[operation] for g in self.made.values())


class FakeTime:
    """An injected clock and sleep: sleeping advances the clock, nothing really waits."""

    def __init__(self, on_sleep: Any = None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))


def run(settings: ReportSettings, gateways: Gateways | None = None, **kwargs: Any):
    gateways = gateways or Gateways()
    fake = kwargs.pop("time", None) or FakeTime()
    pacing = Pacing(fake.sleep, fake.clock, kwargs.pop("watch", None))
    return build_report(gateways, NOW, settings, pacing=pacing, **kwargs)


def scanned(registry: FakeRegistry, repo: str, tag: str, counts: dict[str, int], **kw: Any) -> str:
    digest = registry.push(repo, tag)
    registry.set_scan(repo, digest, completed_at=NOW - timedelta(hours=1), counts=counts, **kw)
    return digest


# -- thresholds and scope --------------------------------------------------------------


@pytest.mark.slow
def test_whole_registry_against_thresholds(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    registry.create_repo("lib")
    clean = scanned(registry, "app", "v1", {})
    dirty = scanned(registry, "app", "v2", {"HIGH": 2, "LOW": 1})
    info = scanned(registry, "lib", "v1", {"INFORMATIONAL": 5})

    result = run(ReportSettings())
    by_digest = {r.image.digest: r for r in result.images}
    assert set(by_digest) == {clean, dirty, info}
    assert by_digest[clean].status is ImageStatus.OK
    assert by_digest[info].status is ImageStatus.OK  # INFORMATIONAL is off by default
    assert by_digest[dirty].status is ImageStatus.BREACH
    assert [(b.severity, b.count, b.threshold) for b in by_digest[dirty].breaches] == [
        (Severity.HIGH, 2, 0),
        (Severity.LOW, 1, 0),
    ]
    assert by_digest[dirty].counts == {"HIGH": 2, "LOW": 1}
    assert by_digest[dirty].findings is None  # counts only: findings not read
    assert by_digest[dirty].account == ACCOUNT and by_digest[dirty].region == REGION
    assert exit_code(result, DEFAULT_VIEW) == 1 and not result.details
    assert [r.image.repository for r in result.images] == ["app", "app", "lib"]

    lenient = Thresholds().with_overrides(["HIGH=2", "LOW=off"])
    assert exit_code(run(ReportSettings(thresholds=lenient)), DEFAULT_VIEW) == 0
    strict = Thresholds().with_overrides(["INFORMATIONAL=4"])
    result = run(ReportSettings(thresholds=strict, filter=RepositoryFilter.compile("^lib$")))
    assert [r.status for r in result.images] == [ImageStatus.BREACH]


def test_latest_keeps_newest_push_per_repository(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    old = scanned(registry, "app", "old", {"CRITICAL": 1})
    new = scanned(registry, "app", "new", {})
    registry.set_pushed_at("app", old, NOW - timedelta(days=3))
    registry.set_pushed_at("app", new, NOW - timedelta(days=1))
    result = run(ReportSettings(latest=True))
    assert [r.image.digest for r in result.images] == [new]
    assert exit_code(result, DEFAULT_VIEW) == 0
    assert {r.image.digest for r in run(ReportSettings()).images} == {old, new}


@pytest.mark.slow
def test_progress_events_come_from_the_calling_thread(registry: FakeRegistry) -> None:
    for repo in ("a1", "a2", "a3"):
        registry.create_repo(repo)
        scanned(registry, repo, "v1", {})
        scanned(registry, repo, "v2", {})
    events: list[tuple[Event, int, str]] = []
    run(
        ReportSettings(concurrency=4),
        progress=lambda e, n: events.append((e, n, threading.current_thread().name)),
    )
    assert {name for _, _, name in events} == {threading.current_thread().name}
    assert (Event.REPOSITORIES, 3) in [(e, n) for e, n, _ in events]
    assert sum(n for e, n, _ in events if e is Event.IMAGE_CHECKED) == 6
    assert sum(n for e, n, _ in events if e is Event.REPOSITORY_DONE) == 3


# -- --image references ----------------------------------------------------------------


def test_image_by_tag_digest_and_uri(registry: FakeRegistry) -> None:
    registry.create_repo("team/app")
    digest = scanned(registry, "team/app", "v1", {"MEDIUM": 1})
    refs = (
        parse_image_ref("team/app:v1"),
        parse_image_ref(f"team/app@{digest}"),
        parse_image_ref(f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/app:v1"),
    )
    gateways = Gateways()
    result = run(ReportSettings(images=refs), gateways)
    assert [r.reference for r in result.images] == [str(ref) for ref in refs]
    assert {r.image.digest for r in result.images} == {digest}  # tags resolved to digests
    assert all(r.image.tags == ("v1",) for r in result.images)  # the report names both
    assert all(r.status is ImageStatus.BREACH for r in result.images)
    assert gateways.asked == [(None, None), (REGION, ACCOUNT)]
    # by reference: no repository walk
    assert gateways.calls("describe_repositories") == 0


@pytest.mark.slow
def test_uri_in_another_region(registry: FakeRegistry) -> None:
    other = FakeRegistry(boto3.client("ecr", region_name="eu-west-1"), "eu-west-1")
    other.create_repo("app")
    digest = other.push("app", "v1")
    other.set_scan("app", digest, completed_at=NOW, counts={})
    ref = parse_image_ref(f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/app:v1")
    gateways = Gateways()
    result = run(ReportSettings(images=(ref,)), gateways)
    assert gateways.asked == [("eu-west-1", ACCOUNT)]
    (report,) = result.images
    assert (report.status, report.region, report.image.digest) == (
        ImageStatus.OK,
        "eu-west-1",
        digest,
    )
    assert result.region == "eu-west-1"


def test_unknown_repository_tag_or_digest_is_an_error_entry(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    scanned(registry, "app", "v1", {})
    refs = tuple(
        parse_image_ref(t) for t in ("app:v1", "app:nope", "ghost:v1", "app@sha256:" + "0" * 64)
    )
    result = run(ReportSettings(images=refs))
    statuses = [r.status for r in result.images]
    assert statuses == [ImageStatus.OK, ImageStatus.ERROR, ImageStatus.ERROR, ImageStatus.ERROR]
    assert result.images[1].error.code == "ImageNotFoundException"
    assert "nope" in result.images[1].error.message
    assert result.images[2].error.code == "RepositoryNotFoundException"
    assert result.images[2].image.repository == "ghost"
    assert result.images[3].image.digest == "sha256:" + "0" * 64
    assert exit_code(result, DEFAULT_VIEW) == 3  # an error outranks everything


def test_tag_and_digest_that_disagree_give_a_notice(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    first = scanned(registry, "app", "v1", {})
    scanned(registry, "app", "v2", {})
    result = run(ReportSettings(images=(parse_image_ref(f"app:v2@{first}"),)))
    assert result.images[0].image.digest == first
    assert any("'v2' does not point at" in n for n in result.notices)


# -- scan states -----------------------------------------------------------------------


def test_no_scan_failed_and_pending_states(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    never = registry.push("app", "never")
    failed = scanned(registry, "app", "failed", {}, status="FAILED", description="boom")
    unsupported = scanned(registry, "app", "unsupported", {}, status="UNSUPPORTED_IMAGE")
    running = scanned(registry, "app", "running", {}, status="IN_PROGRESS")
    result = run(ReportSettings())
    status = {r.image.digest: r.status for r in result.images}
    assert status == {
        never: ImageStatus.NO_SCAN,
        failed: ImageStatus.SCAN_FAILED,
        unsupported: ImageStatus.NOT_SCANNABLE,
        running: ImageStatus.PENDING,
    }
    assert exit_code(result, DEFAULT_VIEW) == 3


def test_summary_from_describe_images_is_used_when_present() -> None:
    """When DescribeImages still carries the scan summary, no per-image scan read."""
    gateway = EcrGateway(boto3.Session(), region=REGION)
    digest = "sha256:" + "1" * 64
    with Stubber(gateway._read) as stub:
        stub.add_response(
            "describe_repositories",
            {"repositories": [{"repositoryName": "app", "registryId": ACCOUNT}]},
        )
        stub.add_response(
            "get_registry_scanning_configuration",
            {"registryId": ACCOUNT, "scanningConfiguration": {"scanType": "BASIC"}},
        )
        stub.add_response(
            "describe_images",
            {
                "imageDetails": [
                    {
                        "repositoryName": "app",
                        "registryId": ACCOUNT,
                        "imageDigest": digest,
                        "imageTags": ["v1"],
                        "imagePushedAt": NOW,
                        "imageScanStatus": {"status": "COMPLETE"},
                        "imageScanFindingsSummary": {
                            "imageScanCompletedAt": NOW,
                            "findingSeverityCounts": {"CRITICAL": 3},
                        },
                    }
                ]
            },
        )
        result = build_report(lambda r, i: gateway, NOW, ReportSettings())
        stub.assert_no_pending_responses()
    (report,) = result.images
    assert report.status is ImageStatus.BREACH and report.counts == {"CRITICAL": 3}
    assert report.state.source == "describe_images"
    assert gateway.calls["describe_image_scan_findings"] == 0


def test_repository_listing_errors_are_values(registry: FakeRegistry) -> None:
    registry.create_repo("good")
    registry.create_repo("bad")
    scanned(registry, "good", "v1", {})

    class Denied(EcrGateway):
        def images(self, repository, image_ids=None):
            if repository.name == "bad":
                raise AwsError(ErrorKind.ACCESS_DENIED, Problem("AccessDeniedException", "no"))
            return super().images(repository, image_ids)

    result = build_report(
        lambda r, i: Denied(boto3.Session(), region=REGION), NOW, ReportSettings()
    )
    assert result.repository_errors == (("bad", Problem("AccessDeniedException", "no")),)
    assert [r.status for r in result.images] == [ImageStatus.OK]
    assert exit_code(result, DEFAULT_VIEW) == 3


def test_failing_to_list_repositories_is_fatal() -> None:
    class Broken(EcrGateway):
        def repositories(self, names=None):
            raise AwsError(ErrorKind.ACCESS_DENIED, Problem("AccessDeniedException", "denied"))

    with pytest.raises(FatalError, match="denied"):
        build_report(lambda r, i: Broken(boto3.Session(), region=REGION), NOW, ReportSettings())


# -- findings, ignore rules, enhanced --------------------------------------------------


def test_ignore_rules_change_the_counts_not_the_findings(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    registry.create_repo("other")
    findings = [
        basic_finding("CVE-1", "HIGH"),
        basic_finding("CVE-2", "HIGH"),
        basic_finding("CVE-3", "LOW"),
    ]
    app = scanned(registry, "app", "v1", {"HIGH": 2, "LOW": 1}, findings=findings)
    other = scanned(registry, "other", "v1", {"HIGH": 2, "LOW": 1}, findings=findings)
    today = NOW.date()
    rules = (
        IgnoreRule("CVE-1", "not reachable"),
        IgnoreRule("cve-2", "app only", repository=re.compile("^app$")),
        IgnoreRule("CVE-3", "fixed upstream", until=today),  # last day: still applies
        IgnoreRule(
            "CVE-2", "old waiver", until=today - timedelta(days=1), source="x.toml", entry=4
        ),
    )
    result = run(ReportSettings(ignore_rules=rules))
    reports = {r.image.digest: r for r in result.images}
    assert reports[app].status is ImageStatus.OK
    assert reports[app].counts == {} and reports[app].raw_counts == {"HIGH": 2, "LOW": 1}
    assert {f.id: f.ignored for f in reports[app].findings} == {
        "CVE-1": "not reachable",
        "CVE-2": "app only",
        "CVE-3": "fixed upstream",
    }
    assert reports[other].status is ImageStatus.BREACH
    assert reports[other].counts == {"HIGH": 1}
    assert [f.id for f in reports[other].findings if f.ignored is None] == ["CVE-2"]
    assert result.details
    assert result.notices == (
        "ignore rule x.toml, entry 4 (CVE-2 until "
        f"{(today - timedelta(days=1)).isoformat()}) has expired and was not applied",
    )


def test_details_read_findings_without_changing_counts(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    scanned(registry, "app", "v1", {"HIGH": 1}, findings=[basic_finding("CVE-9", "HIGH", "zlib")])
    (report,) = run(ReportSettings(details=True)).images
    assert report.counts == {"HIGH": 1} and report.status is ImageStatus.BREACH
    (finding,) = report.findings
    assert (finding.id, finding.severity, finding.package, finding.score) == (
        "CVE-9",
        Severity.HIGH,
        "zlib",
        7.5,
    )


def test_enhanced_findings(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    enhanced = [
        {
            "findingArn": f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/{n}",
            "severity": severity,
            "title": f"CVE-2024-{n} - libfoo",
            "fixAvailable": "YES",
            "score": 9.8,
            "packageVulnerabilityDetails": {
                "vulnerabilityId": f"CVE-2024-{n}",
                "sourceUrl": "https://nvd.example",
                "vulnerablePackages": [
                    {"name": "libfoo", "version": "1.0", "fixedInVersion": "1.1"}
                ],
            },
        }
        for n, severity in ((1, "CRITICAL"), (2, "UNTRIAGED"), (3, "UNTRIAGED"))
    ]
    scanned(
        registry,
        "app",
        "v1",
        {"CRITICAL": 1, "UNTRIAGED": 2},
        status="ACTIVE",
        enhanced_findings=enhanced,
    )
    rules = (IgnoreRule(f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/1", "accepted"),)
    result = run(ReportSettings(details=True, ignore_rules=rules))
    (report,) = result.images
    assert report.status is ImageStatus.OK  # CRITICAL ignored by ARN, UNTRIAGED off
    assert report.counts == {"UNTRIAGED": 2}
    critical = next(f for f in report.findings if f.severity is Severity.CRITICAL)
    assert (critical.id, critical.fixed_in, critical.ignored) == ("CVE-2024-1", "1.1", "accepted")
    strict = Thresholds().with_overrides(["UNTRIAGED=1"])
    (report,) = run(ReportSettings(thresholds=strict, needs_findings=True)).images
    assert [(b.severity, b.count) for b in report.breaches] == [
        (Severity.CRITICAL, 1),
        (Severity.UNTRIAGED, 2),
    ]


def test_findings_read_every_page() -> None:
    gateway = EcrGateway(boto3.Session(), region=REGION)
    image = Image(repository="app", registry_id=ACCOUNT, digest="sha256:" + "2" * 64)
    base = {
        "repositoryName": "app",
        "imageId": {"imageDigest": image.digest},
        "registryId": ACCOUNT,
    }
    first = {
        "imageScanStatus": {"status": "COMPLETE", "description": "done"},
        "imageScanFindings": {
            "imageScanCompletedAt": NOW,
            "findingSeverityCounts": {"HIGH": 2, "CRITICAL": 1},
            "findings": [basic_finding("CVE-1", "HIGH"), basic_finding("CVE-2", "HIGH")],
        },
        "nextToken": "page-2",
    }
    second = {
        "imageScanStatus": {"status": "COMPLETE", "description": "done"},
        "imageScanFindings": {
            "enhancedFindings": [
                {
                    "findingArn": "arn:x",
                    "severity": "CRITICAL",
                    "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-3"},
                }
            ],
        },
    }
    with Stubber(gateway._read) as stub:
        stub.add_response("describe_image_scan_findings", first, {**base, "maxResults": 1000})
        stub.add_response(
            "describe_image_scan_findings",
            second,
            {**base, "maxResults": 1000, "nextToken": "page-2"},
        )
        findings, state = gateway.findings(image)
        stub.assert_no_pending_responses()
    assert [f.id for f in findings] == ["CVE-1", "CVE-2", "CVE-3"]
    assert state.status == "COMPLETE" and state.counts == {"HIGH": 2, "CRITICAL": 1}
    assert gateway.calls["describe_image_scan_findings"] == 2


def test_findings_of_an_image_never_scanned(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    registry.push("app", "v1")
    (report,) = run(ReportSettings(details=True)).images
    assert report.status is ImageStatus.NO_SCAN and report.findings is None


# -- --wait ----------------------------------------------------------------------------


def test_wait_until_the_scan_completes(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    digest = scanned(registry, "app", "v1", {}, status="IN_PROGRESS")
    done = scanned(registry, "app", "v0", {})

    def flip(sleeps: int) -> None:
        if sleeps == 3:
            registry.set_scan(
                "app",
                digest,
                completed_at=NOW,
                counts={"CRITICAL": 1},
                findings=[basic_finding("CVE-7", "CRITICAL")],
            )

    fake = FakeTime(flip)
    result = run(ReportSettings(wait=True, details=True), time=fake)
    assert fake.sleeps == [POLL_FIRST, POLL_FIRST * 2, POLL_CAP]
    reports = {r.image.digest: r for r in result.images}
    assert reports[digest].status is ImageStatus.BREACH
    assert [f.id for f in reports[digest].findings] == ["CVE-7"]
    assert reports[done].status is ImageStatus.OK
    assert exit_code(result, DEFAULT_VIEW) == 1


def test_the_pause_between_polls_grows_with_the_scans_awaited() -> None:
    assert poll_cap(1) == poll_cap(75) == POLL_CAP == 15
    assert poll_cap(150) == 30 and poll_cap(300) == 60 and poll_cap(10_000) == 60


def test_wait_gives_up_at_the_timeout(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    scanned(registry, "app", "v1", {}, status="PENDING")
    fake = FakeTime()
    result = run(ReportSettings(wait=True, timeout=100), time=fake)
    # capped; the last cut to the deadline
    assert fake.sleeps == [5, 10, POLL_CAP, POLL_CAP, POLL_CAP, POLL_CAP, POLL_CAP, 10]
    assert sum(fake.sleeps) == 100
    (report,) = result.images
    assert report.status is ImageStatus.PENDING and report.state.status == "PENDING"
    assert exit_code(result, DEFAULT_VIEW) == 3


def test_without_wait_pending_is_reported_at_once(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    scanned(registry, "app", "v1", {}, status="IN_PROGRESS")
    fake = FakeTime()
    (report,) = run(ReportSettings(), time=fake).images
    assert report.status is ImageStatus.PENDING and fake.sleeps == []


def test_wait_for_a_fresh_push_whose_scan_is_not_registered_yet(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    fresh = registry.push("app", "fresh")
    old = registry.push("app", "old")
    registry.set_pushed_at("app", fresh, NOW - timedelta(minutes=1))
    registry.set_pushed_at("app", old, NOW - timedelta(days=2))

    def scan_arrives(sleeps: int) -> None:
        if sleeps == 1:
            registry.set_scan("app", fresh, status="IN_PROGRESS")
        if sleeps == 2:
            registry.set_scan("app", fresh, completed_at=NOW, counts={})

    fake = FakeTime(scan_arrives)
    result = run(ReportSettings(wait=True), time=fake)
    status = {r.image.digest: r.status for r in result.images}
    assert status == {fresh: ImageStatus.OK, old: ImageStatus.NO_SCAN}
    assert len(fake.sleeps) == 2


def test_wait_with_zero_timeout_checks_once(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    scanned(registry, "app", "v1", {}, status="IN_PROGRESS")
    fake = FakeTime()
    (report,) = run(ReportSettings(wait=True, timeout=0), time=fake).images
    assert report.status is ImageStatus.PENDING and fake.sleeps == []


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_report(lambda r, i: None, datetime(2026, 1, 1), ReportSettings())


def test_expiry_boundary_is_inclusive_through_the_day(registry: FakeRegistry) -> None:
    registry.create_repo("app")
    scanned(registry, "app", "v1", {"HIGH": 1}, findings=[basic_finding("CVE-1", "HIGH")])
    rule = (IgnoreRule("CVE-1", "waiver", until=date(2026, 3, 31)),)
    last_moment = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
    after = datetime(2026, 4, 1, 0, 0, 0, tzinfo=UTC)
    ok = build_report(Gateways(), last_moment, ReportSettings(ignore_rules=rule))
    late = build_report(Gateways(), after, ReportSettings(ignore_rules=rule))
    assert ok.images[0].status is ImageStatus.OK and not ok.notices
    assert late.images[0].status is ImageStatus.BREACH and len(late.notices) == 1
