"""Small pure helpers the ``report`` output formats share: labels, ages, verdict texts,
severity columns and totals, so every format says the same thing the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from ecrscan.core.model import (
    Finding,
    Image,
    ImageReport,
    ImageStatus,
    ReportResult,
    RescanResult,
    ScanState,
)
from ecrscan.core.severity import Breach, Severity
from ecrscan.core.thresholds import DEFAULT_LEVELS
from ecrscan.core.view import View, complete
from ecrscan.core.words import plural

STATUS_ORDER = tuple(ImageStatus)

HINT_NO_SCAN = "run `ecrscan rescan` or use --wait"
HINT_NO_SCAN_WAITED = "run `ecrscan rescan`"  # --wait was given: waiting did not help


def count(counts: Mapping[str, int], severity: Severity) -> int:
    try:
        return int(counts.get(severity.value, 0) or 0)
    except (TypeError, ValueError):
        return 0


def severity_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Every severity, in order, with its count (0 when absent); other keys such as
    Inspector's ``TOTAL`` are dropped."""
    return {s.value: count(counts, s) for s in Severity}


def severity_columns(result: ReportResult) -> list[Severity]:
    """The levels worth a column: the default four, any with a threshold, any with
    findings in some image (before or after ignore rules)."""
    shown = []
    for severity in Severity:
        if (
            severity in DEFAULT_LEVELS
            or result.thresholds.limit(severity) is not None
            or any(
                count(r.raw_counts, severity) or count(r.counts, severity) for r in result.images
            )
        ):
            shown.append(severity)
    return shown


def short_digest(digest: str) -> str:
    """``sha256:0123456789ab…`` → ``0123456789ab`` (12 hex digits, as docker shows)."""
    return digest.partition(":")[2][:12] if ":" in digest else digest[:12]


def tags_text(tags: Iterable[str], limit: int | None = None, sep: str = ", ") -> str:
    tags = list(tags)
    if limit is not None and len(tags) > limit:
        return sep.join(tags[:limit]) + f"{sep}+{len(tags) - limit} more"
    return sep.join(tags)


def image_tags_name(image: Image, limit: int) -> str:
    """``repo:tag1, tag2`` (at most ``limit`` tags), the repository alone when untagged;
    a platform image of an index by its label, ``repo:tag (linux/arm64)``."""
    if image.platform:
        return image.label
    tags = tags_text(image.tags, limit=limit)
    return f"{image.repository}:{tags}" if tags else image.repository


def image_label(report: ImageReport) -> str:
    """``repo:tag`` for a tagged image (its first tag), ``repo@sha256:0123456789ab``
    otherwise."""
    return report.image.label


def image_name(report: ImageReport) -> str:
    """:func:`image_label` plus the short digest for a tagged image:
    ``repo:tag (0123456789ab)``; an untagged image's label names its digest already,
    an image that could not be read has none."""
    label = image_label(report)
    if report.image.tags and report.image.digest:
        return f"{label} ({short_digest(report.image.digest)})"
    return label


def image_uri(report: ImageReport, default_region: str | None = None) -> str:
    """The image's pull reference by digest,
    ``<registry>.dkr.ecr.<region>.amazonaws.com/<repo>@<digest>``; without a region or
    registry id, ``<repo>@<digest>`` percent-encoded so it stays a valid URI reference."""
    image = report.image
    region = report.region or default_region
    at_digest = f"@{image.digest}" if image.digest else ""
    if region and image.registry_id:
        domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        return f"{image.registry_id}.dkr.ecr.{region}.{domain}/{image.repository}{at_digest}"
    return quote(f"{image.repository}{at_digest}", safe="/@")


def scan_age(state: ScanState | None, now: datetime) -> str:
    """How long ago the last scan completed: ``45min``, ``20h``, ``9d``; "" when unknown."""
    if state is None or state.completed_at is None:
        return ""
    seconds = (_aware(now) - _aware(state.completed_at)).total_seconds()
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}min"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def breach_text(breach: Breach) -> str:
    return f"{breach.severity.value} {breach.count} > {breach.threshold}"


def verdict_reasons(report: ImageReport) -> tuple[str, ...]:
    """Which rules made a breach (``HIGH 3 > 0``, ``KEV: CVE-…, due …``): the judge's
    reasons, else (a report judged by its counts) the threshold breaches."""
    return report.reasons or tuple(breach_text(b) for b in report.breaches)


def verdict_text(report: ImageReport) -> str:
    """One line saying what the report concluded for the image."""
    status = report.status
    if status is ImageStatus.OK:
        return "ok"
    if status is ImageStatus.BREACH:
        return "breach: " + ", ".join(verdict_reasons(report))
    if status is ImageStatus.NO_SCAN:
        return f"no scan ({HINT_NO_SCAN_WAITED if report.waited else HINT_NO_SCAN})"
    if status is ImageStatus.PENDING:
        scan = report.state.status if report.state and report.state.status else "PENDING"
        return f"scan pending ({scan})"
    if status is ImageStatus.SCAN_FAILED:
        description = report.state.description if report.state else ""
        return f"scan failed: {description}" if description else "scan failed"
    if status is ImageStatus.NOT_SCANNABLE:
        description = report.state.description if report.state else ""
        return f"not scannable: {description}" if description else "not scannable"
    if status is ImageStatus.NOT_AN_IMAGE:  # what it is, never "run ecrscan rescan"
        return report.error.message if report.error else "not a container image"
    return f"error: {report.error}" if report.error else "error"


def ignored_count(report: ImageReport) -> int:
    """Findings the ignore file took out of the counts."""
    if report.findings is not None:
        return sum(1 for f in report.findings if f.ignored is not None)
    return sum(max(count(report.raw_counts, s) - count(report.counts, s), 0) for s in Severity)


def listed_images(result: ReportResult, view: View) -> tuple[ImageReport, ...]:
    """The images the outputs list: every one, or with ``only_breaches`` those that
    breach or could not be assessed."""
    if not view.only_breaches:
        return result.images
    return tuple(r for r in result.images if r.status is not ImageStatus.OK)


def unlisted_count(result: ReportResult, view: View) -> int:
    """Images within thresholds that ``only_breaches`` leaves out of the listing."""
    return len(result.images) - len(listed_images(result, view))


def listed_findings(view: View, report: ImageReport) -> list[Finding]:
    """The image's findings the outputs list (at ``min_severity`` or above), most
    severe first."""
    floor = view.min_severity
    return sorted_findings(
        f for f in report.findings or () if floor is None or f.severity.rank >= floor.rank
    )


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then highest score, then id."""
    return sorted(
        findings,
        key=lambda f: (-f.severity.rank, -(f.score if f.score is not None else -1.0), f.id),
    )


def status_totals(result: ReportResult) -> dict[str, int]:
    """``{"images": n, "ok": …, "breach": …, "no_scan": …, …}``."""
    totals = {"images": len(result.images)}
    for status in STATUS_ORDER:
        totals[status.value] = sum(1 for r in result.images if r.status is status)
    return totals


def total_counts(result: ReportResult, raw: bool = False) -> dict[str, int]:
    totals = {s.value: 0 for s in Severity}
    for report in result.images:
        for severity in Severity:
            totals[severity.value] += count(report.raw_counts if raw else report.counts, severity)
    return totals


def thresholds_text(result: ReportResult) -> str:
    """``CRITICAL 0, HIGH 0, MEDIUM 0, LOW 0; off: INFORMATIONAL, …``."""
    limits = result.thresholds.describe()
    on = [f"{name} {limit}" for name, limit in limits.items() if limit is not None]
    off = [name for name, limit in limits.items() if limit is None]
    text = ", ".join(on) if on else "none"
    return f"{text}; off: {', '.join(off)}" if off else text


NOTHING_TO_REPORT = "nothing to report: no image in scope"
NOTHING_TO_RESCAN = "nothing to rescan: no image in scope"
NOTHING_TO_QUEUE = "nothing to queue: no repository in scope"
EMPTY_ACCEPTED = "accepted with --allow-empty"
NOT_A_PASS = "not a pass"


def empty_text(nothing: str, allowed: bool) -> str:
    """What an empty scope means: "... (accepted with --allow-empty)" or "...; not a pass"."""
    return f"{nothing} ({EMPTY_ACCEPTED})" if allowed else f"{nothing}; {NOT_A_PASS}"


def interrupted_text(signal_name: str) -> str:
    return f"interrupted by {signal_name}: a partial record"


def incomplete_reason(result: ReportResult | RescanResult, view: View) -> str | None:
    """Why the result is not complete, in one sentence; ``None`` when it is."""
    if complete(result, view):
        return None
    if result.interrupted:
        return interrupted_text(result.interrupted)
    if isinstance(result, ReportResult):
        if result.nothing_reported:
            return empty_text(NOTHING_TO_REPORT, False)
        return headline(result, view)
    if result.nothing_checked:
        return empty_text(NOTHING_TO_RESCAN, False)
    return "part of the work was left undone: see the repositories and images with errors"


def headline(result: ReportResult, view: View) -> str:
    """The run's verdict in one sentence."""
    if result.interrupted:
        return interrupted_text(result.interrupted)
    if result.nothing_reported:
        return empty_text(NOTHING_TO_REPORT, view.allow_empty)
    totals = status_totals(result)
    images = totals["images"]
    breached = totals[ImageStatus.BREACH.value]
    noun = "image" if images == 1 else "images"
    if not complete(result, view):
        unassessed = images - totals[ImageStatus.OK.value] - breached
        parts = [f"{unassessed} of {images} {noun} not assessed"] if unassessed else []
        if result.repository_errors:
            n = len(result.repository_errors)
            parts.append(f"{n} {'repository' if n == 1 else 'repositories'} could not be read")
        coverage = result.coverage
        if coverage is not None and coverage.failed_targets:
            n = len(coverage.failed_targets)
            parts.append(f"{n} account/region {'target' if n == 1 else 'targets'} failed")
        if coverage is not None and coverage.unreadable:
            parts.append(f"{plural(len(coverage.unreadable), 'task definition')} unreadable")
        if breached:
            parts.append(f"{breached} breaching")
        return "audit incomplete: " + ", ".join(parts)
    aside = totals[ImageStatus.NOT_SCANNABLE.value]
    if aside:  # accepted (a registry report): said apart, not judged
        noun = "image" if images - aside == 1 else "images"
        images -= aside
    if breached:
        verb = "breaches" if breached == 1 else "breach"
        verdict = f"{breached} of {images} {noun} {verb} thresholds"
    elif images == 1:
        verdict = "the 1 image is within thresholds"
    else:
        verdict = f"all {images} {noun} within thresholds"
    return verdict + (f" ({aside} not scannable by ECR)" if aside else "")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
