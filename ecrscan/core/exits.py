"""The process's exit codes (README, "Exit codes"): what a run's result decides."""

from __future__ import annotations

EXIT_OK = 0  # done (report, scan: every image within its thresholds)
EXIT_BREACH = 1  # report and scan only: at least one image breaches a threshold
EXIT_USAGE = 2  # usage or configuration error; no AWS call was made
EXIT_INCOMPLETE = 3  # part of the work was left undone (an error, a signal, an empty scope)
