"""Terminal tables (rich renderables) of every command."""

from ecrscan.render.table.report import report_table
from ecrscan.render.table.rescan import repositories_table, rescan_table

__all__ = ["report_table", "repositories_table", "rescan_table"]
