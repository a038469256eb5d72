"""Hand-built report results for the output-format and notification tests.

``sample_result()`` holds one image of each kind: within thresholds, breaching, kept
within thresholds by an ignore rule, never scanned, and unreadable (AWS error).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from ecrscan.core.findings import count_findings
from ecrscan.core.model import (
    NEVER_SCANNED,
    Finding,
    Image,
    ImageReport,
    ImageStatus,
    ReportResult,
    ScanState,
)
from ecrscan.core.problem import Problem
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ACCOUNT = "123456789012"
REGION = "us-east-1"
THRESHOLDS = Thresholds().with_overrides(["MEDIUM=2"])


def digest(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def scanned(hours_ago: float, counts: dict[str, int]) -> ScanState:
    return ScanState(
        status="COMPLETE",
        completed_at=NOW - timedelta(hours=hours_ago),
        description="The scan was completed successfully.",
        counts=counts,
    )


def report(
    repository: str,
    tags: tuple[str, ...],
    findings: tuple[Finding, ...] | None,
    *,
    state: ScanState | None = None,
    status: ImageStatus | None = None,
    error: Problem | None = None,
    thresholds: Thresholds = THRESHOLDS,
    reference: str = "",
) -> ImageReport:
    """An image report whose counts, breaches and status follow from its findings (the
    way the engine derives them), unless ``status`` says otherwise."""
    raw = count_findings(findings or (), include_ignored=True)
    counts = count_findings(findings or ())
    breaches = thresholds.evaluate(counts) if status is None else ()
    if status is None:
        status = ImageStatus.BREACH if breaches else ImageStatus.OK
    if state is None and status in (ImageStatus.OK, ImageStatus.BREACH):
        state = scanned(30, raw)
    return ImageReport(
        image=Image(
            repository=repository,
            registry_id=ACCOUNT,
            digest=digest(repository),
            tags=tags,
            pushed_at=NOW - timedelta(days=3),
        ),
        state=state,
        status=status,
        counts=counts if status in (ImageStatus.OK, ImageStatus.BREACH) else {},
        raw_counts=raw if status in (ImageStatus.OK, ImageStatus.BREACH) else {},
        findings=findings,
        breaches=breaches,
        error=error,
        reference=reference,
        account=ACCOUNT,
        region=REGION,
    )


CRITICAL_OPENSSL = Finding(
    id="CVE-2024-1111",
    severity=Severity.CRITICAL,
    package="openssl",
    version="3.0.1-1",
    fixed_in="3.0.13-1",
    score=9.8,
    fix_available="YES",
    title='CVE-2024-1111 - openssl <buffer> overflow | "quoted" & more',
    url="https://nvd.nist.gov/vuln/detail/CVE-2024-1111",
    description="A buffer overflow in openssl.\nSecond line.",
    arn="arn:aws:inspector2:us-east-1:123456789012:finding/0123abcd",
)
HIGH_ZLIB = Finding(
    id="CVE-2024-2222",
    severity=Severity.HIGH,
    package="zlib",
    version="1.2.11",
    score=7.5,
    url="https://security-tracker.debian.org/tracker/CVE-2024-2222",
)
HIGH_CURL = Finding(id="CVE-2024-3333", severity=Severity.HIGH, package="curl", version="7.88.1")
MEDIUM_BASH = Finding(
    id="CVE-2022-0001", severity=Severity.MEDIUM, package="bash", version="5.1", score=5.5
)
INFO_TZDATA = Finding(
    id="CVE-2020-9999", severity=Severity.INFORMATIONAL, package="tzdata", version="2024a"
)
IGNORED_HIGH = Finding(
    id="CVE-2023-1234",
    severity=Severity.HIGH,
    package="libxml2",
    version="2.9.14",
    score=8.1,
    ignored="not reachable: no XML parsing",
)


def sample_result(details: bool = True) -> ReportResult:
    images = (
        report("team/api", ("1.4.2", "latest"), (MEDIUM_BASH, INFO_TZDATA)),
        report(
            "team/web",
            ("2.0",),
            (CRITICAL_OPENSSL, HIGH_ZLIB, HIGH_CURL, MEDIUM_BASH),
            reference="team/web:2.0",
        ),
        report("team/worker", ("stable",), (IGNORED_HIGH, MEDIUM_BASH)),
        report("legacy/app", (), None, state=NEVER_SCANNED, status=ImageStatus.NO_SCAN),
        report(
            "team/broken",
            ("v1",),
            None,
            status=ImageStatus.ERROR,
            error=Problem("AccessDeniedException", 'not allowed <here> & "there"'),
        ),
    )
    return ReportResult(
        images=images, thresholds=THRESHOLDS, generated_at=NOW, region=REGION, details=details
    )


def ok_result() -> ReportResult:
    return ReportResult(
        images=(report("team/api", ("1.4.2",), (MEDIUM_BASH,)),),
        thresholds=THRESHOLDS,
        generated_at=NOW,
        region=REGION,
        details=True,
    )


# Values an attacker could put in a repository, a tag, a finding or an AWS message.
HOSTILE_REPO = "<script>window.pwned=1</script>team/app"
HOSTILE_TAG = "\"'><img src=x onerror=alert(1)>"
ESC_TITLE = "\x1b[31mred\x1b[0m </td></tr></table><script>alert(2)</script>"


def hostile_result() -> ReportResult:
    findings = (
        Finding(
            id='CVE-2025-0001"><b>',
            severity=Severity.CRITICAL,
            package="<pkg onload=x>",
            version="1.0'\"",
            fixed_in="</code><img src=//evil.example/x.png>",
            title=ESC_TITLE,
            url="javascript:alert(3)",
        ),
        Finding(
            id="CVE-2025-0002",
            severity=Severity.HIGH,
            url='https://example.com/a"onmouseover="alert(4)',
            remediation="<style>@import url(https://evil.example/x.css)</style>",
        ),
        Finding(id="GHSA-xxxx-yyyy-zzzz", severity=Severity.LOW, ignored="<i>waived</i> & done"),
    )
    bad = report(HOSTILE_REPO, (HOSTILE_TAG,), findings)
    broken = report(
        "team/<broken>",
        (),
        None,
        status=ImageStatus.ERROR,
        error=Problem("AccessDenied", "\x1b]0;title\x07 <script>alert(5)</script>"),
    )
    return ReportResult(
        (bad, broken),
        THRESHOLDS,
        NOW,
        region="us-east-1",
        notices=("notice <script>alert(6)</script>",),
        repository_errors=(("repo<x>", Problem("Throttled", "<b>slow</b>")),),
        details=True,
    )
