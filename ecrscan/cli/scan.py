"""``ecrscan scan REF...``: the CI step for an image just pushed: start its scan, wait
for it, judge it against the thresholds (the same options, outputs and exit codes as
``report``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ecrscan.cli.app import AppContext
from ecrscan.cli.gate import GateOptions, finish, gate_options
from ecrscan.cli.group import command_setup, region_option
from ecrscan.cli.helptext import Command
from ecrscan.cli.options import TimeoutParam, checked, concurrency_option, env_option
from ecrscan.cli.output import check_destination, emit, error, log_calls, warn
from ecrscan.cli.progress import ProgressDisplay, WaitLines
from ecrscan.cli.publish import publish_report
from ecrscan.core.durations import Duration
from ecrscan.core.imageref import ImageRef, parse_image_ref
from ecrscan.core.model import ReportResult
from ecrscan.engine.scan import ScanSettings, Start, scan
from ecrscan.engine.wait import Pacing
from ecrscan.render.formats import render
from ecrscan.render.notices import all_notices

if TYPE_CHECKING:
    from ecrscan.aws.ecr import EcrGateway  # botocore: imported by the first gateway


@click.command(
    "scan",
    cls=Command,
    examples=(
        'ecrscan scan "$REPO:$GIT_SHA" --fail-on HIGH',
        'ecrscan scan "$REPO:$GIT_SHA" --format sarif --output ecrscan.sarif',
        "ecrscan scan api:1.4 worker:1.4 --expiry 1d --threshold HIGH=2",
    ),
    docs="docs/commands/scan.md",
)
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
    help="Scan only if the last scan is older (1d, 12h). Default: always.",
)
@env_option(
    "--timeout",
    env="ECRSCAN_SCAN_TIMEOUT",
    type=TimeoutParam(),
    default="15min",
    show_default=True,
    help="How long to wait for the scans (90s, 15min, 1h).",
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
    """Scan images now, wait, and judge them against thresholds (the CI step).

    REF: repo:tag, repo@sha256:..., or an image URI (env ECRSCAN_SCAN_IMAGES,
    space-separated).
    """
    if len(app.regions) > 1:
        raise click.UsageError(
            "scan reads one region (a full image URI names its own): give --region once"
        )
    check_destination(gate.format, gate.output)
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
    finish(app, result, view, True, gate.topic_arn, shown=gate.on_screen)


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
