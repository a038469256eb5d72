"""Issue 20, item 3: the fix plan ranks package upgrades by the threshold breaches each
clears alone (pure; properties with hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ecrscan.core.feeds import KevEntry
from ecrscan.core.findings import count_findings
from ecrscan.core.fixplan import highest_version, make_plan, plan_fixes, threshold_judge
from ecrscan.core.judge import NO_GATES, Gates, judge
from ecrscan.core.model import Finding, Image, ImageReport, ImageStatus, ReportResult
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds

NOW = datetime(2026, 12, 7, tzinfo=UTC)
HIGH_GATE = Thresholds().fail_on(Severity.HIGH)


def judged(name: str, findings: list[Finding], thresholds: Thresholds = HIGH_GATE) -> ImageReport:
    """An image judged as the report engine judges it: on its counted findings."""
    counts = count_findings(findings)
    breaches = thresholds.evaluate(counts)
    return ImageReport(
        image=Image(repository=name, registry_id="123456789012", digest="sha256:" + name),
        state=None,
        status=ImageStatus.BREACH if breaches else ImageStatus.OK,
        counts=counts,
        findings=tuple(findings),
        breaches=breaches,
    )


def vuln(cve: str, package: str, severity: Severity = Severity.HIGH, **more: object) -> Finding:
    return Finding(id=cve, severity=severity, package=package, version="1.0", **more)  # type: ignore[arg-type]


def test_a_package_breaching_alone_clears_its_images_and_ranks_first() -> None:
    alone = [judged(f"alone{i}", [vuln("CVE-2026-0001", "openssl")]) for i in range(3)]
    both = [
        judged(f"both{i}", [vuln("CVE-2026-0001", "openssl"), vuln("CVE-2026-0002", "zlib")])
        for i in range(2)
    ]
    low = [judged("low", [vuln("CVE-2026-0003", "bash", Severity.LOW)])]
    rows = plan_fixes([*alone, *both, *low], threshold_judge(HIGH_GATE))
    table = {r.package: (r.breaches_cleared, r.images_affected) for r in rows}
    assert table == {"openssl": (3, 5), "zlib": (0, 2), "bash": (0, 1)}
    assert [r.package for r in rows] == ["openssl", "zlib", "bash"]


def test_ties_go_to_images_affected_then_severity_then_name() -> None:
    reports = [
        judged("a", [vuln("CVE-1", "b-pkg", Severity.LOW)]),
        judged("b", [vuln("CVE-2", "a-pkg", Severity.LOW)]),
        judged("c", [vuln("CVE-3", "c-pkg", Severity.MEDIUM)]),
        judged("d", [vuln("CVE-4", "z-pkg", Severity.LOW)]),
        judged("e", [vuln("CVE-4", "z-pkg", Severity.LOW)]),
    ]
    rows = plan_fixes(reports, threshold_judge(HIGH_GATE))
    assert [r.package for r in rows] == ["z-pkg", "c-pkg", "a-pkg", "b-pkg"]


def test_ignored_findings_belong_to_no_row() -> None:
    report = judged("a", [vuln("CVE-1", "openssl", ignored="accepted")])
    assert plan_fixes([report], threshold_judge(HIGH_GATE)) == ()


def test_a_row_carries_the_facts_of_its_findings() -> None:
    kev = KevEntry("CVE-2", NOW.date(), NOW.date(), "Unknown")
    report = judged(
        "a",
        [
            vuln("CVE-2", "openssl", Severity.CRITICAL, fixed_in="1.10", epss=0.2, kev=kev),
            vuln("CVE-1", "openssl", Severity.LOW, fixed_in="1.9", epss=0.7),
        ],
    )
    (row,) = plan_fixes([report], threshold_judge(HIGH_GATE))
    assert (row.fixed_version, row.severity, row.cves, row.kev, row.epss_max) == (
        "1.10",
        Severity.CRITICAL,
        ("CVE-1", "CVE-2"),
        True,
        0.7,
    )


def test_in_use_scope_counts_every_affected_image_in_use() -> None:
    result = ReportResult(
        images=(judged("a", [vuln("CVE-1", "x")]),), thresholds=HIGH_GATE, generated_at=NOW
    )
    assert make_plan(result).fixes[0].images_in_use is None
    assert make_plan(result, in_use_scope=True).fixes[0].images_in_use == 1


def test_highest_version_compares_numbers_as_numbers() -> None:
    assert highest_version(["1.9", "", "1.10", "1.2"]) == "1.10"
    assert highest_version(["", ""]) == ""
    assert highest_version(["1:2.0-3", "1:2.0-12"]) == "1:2.0-12"


# -- properties ----------------------------------------------------------------------

PACKAGES = ("openssl", "zlib", "bash", "curl")
SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)

findings_st = st.lists(
    st.builds(
        vuln,
        st.sampled_from(["CVE-1", "CVE-2", "CVE-3"]),
        st.sampled_from(PACKAGES),
        st.sampled_from(SEVERITIES),
    ),
    max_size=6,
)
thresholds_st = st.builds(
    lambda limits: Thresholds(dict(zip(SEVERITIES, limits, strict=True))),
    st.tuples(*[st.one_of(st.none(), st.integers(0, 2)) for _ in SEVERITIES]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(findings_st, max_size=5), thresholds_st)
def test_breaches_cleared_never_exceed_images_affected(
    images: list[list[Finding]], thresholds: Thresholds
) -> None:
    reports = [judged(f"r{i}", f, thresholds) for i, f in enumerate(images)]
    rows = plan_fixes(reports, threshold_judge(thresholds))
    for row in rows:
        assert 0 <= row.breaches_cleared <= row.images_affected
        assert row.breaches_cleared <= sum(r.status is ImageStatus.BREACH for r in reports)
    assert list(rows) == sorted(
        rows,
        key=lambda r: (
            -r.breaches_cleared,
            -r.images_affected,
            -r.severity.rank,
            r.package,
            r.installed_version,
        ),
    )


@settings(max_examples=150, deadline=None)
@given(findings_st, thresholds_st)
def test_an_image_breaching_only_through_one_package_counts_for_it(
    findings: list[Finding], thresholds: Thresholds
) -> None:
    report = judged("one", findings, thresholds)
    rows = plan_fixes([report], threshold_judge(thresholds))
    for row in rows:
        rest = [f for f in findings if f.package != row.package]
        alone = report.status is ImageStatus.BREACH and not thresholds.evaluate(
            count_findings(rest)
        )
        assert row.breaches_cleared == int(alone)


@settings(max_examples=100, deadline=None)
@given(findings_st, thresholds_st)
def test_removing_every_finding_of_an_image_clears_it(
    findings: list[Finding], thresholds: Thresholds
) -> None:
    report = judged("one", findings, thresholds)
    assert not threshold_judge(thresholds)(report, [])
    if report.status is ImageStatus.BREACH and len({f.package for f in findings}) == 1:
        (row,) = plan_fixes([report], threshold_judge(thresholds))
        assert row.breaches_cleared == 1


# The gates on what matters (issue 20, item 2) through the plan: the report's own judge.
CRITICAL_GATE = Thresholds().fail_on(Severity.CRITICAL)
KEV = KevEntry("CVE-2026-0009", datetime(2026, 11, 1).date(), datetime(2026, 12, 11).date())


def gated(name: str, findings: list[Finding], gates: Gates) -> ImageReport:
    """An image judged by :func:`ecrscan.core.judge.judge` under ``gates``."""
    verdict = judge(CRITICAL_GATE, gates, findings=findings)
    return ImageReport(
        image=Image(repository=name, registry_id="123456789012", digest="sha256:" + name),
        state=None,
        status=ImageStatus.BREACH if verdict.breached else ImageStatus.OK,
        counts=verdict.counts,
        findings=verdict.findings,
        breaches=verdict.breaches,
    )


def test_fail_on_kev_makes_the_kev_package_clear_its_breaches() -> None:
    """A HIGH KEV finding under --fail-on CRITICAL breaches only with --fail-on-kev; then
    upgrading its package clears the image, and the other package clears nothing."""
    gates = Gates(fail_on_kev=True)
    reports = [
        gated(f"img{i}", [vuln("CVE-2026-0009", "openssl", kev=KEV), vuln("CVE-1", "zlib")], gates)
        for i in range(3)
    ]
    rows = plan_fixes(reports, threshold_judge(CRITICAL_GATE, gates), gates)
    table = {r.package: (r.breaches_cleared, r.images_affected, r.kev) for r in rows}
    assert table == {"openssl": (3, 3, True), "zlib": (0, 3, False)}
    without = [gated("img", [vuln("CVE-2026-0009", "openssl", kev=KEV)], NO_GATES)]
    assert all(r.breaches_cleared == 0 for r in plan_fixes(without, threshold_judge(CRITICAL_GATE)))


def test_a_kev_finding_a_gate_left_out_still_breaches_when_another_package_goes() -> None:
    """--fail-on-kev outranks --min-epss: a KEV finding scored below the floor keeps its
    image breaching, so upgrading another package clears nothing, its own package does."""
    gates = Gates(fail_on_kev=True, min_epss=0.5)
    kev_low_epss = vuln("CVE-2026-0009", "openssl", kev=KEV, epss=0.01)
    report = gated("img", [kev_low_epss, vuln("CVE-1", "zlib", Severity.CRITICAL)], gates)
    assert report.findings is not None and report.findings[0].ignored  # left out by the gate
    rows = plan_fixes([report], threshold_judge(CRITICAL_GATE, gates), gates)
    assert {r.package: r.breaches_cleared for r in rows} == {"openssl": 0, "zlib": 0}
    (alone,) = plan_fixes(
        [gated("img", [kev_low_epss], gates)], threshold_judge(CRITICAL_GATE, gates), gates
    )
    assert (alone.package, alone.breaches_cleared) == ("openssl", 1)


def test_a_package_whose_findings_are_all_below_the_epss_gate_clears_nothing() -> None:
    gates = Gates(min_epss=0.5)
    reports = [
        gated("a", [vuln("CVE-1", "bash", Severity.CRITICAL, epss=0.02)], gates),
        gated("b", [vuln("CVE-2", "curl", Severity.CRITICAL, epss=0.9)], gates),
    ]
    rows = plan_fixes(reports, threshold_judge(CRITICAL_GATE, gates), gates)
    assert {r.package: r.breaches_cleared for r in rows} == {"curl": 1, "bash": 0}
    assert [r.package for r in rows] == ["curl", "bash"]


def test_findings_ignore_unfixed_leaves_out_belong_to_no_row() -> None:
    gates = Gates(ignore_unfixed=True)
    report = gated("a", [vuln("CVE-1", "bash", Severity.CRITICAL, fix_available="NO")], gates)
    assert plan_fixes([report], threshold_judge(CRITICAL_GATE, gates), gates) == ()
