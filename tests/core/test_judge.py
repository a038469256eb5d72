"""The judgement of one image (``core.judge.judge``): the thresholds and the gates on
what matters, each verdict with the rules that made it; properties over any findings."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from ecrscan.core.feeds import KevEntry
from ecrscan.core.judge import (
    NO_GATES,
    NOT_EXPLOITABLE,
    UNFIXED,
    Gates,
    judge,
    unknown_facts,
)
from ecrscan.core.model import Finding
from ecrscan.core.severity import Breach, Severity
from ecrscan.core.thresholds import Thresholds

KEV = KevEntry("CVE-2025-0002", date(2026, 11, 20), date(2026, 12, 11))
CRITICAL_ONLY = Thresholds().fail_on(Severity.CRITICAL)
DEFAULTS = Thresholds()


def finding(
    cve: str = "CVE-2025-0001", severity: Severity = Severity.HIGH, **facts: object
) -> Finding:
    return Finding(id=cve, severity=severity, **facts)  # type: ignore[arg-type]


def test_a_kev_finding_breaches_whatever_the_thresholds_and_the_reason_names_it() -> None:
    high = finding("CVE-2025-0002", kev=KEV)
    assert not judge(CRITICAL_ONLY, findings=[high]).breached  # without the gate
    verdict = judge(CRITICAL_ONLY, Gates(fail_on_kev=True), findings=[high])
    assert verdict.breached and verdict.breaches == ()
    assert verdict.reasons == ("KEV: CVE-2025-0002, due 2026-12-11",)
    assert verdict.kev == (high,)


def test_a_kev_finding_the_ignore_file_accepts_does_not_breach_but_the_gates_do_not_hide_it() -> (
    None
):
    accepted = finding("CVE-2025-0002", kev=KEV, ignored="not reachable")
    assert not judge(DEFAULTS, Gates(fail_on_kev=True), findings=[accepted]).breached
    low_epss = finding("CVE-2025-0002", kev=KEV, epss=0.01, exploit_available="NO")
    gates = Gates(fail_on_kev=True, min_epss=0.5, exploitable=True)
    verdict = judge(CRITICAL_ONLY, gates, findings=[low_epss])
    assert verdict.counts.get("HIGH", 0) == 0  # out of the counts ...
    assert verdict.reasons == ("KEV: CVE-2025-0002, due 2026-12-11",)  # ... still KEV


def test_threshold_reasons_come_first_most_severe_first() -> None:
    findings = [finding(severity=Severity.HIGH)] * 3 + [
        finding("CVE-2025-0002", Severity.CRITICAL, kev=KEV)
    ]
    verdict = judge(DEFAULTS, Gates(fail_on_kev=True), findings=findings)
    assert verdict.reasons == ("CRITICAL 1 > 0", "HIGH 3 > 0", "KEV: CVE-2025-0002, due 2026-12-11")


def test_min_epss_marks_the_findings_below_it_with_the_reason_and_counts_the_unscored() -> None:
    low, high, unknown = finding(epss=0.01), finding(epss=0.4), finding()
    verdict = judge(DEFAULTS, Gates(min_epss=0.1), findings=[low, high, unknown])
    assert [f.ignored for f in verdict.findings or ()] == [
        "EPSS 0.01 below 0.1 (--min-epss)",
        None,
        None,
    ]
    assert verdict.counts["HIGH"] == 2 and verdict.raw_counts["HIGH"] == 3
    assert verdict.breaches == (Breach(Severity.HIGH, 2, 0),)
    assert unknown_facts(Gates(min_epss=0.1), verdict.findings or ()) == (
        "--min-epss: 1 finding with no EPSS score counted",
    )


def test_exploitable_counts_yes_and_the_basic_scans_silence() -> None:
    no, yes, basic = (
        finding(exploit_available="NO"),
        finding(exploit_available="YES"),
        finding(),
    )
    verdict = judge(DEFAULTS, Gates(exploitable=True), findings=[no, yes, basic])
    assert [f.ignored for f in verdict.findings or ()] == [NOT_EXPLOITABLE, None, None]
    assert verdict.counts["HIGH"] == 2
    assert unknown_facts(Gates(exploitable=True), verdict.findings or ()) == (
        "--exploitable: 1 finding with no word on exploits (basic scans) counted",
    )
    assert unknown_facts(NO_GATES, verdict.findings or ()) == ()


def test_the_first_reason_wins_and_the_ignore_files_is_kept() -> None:
    both = finding(fix_available="NO", exploit_available="NO")
    [marked] = (
        judge(DEFAULTS, Gates(ignore_unfixed=True, exploitable=True), findings=[both]).findings
        or ()
    )
    assert marked.ignored == UNFIXED
    accepted = replace(both, ignored="accepted")
    [kept] = judge(DEFAULTS, Gates(ignore_unfixed=True), findings=[accepted]).findings or ()
    assert kept.ignored == "accepted"


def test_the_summary_counts_less_the_marked_findings() -> None:
    verdict = judge(
        DEFAULTS,
        Gates(min_epss=0.5),
        findings=[finding(epss=0.1)],
        counts={"HIGH": 4, "TOTAL": 4},
    )
    assert verdict.counts == {"HIGH": 3, "TOTAL": 4} and verdict.raw_counts == {
        "HIGH": 4,
        "TOTAL": 4,
    }


def test_counts_alone_judge_by_the_thresholds_and_the_gates_cannot_apply() -> None:
    verdict = judge(DEFAULTS, Gates(fail_on_kev=True, min_epss=0.9), counts={"LOW": 2})
    assert verdict.findings is None and verdict.reasons == ("LOW 2 > 0",)


# -- properties ------------------------------------------------------------------------

FINDINGS = st.lists(
    st.builds(
        Finding,
        id=st.sampled_from(["CVE-2025-0001", "CVE-2025-0002", "CVE-2024-9"]),
        severity=st.sampled_from(list(Severity)),
        fix_available=st.sampled_from(["", "YES", "NO", "PARTIAL"]),
        exploit_available=st.sampled_from(["", "YES", "NO"]),
        epss=st.none() | st.floats(0, 1),
        kev=st.none() | st.just(KEV),
        ignored=st.none() | st.just("accepted"),
    ),
    max_size=12,
)
THRESHOLDS = st.builds(
    Thresholds,
    st.fixed_dictionaries({s: st.none() | st.integers(0, 3) for s in Severity}),
)
GATES = st.builds(
    Gates,
    fail_on_kev=st.booleans(),
    min_epss=st.none() | st.floats(0, 1),
    exploitable=st.booleans(),
    ignore_unfixed=st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(FINDINGS, THRESHOLDS, GATES, st.sampled_from(["min_epss", "exploitable", "ignore_unfixed"]))
def test_adding_a_counting_gate_never_adds_a_breach(findings, thresholds, gates, extra) -> None:
    # a gate set, or made stricter (a higher --min-epss)
    value = max(gates.min_epss or 0.0, 0.5) if extra == "min_epss" else True
    before = judge(thresholds, gates, findings=findings)
    after = judge(thresholds, replace(gates, **{extra: value}), findings=findings)
    for breach in after.breaches:
        earlier = {b.severity: b for b in before.breaches}
        assert breach.severity in earlier and breach.count <= earlier[breach.severity].count
    assert after.kev == before.kev
    assert not after.breached or before.breached


@settings(max_examples=200, deadline=None)
@given(FINDINGS, THRESHOLDS, GATES)
def test_min_epss_zero_changes_nothing(findings, thresholds, gates) -> None:
    unset = judge(thresholds, replace(gates, min_epss=None), findings=findings)
    assert judge(thresholds, replace(gates, min_epss=0.0), findings=findings) == unset


@settings(max_examples=200, deadline=None)
@given(FINDINGS, THRESHOLDS, GATES)
def test_fail_on_kev_only_adds_kev_reasons(findings, thresholds, gates) -> None:
    without = judge(thresholds, replace(gates, fail_on_kev=False), findings=findings)
    with_kev = judge(thresholds, replace(gates, fail_on_kev=True), findings=findings)
    assert with_kev.breaches == without.breaches and with_kev.counts == without.counts
    listed = {f.kev.cve for f in findings if f.kev is not None and f.ignored is None}
    assert [r for r in with_kev.reasons if r.startswith("KEV")] == [
        f"KEV: {cve}, due 2026-12-11" for cve in sorted(listed)
    ]
    assert with_kev.breached == (without.breached or bool(listed))


@settings(max_examples=200, deadline=None)
@given(FINDINGS, THRESHOLDS, GATES)
def test_a_verdict_breaches_exactly_when_it_has_reasons(findings, thresholds, gates) -> None:
    verdict = judge(thresholds, gates, findings=findings)
    assert verdict.breached == bool(verdict.reasons)
    assert len(verdict.findings or ()) == len(findings)
    assert sum(v for k, v in verdict.counts.items() if k != "TOTAL") == sum(
        1 for f in verdict.findings or () if f.ignored is None
    )
