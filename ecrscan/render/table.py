"""Terminal tables (rich renderables) of every command: the repositories, the rescan
summary, and the report (one row per image, a totals line, and with ``--details`` one
table of findings per breaching image).  Pure: they build objects, the CLI prints them."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ecrscan.core.durations import describe_duration
from ecrscan.core.model import (
    ImageReport,
    ImageStatus,
    ReportResult,
    RepositoryListing,
    RescanResult,
)
from ecrscan.core.severity import Severity
from ecrscan.core.summary import SUMMARY_COLUMNS, summarize, summary_row
from ecrscan.render.common import (
    NOTHING_TO_RESCAN,
    count,
    empty_text,
    headline,
    ignored_count,
    image_label,
    interrupted_text,
    listed_findings,
    listed_images,
    plural,
    scan_age,
    severity_columns,
    short_digest,
    status_totals,
    tags_text,
    thresholds_text,
    total_counts,
    unlisted_count,
    verdict_text,
)
from ecrscan.render.coverage import multi_target, not_audited_table, scope_title


def repositories_table(listing: RepositoryListing) -> Table:
    repositories = listing.repositories
    table = Table(title=f"{len(repositories)} repositories", title_justify="left")
    table.add_column("repository")
    table.add_column("registry")
    table.add_column("created")
    table.add_column("scan on push")
    for repo in repositories:
        table.add_row(
            repo.name,
            repo.registry_id,
            repo.created_at.strftime("%Y-%m-%d") if repo.created_at else "",
            {True: "yes", False: "no", None: ""}[repo.scan_on_push],
        )
    return table


_HEADERS = {
    "already_scanned": "already\nscanned",
    "not_started": "not\nstarted",
    "in_progress": "in\nprogress",
    "not_rescannable": "not\nrescannable",
}


# The columns every rescan table shows; the others appear when a run has some.
ALWAYS = ("images", "due", "started", "already_scanned", "in_progress", "skipped", "failed")


def rescan_table(result: RescanResult) -> RenderableType:
    """The summary per repository (with account and region columns when the run had
    several targets), then what was not audited, if anything."""
    table = summary_table(result)
    extra = not_audited_table(result.coverage, result.scopes)
    return Group(table, extra) if extra is not None else table


def summary_table(result: RescanResult) -> Table:
    mode = "dry run" if result.dry_run else "rescan"
    table = Table(
        title=f"ecrscan {mode}: expiry {result.expiry} ({describe_duration(result.expiry)}), "
        f"scan type {result.scan_type.value}" + scope_title(result.coverage),
        title_justify="left",
        caption=_rescan_caption(result),
        caption_justify="left",
        show_footer=True,
    )
    summary = summarize(result)
    total = summary["TOTAL"]
    columns = [c for c in SUMMARY_COLUMNS if c in ALWAYS or total[c]]
    if result.dry_run:
        # a dry run plans instead of starting: one "planned" column where "started" was
        dropped = ("planned", "already_scanned", "not_started")
        columns = ["planned" if c == "started" else c for c in columns if c not in dropped]
    multi = multi_target(result.coverage)
    excluded = {(s.registry_id, s.region, s.repository): s.excluded for s in result.scopes}
    if multi:
        table.add_column("account", footer="TOTAL")
        table.add_column("region")
    table.add_column("repository", footer="" if multi else "TOTAL")
    for column in columns:
        table.add_column(_HEADERS.get(column, column), justify="right", footer=str(total[column]))
    if result.scopes:
        table.add_column("left\nout", justify="right", footer=str(sum(excluded.values())))
    table.add_column("error")
    for repo in result.repositories:
        row = summary_row(repo)
        error = str(repo.error) if repo.error else ""
        style = "red" if repo.error or row["failed"] else None
        name = repo.repository.name
        cells = [repo.repository.registry_id, repo.region] if multi else []
        cells += [name, *(str(row[c]) for c in columns)]
        if result.scopes:
            cells.append(str(excluded.get((repo.repository.registry_id, repo.region, name), 0)))
        table.add_row(*cells, error, style=style)
    return table


def _rescan_caption(result: RescanResult) -> str | None:
    """Why the table is not the whole story: an interruption or an empty scope."""
    if result.interrupted:
        return interrupted_text(result.interrupted)
    if result.nothing_checked:
        return empty_text(NOTHING_TO_RESCAN, result.allow_empty)
    return None


# -- report --------------------------------------------------------------------------


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
}


def report_table(result: ReportResult) -> RenderableType:
    parts: list[RenderableType] = [images_table(result)]
    if result.details:
        for report in result.breached:
            parts.append(findings_table(result, report))
    extra = not_audited_table(result.coverage, result.scopes)
    if extra is not None:
        parts.append(extra)
    return Group(*parts)


def images_table(result: ReportResult) -> Table:
    columns = severity_columns(result)
    table = Table(
        title=f"ecrscan report: {headline(result)}{scope_title(result.coverage)}",
        title_justify="left",
        caption=_report_caption(result),
        caption_justify="left",
        show_footer=True,
    )
    totals = total_counts(result)
    multi = multi_target(result.coverage)
    if multi:
        table.add_column("account", footer="TOTAL")
        table.add_column("region")
    table.add_column("repository", footer="" if multi else "TOTAL")
    table.add_column("tags")
    table.add_column("digest", style="dim")
    table.add_column("scanned", justify="right", footer="")
    for severity in columns:
        table.add_column(severity.value, justify="right", footer=str(totals[severity.value]))
    table.add_column("verdict", footer=_totals_text(result))
    for report in listed_images(result):
        table.add_row(
            *([report.account or report.image.registry_id, report.region] if multi else []),
            report.image.repository,
            tags_text(report.image.tags, limit=3),
            short_digest(report.image.digest),
            scan_age(report.state, result.generated_at),
            *(_cell(result, report, severity) for severity in columns),
            Text(_verdict(report), style=STATUS_STYLE[report.status]),
        )
    for repository, problem in result.repository_errors:
        table.add_row(
            *(["", ""] if multi else []),
            repository,
            "",
            "",
            "",
            *("" for _ in columns),
            Text(f"error: {problem}", style=STATUS_STYLE[ImageStatus.ERROR]),
        )
    return table


def _report_caption(result: ReportResult) -> str:
    caption = f"thresholds: {thresholds_text(result)}"
    unlisted = unlisted_count(result)
    if unlisted:
        caption += f"\n{unlisted} more within thresholds, not listed (--only-breaches)"
    return caption


def findings_table(result: ReportResult, report: ImageReport) -> RenderableType:
    title = f"{image_label(report)} ({short_digest(report.image.digest)}): {verdict_text(report)}"
    if report.findings is None:
        return Text(f"{title}\n  findings were not read", style="dim")
    table = Table(title=title, title_justify="left")
    for name in ("severity", "id", "package", "version", "fixed in", "score", "title / ignored"):
        table.add_column(name, justify="right" if name == "score" else "left")
    for finding in listed_findings(result, report):
        ignored = finding.ignored is not None
        table.add_row(
            Text(finding.severity.value, style=SEVERITY_STYLE.get(finding.severity, "")),
            finding.id,
            finding.package,
            finding.version,
            finding.fixed_in,
            f"{finding.score:g}" if finding.score is not None else "",
            f"ignored: {finding.ignored}" if ignored else finding.title,
            style="dim strike" if ignored else None,
        )
    return table


def _verdict(report: ImageReport) -> str:
    ignored = ignored_count(report)
    text = verdict_text(report)
    return f"{text} ({ignored} ignored)" if ignored else text


def _cell(result: ReportResult, report: ImageReport, severity: Severity) -> Text:
    if report.status not in (ImageStatus.OK, ImageStatus.BREACH):
        return Text("")
    value = count(report.counts, severity)
    hidden = count(report.raw_counts, severity) - value
    text = str(value) + (f" (+{hidden} ign.)" if hidden > 0 else "")
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
