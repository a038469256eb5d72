"""``ecrscan rescan``: start scans for the images whose last scan is older than
``--expiry``, here or (``--via-queue``) through the deployed functions' jobs queue."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from ecrscan.cli.app import AppContext, conclude
from ecrscan.cli.gate import EMPTY_HINT
from ecrscan.cli.group import command_setup
from ecrscan.cli.helptext import Command
from ecrscan.cli.options import allow_empty_option, concurrency_option, env_option, output_options
from ecrscan.cli.output import coverage_errors, coverage_incomplete, emit, error, warn
from ecrscan.cli.progress import ProgressDisplay
from ecrscan.cli.scandates import FileScanDates, default_directory
from ecrscan.cli.selection import Selection, expiry_option, make_plan, selection_options
from ecrscan.core.durations import Duration
from ecrscan.core.exits import EXIT_INCOMPLETE
from ecrscan.core.model import Decision, Outcome, QueuedJobs, RescanResult
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.summary import summarize
from ecrscan.core.targets import check_queue_url
from ecrscan.core.view import View, exit_code
from ecrscan.core.words import plural
from ecrscan.engine.plan import Plan
from ecrscan.engine.queue import plan_jobs, queue_jobs, queue_region
from ecrscan.engine.rescan import RescanSettings
from ecrscan.engine.targets import Audit
from ecrscan.render.common import NOTHING_TO_QUEUE
from ecrscan.render.formats import Format, formats_for, render
from ecrscan.render.notices import all_notices, artifacts_text, empty_cause

log = logging.getLogger("ecrscan")


@click.command(
    "rescan",
    cls=Command,
    examples=(
        "ecrscan rescan --expiry 7d --dry-run",
        "ecrscan rescan --filter '^team-a/' --region eu-west-1 --region us-east-1",
        'ecrscan rescan --organization --all-regions --via-queue "$QUEUE_URL"',
    ),
    docs="docs/commands/rescan.md",
)
@expiry_option
@selection_options
@env_option(
    "--dry-run",
    env="ECRSCAN_DRY_RUN",
    is_flag=True,
    help="Plan only: list what is due, start nothing.",
)
@allow_empty_option
@concurrency_option("Parallel AWS calls per account and region.")
@env_option(
    "--via-queue",
    "via_queue",
    env="ECRSCAN_VIA_QUEUE",
    metavar="URL",
    help="Send one job per repository to this SQS queue instead.",
)
@env_option(
    "--cache-dir",
    "cache_dir",
    env="ECRSCAN_CACHE_DIR",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Scan-date cache (default: $XDG_CACHE_HOME/ecrscan, else ~/.cache/ecrscan).",
)
@env_option(
    "--no-cache",
    "no_cache",
    env="ECRSCAN_NO_CACHE",
    is_flag=True,
    help="Read every image's scan state: no scan-date cache.",
)
@output_options(RescanResult, "rescan")
@command_setup
def rescan_cmd(
    app: AppContext,
    expiry: Duration,
    selection: Selection,
    dry_run: bool,
    allow_empty: bool,
    concurrency: int,
    via_queue: str | None,
    cache_dir: Path | None,
    no_cache: bool,
    fmt: str,
    output: Path | None,
) -> None:
    """Start scans for the images whose last scan is older than --expiry.

    Due: never scanned, last scan failed, or completed before --expiry.
    """
    if via_queue is not None:
        _check_queue_url(app, via_queue)
    controls = app.controls(concurrency)
    plan = make_plan(app, selection)
    repo_filter = selection.repo_filter()
    if via_queue is not None:
        _check_via_queue(plan, dry_run)
        source = click.get_current_context().get_parameter_source("expiry")
        job_expiry = None if source is click.core.ParameterSource.DEFAULT else expiry.text
        view = View("rescan", allow_empty=allow_empty)
        return _rescan_via_queue(app, via_queue, plan, repo_filter, job_expiry, fmt, output, view)
    settings = RescanSettings(
        expiry=expiry,
        filter=repo_filter,
        dry_run=dry_run,
        cache=None if no_cache else _cache(app, cache_dir),
        **controls,
    )
    with ProgressDisplay.for_terminal(enabled=not app.quiet) as display:
        audit = Audit(app.connections(), plan, app.clock(), display.callback)
        result = audit.rescan(settings)
    view = View("rescan", allow_empty=allow_empty)
    _show(app, result, allow_empty)
    if result.cache is not None:
        log.info(
            "scan-date cache %s: %s saved",
            result.cache.location,
            plural(result.cache.reads_saved, "scan-state read"),
        )
    emit(output, render(fmt.lower(), result, view))
    code = exit_code(result, view)
    if code != EXIT_INCOMPLETE:
        conclude(code)
    elif result.incomplete:
        conclude(code, _incomplete_message(result))
    else:
        cause = empty_cause(result, selection.include, selection.exclude)
        conclude(code, f"nothing to rescan: {cause} ({EMPTY_HINT})")


def _cache(app: AppContext, directory: Path | None) -> FileScanDates:
    """The run's scan-date cache: ``--cache-dir``, else the user's cache directory."""
    return FileScanDates(directory or default_directory(os.environ), app.endpoint_url or "")


def _show(app: AppContext, result: RescanResult, allow_empty: bool) -> None:
    """Failed targets, notices and repository errors on stderr (an empty scope's last
    line says what emptied it: not the scope's counts before it)."""
    coverage_errors(result.coverage)
    multi = result.coverage is not None and len(result.coverage.targets) > 1
    for notice in all_notices(result, summaries=allow_empty or not result.nothing_checked):
        warn(app, notice)
    if result.artifacts:
        warn(app, artifacts_text(result.artifacts))
    for repo in result.repositories:
        if repo.error:
            where = f" ({repo.repository.registry_id}/{repo.region})" if multi else ""
            error(f"repository {repo.repository.name}{where}: {repo.error}")


def _incomplete_message(result: RescanResult) -> str:
    """What was left undone, in the record's own counts and words: started, due but not
    started (a due image whose scan was not started), not checked (an image the run did
    not get to: its decision is ``skipped``, "not checked")."""
    summary = summarize(result)["TOTAL"]
    errors = sum(1 for r in result.repositories if r.error)
    left = [i for r in result.repositories for i in r.images if i.outcome is Outcome.NOT_STARTED]
    due = sum(1 for i in left if i.verdict.decision is Decision.DUE)
    counted = (
        (errors, "repository", "failed"),
        (summary["failed"], "image", "failed"),
        (due, "image", "due but not started"),
        (len(left) - due, "image", "not checked"),
    )
    parts = [f"{plural(n, noun)} {verb}" for n, noun, verb in counted if n]
    targets = coverage_incomplete(result.coverage)
    if targets:
        parts.append(targets)
    if result.interrupted:
        started = f"{plural(summary['started'], 'scan')} started before the stop (all recorded)"
        return f"interrupted by {result.interrupted}: " + ", ".join([started, *parts])
    return "incomplete: " + ", ".join(parts)


def _check_queue_url(app: AppContext, url: str) -> None:
    """A usage error naming the option (or its variable) unless ``url`` is a queue URL
    of AWS or of the run's ``--endpoint-url`` (before any AWS call)."""
    problem = check_queue_url(url, app.endpoint_url)
    if problem:
        ctx = click.get_current_context()
        hint = "'--via-queue'"
        if ctx.get_parameter_source("via_queue") is click.core.ParameterSource.ENVIRONMENT:
            hint += " (set by the environment variable ECRSCAN_VIA_QUEUE)"
        raise click.BadParameter(f"{url!r} {problem}", ctx=ctx, param_hint=hint)


def _check_via_queue(plan: Plan, dry_run: bool) -> None:
    if dry_run:
        raise click.UsageError("--dry-run and --via-queue cannot be combined")
    if plan.in_use or plan.pulled_within:
        raise click.UsageError(
            "--via-queue sends one job per repository: it cannot be combined with "
            "--in-use or --pulled-within (set ECS_DISCOVERY_ENABLED on the deployed "
            "functions instead)"
        )


def _rescan_via_queue(
    app: AppContext,
    queue_url: str,
    plan: Plan,
    repo_filter: RepositoryFilter,
    expiry: str | None,
    fmt: str,
    output: Path | None,
    view: View,
) -> None:
    """``rescan --via-queue``: one job per (account, region, repository) of the plan to
    the jobs queue; exit 3 if a target could not be listed, SQS refused any job, or
    (unless ``view`` allows it) no repository was in scope."""
    home = queue_region(queue_url) or app.region
    jobs = plan_jobs(app.connections(), plan, app.clock(), repo_filter, expiry, home=home)
    from ecrscan.aws.clients import MESSAGING  # botocore: only when queueing
    from ecrscan.aws.sqs import JobQueue

    sqs = app.client("sqs", MESSAGING, region=home)
    run = queue_jobs(jobs, JobQueue(sqs, queue_url, stop=app.stop))
    queued = run.queued_jobs(queue_url, app.region, expiry)
    planned = plural(queued.repositories, "repository job")
    sent = f"queued {queued.sent} of {planned} to {queue_url}"
    if not queued.failed:  # else the error line says it
        warn(app, sent)
    for label, code, message in queued.failed_targets:
        error(f"{label}: not listed: {code}: {message}")
    if Format(fmt.lower()) in formats_for(QueuedJobs):
        emit(output, render(fmt.lower(), queued, view))
    problems = []
    if queued.failed:
        repository, code, message = queued.failed[0]
        problems.append(
            f"{sent}: {len(queued.failed)} not queued (first: {repository}: {code}: {message})"
        )
    if queued.failed_targets:
        problems.append(f"{plural(len(queued.failed_targets), 'account/region target')} failed")
    if queued.empty and not view.allow_empty:
        problems.append(f"{NOTHING_TO_QUEUE} ({EMPTY_HINT})")
    conclude(exit_code(queued, view), "; ".join(problems) if problems else None)
