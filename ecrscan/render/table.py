"""Terminal tables (rich renderables).  Pure: they build objects, the CLI prints them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from ecrscan.engine import SUMMARY_COLUMNS, summarize
from ecrscan.model import Repository, RescanResult


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


def rescan_table(result: RescanResult) -> Table:
    mode = "dry run" if result.dry_run else "rescan"
    table = Table(
        title=f"ecrscan {mode}: expiry {result.expiry}, scan type {result.scan_type.value}",
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
    table.add_column("repository", footer="TOTAL")
    for column in columns:
        table.add_column(_HEADERS.get(column, column), justify="right", footer=str(total[column]))
    table.add_column("error")
    for repo in result.repositories:
        row = summary[repo.repository.name]
        error = str(repo.error) if repo.error else ""
        style = "red" if repo.error or row["failed"] else None
        table.add_row(
            repo.repository.name, *(str(row[c]) for c in columns), error, style=style
        )
    return table
