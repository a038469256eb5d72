"""The exit code is one pure function of a result and the options that judge it."""

from __future__ import annotations

from dataclasses import fields, replace

from ecrscan.core.model import QueuedJobs, ReportResult, RepositoryListing, RescanResult, ScanType
from ecrscan.core.problem import Problem
from ecrscan.core.severity import Severity
from ecrscan.core.view import DEFAULT_VIEW, View, complete, exit_code
from tests.support.report_samples import NOW, THRESHOLDS, ok_result, sample_result

ALLOWED = View(allow_empty=True)


def test_a_report_exits_0_1_or_3_and_an_error_outranks_a_breach() -> None:
    ok = ok_result()
    breach = replace(sample_result(), images=sample_result().breached)
    assert (exit_code(ok, DEFAULT_VIEW), exit_code(breach, DEFAULT_VIEW)) == (0, 1)
    assert exit_code(sample_result(), DEFAULT_VIEW) == 3  # breaches and images not assessed
    refused = Problem("NotFound", "no topic")
    assert exit_code(replace(ok, publish_error=refused), DEFAULT_VIEW) == 3
    assert exit_code(replace(breach, publish_error=refused), DEFAULT_VIEW) == 3
    assert exit_code(replace(breach, interrupted="SIGTERM"), DEFAULT_VIEW) == 3


def test_an_empty_scope_fails_unless_the_view_allows_it() -> None:
    report = ReportResult((), THRESHOLDS, NOW)
    rescan = RescanResult((), NOW, "7d", False, ScanType.BASIC)
    for result in (report, rescan):
        assert (complete(result, DEFAULT_VIEW), exit_code(result, DEFAULT_VIEW)) == (False, 3)
        assert (complete(result, ALLOWED), exit_code(result, ALLOWED)) == (True, 0)
    interrupted = replace(rescan, interrupted="SIGINT")
    assert exit_code(interrupted, ALLOWED) == 3  # allowing an empty scope allows no signal


def test_listing_options_change_no_exit_code() -> None:
    listed = View(only_breaches=True, min_severity=Severity.CRITICAL)
    for result in (ok_result(), sample_result()):
        assert exit_code(result, listed) == exit_code(result, DEFAULT_VIEW)


def test_queued_jobs_and_listings() -> None:
    queued = QueuedJobs("https://sqs.example/q", None, None, repositories=2, sent=2)
    assert exit_code(queued, DEFAULT_VIEW) == 0
    assert exit_code(replace(queued, sent=1, failed=(("r", "X", "m"),)), DEFAULT_VIEW) == 3
    assert exit_code(replace(queued, failed_targets=(("a/r", "X", "m"),)), DEFAULT_VIEW) == 3
    assert exit_code(RepositoryListing(()), DEFAULT_VIEW) == 0


def test_the_engines_results_hold_no_display_option() -> None:
    shown = {f.name for f in fields(View)}
    for result in (ReportResult, RescanResult):
        assert not shown & {f.name for f in fields(result)}
