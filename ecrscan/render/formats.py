"""The ``report`` output formats, chosen by name (``--format``)."""

from __future__ import annotations

import enum
from collections.abc import Callable

from rich.console import RenderableType

from ecrscan.model import ReportResult
from ecrscan.render.csv import report_csv
from ecrscan.render.junit import report_junit
from ecrscan.render.markdown import report_markdown
from ecrscan.render.report_json import report_json
from ecrscan.render.report_table import report_table
from ecrscan.render.sarif import report_sarif


class ReportFormat(str, enum.Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    JUNIT = "junit"
    CSV = "csv"


# Formats that list every finding: the engine reads all findings for them.
NEEDS_FINDINGS: frozenset[ReportFormat] = frozenset({ReportFormat.SARIF, ReportFormat.CSV})

FORMATTERS: dict[ReportFormat, Callable[[ReportResult], str | RenderableType]] = {
    ReportFormat.TABLE: report_table,
    ReportFormat.JSON: report_json,
    ReportFormat.MARKDOWN: report_markdown,
    ReportFormat.SARIF: report_sarif,
    ReportFormat.JUNIT: report_junit,
    ReportFormat.CSV: report_csv,
}


def render_report(fmt: ReportFormat, result: ReportResult) -> str | RenderableType:
    """The table format gives a rich renderable (for the terminal); every other format
    a string ending in a newline (for stdout or ``--output``)."""
    return FORMATTERS[ReportFormat(fmt)](result)
