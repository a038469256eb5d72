"""The fix plan of ``ecrscan fixes`` as JSON, CSV and Markdown (pure); the table is
:mod:`ecrscan.render.table.fixes`.  Shapes are documented in docs/json-output.md.

Shape of the ``fixes`` document (``schema_version`` 1)::

    {
      "schema_version": 1, "command": "fixes",
      "generated_at": ISO-8601, "region": str | null,
      "complete": bool, "exit_code": 0 | 3, "reason": str | null,
      "thresholds": {SEVERITY: int | null, ...},
      "totals": {"images", "ok", "breach", ..., "fixes", "cleared_by_one"},
      "notices": [str], "repository_errors": [{"repository", "code", "message"}],
      "account", "targets", "scope", "artifacts",          # as in report's document
      "fixes": [{"package", "installed_version", "fixed_version", "breaches_cleared",
                 "images_affected", "images_in_use", "severity", "cves", "kev",
                 "epss_max",
                 "images": [{"repository", "digest", "tags", "label", "account",
                             "region", "platform", "breaches", "cleared"}]}]
    }
"""

from __future__ import annotations

import csv as _csv
import io
from typing import Any

from ecrscan.core.fixplan import Fix, FixPlan, plan_exit_code
from ecrscan.core.view import DEFAULT_VIEW, View, complete
from ecrscan.core.words import plural
from ecrscan.render.common import (
    headline,
    image_label,
    incomplete_reason,
    status_totals,
    thresholds_text,
)
from ecrscan.render.coverage import scope_document, single_account, targets_document
from ecrscan.render.json import SCHEMA_VERSION, artifacts_document, dumps, iso
from ecrscan.render.markdown import cell
from ecrscan.render.notices import all_notices
from ecrscan.render.targets import report_totals


def cleared_by_one(plan: FixPlan) -> int:
    """The breaching images one upgrade alone would clear (by some row)."""
    return len({id(i.report) for fix in plan.fixes for i in fix.images if i.cleared})


def plan_headline(plan: FixPlan, view: View) -> str:
    """The plan in one sentence, after the report's verdict."""
    result = plan.report
    if result.nothing_reported or result.interrupted:
        return headline(result, view)
    rows = plural(len(plan.fixes), "package upgrade")
    if not plan.breaching:
        return f"{rows}; {headline(result, view)}"
    return (
        f"{rows}; {cleared_by_one(plan)} of {plural(plan.breaching, 'breaching image')} "
        f"cleared by one upgrade ({headline(result, view)})"
    )


def epss_text(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else ""


def in_use_text(value: int | None) -> str:
    return str(value) if value is not None else "?"


# -- JSON ----------------------------------------------------------------------------


def fix_record(fix: Fix, region: str | None) -> dict[str, Any]:
    return {
        "package": fix.package or None,
        "installed_version": fix.installed_version or None,
        "fixed_version": fix.fixed_version or None,
        "breaches_cleared": fix.breaches_cleared,
        "images_affected": fix.images_affected,
        "images_in_use": fix.images_in_use,
        "severity": fix.severity.value,
        "cves": list(fix.cves),
        "kev": fix.kev,
        "epss_max": fix.epss_max,
        "images": [
            {
                "repository": i.report.image.repository,
                "digest": i.report.image.digest,
                "tags": list(i.report.image.tags),
                "label": image_label(i.report),
                "account": i.report.account or i.report.image.registry_id or None,
                "region": i.report.region or region,
                "platform": i.report.image.platform,
                "breaches": i.breaches,
                "cleared": i.cleared,
            }
            for i in fix.images
        ],
    }


def fixes_document(plan: FixPlan, view: View) -> dict[str, Any]:
    result = plan.report
    totals: dict[str, Any] = status_totals(result)
    totals["fixes"] = len(plan.fixes)
    totals["cleared_by_one"] = cleared_by_one(plan)
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "fixes",
        "generated_at": iso(result.generated_at),
        "region": result.region,
        "complete": complete(result, view),
        "exit_code": plan_exit_code(plan, view),
        "reason": incomplete_reason(result, view),
        "thresholds": result.thresholds.describe(),
        "totals": totals,
        "notices": list(all_notices(result)),
        "repository_errors": [
            {"repository": name, "code": problem.code, "message": problem.message}
            for name, problem in result.repository_errors
        ],
        "account": single_account(result.coverage),
        "targets": targets_document(result.coverage, report_totals(result)),
        "scope": scope_document(result.coverage, result.scopes, per_repository=True),
        "artifacts": artifacts_document(result.artifacts),
        "fixes": [fix_record(fix, result.region) for fix in plan.fixes],
    }


def fixes_json(plan: FixPlan, view: View = DEFAULT_VIEW) -> str:
    return dumps(fixes_document(plan, view))


# -- CSV -----------------------------------------------------------------------------

CSV_COLUMNS = (
    "package",
    "installed_version",
    "fixed_version",
    "breaches_cleared",
    "images_affected",
    "images_in_use",
    "severity",
    "kev",
    "epss_max",
    "cves",
    "images",
)


def fixes_csv(plan: FixPlan, view: View = DEFAULT_VIEW) -> str:
    """One row per package upgrade; CVEs and image labels joined with ``;``; an empty
    ``images_in_use`` is not known."""
    buffer = io.StringIO()
    writer = _csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for fix in plan.fixes:
        writer.writerow(
            (
                fix.package,
                fix.installed_version,
                fix.fixed_version,
                fix.breaches_cleared,
                fix.images_affected,
                "" if fix.images_in_use is None else fix.images_in_use,
                fix.severity.value,
                "yes" if fix.kev else "no",
                epss_text(fix.epss_max),
                ";".join(fix.cves),
                ";".join(image_label(i.report) for i in fix.images),
            )
        )
    return buffer.getvalue()


# -- Markdown ------------------------------------------------------------------------

MAX_ROWS = 100  # a PR comment holds 65,536 characters
MAX_CVES = 5  # CVEs named per row


def fixes_markdown(plan: FixPlan, view: View = DEFAULT_VIEW) -> str:
    result = plan.report
    icon = "✅" if complete(result, view) else "⚠️"
    lines = [f"## {icon} ecrscan fixes: {cell(plan_headline(plan, view))}", ""]
    lines += [f"Thresholds: {cell(thresholds_text(result))}", ""]
    if plan.fixes:
        lines.append(
            "| package | installed | fixed | breaches cleared | images | in use "
            "| severity | KEV | EPSS | CVEs |"
        )
        lines.append("| --- | --- | --- | ---: | ---: | ---: | --- | --- | ---: | --- |")
        for fix in plan.fixes[:MAX_ROWS]:
            cves = ", ".join(fix.cves[:MAX_CVES])
            if len(fix.cves) > MAX_CVES:
                cves += f" and {len(fix.cves) - MAX_CVES} more"
            lines.append(
                f"| `{cell(fix.package or '?')}` | {cell(fix.installed_version)} "
                f"| {cell(fix.fixed_version)} | {fix.breaches_cleared} "
                f"| {fix.images_affected} | {in_use_text(fix.images_in_use)} "
                f"| {fix.severity.value} | {'yes' if fix.kev else ''} "
                f"| {epss_text(fix.epss_max)} | {cell(cves)} |"
            )
        if len(plan.fixes) > MAX_ROWS:
            lines.append("")
            lines.append(f"{len(plan.fixes) - MAX_ROWS} more upgrades not shown.")
        lines.append("")
    for notice in all_notices(result):
        lines.append(f"> {cell(notice)}")
    lines.append(f"<sub>generated by ecrscan at {result.generated_at.isoformat()}</sub>")
    return "\n".join(lines) + "\n"
