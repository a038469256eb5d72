"""The ``report`` table: one row per image with a short verdict, what the verdicts mean
in full on lines below it, and with ``--details`` the findings of each breaching image
(rich renderables, laid out for the width they are printed at; pure)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
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
    unlisted_count,
    verdict_text,
)
from ecrscan.render.coverage import multi_target, scope_title
from ecrscan.render.fit import Fitted
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


# Short severity names, for the narrow layouts.
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
    """The images table, laid out for the width it is printed at (see :mod:`.fit`)."""

    def __init__(self, result: ReportResult, view: View) -> None:
        self.result, self.view = result, view

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        result, view = self.result, self.view
        multi = multi_target(result.coverage)
        layouts = [images_table(result, view, wide=True)]
        if multi:
            layouts.append(images_table(result, view, wide=True, grouped=True))
        layouts.append(images_table(result, view, wide=False, grouped=multi))
        yield Fitted(*layouts)
        yield from verdict_notes(result, view)


def images_table(
    result: ReportResult, view: View, wide: bool = True, grouped: bool = False
) -> Table:
    """The images, one row each; ``wide``: the digest column and full severity headers;
    ``grouped``: (several targets) the account and region as a heading row above each
    target's images instead of two columns."""
    columns = severity_columns(result)
    table = Table(
        title=f"ecrscan {view.command}: {headline(result, view)}{scope_title(result.coverage)}",
        title_justify="left",
        caption=_report_caption(result, view),
        caption_justify="left",
        show_footer=True,
    )
    totals = _shown_totals(result)
    columned = multi_target(result.coverage) and not grouped
    if columned:
        table.add_column("account", footer="TOTAL", no_wrap=True)
        table.add_column("region", no_wrap=True)
    table.add_column("image", footer="" if columned else "TOTAL")
    if wide:
        table.add_column("digest", style="dim", no_wrap=True)
    table.add_column("scanned", justify="right", no_wrap=True)
    for severity in columns:
        header = severity.value if wide else SHORT_HEADER[severity]
        table.add_column(header, justify="right", no_wrap=True, footer=str(totals[severity.value]))
    table.add_column("verdict", no_wrap=True)
    width = len(table.columns)
    for target, reports in _by_target(listed_images(result, view), grouped):
        if target:
            table.add_section()
            table.add_row(Text(target, style="bold"), *([""] * (width - 1)))
        for report in reports:
            table.add_row(
                *([report.account or report.image.registry_id, report.region] if columned else []),
                _image_cell(report, digest_column=wide),
                *([short_digest(report.image.digest)] if wide else []),
                scan_age(report.state, result.generated_at),
                *(_cell(result, report, severity) for severity in columns),
                Text(_short_verdict(report), style=STATUS_STYLE[report.status]),
            )
    if result.repository_errors and grouped:
        table.add_section()
    for repository, _ in result.repository_errors:
        cells: list[RenderableType] = [""] * width
        cells[2 if columned else 0] = repository
        cells[-1] = Text("error", style=STATUS_STYLE[ImageStatus.ERROR])
        table.add_row(*cells)
    return table


def _by_target(
    reports: Sequence[ImageReport], grouped: bool
) -> list[tuple[str, list[ImageReport]]]:
    """``[("account/region", reports), ...]`` in the order the targets first appear;
    one group with no heading when not ``grouped``."""
    if not grouped:
        return [("", list(reports))]
    groups: dict[str, list[ImageReport]] = {}
    for report in reports:
        key = f"{report.account or report.image.registry_id}/{report.region}"
        groups.setdefault(key, []).append(report)
    return list(groups.items())


def _shown_totals(result: ReportResult) -> dict[str, int]:
    """The footer: the counts of the images whose row shows counts (a failed scan's row
    is blank, so its counts are not in the total either)."""
    totals = dict.fromkeys((s.value for s in Severity), 0)
    for report in result.images:
        if report.status in COUNTED:
            for severity in Severity:
                totals[severity.value] += count(report.counts, severity)
    return totals


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


def _image_cell(report: ImageReport, digest_column: bool) -> str:
    """``repo:tag1, tag2``; without a digest column, an untagged image by its digest."""
    if report.image.tags or report.image.platform or digest_column:
        return image_tags_name(report.image, limit=2)
    return report.image.label


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
        yield Fitted(self.table(wide=True), self.table(wide=False))

    def table(self, wide: bool) -> Table:
        """``wide``: a column each for package, version, fix and score, and the title;
        otherwise ``package version -> fix`` in one column, and no title."""
        table = Table(title=self.title, title_justify="left")
        table.add_column("severity" if wide else "sev", no_wrap=True)
        table.add_column("id", no_wrap=True)
        for name in ("package", "version", "fixed in") if wide else ("package",):
            table.add_column(name)
        if wide:
            table.add_column("score", justify="right", no_wrap=True)
        table.add_column("title / ignored" if wide else "ignored", overflow="fold")
        for finding in listed_findings(self.view, self.report):
            ignored = finding.ignored is not None
            severity = finding.severity.value if wide else SHORT_HEADER[finding.severity]
            note = f"ignored: {finding.ignored}" if ignored else (finding.title if wide else "")
            if wide:
                score = f"{finding.score:g}" if finding.score is not None else ""
                package = [finding.package, finding.version, finding.fixed_in, score]
            else:
                fix = f" -> {finding.fixed_in}" if finding.fixed_in else ""
                package = [f"{finding.package} {finding.version}{fix}".strip()]
            table.add_row(
                Text(severity, style=SEVERITY_STYLE.get(finding.severity, "")),
                finding.id,
                *package,
                note,
                style="dim strike" if ignored else None,
            )
        return table


def _verdict(report: ImageReport) -> str:
    ignored = ignored_count(report)
    text = verdict_text(report)
    return f"{text} ({ignored} ignored)" if ignored else text


COUNTED = (ImageStatus.OK, ImageStatus.BREACH)  # the verdicts whose row shows counts


def _cell(result: ReportResult, report: ImageReport, severity: Severity) -> Text:
    if report.status not in COUNTED:
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
