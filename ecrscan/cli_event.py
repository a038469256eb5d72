"""``ecrscan report --event FILE``: evaluate an EventBridge scan event as the reporter
Lambda function does.

The event (``ECR Image Scan`` or ``Inspector2 Scan``, from a file or ``-`` for stdin) is
parsed by :func:`ecrscan.events.parse_scan_event` and judged by
:func:`ecrscan.events.image_report` against the thresholds ``report`` builds (env
``CRITICAL``/``HIGH``/``MEDIUM``/``LOW``, ``--fail-on``, ``--threshold``); with
``--publish`` the message is the one the reporter publishes
(:func:`~ecrscan.events.wants_notification`, :func:`~ecrscan.events.event_messages`).
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ecrscan.cli import AppContext, emit, log, warn
from ecrscan.events import (
    EventError,
    ScanEvent,
    event_messages,
    image_report,
    parse_scan_event,
    wants_notification,
)
from ecrscan.model import ImageReport, Problem, ReportResult
from ecrscan.render.formats import NEEDS_FINDINGS, ReportFormat, render_report
from ecrscan.thresholds import Thresholds

STDIN = "-"
# The options of `report` that --event uses ...
EVENT_OPTIONS = frozenset({
    "event_source", "notify_failures", "threshold_specs", "fail_on", "fmt", "output",
    "publish_", "publish_always", "sns_topic_arn",
})
# ... the ones that only shape a registry walk (a notice when given on the command line) ...
NOT_APPLICABLE = frozenset({"include", "exclude", "concurrency", "timeout"})
# ... and every other one looks images up or reads them in ECR (--image, --latest, --wait,
# --details, --ignore-file, --in-use, ...): a usage error with --event.


def event_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--event`` and ``--notify-on-scan-failure`` to ``report``; with ``--event``
    the event is evaluated here and ``func`` is not called."""

    @functools.wraps(func)
    def wrapper(
        app: AppContext, *args: Any, event_source: str | None, notify_failures: bool,
        **options: Any,
    ) -> Any:
        if event_source is None:
            return func(app, *args, **options)
        return report_event(app, event_source, notify_failures, options)

    wrapper = click.option(
        "--notify-on-scan-failure", "notify_failures", is_flag=True,
        envvar="NOTIFY_ON_SCAN_FAILURE",
        help="With --event and --publish: also publish when the event's scan did not "
        "complete (FAILED), as the reporter function does with "
        "NOTIFY_ON_SCAN_FAILURE=true. Env: NOTIFY_ON_SCAN_FAILURE.",
    )(wrapper)
    wrapper = click.option(
        "--event", "event_source", envvar="ECRSCAN_EVENT", metavar="FILE",
        help="Evaluate this EventBridge scan event (ECR Image Scan or Inspector2 Scan; "
        "'-' reads stdin) exactly as the deployed reporter function does: same "
        "thresholds, verdict and exit codes (a FAILED scan exits 3, a malformed event 2), "
        "and with --publish the same SNS message. No AWS call is made unless --publish. "
        "The event names its image and carries its counts, so options that look images "
        "up (--image, --latest, --wait, --details, --ignore-file, ...) cannot be "
        "combined with it, nor the formats that list findings (sarif, csv). "
        "Env: ECRSCAN_EVENT.",
    )(wrapper)
    return wrapper


def report_event(
    app: AppContext, source: str, notify_failures: bool, options: dict[str, Any]
) -> None:
    """The ``report --event`` command: every check first (exit 2, no AWS call), then
    the verdict, the output, the optional publication and the exit code."""
    from ecrscan.cli_report import finish, publish_region, resolve_thresholds

    ctx = click.get_current_context()
    _check_options(app, ctx)
    report_format = ReportFormat(str(options["fmt"]).lower())
    if report_format in NEEDS_FINDINGS:
        raise click.UsageError(
            f"--format {report_format.value} lists findings, which an event does not carry: "
            "use table, json, markdown or junit with --event (or `report --image "
            f"REPO@DIGEST --format {report_format.value}` to read the findings from ECR)"
        )
    thresholds = resolve_thresholds(options["fail_on"], options["threshold_specs"])
    publish_always = bool(options["publish_always"])
    topic_arn = options["sns_topic_arn"]
    topic_region = publish_region(topic_arn, bool(options["publish_"]) or publish_always)
    scan = read_event(source)

    report = image_report(scan, thresholds)
    result = ReportResult(
        images=(report,),
        thresholds=thresholds,
        generated_at=app.clock(),
        region=scan.region or None,
    )
    if topic_region is not None and topic_arn:
        # before the output is written, so that its exit_code is the process's
        result = dataclasses.replace(result, publish_error=_publish(
            app, scan, report, thresholds, topic_arn.strip(), topic_region,
            notify_failures=notify_failures, always=publish_always))
    emit(options["output"], render_report(report_format, result))
    finish(app, result, False)


def read_event(source: str) -> ScanEvent:
    """Read and parse the event; anything unreadable or malformed is a usage error."""
    name = "stdin" if source == STDIN else source
    try:
        if source == STDIN:
            text = click.get_text_stream("stdin").read()
        else:
            text = Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise _bad_event(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise _bad_event(f"{name} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad_event(f"{name} is not a JSON event ({exc})") from None
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
    *,
    notify_failures: bool,
    always: bool,
) -> Problem | None:
    """Publish as the reporter would; SNS's refusal as a value (None: sent or not
    wanted)."""
    from ecrscan.cli_report import send_to_sns

    if not (always or wants_notification(report, notify_failures)):
        log.info("the reporter would not publish this event: no SNS message published")
        return None
    return send_to_sns(app, topic_arn, region, event_messages(scan, report, thresholds))
