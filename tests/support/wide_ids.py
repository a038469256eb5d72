"""Results with long but realistic identifiers, for the table-width tests: 12-digit
accounts, ``ap-southeast-2``, ``team-0/service-0000`` repositories, 64-hex digests, long
tags, in every table layout (single target, several targets, organization, dry-run plan,
``repos``, ``rescan``, ``report`` with findings tables)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from ecrscan.core.coverage import Coverage, Location, SkippedImage, TargetOutcome
from ecrscan.core.model import (
    NEVER_SCANNED,
    Decision,
    Finding,
    Image,
    ImageReport,
    ImageResult,
    ImageStatus,
    Outcome,
    ReportResult,
    Repository,
    RepositoryListing,
    RepositoryResult,
    RescanResult,
    ScanState,
    ScanType,
    Verdict,
)
from ecrscan.core.problem import Problem
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACCOUNTS = ("123456789012", "210987654321")
REGIONS = ("ap-southeast-2", "eu-central-1")
THRESHOLDS = Thresholds()
LONG_TAG = "2026.11.03-build.1234-linux-amd64"


@dataclass(frozen=True)
class Layout:
    """A result to print as a table and the identifiers it must show whole."""

    name: str
    result: object
    ids: tuple[str, ...]


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def _image(n: int, account: str, untagged: bool = False) -> Image:
    tags = () if untagged else (LONG_TAG, f"v{n}.4.2")
    return Image(
        repository=f"team-{n % 3}/service-{n:04d}",
        registry_id=account,
        digest=digest(f"{account}{n}"),
        tags=tags,
        pushed_at=NOW - timedelta(days=3),
    )


FINDINGS = (
    Finding(
        id="CVE-2024-45490",
        severity=Severity.CRITICAL,
        package="libexpat1",
        version="2.5.0-1+deb12u1",
        fixed_in="2.5.0-1+deb12u2",
        score=9.8,
        title="CVE-2024-45490 - libexpat: negative length for XML_ParseBuffer",
    ),
    Finding(
        id="GHSA-2jv5-9r88-3w3p",
        severity=Severity.HIGH,
        package="python-multipart",
        version="0.0.6",
        fixed_in="0.0.18",
        score=7.5,
        title="Denial of service in python-multipart via malformed form data",
        ignored="not reachable: the service takes no multipart form data at all",
    ),
)


def _report(n: int, account: str, region: str, status: ImageStatus) -> ImageReport:
    image = _image(n, account, untagged=status is ImageStatus.NO_SCAN)
    counts = {"CRITICAL": 1, "HIGH": 12, "MEDIUM": 140, "LOW": 1033}
    state = ScanState(status="COMPLETE", completed_at=NOW - timedelta(hours=20), counts=counts)
    if status is ImageStatus.NO_SCAN:
        state = NEVER_SCANNED
    elif status is ImageStatus.SCAN_FAILED:
        description = (
            "UnsupportedImageError: The operating system and/or package manager are not supported."
        )
        state = ScanState(status="FAILED", description=description, counts=counts)
    breaches = THRESHOLDS.evaluate(counts) if status is ImageStatus.BREACH else ()
    return ImageReport(
        image=image,
        state=state,
        status=status,
        counts=counts if status is not ImageStatus.NO_SCAN else {},
        raw_counts=counts if status is not ImageStatus.NO_SCAN else {},
        findings=FINDINGS if status is ImageStatus.BREACH else None,
        breaches=breaches,
        account=account,
        region=region,
    )


STATUSES = (ImageStatus.BREACH, ImageStatus.OK, ImageStatus.NO_SCAN, ImageStatus.SCAN_FAILED)


def _reports(targets: tuple[tuple[str, str], ...]) -> tuple[ImageReport, ...]:
    return tuple(
        _report(n + 10 * t, account, region, status)
        for t, (account, region) in enumerate(targets)
        for n, status in enumerate(STATUSES)
    )


def _image_ids(image: Image) -> list[str]:
    """The repository, the first two tags, the short digest of an untagged image; a
    platform image: its index's first tag and the platform."""
    if image.platform:
        return [image.repository, *image.index_tags[:1], image.platform]
    return [image.repository, *(image.tags[:2] or [image.digest.partition(":")[2][:12]])]


def _report_ids(result: ReportResult) -> tuple[str, ...]:
    ids: list[str] = []
    for r in result.images:
        ids += [r.account, r.region] if result.coverage is not None else []
        ids += _image_ids(r.image)
        ids += [f.id for f in r.findings or ()] if result.details else []
    return tuple(ids)


def _targets(accounts: tuple[str, ...], regions: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((a, r) for a in accounts for r in regions)


def report_result(
    targets: tuple[tuple[str, str], ...], details: bool = False, organization: bool = False
) -> ReportResult:
    coverage = None
    if len(targets) > 1 or organization:
        outcomes = [
            TargetOutcome(a, r, role_arn=f"arn:aws:iam::{a}:role/ecrscan-audit") for a, r in targets
        ]
        skipped: tuple[SkippedImage, ...] = ()
        if organization:
            problem = Problem("AccessDenied", "User is not authorized to perform: sts:AssumeRole")
            outcomes.append(
                TargetOutcome("987654321098", "ap-southeast-2", errors=(("credentials", problem),))
            )
            skipped = (
                SkippedImage(
                    image="ghcr.io/example-org/sidecar-proxy:1.27.3",
                    location=Location.NOT_ECR,
                    reason="not an ECR image",
                    task_definitions=(
                        "arn:aws:ecs:ap-southeast-2:123456789012:task-definition/checkout-api:118",
                    ),
                ),
            )
        coverage = Coverage(targets=tuple(outcomes), skipped=skipped)
    return ReportResult(
        images=_reports(targets),
        thresholds=THRESHOLDS,
        generated_at=NOW,
        region=targets[0][1] if len(targets) == 1 else None,
        details=details,
        coverage=coverage,
        repository_errors=(
            ("team-9/service-9999", Problem("AccessDeniedException", "not allowed")),
        ),
    )


def scan_result() -> ReportResult:
    """``scan``: images by the references given, one a platform image of an index."""
    account, region = ACCOUNTS[0], REGIONS[0]
    plain = replace(
        _report(1, account, region, ImageStatus.OK), reference=f"team-1/service-0001:{LONG_TAG}"
    )
    arm = Image(
        repository="team-0/service-0000",
        registry_id=account,
        digest=digest("arm64"),
        platform="linux/arm64",
        index_digest=digest("index"),
        index_tags=(LONG_TAG,),
    )
    breach = _report(0, account, region, ImageStatus.BREACH)
    platform = replace(breach, image=arm, reference=f"team-0/service-0000:{LONG_TAG}")
    return ReportResult(
        images=(plain, platform), thresholds=THRESHOLDS, generated_at=NOW, region=region
    )


def rescan_result(targets: tuple[tuple[str, str], ...], dry_run: bool) -> RescanResult:
    repositories = []
    for t, (account, region) in enumerate(targets):
        for n in range(3):
            image = _image(n + 10 * t, account, untagged=n == 2)
            reason = (
                "last scan 2026-10-01T08:15:00+00:00 is older than the expiry (7 days); "
                "due since 2026-10-08"
            )
            verdict = Verdict(Decision.DUE, reason)
            outcome = (
                Outcome.PLANNED
                if dry_run
                else (Outcome.STARTED, Outcome.FAILED, Outcome.NOT_STARTED)[n]
            )
            result = ImageResult(image=image, state=None, verdict=verdict, outcome=outcome)
            fresh = ImageResult(
                image=_image(n + 50, account), state=None, verdict=Verdict(Decision.FRESH, "fresh")
            )
            repositories.append(
                RepositoryResult(
                    repository=Repository(name=image.repository, registry_id=account),
                    images=(result, fresh),
                    region=region,
                )
            )
    coverage = (
        Coverage(targets=tuple(TargetOutcome(a, r) for a, r in targets))
        if len(targets) > 1
        else None
    )
    return RescanResult(
        repositories=tuple(repositories),
        started_at=NOW,
        expiry="7d",
        dry_run=dry_run,
        scan_type=ScanType.BASIC,
        region=targets[0][1] if len(targets) == 1 else None,
        coverage=coverage,
    )


def _rescan_ids(result: RescanResult) -> tuple[str, ...]:
    ids: list[str] = []
    for repo in result.repositories:
        ids += [repo.repository.registry_id, repo.region] if result.coverage is not None else []
        ids.append(repo.repository.name)
        if result.dry_run:
            for r in repo.images:
                if r.outcome is Outcome.PLANNED:
                    ids += _image_ids(r.image)
    return tuple(ids)


def listing() -> RepositoryListing:
    repositories = tuple(
        Repository(
            name=f"team-{n % 3}/service-{n:04d}",
            registry_id=ACCOUNTS[0],
            created_at=NOW - timedelta(days=n),
            scan_on_push=n % 2 == 0,
        )
        for n in range(4)
    )
    return RepositoryListing(repositories, REGIONS[0])


def _layouts() -> list[Layout]:
    one = _targets(ACCOUNTS[:1], REGIONS[:1])
    regions = _targets(ACCOUNTS[:1], REGIONS)
    many = _targets(ACCOUNTS, REGIONS)
    cases = [
        ("report", report_result(one)),
        ("report --details", report_result(one, details=True)),
        ("report, several regions", report_result(regions)),
        ("report, several accounts --details", report_result(many, details=True)),
        ("report, organization", report_result(many, organization=True)),
    ]
    found = [Layout(name, r, _report_ids(r)) for name, r in cases]
    organization = ("987654321098", "ghcr.io/example-org/sidecar-proxy:1.27.3", "checkout-api:118")
    found[-1] = Layout(found[-1].name, found[-1].result, found[-1].ids + organization)
    scan = scan_result()
    found.append(Layout("scan", scan, _report_ids(scan)))
    for name, targets in (("one target", one), ("several accounts", many)):
        for dry_run in (False, True):
            result = rescan_result(targets, dry_run)
            label = f"rescan{' --dry-run' if dry_run else ''}, {name}"
            found.append(Layout(label, result, _rescan_ids(result)))
    repos = listing()
    repo_ids = tuple(i for r in repos.repositories for i in (r.name, r.registry_id))
    found.append(Layout("repos", repos, repo_ids))
    return found


LAYOUTS = _layouts()
