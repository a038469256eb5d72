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

import click

from ecrscan.aws.ecr import EcrGateway
from ecrscan.cli.app import AppContext
from ecrscan.cli.event import event_options
from ecrscan.cli.gate import GateOptions, finish, gate_options
from ecrscan.cli.group import command_setup
from ecrscan.cli.options import (
    TimeoutParam,
    allow_empty_option,
    concurrency_option,
    env_option,
    image_refs_callback,
)
from ecrscan.cli.output import coverage_errors, emit, error, log_calls, warn
from ecrscan.cli.progress import ProgressDisplay, WaitLines
from ecrscan.cli.publish import publish_report
from ecrscan.cli.selection import Selection, make_plan, selection_options
from ecrscan.core.imageref import ImageRef
from ecrscan.core.model import ReportResult
from ecrscan.engine.plan import Plan
from ecrscan.engine.report import ReportSettings, build_report
from ecrscan.engine.targets import Audit
from ecrscan.engine.wait import Pacing
from ecrscan.render.formats import render
from ecrscan.render.notices import all_notices, artifacts_text


@click.command("report")
@selection_options
@env_option(
    "--latest",
    env="ECRSCAN_LATEST",
    is_flag=True,
    help="Only the most recently pushed image of each repository.",
)
@env_option(
    "--image",
    "images",
    env="ECRSCAN_IMAGE",
    env_note="space-separated",
    multiple=True,
    metavar="REF",
    callback=image_refs_callback,
    help="Report exactly this image instead of the registry (repeatable): repo:tag, "
    "repo@sha256:..., repo:tag@sha256:..., a bare repo (= repo:latest), or a full URI "
    "<account>.dkr.ecr.<region>.amazonaws.com/repo[:tag|@digest] whose account and "
    "region are used. --filter, --exclude and --latest do not apply.",
)
@env_option(
    "--wait",
    env="ECRSCAN_WAIT",
    is_flag=True,
    help="Poll images whose scan is IN_PROGRESS or PENDING (and never-scanned images "
    "pushed in the last 15 minutes, for scan-on-push) with backoff until the scan ends "
    "or --timeout passes.",
)
@env_option(
    "--timeout",
    env="ECRSCAN_TIMEOUT",
    type=TimeoutParam(),
    default="10min",
    show_default=True,
    help="How long --wait polls: units h (hours), min (minutes), s (seconds), e.g. 90s, "
    "10min, 1h30min; a bare number is seconds ('m' means months, so 30m is refused).",
)
@env_option(
    "--strict",
    env="ECRSCAN_STRICT",
    is_flag=True,
    help="Every image that could not be judged exits 3, images ECR cannot scan "
    "(UNSUPPORTED_IMAGE: no package manager, as scratch or distroless) too; without it a "
    "registry report lists them as not scannable and does not exit 3 for them.",
)
@allow_empty_option
@gate_options("report")
@concurrency_option("Parallel AWS calls.")
@command_setup
@event_options
def report(
    app: AppContext,
    selection: Selection,
    latest: bool,
    images: tuple[ImageRef, ...],
    wait: bool,
    timeout: float,
    strict: bool,
    allow_empty: bool,
    concurrency: int,
    gate: GateOptions,
) -> None:
    """Check image scan findings against per-severity thresholds (a CI gate).

    Reports every image of the region's repositories (--filter/--exclude, --latest), or
    exactly the --image references.  Counts come from each image's last scan; findings
    are read when --details, --ignore-file, or a format that lists findings (sarif, csv)
    needs them.  Nothing is scanned: run `ecrscan rescan` first, or use --wait.
    With --event FILE, one EventBridge scan event is judged instead, exactly as the
    deployed reporter function judges it, without any AWS call (unless --publish).

    \b
    Exit codes:
      0  every image within thresholds
      1  at least one image breaches a threshold
      2  usage or configuration error (no AWS call was made)
      3  AWS/runtime error, or the audit is incomplete: an image never scanned, its
         scan failed or still pending, or unreadable; the filters matched no image
         ("nothing to report"); or --publish failed (outranks 1); with --strict,
         an image ECR cannot scan (listed as not scannable otherwise)

    \b
    Example (CI gate on the image just pushed):
      ecrscan report --image "$REPO:$GIT_SHA" --wait --timeout 15min --fail-on HIGH \\
          --format sarif --output ecrscan.sarif

    Registry reports can cover several regions (--region repeated) and accounts
    (--role-arn), and only the images ECS uses (--in-use) or pulled lately
    (--pulled-within); each image names its account and region, and what was left out
    is listed.  A failing account or region does not stop the others (exit 3).

    IAM: ecr:DescribeRepositories and ecr:DescribeImages (whole registry) or
    ecr:DescribeImages (--image), ecr:DescribeImageScanFindings, ecr:BatchGetImage
    (image indexes: their platform images); a whole ENHANCED
    registry is read in bulk with ecr:GetRegistryScanningConfiguration,
    inspector2:ListCoverage and inspector2:ListFindingAggregations, and with --epss-file
    inspector2:ListFindings (Inspector's EPSS scores); sns:Publish with
    --publish; --only-changed: dynamodb:BatchGetItem, dynamodb:GetItem, dynamodb:PutItem
    and dynamodb:DeleteItem on the state table; --in-use: read-only ECS calls (see
    --in-use); --role-arn: sts:AssumeRole; --organization: organizations:ListAccounts
    (--ou: organizations:ListAccountsForParent,
    organizations:ListOrganizationalUnitsForParent) and sts:AssumeRole on the --role-name
    role; --all-regions: ec2:DescribeRegions.
    """
    # Every check that can fail without AWS comes first: exit 2, no call made.
    thresholds = gate.thresholds()
    rules = gate.ignore_rules()
    topic_region = gate.topic_region()
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
        wait=wait,
        timeout=timeout,
        **controls,
    )
    result = _build(app, settings, plan)
    view = gate.view("report", allow_empty, strict)
    if topic_region is not None:
        # before the output is written, so that its exit_code is the process's
        result = publish_report(app, result, gate, topic_region)
    emit(gate.output, render(gate.format, result, view))
    finish(app, result, view, wait)


def _build(app: AppContext, settings: ReportSettings, plan: Plan) -> ReportResult:
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
    for notice in all_notices(result):
        warn(app, notice)
    if result.artifacts:
        warn(app, artifacts_text(result.artifacts))
    for name, problem in result.repository_errors:
        error(f"repository {name}: {problem}")
    return result
