"""``ecrscan report``: findings against per-severity thresholds, the CI gate.

Every input is checked before the first AWS call (thresholds, ignore file, image
references, timeout, topic ARN, the --output directory: exit 2).  Then the engine builds
the report, it is optionally published to SNS, then written to stdout or ``--output``
(opened only once the report exists; written after publishing so that its JSON
``exit_code`` is the process's), and the exit code says what happened: 0 within
thresholds, 1 a breach, 3 incomplete (an error, a scan missing, failed or still pending),
nothing to report or not published (3 outranks a breach).  ``--event`` hands the command
over to :mod:`ecrscan.cli.event`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from ecrscan.cli.app import AppContext
from ecrscan.cli.event import event_options
from ecrscan.cli.gate import GateOptions, finish, gate_options
from ecrscan.cli.group import command_setup
from ecrscan.cli.helptext import Command
from ecrscan.cli.options import (
    TimeoutParam,
    allow_empty_option,
    collect,
    concurrency_option,
    env_option,
    image_refs_callback,
    stack,
)
from ecrscan.cli.output import check_destination, coverage_errors, emit, error, log_calls, warn
from ecrscan.cli.progress import ProgressDisplay, WaitLines
from ecrscan.cli.publish import publish_report
from ecrscan.cli.selection import Selection, make_plan, selection_options
from ecrscan.core.fixplan import make_plan as make_fix_plan
from ecrscan.core.ignore import IgnoreRule
from ecrscan.core.imageref import ImageRef
from ecrscan.core.model import ReportResult
from ecrscan.core.thresholds import Thresholds
from ecrscan.core.view import View
from ecrscan.engine.plan import Plan
from ecrscan.engine.report import DEFAULT_TIMEOUT, ReportSettings, build_report
from ecrscan.engine.targets import Audit
from ecrscan.engine.wait import Pacing
from ecrscan.render.fixes_html import report_page
from ecrscan.render.formats import Format, Rendered, render
from ecrscan.render.notices import all_notices, artifacts_text, empty_cause

if TYPE_CHECKING:
    from ecrscan.aws.ecr import EcrGateway  # botocore: imported by the first gateway


@dataclass(frozen=True)
class ReportScope:
    """Which images a report judges beside the selection, and how it waits for them."""

    latest: bool = False
    images: tuple[ImageRef, ...] = ()
    wait: bool = False
    timeout: float = DEFAULT_TIMEOUT
    strict: bool = False
    allow_empty: bool = False


# The options of ReportScope, shared by ``report`` and ``fixes``: reach them as ``scope``.
report_scope_options = stack(
    env_option(
        "--latest",
        env="ECRSCAN_LATEST",
        is_flag=True,
        help="Newest image per repository.",
    ),
    env_option(
        "--image",
        "images",
        env="ECRSCAN_IMAGE",
        env_note="space-separated",
        multiple=True,
        metavar="REF",
        callback=image_refs_callback,
        help="Exactly this image (repo:tag, repo@digest, URI).",
    ),
    env_option(
        "--wait",
        env="ECRSCAN_WAIT",
        is_flag=True,
        help="Wait for scans in progress.",
    ),
    env_option(
        "--timeout",
        env="ECRSCAN_TIMEOUT",
        type=TimeoutParam(),
        default="10min",
        show_default=True,
        help="How long --wait waits (90s, 10min, 1h).",
    ),
    env_option(
        "--strict",
        env="ECRSCAN_STRICT",
        is_flag=True,
        help="Unscannable images exit 3 too.",
    ),
    allow_empty_option,
    collect(ReportScope, "scope"),
)


@click.command(
    "report",
    cls=Command,
    examples=(
        "ecrscan report --fail-on HIGH --latest",
        'ecrscan report --image "$REPO:$GIT_SHA" --wait --format sarif -o out.sarif',
        "ecrscan report --organization --all-regions --in-use ecs --only-breaches",
    ),
    docs="docs/commands/report.md",
)
@selection_options
@report_scope_options
@gate_options("report")
@concurrency_option("Parallel AWS calls.")
@command_setup
@event_options
def report(
    app: AppContext,
    selection: Selection,
    scope: ReportScope,
    concurrency: int,
    gate: GateOptions,
) -> None:
    """Judge each image's last scan against per-severity thresholds (the CI gate)."""
    # Every check that can fail without AWS comes first: exit 2, no call made.
    check_destination(gate.format, gate.output)
    thresholds = gate.thresholds()
    rules = gate.ignore_rules()
    topic_region = gate.topic_region()
    settings, plan = report_plan(app, selection, scope, gate, concurrency, (thresholds, rules))
    result = build(app, settings, plan, scope.allow_empty)
    view = gate.view("report", scope.allow_empty, scope.strict)
    if topic_region is not None:
        # before the output is written, so that its exit_code is the process's
        result = publish_report(app, result, gate, topic_region)
    emit(gate.output, rendered(gate.format, result, view, settings, plan))
    empty = "nothing to report: " + empty_cause(result, selection.include, selection.exclude)
    finish(app, result, view, scope.wait, gate.topic_arn, empty, shown=gate.on_screen)


def rendered(
    fmt: Format | str, result: ReportResult, view: View, settings: ReportSettings, plan: Plan
) -> Rendered:
    """The report in ``fmt``; its html page shows the top rows of the fix plan made from
    the same findings (pure: no further AWS call)."""
    if fmt == Format.HTML:
        fixes = make_fix_plan(result, plan.in_use is not None, settings.gates)
        return report_page(result, view, fixes)
    return render(fmt, result, view)


def report_plan(
    app: AppContext,
    selection: Selection,
    scope: ReportScope,
    gate: GateOptions,
    concurrency: int,
    judging: tuple[Thresholds, tuple[IgnoreRule, ...]] | None = None,
) -> tuple[ReportSettings, Plan]:
    """The engine's settings and the run's targets, every option checked (usage errors,
    no AWS call); ``judging``: the thresholds and ignore rules, when checked already."""
    thresholds, rules = judging or (gate.thresholds(), gate.ignore_rules())
    images, latest = scope.images, scope.latest
    if images and (selection.include or selection.exclude or latest):
        warn(app, "--filter, --exclude and --latest do not apply to --image references")
    controls = app.controls(concurrency)
    plan = make_plan(app, selection)
    wide = plan.organization is not None or plan.all_regions or len(plan.regions) > 1
    if images and (plan.in_use or plan.pulled_within or plan.role_arns or wide):
        raise click.UsageError(
            "--image names exact images (a full URI carries its account and region): it "
            "cannot be combined with --in-use, --pulled-within, --role-arn, "
            "--organization, --all-regions or several --region"
        )
    settings = gate.report_settings(
        thresholds,
        rules,
        filter=selection.repo_filter(),
        latest=latest,
        images=images,
        wait=scope.wait,
        timeout=scope.timeout,
        **controls,
    )
    return settings, plan


def build(app: AppContext, settings: ReportSettings, plan: Plan, allow_empty: bool) -> ReportResult:
    """The report of the --image references or of the plan's registries; what went
    wrong on the way on stderr."""
    gateways: list[EcrGateway] = []

    def gateway_for(region: str | None, registry_id: str | None) -> EcrGateway:
        gateway = app.gateway(region=region, registry_id=registry_id)
        gateways.append(gateway)
        return gateway

    now = app.clock()
    with ProgressDisplay.for_terminal(enabled=not app.quiet, scans=False) as display:
        lines = WaitLines(enabled=not app.quiet and not display.active)  # no terminal: CI
        if settings.images:
            result = build_report(
                gateway_for, now, settings, progress=display.callback, pacing=Pacing(watch=lines)
            )
        else:  # logs its calls per target
            audit = Audit(app.connections(), plan, now, display.callback)
            result = audit.report(settings, Pacing(watch=lines))
    if settings.images:
        log_calls(gateways)
    coverage_errors(result.coverage)
    # an empty scope's last line says what emptied it: not the scope's counts before it
    for notice in all_notices(result, summaries=allow_empty or not result.nothing_reported):
        warn(app, notice)
    if result.artifacts:
        warn(app, artifacts_text(result.artifacts))
    for name, problem in result.repository_errors:
        error(f"repository {name}: {problem}")
    return result
