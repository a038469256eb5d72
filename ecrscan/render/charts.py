"""Bar charts as inline SVG, for the HTML report: drawn here from numbers, styled by
the page's CSS classes (so they follow its light or dark colours), loading nothing.

Two charts a report draws: its findings by severity, and its images by the age of their
last scan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ecrscan.core.model import ImageReport, ReportResult
from ecrscan.render.common import severity_columns, total_counts
from ecrscan.render.page import text

WIDTH = 480  # the viewBox: the chart scales to its box's width
LABEL_WIDTH = 130
VALUE_WIDTH = 56
BAR_HEIGHT = 20
GAP = 8


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    kind: str = ""  # a CSS class giving its colour


# The ages of a last scan: (upper bound in days, label, CSS class).
AGE_BUCKETS: tuple[tuple[float, str, str], ...] = (
    (1, "under 1 day", "a-fresh"),
    (7, "1 to 7 days", "a-week"),
    (30, "7 to 30 days", "a-month"),
    (90, "30 to 90 days", "a-quarter"),
    (float("inf"), "90 days or more", "a-old"),
)
NO_SCAN_LABEL = "no scan date"


def bar_chart(name: str, title: str, bars: Sequence[Bar]) -> str:
    """Horizontal bars, one a line: label, bar (as long as its share of the largest
    value), value.  ``name`` makes the ids of its title unique in the page."""
    height = GAP + len(bars) * (BAR_HEIGHT + GAP)
    top = max((bar.value for bar in bars), default=0) or 1
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{name}-title">',
        f'<title id="{name}-title">{text(title)}</title>',
    ]
    for i, bar in enumerate(bars):
        y = GAP + i * (BAR_HEIGHT + GAP)
        middle = y + BAR_HEIGHT / 2
        length = max(bar.value / top * room, 2.0 if bar.value else 0.0)
        parts += [
            f'<text x="{LABEL_WIDTH - 8}" y="{middle:g}" text-anchor="end" '
            f'dominant-baseline="central">{text(bar.label)}</text>',
            f'<rect class="bar {text(bar.kind)}" x="{LABEL_WIDTH}" y="{y}" '
            f'width="{length:.1f}" height="{BAR_HEIGHT}" rx="2">'
            f"<title>{text(bar.label)}: {bar.value}</title></rect>",
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{middle:g}" '
            f'dominant-baseline="central">{bar.value}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def severity_bars(result: ReportResult) -> list[Bar]:
    """The findings that count against the thresholds, per severity shown in the
    report's columns (the totals of the report, every image)."""
    totals = total_counts(result)
    return [Bar(s.value, totals[s.value], f"s-{s.value}") for s in severity_columns(result)]


def age_bars(images: Iterable[ImageReport], now: datetime) -> list[Bar]:
    """The images per age of their last completed scan; those with none (never scanned,
    unreadable) last, when there are some."""
    counts = [0] * len(AGE_BUCKETS)
    undated = 0
    for report in images:
        seconds = age_seconds(report, now)
        if seconds is None:
            undated += 1
            continue
        days = seconds / 86400
        counts[next(i for i, (limit, _, _) in enumerate(AGE_BUCKETS) if days < limit)] += 1
    bars = [Bar(label, n, kind) for (_, label, kind), n in zip(AGE_BUCKETS, counts, strict=True)]
    if undated:
        bars.append(Bar(NO_SCAN_LABEL, undated))
    return bars


def age_seconds(report: ImageReport, now: datetime) -> float | None:
    """Seconds since the image's last scan completed; ``None`` when unknown."""
    completed = report.state.completed_at if report.state else None
    if completed is None:
        return None
    return (_aware(now) - _aware(completed)).total_seconds()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
