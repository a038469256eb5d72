"""Per-repository counters of a rescan, for tables, JSON and the Lambda log (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from ecrscan.core.model import Decision, Outcome, RepositoryResult, RescanResult

SUMMARY_COLUMNS: Sequence[str] = (
    "images",
    "due",
    "fresh",
    "started",
    "planned",
    "already_scanned",
    "scanned_meanwhile",
    "not_started",
    "in_progress",
    "skipped",
    "not_rescannable",
    "failed",
)


def summarize(result: RescanResult) -> dict[str, dict[str, int]]:
    """Per-repository counters (and ``TOTAL``) for tables and JSON."""
    rows: dict[str, dict[str, int]] = {}
    total: dict[str, int] = dict.fromkeys(SUMMARY_COLUMNS, 0)
    for repo in result.repositories:
        row = summary_row(repo)
        rows[repo.repository.name] = row
        for key, value in row.items():
            total[key] += value
    rows_with_total = dict(rows)
    rows_with_total["TOTAL"] = total
    return rows_with_total


def summary_row(repo: RepositoryResult) -> dict[str, int]:
    images = repo.images
    return {
        "images": len(images),
        "due": repo.count(Decision.DUE),
        "fresh": repo.count(Decision.FRESH),
        "started": repo.count(Outcome.STARTED),
        "planned": repo.count(Outcome.PLANNED),
        "already_scanned": repo.count(Outcome.ALREADY_SCANNED),
        "scanned_meanwhile": repo.count(Outcome.SCANNED_MEANWHILE),
        "not_started": repo.count(Outcome.NOT_STARTED),
        "in_progress": repo.count(Decision.IN_PROGRESS),
        "skipped": sum(
            1
            for r in images
            if (
                r.verdict.decision is Decision.SKIPPED
                and r.outcome not in (Outcome.FAILED, Outcome.NOT_STARTED)
            )
            or r.outcome is Outcome.SKIPPED
        ),
        "not_rescannable": repo.count(Decision.NOT_RESCANNABLE),
        "failed": repo.count(Outcome.FAILED),
    }
