"""``ecrscan report --event FILE``: evaluate an EventBridge scan event as the reporter
Lambda function does.

The event (``ECR Image Scan`` or ``Inspector2 Scan``, from a file or ``-`` for stdin) is
parsed by :func:`ecrscan.core.events.parse_scan_event` and judged by
:func:`ecrscan.core.events.image_report` against the thresholds ``report`` builds (env
``CRITICAL``/``HIGH``/``MEDIUM``/``LOW``, ``--fail-on``, ``--threshold``); with
``--publish`` the message is the one the reporter publishes
(:func:`~ecrscan.core.events.wants_notification`,
:func:`~ecrscan.render.sns.event_messages`).
The report goes through ``report``'s formats, ``--output`` and exit codes: 0 within
thresholds, 1 a breach, 2 a usage error (an unreadable or malformed event), 3 a scan that
did not complete.  No AWS call is made unless ``--publish``.

:func:`event_options` adds ``--event`` and ``--notify-on-scan-failure`` to the ``report``
command and takes the command over when ``--event`` is given.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource

from ecrscan.cli.app import AppContext, log
from ecrscan.cli.gate import GateOptions, finish
from ecrscan.cli.options import env_option, stack
from ecrscan.cli.output import emit, warn
from ecrscan.cli.publish import send_to_sns
from ecrscan.core.events import (
    EventError,
    ScanEvent,
    image_report,
    parse_scan_event,
    wants_notification,
)
from ecrscan.core.model import ImageReport, ReportResult
from ecrscan.core.problem import Problem
from ecrscan.core.thresholds import Thresholds
from ecrscan.render.formats import NEEDS_FINDINGS, render
from ecrscan.render.sns import event_messages

STDIN = "-"
# EventBridge events are at most 256 KB; a file much larger is not one event.
MAX_EVENT_BYTES = 1024 * 1024
# The options of `report` that --event uses ...
EVENT_OPTIONS = frozenset(
    {
        "event_source",
        "notify_failures",
        "threshold_specs",
        "fail_on",
        "fmt",
        "output",
        "publish_",
        "publish_always",
        "sns_topic_arn",
        "only_breaches",
        "severity",
        "allow_empty",
    }
)
# ... the ones that only shape a registry walk (a notice when given on the command line) ...
NOT_APPLICABLE = frozenset(
    {"include", "exclude", "concurrency", "timeout", "state_table", "state_ttl"}
)
# ... and every other one looks images up or reads them in ECR (--image, --latest, --wait,
# --details, --ignore-file, --in-use, ...) or remembers notifications (--only-changed): a
# usage error with --event.


def event_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--event`` and ``--notify-on-scan-failure`` to ``report``; with ``--event``
    the event is evaluated here and ``func`` is not called."""

    @functools.wraps(func)
    def wrapper(
        app: AppContext, *args: Any, event_source: str | None, notify_failures: bool, **kw: Any
    ) -> Any:
        if event_source is None:
            return func(app, *args, **kw)
        return report_event(app, event_source, notify_failures, kw["gate"])

    return stack(
        env_option(
            "--event",
            "event_source",
            env="ECRSCAN_EVENT",
            metavar="FILE",
            help="Judge this EventBridge scan event ('-': stdin) as the reporter function.",
        ),
        env_option(
            "--notify-on-scan-failure",
            "notify_failures",
            env="NOTIFY_ON_SCAN_FAILURE",
            is_flag=True,
            help="With --event: also publish a failed scan.",
        ),
    )(wrapper)


def report_event(app: AppContext, source: str, notify_failures: bool, gate: GateOptions) -> None:
    """The ``report --event`` command: every check first (exit 2, no AWS call), then
    the verdict, the output, the optional publication and the exit code."""
    _check_options(app, click.get_current_context())
    if gate.format in NEEDS_FINDINGS:
        fmt = gate.format.value
        raise click.UsageError(
            f"--format {fmt} lists findings, which an event does not carry: use table, json, "
            f"markdown or junit with --event (or `report --image REPO@DIGEST --format {fmt}` "
            "to read the findings from ECR)"
        )
    thresholds = gate.thresholds()
    gate = dataclasses.replace(gate, state_table=None)  # an event replay has no memory
    topic_region = gate.topic_region()
    scan = read_event(source)

    report = image_report(scan, thresholds)
    problem = None
    if topic_region is not None:
        # before the output is written, so that its exit_code is the process's
        wanted = gate.publish_always or wants_notification(report, notify_failures)
        problem = _publish(app, scan, report, thresholds, gate.topic_arn, topic_region, wanted)
    result = ReportResult(
        images=(report,),
        thresholds=thresholds,
        generated_at=app.clock(),
        region=scan.region or None,
        publish_error=problem,
    )
    view = gate.view("report")
    emit(gate.output, render(gate.format, result, view))
    finish(app, result, view, False, gate.topic_arn, shown=gate.on_screen)


def read_event(source: str) -> ScanEvent:
    """Read and parse the event; anything unreadable or malformed is a usage error."""
    name = "stdin" if source == STDIN else source
    try:
        if source == STDIN:
            raw = sys.stdin.buffer.read(MAX_EVENT_BYTES + 1)
        else:
            with open(source, "rb") as handle:
                raw = handle.read(MAX_EVENT_BYTES + 1)
        text = raw.decode("utf-8")
    except OSError as exc:
        raise _bad_event(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise _bad_event(f"{name} is not UTF-8 text") from None
    if len(raw) > MAX_EVENT_BYTES:
        raise _bad_event(f"{name} is larger than {MAX_EVENT_BYTES:,} bytes: not one event")
    try:
        data = json.loads(text)
    except ValueError as exc:  # malformed, or a number of more than 4,300 digits
        raise _bad_event(f"{name} is not a JSON event ({exc})") from None
    except RecursionError:
        raise _bad_event(f"{name} is not a JSON event (nested too deeply)") from None
    try:
        return parse_scan_event(data)
    except EventError as exc:
        raise _bad_event(f"{name}: {exc}") from None


def _bad_event(message: str) -> click.BadParameter:
    return click.BadParameter(message, param_hint="'--event'")


def _check_options(app: AppContext, ctx: click.Context) -> None:
    conflicts = []
    for param in ctx.command.params:
        name = param.name or ""
        if name in EVENT_OPTIONS or not ctx.params.get(name):
            continue
        source = ctx.get_parameter_source(name)
        if source not in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        label = _label(param, source)
        if name in NOT_APPLICABLE:
            if source is ParameterSource.COMMANDLINE:
                warn(app, f"{label} does not apply to --event")
            continue
        conflicts.append(label)
    if conflicts:
        raise click.UsageError(
            f"--event cannot be combined with {', '.join(conflicts)}: the event names its "
            "image and carries its scan's counts, nothing is looked up in ECR (to read the "
            "image from ECR instead, use --image REPO@DIGEST)"
        )


def _label(param: click.Parameter, source: ParameterSource) -> str:
    option = param.opts[0] if param.opts else str(param.name)
    if source is not ParameterSource.ENVIRONMENT:
        return option
    names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
    present = [n for n in names if os.environ.get(n)]
    return f"{option} (set by {present[0]})" if present else option


def _publish(
    app: AppContext,
    scan: ScanEvent,
    report: ImageReport,
    thresholds: Thresholds,
    topic_arn: str,
    region: str,
    wanted: bool,
) -> Problem | None:
    """Publish as the reporter would; SNS's refusal as a value (None: sent or not
    wanted)."""
    if not wanted:
        log.info("the reporter would not publish this event: no SNS message published")
        return None
    return send_to_sns(app, topic_arn, region, event_messages(scan, report, thresholds))
