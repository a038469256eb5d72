"""The fix plan of ``ecrscan fixes`` (pure): the judged images' counted findings grouped
by package and installed version, each group ranked by the breaches its upgrade alone
would clear.

A group's **breaches cleared** is the number of images that breach today and would be
within their thresholds without that group's findings: each such image is judged again
(:data:`StillBreaches`, the report's own judge, :func:`ecrscan.core.judge.judge`, with
its thresholds and gates) on the findings left.  An image breaching through two packages
is cleared by neither alone.  Findings the ignore file accepts or ``--ignore-unfixed``
leaves out belong to no group (they need no fix); findings ``--min-epss`` or
``--exploitable`` leave out stay in their group (which clears no breach through them,
unless ``--fail-on-kev`` makes one of them a breach).

Rows are ranked by breaches cleared, then images affected, then worst severity (all
descending), then package name and installed version.  The judgement used to re-judge is
one function, :func:`threshold_judge`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from ecrscan.core.exits import EXIT_INCOMPLETE, EXIT_OK
from ecrscan.core.judge import NO_GATES, UNFIXED, Gates, judge
from ecrscan.core.model import Finding, ImageReport, ImageStatus, ReportResult
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds
from ecrscan.core.view import View, complete

# (image report, its counted findings left once a package is upgraded) -> breaches still
StillBreaches = Callable[[ImageReport, Sequence[Finding]], bool]

PackageKey = tuple[str, str]  # (package, installed version)


def threshold_judge(thresholds: Thresholds, gates: Gates = NO_GATES) -> StillBreaches:
    """The one re-judge of the fix plan: the report's judge (``thresholds`` and
    ``gates``) on the findings left, as they were before the gates marked them."""

    def still_breaches(report: ImageReport, remaining: Sequence[Finding]) -> bool:
        unmarked = (_unmarked(f, gates) for f in remaining)
        return judge(thresholds, gates, findings=unmarked).breached

    return still_breaches


def _unmarked(finding: Finding, gates: Gates) -> Finding:
    """``finding`` as it was before the gates: a finding a gate left out is judged
    again (the ignore file's marks stay)."""
    if finding.ignored is None:
        return finding
    bare = replace(finding, ignored=None)
    return bare if gates.mark(bare).ignored == finding.ignored else finding


def judged(report: ImageReport, gates: Gates = NO_GATES) -> tuple[Finding, ...]:
    """The findings of a judged image its judge sees: all but those the ignore file
    accepts (a finding a gate left out is still judged: ``--fail-on-kev``)."""
    if report.status not in (ImageStatus.OK, ImageStatus.BREACH) or report.findings is None:
        return ()
    return tuple(f for f in report.findings if _unmarked(f, gates).ignored is None)


@dataclass(frozen=True, slots=True)
class FixImage:
    """One image a package's findings are in."""

    report: ImageReport
    breaches: bool  # the image breaches today
    cleared: bool  # ... and would not without this package's findings


@dataclass(frozen=True, slots=True)
class Fix:
    """One row of the plan: upgrade ``package`` from ``installed_version``."""

    package: str
    installed_version: str
    fixed_version: str  # "" when no finding names one
    severity: Severity  # the worst of its counted findings
    cves: tuple[str, ...]
    kev: bool  # one of its CVEs is in CISA's KEV catalogue
    epss_max: float | None
    images: tuple[FixImage, ...]
    images_in_use: int | None = None  # None: not known

    @property
    def breaches_cleared(self) -> int:
        return sum(1 for i in self.images if i.cleared)

    @property
    def images_affected(self) -> int:
        return len(self.images)


@dataclass(frozen=True, slots=True)
class FixPlan:
    """The report the plan was made from, and its rows, best first."""

    report: ReportResult
    fixes: tuple[Fix, ...]
    in_use_scope: bool = False  # every image in scope is in use (--in-use)

    @property
    def breaching(self) -> int:
        return len(self.report.breached)


def plan_fixes(
    reports: Iterable[ImageReport], still_breaches: StillBreaches, gates: Gates = NO_GATES
) -> tuple[Fix, ...]:
    """The rows of the plan for the judged ``reports``, best first."""
    groups: dict[PackageKey, list[Finding]] = {}
    images: dict[PackageKey, list[FixImage]] = {}
    for report in reports:
        findings = judged(report, gates)
        fixable = [f for f in findings if f.ignored != UNFIXED]
        keys = dict.fromkeys((f.package, f.version) for f in fixable)
        breaches = report.status is ImageStatus.BREACH
        for key in keys:
            mine = [f for f in fixable if (f.package, f.version) == key]
            rest = [f for f in findings if not any(f is m for m in mine)]
            cleared = breaches and not still_breaches(report, rest)
            groups.setdefault(key, []).extend(mine)
            images.setdefault(key, []).append(FixImage(report, breaches, cleared))
    fixes = [_fix(key, groups[key], images[key]) for key in groups]
    return tuple(sorted(fixes, key=rank))


def rank(fix: Fix) -> tuple[int, int, int, str, str]:
    """The sort key of a row: more breaches cleared, more images, worse severity first."""
    return (
        -fix.breaches_cleared,
        -fix.images_affected,
        -fix.severity.rank,
        fix.package,
        fix.installed_version,
    )


def make_plan(result: ReportResult, in_use_scope: bool = False, gates: Gates = NO_GATES) -> FixPlan:
    """The plan of a report, re-judging with its thresholds; ``in_use_scope``: the report
    covers only images in use (each affected image is one; otherwise the images in use
    are those Amazon Inspector's ``inUseCount`` says run, where it gave one)."""
    fixes = plan_fixes(result.images, threshold_judge(result.thresholds, gates), gates)
    if in_use_scope:
        fixes = tuple(_in_use(fix) for fix in fixes)
    return FixPlan(result, fixes, in_use_scope)


def _in_use(fix: Fix) -> Fix:
    return replace(fix, images_in_use=fix.images_affected)


def _fix(key: PackageKey, findings: list[Finding], images: list[FixImage]) -> Fix:
    scores = [f.epss for f in findings if f.epss is not None]
    return Fix(
        package=key[0],
        installed_version=key[1],
        fixed_version=highest_version(f.fixed_in for f in findings),
        severity=max((f.severity for f in findings), key=lambda s: s.rank),
        cves=tuple(sorted({f.id for f in findings})),
        kev=any(f.kev is not None for f in findings),
        epss_max=max(scores) if scores else None,
        images=tuple(images),
        images_in_use=_in_use_count(images),
    )


def _in_use_count(images: list[FixImage]) -> int | None:
    """The images Amazon Inspector counts running containers of (``inUseCount`` > 0);
    ``None`` when it gave the count of none of them."""
    known = [i.report.image.in_use_count for i in images]
    counts = [n for n in known if n is not None]
    return sum(1 for n in counts if n > 0) if counts else None


_PART = re.compile(r"\d+|[^\d.:~+-]+")


def highest_version(versions: Iterable[str]) -> str:
    """The highest of the non-empty ``versions`` (numbers compared as numbers), the one
    that fixes every finding that names one; "" when none does."""
    named = sorted({v for v in versions if v})
    if not named:
        return ""
    return max(named, key=_version_key)


def _version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part) for part in _PART.findall(version)
    )


def plan_exit_code(plan: FixPlan, view: View) -> int:
    """``fixes`` is a plan, not a gate: 0 when it covers the whole scope (breaches are
    its input, never its failure), 3 when the report under it is incomplete (or empty
    without ``--allow-empty``), as ``report`` says."""
    return EXIT_OK if complete(plan.report, view) else EXIT_INCOMPLETE
