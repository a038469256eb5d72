"""``ecrscan scan REF...``: the CI step for an image just pushed: start its scan, wait
for it, judge it against the thresholds (the same options, outputs and exit codes as
``report``)."""

from __future__ import annotations

import click

from ecrscan.aws.ecr import EcrGateway
from ecrscan.cli.app import AppContext
from ecrscan.cli.gate import GateOptions, finish, gate_options
from ecrscan.cli.group import command_setup, region_option
from ecrscan.cli.options import TimeoutParam, checked, concurrency_option, env_option
from ecrscan.cli.output import emit, error, log_calls, warn
from ecrscan.cli.progress import ProgressDisplay, WaitLines
from ecrscan.cli.publish import publish_report
from ecrscan.core.durations import Duration
from ecrscan.core.imageref import ImageRef, parse_image_ref
from ecrscan.core.model import ReportResult
from ecrscan.engine.scan import ScanSettings, Start, scan
from ecrscan.engine.wait import Pacing
from ecrscan.render.formats import render
from ecrscan.render.notices import all_notices


@click.command("scan")
@click.argument(
    "images",
    nargs=-1,
    required=True,
    envvar="ECRSCAN_SCAN_IMAGES",
    metavar="REF...",
    callback=checked(lambda values: tuple(parse_image_ref(v) for v in values)),
)
@env_option(
    "--expiry",
    env="ECRSCAN_SCAN_EXPIRY",
    metavar="DURATION",
    callback=checked(lambda v: None if v is None else Duration.parse(v)),
    help="Start no scan when the image's last completed scan is newer than DURATION "
    "(e.g. 1d, 12h); its findings are judged instead. Default: always scan now.",
)
@env_option(
    "--timeout",
    env="ECRSCAN_SCAN_TIMEOUT",
    type=TimeoutParam(),
    default="15min",
    show_default=True,
    help="How long to wait for the scans: h, min, s (e.g. 90s, 15min, 1h); a bare number "
    "is seconds. What has not finished by then is reported as pending (exit 3).",
)
@gate_options("scan")
@region_option
@concurrency_option("Parallel AWS calls.")
@command_setup
def scan_cmd(
    app: AppContext,
    images: tuple[ImageRef, ...],
    expiry: Duration | None,
    timeout: float,
    concurrency: int,
    gate: GateOptions,
) -> None:
    """Scan images now, wait for the scans and judge them against thresholds: the CI
    step for the image a pipeline just pushed.

    REF is repo:tag, repo@sha256:..., or a full URI
    <account>.dkr.ecr.<region>.amazonaws.com/repo[:tag|@digest] (env ECRSCAN_SCAN_IMAGES,
    space-separated).  A basic scan is started unless the last completed scan is newer
    than --expiry; when the once-a-day scan quota refuses it, the scan of the last 24 h
    is used.  On a registry with enhanced scanning (Amazon Inspector) nothing is started
    and its findings are awaited.  Without a terminal, one line per state change (and at
    least one every 30 s) tells how the scans stand.

    \b
    Exit codes (as report):
      0  every image within thresholds
      1  at least one image breaches a threshold
      2  usage or configuration error (no AWS call was made)
      3  a scan did not finish in time, failed, or an image could not be read

    \b
    Example:
      ecrscan scan "$REPO:$GIT_SHA" --fail-on HIGH --format sarif --output ecrscan.sarif

    IAM: ecr:DescribeImages, ecr:DescribeImageScanFindings, ecr:StartImageScan,
    ecr:BatchGetImage (image indexes), ecr:GetRegistryScanningConfiguration;
    sns:Publish with --publish; --only-changed: dynamodb:BatchGetItem, dynamodb:GetItem,
    dynamodb:PutItem and dynamodb:DeleteItem on the state table.
    """
    if len(app.regions) > 1:
        raise click.UsageError(
            "scan reads one region (a full image URI names its own): give --region once"
        )
    thresholds = gate.thresholds()  # every check first: exit 2, no AWS call
    rules = gate.ignore_rules()
    topic_region = gate.topic_region()
    report = gate.report_settings(
        thresholds,
        rules,
        images=images,
        wait=True,
        timeout=timeout,
        **app.controls(concurrency),
    )
    result = _run(app, ScanSettings(report, expiry))
    if topic_region is not None:
        result = publish_report(app, result, gate, topic_region)
    view = gate.view("scan")
    emit(gate.output, render(gate.format, result, view))
    finish(app, result, view, True, shown=gate.on_screen)


def _run(app: AppContext, settings: ScanSettings) -> ReportResult:
    """Run the scan with a progress bar on a terminal, else status lines; say what was
    started as it happens and every other notice at the end."""
    gateways: list[EcrGateway] = []

    def gateway_for(region: str | None, registry_id: str | None) -> EcrGateway:
        gateway = app.gateway(region=region, registry_id=registry_id)
        gateways.append(gateway)
        return gateway

    with ProgressDisplay.for_terminal(enabled=not app.quiet, scans=False) as display:
        lines = WaitLines(enabled=not app.quiet and not display.active)
        told: list[Start] = []

        def started(start: Start) -> None:
            told.append(start)
            if not app.quiet:
                display.note(f"ecrscan: {start.notice}")

        result = scan(
            gateway_for,
            app.clock(),
            settings,
            progress=display.callback,
            pacing=Pacing(watch=lines),
            started=started,
        )
    log_calls(gateways)
    for notice in all_notices(result)[len(told) :]:  # the starts were told as they happened
        warn(app, notice)
    for name, problem in result.repository_errors:
        error(f"repository {name}: {problem}")
    return result
