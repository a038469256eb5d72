"""The ``report`` table: one row per image with a short verdict, what the verdicts mean
in full on lines below it, and with ``--details`` the findings of each breaching image
(rich renderables, laid out for the width they are printed at; pure)."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ecrscan.core.model import (
    ImageReport,
    ImageStatus,
    ReportResult,
)
from ecrscan.core.severity import Severity
from ecrscan.core.view import DEFAULT_VIEW, View
from ecrscan.core.words import plural
from ecrscan.render.common import (
    count,
    headline,
    ignored_count,
    image_name,
    image_tags_name,
    listed_findings,
    listed_images,
    scan_age,
    severity_columns,
    short_digest,
    status_totals,
    thresholds_text,
    total_counts,
    unlisted_count,
    verdict_text,
)
from ecrscan.render.coverage import multi_target, scope_title
from ecrscan.render.notices import artifacts_text
from ecrscan.render.targets import REPORT_COLUMNS, coverage_tables, report_totals

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
}

STATUS_STYLE = {
    ImageStatus.OK: "green",
    ImageStatus.BREACH: "bold red",
    ImageStatus.NO_SCAN: "yellow",
    ImageStatus.PENDING: "yellow",
    ImageStatus.SCAN_FAILED: "magenta",
    ImageStatus.ERROR: "bold magenta",
    ImageStatus.NOT_SCANNABLE: "dim",
    ImageStatus.NOT_AN_IMAGE: "magenta",
}


# The findings table gets short severity names and no titles below this width.
WIDE = 100
SHORT_HEADER = dict(
    zip(Severity, ("CRIT", "HIGH", "MED", "LOW", "INFO", "UNDEF", "UNTRI"), strict=True)
)


def report_table(result: ReportResult, view: View = DEFAULT_VIEW) -> RenderableType:
    """One row per image, with a short verdict; what the verdicts mean in full (which
    levels breach, why an image was not assessed) on lines below the table, so the
    table stays readable at 80 columns; with ``--details`` the findings of each
    breaching image."""
    parts: list[RenderableType] = [_Images(result, view)]
    if result.details:
        for report in result.breached:
            parts.append(findings_table(view, report))
    parts += coverage_tables(result, report_totals(result), REPORT_COLUMNS)
    return Group(*parts)


class _Images:
    """The images table, laid out for the width it is printed at."""

    def __init__(self, result: ReportResult, view: View) -> None:
        self.result, self.view = result, view

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield fitting(
            console,
            options,
            images_table(self.result, self.view, wide=True),
            images_table(self.result, self.view, wide=False),
            images_table(self.result, self.view, wide=False, fold=True),
        )
        yield from verdict_notes(self.result, self.view)


def fitting(console: Console, options: ConsoleOptions, *tables: Table) -> Table:
    """The first of ``tables`` (widest layout first) that fits the width without
    wrapping or cutting anything; the last one otherwise."""
    unbounded = options.update_width(10_000)
    for table in tables[:-1]:
        if Measurement.get(console, unbounded, table).maximum <= options.max_width:
            return table
    return tables[-1]


def images_table(result: ReportResult, view: View, wide: bool = True, fold: bool = False) -> Table:
    """The images, one row each; ``wide``: the digest column and full severity headers;
    ``fold``: names may wrap (only where nothing else fits)."""
    columns = severity_columns(result)
    table = Table(
        title=f"ecrscan {view.command}: {headline(result, view)}{scope_title(result.coverage)}",
        title_justify="left",
        caption=_report_caption(result, view),
        caption_justify="left",
        show_footer=True,
    )
    totals = total_counts(result)
    multi = multi_target(result.coverage)
    if multi:
        table.add_column("account", footer="TOTAL")
        table.add_column("region")
    table.add_column("image", footer="" if multi else "TOTAL", no_wrap=not fold, overflow="fold")
    if wide:
        table.add_column("digest", style="dim", no_wrap=True)
    table.add_column("scanned", justify="right", no_wrap=True)
    for severity in columns:
        header = severity.value if wide else SHORT_HEADER[severity]
        table.add_column(header, justify="right", no_wrap=True, footer=str(totals[severity.value]))
    table.add_column("verdict", no_wrap=True)
    for report in listed_images(result, view):
        table.add_row(
            *([report.account or report.image.registry_id, report.region] if multi else []),
            _image_cell(report),
            *([short_digest(report.image.digest)] if wide else []),
            scan_age(report.state, result.generated_at),
            *(_cell(result, report, severity) for severity in columns),
            Text(_short_verdict(report), style=STATUS_STYLE[report.status]),
        )
    for repository, _ in result.repository_errors:
        blank = ["", ""] if multi else []
        table.add_row(
            *blank,
            repository,
            *([""] if wide else []),
            "",
            *("" for _ in columns),
            Text("error", style=STATUS_STYLE[ImageStatus.ERROR]),
        )
    return table


def verdict_notes(result: ReportResult, view: View) -> list[Text]:
    """One line per listed image whose verdict says more than "ok", and per repository
    that could not be read: below the table, never wrapped into a column."""
    notes = []
    for report in listed_images(result, view):
        ignored = ignored_count(report)
        if report.status is ImageStatus.OK and not ignored:
            continue
        text = _verdict(report) if report.status is not ImageStatus.OK else f"ok, {ignored} ignored"
        label = image_name(report)
        notes.append(Text(f"  {label}: {text}", style=STATUS_STYLE[report.status]))
    for repository, problem in result.repository_errors:
        notes.append(Text(f"  repository {repository}: error: {problem}", style="bold magenta"))
    return notes


def _image_cell(report: ImageReport) -> str:
    return image_tags_name(report.image, limit=2)


def _short_verdict(report: ImageReport) -> str:
    return report.status.value.replace("_", " ")


def _report_caption(result: ReportResult, view: View) -> str:
    caption = f"{_totals_text(result)}\nthresholds: {thresholds_text(result)}"
    if result.artifacts:
        caption += f"\n{artifacts_text(result.artifacts)}"
    unlisted = unlisted_count(result, view)
    if unlisted:
        caption += f"\n{unlisted} more within thresholds, not listed (--only-breaches)"
    return caption


def findings_table(view: View, report: ImageReport) -> RenderableType:
    title = f"{image_name(report)}: {verdict_text(report)}"
    if report.findings is None:
        return Text(f"{title}\n  findings were not read", style="dim")
    return _Findings(view, report, title)


class _Findings:
    """The findings of one image, laid out for the width it is printed at: ids are
    never cut; titles are shown only where there is room."""

    def __init__(self, view: View, report: ImageReport, title: str) -> None:
        self.view, self.report, self.title = view, report, title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        wide = options.max_width >= WIDE
        table = Table(title=self.title, title_justify="left")
        table.add_column("severity" if wide else "sev", no_wrap=True)
        table.add_column("id", no_wrap=True)
        for name in ("package", "version", "fixed in"):
            table.add_column(name, overflow="fold")
        if wide:
            table.add_column("score", justify="right")
        table.add_column("title / ignored" if wide else "ignored", overflow="fold")
        for finding in listed_findings(self.view, self.report):
            ignored = finding.ignored is not None
            severity = finding.severity.value if wide else SHORT_HEADER[finding.severity]
            note = f"ignored: {finding.ignored}" if ignored else (finding.title if wide else "")
            table.add_row(
                Text(severity, style=SEVERITY_STYLE.get(finding.severity, "")),
                finding.id,
                finding.package,
                finding.version,
                finding.fixed_in,
                *([f"{finding.score:g}" if finding.score is not None else ""] if wide else []),
                note,
                style="dim strike" if ignored else None,
            )
        yield table


def _verdict(report: ImageReport) -> str:
    ignored = ignored_count(report)
    text = verdict_text(report)
    return f"{text} ({ignored} ignored)" if ignored else text


def _cell(result: ReportResult, report: ImageReport, severity: Severity) -> Text:
    if report.status not in (ImageStatus.OK, ImageStatus.BREACH):
        return Text("")
    value = count(report.counts, severity)
    text = str(value)
    limit = result.thresholds.limit(severity)
    if limit is not None and value > limit:
        style = "bold white on red"
    elif value:
        style = SEVERITY_STYLE.get(severity, "")
    else:
        style = "dim"
    return Text(text, style=style)


def _totals_text(result: ReportResult) -> str:
    totals = status_totals(result)
    parts = [plural(totals["images"], "image")]
    parts += [
        f"{n} {name.replace('_', ' ')}" for name, n in totals.items() if name != "images" and n
    ]
    if result.repository_errors:
        parts.append(plural(len(result.repository_errors), "repository error"))
    return ", ".join(parts)
