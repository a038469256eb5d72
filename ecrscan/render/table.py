"""Terminal tables (rich renderables).  Pure: they build objects, the CLI prints them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table

from ecrscan.engine import SUMMARY_COLUMNS, summarize, summary_row
from ecrscan.model import Repository, RescanResult
from ecrscan.render.coverage import multi_target, not_audited_table, scope_title


def repositories_table(repositories: Sequence[Repository]) -> Table:
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


_HEADERS = {"already_scanned": "already\nscanned", "not_started": "not\nstarted",
            "in_progress": "in\nprogress", "not_rescannable": "not\nrescannable"}


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
        title=f"ecrscan {mode}: expiry {result.expiry}, scan type {result.scan_type.value}"
        + scope_title(result.coverage),
        title_justify="left",
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
