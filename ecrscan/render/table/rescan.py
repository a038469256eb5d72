"""Terminal tables of ``repos`` and ``rescan`` (rich renderables; pure: they build
objects, the CLI prints them).  Laid out for the width they are printed at."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from ecrscan.core.durations import describe_duration
from ecrscan.core.model import (
    ImageResult,
    Outcome,
    RepositoryListing,
    RepositoryResult,
    RescanResult,
)
from ecrscan.core.summary import SUMMARY_COLUMNS, summarize, summary_row
from ecrscan.core.view import DEFAULT_VIEW, View
from ecrscan.core.words import plural
from ecrscan.render.common import (
    NOTHING_TO_RESCAN,
    empty_text,
    image_tags_name,
    interrupted_text,
    short_digest,
)
from ecrscan.render.coverage import multi_target, scope_title
from ecrscan.render.fit import Fitted
from ecrscan.render.notices import artifacts_text
from ecrscan.render.targets import RESCAN_COLUMNS, coverage_tables, rescan_totals


def repositories_table(listing: RepositoryListing) -> RenderableType:
    repositories = listing.repositories
    table = Table(title=plural(len(repositories), "repository"), title_justify="left")
    table.add_column("repository", no_wrap=True)
    table.add_column("registry", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("scan on push")
    for repo in repositories:
        table.add_row(
            repo.name,
            repo.registry_id,
            repo.created_at.strftime("%Y-%m-%d") if repo.created_at else "",
            {True: "yes", False: "no", None: ""}[repo.scan_on_push],
        )
    return Fitted(table)


_HEADERS = {
    "already_scanned": "already\nscanned",
    "scanned_meanwhile": "scanned\nmeanwhile",
    "not_started": "not\nstarted",
    "in_progress": "in\nprogress",
    "not_rescannable": "not\nrescannable",
}


# The columns every rescan table shows; the others appear when a run has some.
ALWAYS = ("images", "due", "started", "already_scanned", "in_progress", "skipped", "failed")


def rescan_table(result: RescanResult, view: View = DEFAULT_VIEW) -> RenderableType:
    """The summary per repository (with account and region columns when the run had
    several targets), the errors below it, with ``--dry-run`` the plan (every due image
    and why), then what was not audited, if anything."""
    parts: list[RenderableType] = [_Summary(result, view), *_repository_errors(result)]
    if result.artifacts:  # counted apart: never scanned (dry run or not)
        parts.append(Text(f"  {artifacts_text(result.artifacts)}", style="dim"))
    if result.dry_run:
        plan = plan_table(result)
        if plan is not None:
            parts.append(plan)
    parts += coverage_tables(result, rescan_totals(result), RESCAN_COLUMNS)
    return Group(*parts)


def plan_table(result: RescanResult) -> RenderableType | None:
    """``--dry-run``: the images a rescan would scan, and why each is due."""
    due = [
        (repo, r)
        for repo in result.repositories
        for r in repo.images
        if r.outcome is Outcome.PLANNED
    ]
    if not due:
        return None
    multi = multi_target(result.coverage)
    layouts = [_plan(due, digest=True, multi=multi, grouped=False)]
    if multi:
        layouts.append(_plan(due, digest=True, multi=True, grouped=True))
    return Fitted(*layouts, _plan(due, digest=False, multi=multi, grouped=multi))


Planned = list[tuple[RepositoryResult, ImageResult]]


def _plan(due: Planned, digest: bool, multi: bool, grouped: bool) -> Table:
    """``digest``: a digest column (otherwise an untagged image is named by its
    digest); ``grouped``: the account and region as a heading row above their images,
    instead of two columns (a run over several targets)."""
    columned = multi and not grouped
    table = Table(title=f"would scan {plural(len(due), 'image')}", title_justify="left")
    if columned:
        table.add_column("account", no_wrap=True)
        table.add_column("region", no_wrap=True)
    table.add_column("image")
    if digest:
        table.add_column("digest", no_wrap=True, style="dim")
    table.add_column("due because", overflow="fold")
    width = len(table.columns)
    heading = ""
    for repo, image_result in due:
        image = image_result.image
        target = f"{repo.repository.registry_id}/{repo.region}"
        if grouped and target != heading:
            heading = target
            table.add_section()
            table.add_row(Text(target, style="bold"), *([""] * (width - 1)))
        name = image_tags_name(image, limit=2) if digest or image.tags else image.label
        table.add_row(
            *([repo.repository.registry_id, repo.region] if columned else []),
            name,
            *([short_digest(image.digest)] if digest else []),
            image_result.verdict.reason,
        )
    return table


def _repository_errors(result: RescanResult) -> list[Text]:
    """One line per repository that failed, below the table (never in a column)."""
    multi = multi_target(result.coverage)
    lines = []
    for repo in result.repositories:
        if repo.error is not None:
            where = f" ({repo.repository.registry_id}/{repo.region})" if multi else ""
            lines.append(Text(f"  {repo.repository.name}{where}: error: {repo.error}", style="red"))
    return lines


class _Summary:
    """The rescan summary, laid out for the width it is printed at: every counter in
    its own column where there is room, otherwise the main ones in columns and the rest
    in words; with several targets, account and region in columns or as headings."""

    def __init__(self, result: RescanResult, view: View) -> None:
        self.result, self.view = result, view

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        result, view = self.result, self.view
        layouts = [summary_table(result, view)]
        if multi_target(result.coverage):
            layouts.append(summary_table(result, view, grouped=True))
        yield Fitted(*layouts, compact_summary(result, view))


NARROW_COLUMNS = ("images", "due", "started")


def compact_summary(result: RescanResult, view: View) -> Table:
    """The main counters in columns (images, due, started or planned), the others that
    are not zero in words, so the table fits 80 columns; with several targets, the
    account and region as a heading row above their repositories."""
    table = _summary_frame(result, view)
    main = ["planned" if c == "started" and result.dry_run else c for c in NARROW_COLUMNS]
    total = summarize(result)["TOTAL"]
    table.add_column("repository", footer="TOTAL", no_wrap=True)
    for column in main:
        table.add_column(column, justify="right", footer=str(total[column]), no_wrap=True)
    table.add_column("also", footer=_also(total, main))
    for repo, heading in _headed(result, grouped=multi_target(result.coverage)):
        if heading:
            _heading_row(table, heading)
        row = summary_row(repo)
        cells = [repo.repository.name, *(str(row[c]) for c in main), _also(row, main)]
        table.add_row(*cells, style="red" if repo.error or row["failed"] else None)
    return table


def _headed(result: RescanResult, grouped: bool) -> list[tuple[RepositoryResult, str]]:
    """Each repository with the ``account/region`` heading to print above it ("" when
    none: not ``grouped``, or the same target as the repository before)."""
    rows, last = [], ""
    for repo in result.repositories:
        target = f"{repo.repository.registry_id}/{repo.region}" if grouped else ""
        rows.append((repo, target if target != last else ""))
        last = target
    return rows


def _heading_row(table: Table, heading: str) -> None:
    table.add_section()
    table.add_row(Text(heading, style="bold"), *([""] * (len(table.columns) - 1)))


def _also(row: dict[str, int], shown: list[str]) -> str:
    return ", ".join(
        f"{row[c]} {c.replace('_', ' ')}" for c in SUMMARY_COLUMNS if c not in shown and row[c]
    )


def _summary_frame(result: RescanResult, view: View) -> Table:
    mode = "dry run" if result.dry_run else "rescan"
    return Table(
        title=f"ecrscan {mode}: expiry {result.expiry} ({describe_duration(result.expiry)}), "
        f"scan type {result.scan_type.value}" + scope_title(result.coverage),
        title_justify="left",
        caption=_rescan_caption(result, view),
        caption_justify="left",
        show_footer=True,
    )


def summary_table(result: RescanResult, view: View, grouped: bool = False) -> Table:
    """Every counter in a column; ``grouped``: the account and region as a heading row
    above their repositories instead of two columns (a run over several targets)."""
    table = _summary_frame(result, view)
    summary = summarize(result)
    total = summary["TOTAL"]
    columns = [c for c in SUMMARY_COLUMNS if c in ALWAYS or total[c]]
    if result.dry_run:
        # a dry run plans instead of starting: one "planned" column where "started" was
        dropped = ("planned", "already_scanned", "scanned_meanwhile", "not_started")
        columns = ["planned" if c == "started" else c for c in columns if c not in dropped]
    multi = multi_target(result.coverage)
    columned = multi and not grouped
    excluded = {(s.registry_id, s.region, s.repository): s.excluded for s in result.scopes}
    if columned:
        table.add_column("account", footer="TOTAL", no_wrap=True)
        table.add_column("region", no_wrap=True)
    table.add_column("repository", footer="" if columned else "TOTAL", no_wrap=True)
    for column in columns:
        header = _HEADERS.get(column, column)
        table.add_column(header, justify="right", footer=str(total[column]), no_wrap=True)
    if result.scopes:
        footer = str(sum(excluded.values()))
        table.add_column("left\nout", justify="right", footer=footer, no_wrap=True)
    for repo, heading in _headed(result, grouped=multi and grouped):
        if heading:
            _heading_row(table, heading)
        row = summary_row(repo)
        style = "red" if repo.error or row["failed"] else None
        name = repo.repository.name
        cells = [repo.repository.registry_id, repo.region] if columned else []
        cells += [name, *(str(row[c]) for c in columns)]
        if result.scopes:
            cells.append(str(excluded.get((repo.repository.registry_id, repo.region, name), 0)))
        table.add_row(*cells, style=style)
    return table


def _rescan_caption(result: RescanResult, view: View) -> str | None:
    """Why the table is not the whole story: an interruption or an empty scope."""
    if result.interrupted:
        return interrupted_text(result.interrupted)
    if result.nothing_checked:
        return empty_text(NOTHING_TO_RESCAN, view.allow_empty)
    return None
