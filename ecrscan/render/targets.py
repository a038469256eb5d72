"""Results grouped by account and region, with totals, for runs over several targets
(pure): one row per (account, region) the run covered or tried to cover, for the table
and for the JSON ``targets`` entries."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ecrscan.core.coverage import Coverage
from ecrscan.core.model import ImageStatus, ReportResult, RescanResult
from ecrscan.core.summary import summary_row
from ecrscan.render.coverage import not_audited_table
from ecrscan.render.fit import Fitted

AccountRegion = tuple[str, str]  # (account, region)
REPORT_COLUMNS = ("images", "ok", "breach", "not_assessed")
RESCAN_COLUMNS = ("repositories", "images", "due", "started", "planned", "failed")


def report_totals(result: ReportResult) -> dict[AccountRegion, dict[str, int]]:
    """Per (account, region): images, ok, breaching, not assessed."""
    totals = _empty(result.coverage, REPORT_COLUMNS)
    for image in result.images:
        row = totals.setdefault((image.account, image.region), dict.fromkeys(REPORT_COLUMNS, 0))
        row["images"] += 1
        if image.status is ImageStatus.OK:
            row["ok"] += 1
        elif image.status is ImageStatus.BREACH:
            row["breach"] += 1
        else:
            row["not_assessed"] += 1
    return totals


def rescan_totals(result: RescanResult) -> dict[AccountRegion, dict[str, int]]:
    """Per (account, region): repositories, images, due, started, planned, failed."""
    totals = _empty(result.coverage, RESCAN_COLUMNS)
    for repo in result.repositories:
        key = (repo.repository.registry_id, repo.region or "")
        row = totals.setdefault(key, dict.fromkeys(RESCAN_COLUMNS, 0))
        counters = summary_row(repo)
        row["repositories"] += 1
        for name in RESCAN_COLUMNS[1:]:
            row[name] += counters[name]
    return totals


def _empty(
    coverage: Coverage | None, columns: Sequence[str]
) -> dict[AccountRegion, dict[str, int]]:
    """A zero row for every target, failed ones included, in the coverage's order."""
    targets = coverage.targets if coverage is not None else ()
    return {(t.account, t.region): dict.fromkeys(columns, 0) for t in targets}


def coverage_tables(
    result: ReportResult | RescanResult,
    totals: dict[AccountRegion, dict[str, int]],
    columns: Sequence[str],
) -> list[RenderableType]:
    """What closes a table output: the "by account and region" table (several targets)
    and the "not audited" table (failed targets, what the image scope left out)."""
    tables = [
        targets_table(result.coverage, totals, columns),
        not_audited_table(result.coverage, result.scopes),
    ]
    return [t for t in tables if t is not None]


def targets_table(
    coverage: Coverage | None, totals: dict[AccountRegion, dict[str, int]], columns: Sequence[str]
) -> RenderableType | None:
    """The "by account and region" table of a run over several targets (``None`` for
    one target): a row each, a failed target marked, and the totals; where two columns
    do not fit, ``account/region`` in one, the counters that are all zero left out."""
    if coverage is None or len(coverage.targets) <= 1:
        return None
    failed = {(t.account, t.region) for t in coverage.failed_targets}
    return Fitted(
        _targets(totals, columns, failed),
        _targets(totals, [c for c in columns if _total(totals, c)], failed, merged=True),
    )


def _total(totals: dict[AccountRegion, dict[str, int]], name: str) -> int:
    return sum(row[name] for row in totals.values())


def _targets(
    totals: dict[AccountRegion, dict[str, int]],
    columns: Sequence[str],
    failed: set[AccountRegion],
    merged: bool = False,
) -> Table:
    table = Table(title="by account and region", title_justify="left", show_footer=True)
    where = f"{len(totals)} targets" + (f", {len(failed)} failed" if failed and merged else "")
    if merged:
        table.add_column("account/region", footer=f"TOTAL ({where})")
    else:
        table.add_column("account", footer="TOTAL", no_wrap=True)
        table.add_column("region", footer=where, no_wrap=True)
    for name in columns:
        header = _HEADERS.get(name, name.replace("_", " "))
        table.add_column(header, justify="right", footer=str(_total(totals, name)))
    if not merged:
        table.add_column("target", footer=f"{len(failed)} failed" if failed else "")
    for (account, region), row in sorted(totals.items()):
        names = [account or "?", region or "all regions"]
        state = Text("failed", style="bold magenta") if (account, region) in failed else "ok"
        counters = [str(row[c]) for c in columns]
        if merged:
            label = Text("/".join(names))
            if (account, region) in failed:
                label.append(" (failed)", style="bold magenta")
            table.add_row(label, *counters)
        else:
            table.add_row(*names, *counters, state)
    return table


_HEADERS = {"repositories": "repos", "not_assessed": "not\nassessed"}
