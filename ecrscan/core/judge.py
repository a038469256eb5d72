"""The judgement of one image (pure): its findings (or only its severity counts)
against the thresholds and the gates on what matters, and the reasons of the verdict.

The gates (``--ignore-unfixed``, ``--exploitable``, ``--min-epss``) mark the findings
that do not count, as the ignore file does, with the reason; the thresholds judge what
is left.  ``--fail-on-kev`` is a rule of its own: a finding CISA lists as known
exploited breaches whatever its severity, the thresholds and the other gates; only the
ignore file (a finding accepted by name, marked before :func:`judge` is called) takes
it out.  A fact nobody gave (no EPSS score, a basic scan's silence on exploits and
fixes) never hides a finding: it counts.

Every verdict says which rule made it: ``HIGH 3 > 0``, ``KEV: CVE-2025-0002, due
2026-12-11``.  ``ecrscan fixes`` re-judges an image without one package's findings
with this same function.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from ecrscan.core.findings import count_findings
from ecrscan.core.model import Finding
from ecrscan.core.severity import Breach, Severity
from ecrscan.core.thresholds import Thresholds
from ecrscan.core.words import plural

UNFIXED = "no fix available (--ignore-unfixed)"
NOT_EXPLOITABLE = "no exploit available (--exploitable)"


@dataclass(frozen=True)
class Gates:
    """The gates on what matters, as the options gave them."""

    fail_on_kev: bool = False  # a KEV-listed finding is a breach
    min_epss: float | None = None  # findings scored below it do not count
    exploitable: bool = False  # only findings with an exploit available count
    ignore_unfixed: bool = False  # findings with no fix available do not count

    def __bool__(self) -> bool:
        return (
            self.fail_on_kev
            or self.min_epss is not None
            or self.exploitable
            or (self.ignore_unfixed)
        )

    def mark(self, finding: Finding) -> Finding:
        """``finding`` marked ignored with the first gate that takes it out of the
        counts (unchanged when already ignored, or when every gate lets it count)."""
        if finding.ignored is not None:
            return finding
        if self.ignore_unfixed and finding.fix_available == "NO":
            return replace(finding, ignored=UNFIXED)
        if self.exploitable and finding.exploit_available == "NO":
            return replace(finding, ignored=NOT_EXPLOITABLE)
        if self.min_epss is not None and finding.epss is not None and finding.epss < self.min_epss:
            return replace(finding, ignored=epss_reason(finding.epss, self.min_epss))
        return finding


NO_GATES = Gates()


def parse_min_epss(text: str | None) -> float | None:
    """``--min-epss``: a probability, 0 to 1 (``None``: not given)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:  # NaN too
        raise ValueError(f"{text!r} is not a number from 0 to 1")
    return value


def epss_reason(score: float, minimum: float) -> str:
    return f"EPSS {score:g} below {minimum:g} (--min-epss)"


@dataclass(frozen=True)
class Judgement:
    """One image judged: the counts the thresholds saw (``raw_counts``: before the
    ignore file and the gates), the findings as marked, the threshold breaches, the
    KEV findings that breach, and the reasons of the verdict (none: within limits)."""

    counts: dict[str, int]
    raw_counts: dict[str, int]
    findings: tuple[Finding, ...] | None
    breaches: tuple[Breach, ...] = ()
    kev: tuple[Finding, ...] = ()
    reasons: tuple[str, ...] = field(default=())

    @property
    def breached(self) -> bool:
        return bool(self.breaches or self.kev)


def judge(
    thresholds: Thresholds,
    gates: Gates = NO_GATES,
    *,
    findings: Iterable[Finding] | None = None,
    counts: Mapping[str, int] | None = None,
) -> Judgement:
    """Judge one image.  ``findings``: every finding read, those the ignore file
    accepts already marked (``None``: not read; the gates then cannot apply and the
    counts alone are judged).  ``counts``: the scanner's severity counts, before any
    ignore; empty or ``None`` with findings: the findings are counted.  To judge an
    image without some of its findings (``ecrscan fixes``), pass the others and no
    counts."""
    raw = dict(counts or {})
    marked: tuple[Finding, ...] | None = None
    kev: tuple[Finding, ...] = ()
    judged = raw
    if findings is not None:
        given = tuple(findings)
        marked = tuple(gates.mark(f) for f in given)
        if not raw:
            raw = count_findings(marked, include_ignored=True)
        judged = subtract(raw, [f for f in marked if f.ignored is not None])
        if gates.fail_on_kev:
            kev = tuple(f for f in given if f.kev is not None and f.ignored is None)
    breaches = thresholds.evaluate(judged)
    reasons = tuple(breach_reason(b) for b in breaches) + kev_reasons(kev)
    return Judgement(judged, raw, marked, breaches, kev, reasons)


def breach_reason(breach: Breach) -> str:
    return f"{breach.severity.value} {breach.count} > {breach.threshold}"


def kev_reasons(findings: Iterable[Finding]) -> tuple[str, ...]:
    """One reason per KEV-listed CVE, soonest due first: ``KEV: CVE-…, due …``."""
    entries = {f.kev.cve: f.kev for f in findings if f.kev is not None}
    ordered = sorted(entries.values(), key=lambda e: (e.due_date, e.cve))
    return tuple(f"KEV: {e.cve}, due {e.due_date.isoformat()}" for e in ordered)


def subtract(counts: Mapping[str, int], ignored: Iterable[Finding]) -> dict[str, int]:
    """``counts`` less the ignored findings, per severity (never below zero)."""
    result = dict(counts)
    for finding in ignored:
        name = finding.severity.value
        if name in result:
            result[name] = max(0, result[name] - 1)
    return {k: v for k, v in result.items() if v or k not in {s.value for s in Severity}}


def unknown_facts(gates: Gates, findings: Iterable[Finding]) -> tuple[str, ...]:
    """The notices of a run whose gates met findings that do not say what they ask
    (they count): no EPSS score under ``--min-epss``, no word on exploits (basic
    scans) under ``--exploitable``."""
    counted = [f for f in findings if f.ignored is None]
    notices = []
    if gates.exploitable:
        silent = sum(1 for f in counted if not f.exploit_available)
        if silent:
            notices.append(
                f"--exploitable: {plural(silent, 'finding')} with no word on exploits "
                "(basic scans) counted"
            )
    if gates.min_epss is not None:
        unscored = sum(1 for f in counted if f.epss is None)
        if unscored:
            notices.append(f"--min-epss: {plural(unscored, 'finding')} with no EPSS score counted")
    return tuple(notices)
