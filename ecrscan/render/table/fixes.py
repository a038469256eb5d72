"""The ``fixes`` table: one row per package upgrade, best first, laid out for the width
it is printed at (:mod:`ecrscan.render.fit`; pure)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ecrscan.core.fixplan import Fix, FixPlan
from ecrscan.core.view import DEFAULT_VIEW, View
from ecrscan.render.common import thresholds_text
from ecrscan.render.fit import Fitted
from ecrscan.render.fixes import epss_text, in_use_text, plan_headline
from ecrscan.render.table.report import SEVERITY_STYLE, SHORT_HEADER

MAX_CVES = 3  # CVEs named per row; the JSON lists them all


def fixes_table(plan: FixPlan, view: View = DEFAULT_VIEW) -> RenderableType:
    """The upgrades, widest layout first: with the CVEs, then without them, then with
    short headers."""
    return Group(
        Fitted(
            _table(plan, view, cves=True, short=False),
            _table(plan, view, cves=False, short=False),
            _table(plan, view, cves=False, short=True),
        )
    )


def _table(plan: FixPlan, view: View, *, cves: bool, short: bool) -> Table:
    table = Table(
        title=f"ecrscan fixes: {plan_headline(plan, view)}",
        title_justify="left",
        caption=_caption(plan),
        caption_justify="left",
    )
    # columns of facts nobody gave (no --in-use, no KEV or EPSS) are left out
    in_use = any(f.images_in_use is not None for f in plan.fixes)
    kev = any(f.kev for f in plan.fixes)
    epss = any(f.epss_max is not None for f in plan.fixes)
    table.add_column("package", no_wrap=True)
    table.add_column("installed", no_wrap=True)
    table.add_column("fixed", no_wrap=True)
    table.add_column("clears" if short else "cleared", justify="right", no_wrap=True)
    table.add_column("imgs" if short else "images", justify="right", no_wrap=True)
    if in_use:
        table.add_column("used" if short else "in use", justify="right", no_wrap=True)
    table.add_column("sev" if short else "severity", no_wrap=True)
    if kev:
        table.add_column("KEV", no_wrap=True)
    if epss:
        table.add_column("EPSS", justify="right", no_wrap=True)
    if cves:
        table.add_column("CVEs")
    for fix in plan.fixes:
        severity = SHORT_HEADER[fix.severity] if short else fix.severity.value
        table.add_row(
            fix.package or "?",
            fix.installed_version,
            fix.fixed_version,
            str(fix.breaches_cleared),
            str(fix.images_affected),
            *([in_use_text(fix.images_in_use)] if in_use else []),
            Text(severity, style=SEVERITY_STYLE.get(fix.severity, "")),
            *([Text("yes", style="bold red") if fix.kev else ""] if kev else []),
            *([epss_text(fix.epss_max)] if epss else []),
            *([_cves(fix)] if cves else []),
        )
    return table


def _cves(fix: Fix) -> str:
    shown = ", ".join(fix.cves[:MAX_CVES])
    more = len(fix.cves) - MAX_CVES
    return shown + (f", +{more}" if more > 0 else "")


def _caption(plan: FixPlan) -> str:
    return (
        "cleared: breaching images within thresholds after this upgrade alone "
        f"(thresholds: {thresholds_text(plan.report)})"
    )
