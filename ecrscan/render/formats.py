"""One registry of output formats for every command, chosen by name (``--format``).

Each result type maps the formats it can be written in to a pure function of the result
and of the options that show it (a :class:`~ecrscan.core.view.View`):
a rich renderable for ``table`` (printed to the terminal), a string ending in a newline
for every other format (for stdout or ``--output``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import RenderableType

from ecrscan.core.fixplan import FixPlan
from ecrscan.core.model import QueuedJobs, ReportResult, RepositoryListing, RescanResult
from ecrscan.core.view import DEFAULT_VIEW, View
from ecrscan.render.controls import escape_controls
from ecrscan.render.csv import report_csv
from ecrscan.render.fixes import fixes_csv, fixes_json, fixes_markdown
from ecrscan.render.fixes_html import fixes_html
from ecrscan.render.html import report_html
from ecrscan.render.json import queued_json, report_json, repositories_json, rescan_json
from ecrscan.render.junit import report_junit
from ecrscan.render.markdown import report_markdown
from ecrscan.render.sarif import report_sarif
from ecrscan.render.table import report_table, repositories_table, rescan_table
from ecrscan.render.table.fixes import fixes_table


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"
    JUNIT = "junit"
    CSV = "csv"
    HTML = "html"


Rendered = str | RenderableType
Formatter = Callable[[Any, View], Rendered]

FORMATTERS: Mapping[type, Mapping[Format, Formatter]] = {
    RepositoryListing: {
        Format.TABLE: lambda listing, view: repositories_table(listing),
        Format.JSON: repositories_json,
    },
    RescanResult: {Format.TABLE: rescan_table, Format.JSON: rescan_json},
    QueuedJobs: {Format.JSON: queued_json},  # the table format prints one line on stderr
    ReportResult: {
        Format.TABLE: report_table,
        Format.JSON: report_json,
        Format.MARKDOWN: lambda result, view: escape_controls(report_markdown(result, view)),
        Format.SARIF: report_sarif,
        Format.JUNIT: report_junit,
        Format.CSV: report_csv,
        Format.HTML: report_html,
    },
    FixPlan: {
        Format.TABLE: fixes_table,
        Format.JSON: fixes_json,
        Format.MARKDOWN: lambda plan, view: escape_controls(fixes_markdown(plan, view)),
        Format.CSV: fixes_csv,
        Format.HTML: fixes_html,
    },
}

# What each format is for, in --format's help.
PURPOSE: Mapping[Format, str] = {
    Format.TABLE: "table (people)",
    Format.JSON: "json (documented schema)",
    Format.MARKDOWN: "markdown (PR comments)",
    Format.SARIF: "sarif (GitHub code scanning)",
    Format.JUNIT: "junit (CI test reports)",
    Format.CSV: "csv (one row per finding)",
    Format.HTML: "html (one self-contained page)",
}

# Formats that list every finding: the report engine reads all findings for them.
NEEDS_FINDINGS: frozenset[Format] = frozenset({Format.SARIF, Format.CSV, Format.HTML})

# Pages for a browser: written to a file or a pipe, never to a terminal.
PAGES: frozenset[Format] = frozenset({Format.HTML})


def formats_for(kind: type) -> tuple[Format, ...]:
    """The formats a result of type ``kind`` can be written in, in enum order."""
    return tuple(f for f in Format if f in FORMATTERS[kind])


def render(fmt: Format | str, result: Any, view: View = DEFAULT_VIEW) -> Rendered:
    """``result`` in format ``fmt``, shown as ``view`` says; ``KeyError`` when its type
    has no such format."""
    return FORMATTERS[type(result)][Format(fmt)](result, view)
