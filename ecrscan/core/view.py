"""How a command's options say a result is shown and judged, beside what the engine
found: the renderers and the exit code take a :class:`View` next to the result, which
holds only what the run found (the engine never sees these options)."""

from __future__ import annotations

from dataclasses import dataclass

from ecrscan.core.exits import EXIT_BREACH, EXIT_INCOMPLETE, EXIT_OK
from ecrscan.core.model import QueuedJobs, ReportResult, RepositoryListing, RescanResult
from ecrscan.core.severity import Severity

Result = ReportResult | RescanResult | RepositoryListing | QueuedJobs


@dataclass(frozen=True, slots=True)
class View:
    """The options that judge and list a result, not part of what the run found."""

    command: str = "report"  # the command that made a report: "report" or "scan"
    # An empty scope (no image to check or judge, no error) is accepted, not a failure.
    allow_empty: bool = False
    # What a report's outputs list (the verdict and the totals always cover everything):
    only_breaches: bool = False  # only the images that breach or were not assessed
    min_severity: Severity | None = None  # only the findings at this level or above
    # report --strict: every image that could not be judged (not scannable too) leaves
    # the audit incomplete.
    strict: bool = False


DEFAULT_VIEW = View()  # a report by `report`: every image and finding listed, none empty


def is_empty(result: ReportResult | RescanResult) -> bool:
    """No image to check or judge and no error either: the filters (or the image scope)
    matched no image, which must not pass as "done"."""
    if isinstance(result, ReportResult):
        return result.nothing_reported
    return result.nothing_checked


def complete(result: ReportResult | RescanResult, view: View) -> bool:
    """Every image in scope was checked or judged, and there was some (or ``view``
    accepts none); with ``view.strict``, every image of a report was judged."""
    if isinstance(result, ReportResult) and view.strict and result.unjudged:
        return False
    return not result.incomplete and (view.allow_empty or not is_empty(result))


def exit_code(result: Result, view: View) -> int:
    """The process's exit code, decided once for every command: 3 when part of the work
    was left undone (an error, a quota, a signal, nothing in scope unless allowed, a
    failed ``--publish``, a job not queued; an image that could not be judged, except
    one ECR cannot scan in a registry-wide report without ``view.strict``) -- it outranks
    a breach --, 1 when a report has a breach, else 0.  A listing exists only once every
    page was read: 0."""
    if isinstance(result, RepositoryListing):
        return EXIT_OK
    if isinstance(result, QueuedJobs):
        empty = result.empty and not view.allow_empty
        return EXIT_INCOMPLETE if result.failed or result.failed_targets or empty else EXIT_OK
    if not complete(result, view):
        return EXIT_INCOMPLETE
    if isinstance(result, RescanResult):
        return EXIT_OK
    if result.publish_error is not None:
        return EXIT_INCOMPLETE
    return EXIT_BREACH if result.breached else EXIT_OK
