"""``ecrscan report``: findings against per-severity thresholds, the CI gate.

Every input is checked before the first AWS call (thresholds, ignore file, image
references, timeout, topic ARN, the --output directory: exit 2).  Then the engine builds
the report, it is optionally published to SNS, then written to stdout or ``--output``
(opened only once the report exists; written after publishing so that its JSON
``exit_code`` is the process's), and the exit code says what happened: 0 within
thresholds, 1 a breach, 3 incomplete (an error, a scan missing, failed or still pending),
nothing to report or not published (3 outranks a breach).

The command registers itself on the ``cli`` group; ``ecrscan/cli.py`` imports this module
at its end, so either module may be imported first.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from ecrscan.aws import AwsError
from ecrscan.cli import (
    EXIT_BREACH,
    AppContext,
    ConfigError,
    IncompleteError,
    aws_errors,
    check_output_path,
    cli,
    coverage_errors,
    coverage_incomplete,
    emit,
    filter_options,
    log,
    log_calls,
    make_plan,
    target_options,
    warn,
)
from ecrscan.cli_event import event_options
from ecrscan.ecr import EcrGateway
from ecrscan.engine import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from ecrscan.ignore import IgnoreFileError, IgnoreRule, load_ignore_file
from ecrscan.imageref import ImageRef, parse_image_ref
from ecrscan.model import ImageReport, ImageStatus, Problem, ReportResult, Severity
from ecrscan.notify import SnsMessage, build_messages, publish
from ecrscan.orchestrate import report_targets
from ecrscan.policy import RepositoryFilter
from ecrscan.progress import ProgressDisplay
from ecrscan.render.formats import NEEDS_FINDINGS, ReportFormat, render_report
from ecrscan.render.report_common import (
    HINT_NO_SCAN,
    HINT_NO_SCAN_WAITED,
    headline,
    image_label,
    plural,
    thresholds_text,
)
from ecrscan.report import ReportSettings, build_report
from ecrscan.thresholds import ThresholdError, Thresholds

MAX_LISTED = 10  # images named per group in the "incomplete" message
NOTHING_REPORTED = "nothing to report: the filters matched no image"

# -- --timeout: its own small grammar (the rescan grammar's "m" means months) ------------

_TIMEOUT = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MAX_TIMEOUT = 24 * 3600


def parse_timeout(text: str) -> float:
    """``90s``, ``10m``, ``1h``, ``1h30m``, ``2m30s`` or plain seconds (``45``) -> seconds.
    Units h (hours), m (minutes), s (seconds), largest first, each at most once; ``0``
    means "check once, do not wait".  At most 24h."""
    raw = str(text).strip().lower()
    if raw.isdigit():
        raw += "s"
    match = _TIMEOUT.match(raw) if raw else None
    if not match or not any(match.groups()):
        raise ValueError(
            f"invalid timeout {text!r}: expected e.g. 90s, 10m, 1h or 1h30m "
            "(units h hours, m minutes, s seconds; a bare number is seconds)"
        )
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total > MAX_TIMEOUT:
        raise ValueError(f"invalid timeout {text!r}: at most 24h")
    return float(total)


class TimeoutParam(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        try:
            return parse_timeout(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def _image_refs(ctx: click.Context, param: click.Parameter, values: Sequence[str]) -> Any:
    refs = []
    for value in values:
        try:
            refs.append(parse_image_ref(value))
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return tuple(refs)


_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$")


def resolve_thresholds(fail_on: str | None, specs: Sequence[str]) -> Thresholds:
    """Defaults <- env CRITICAL/HIGH/MEDIUM/LOW; --fail-on replaces them; --threshold
    overrides single levels."""
    try:
        base = Thresholds.from_env(os.environ)
    except ThresholdError as exc:
        raise ConfigError(str(exc)) from None
    if fail_on:
        base = base.fail_on(Severity.parse(fail_on))
    try:
        return base.with_overrides(specs)
    except ThresholdError as exc:
        raise click.BadParameter(str(exc), param_hint="'--threshold'") from None


def _ignore_rules(path: Path | None) -> tuple[IgnoreRule, ...]:
    if path is None:
        return ()
    try:
        return load_ignore_file(path)
    except IgnoreFileError as exc:
        raise click.BadParameter(str(exc), param_hint="'--ignore-file'") from None


def publish_region(topic_arn: str | None, wanted: bool) -> str | None:
    if not wanted:
        return None
    if not topic_arn:
        raise click.UsageError(
            "--publish needs a topic: pass --sns-topic-arn or set ECR_SNS_REPORT_TOPIC_ARN"
        )
    match = _TOPIC_ARN.match(topic_arn.strip())
    if not match:
        raise click.BadParameter(
            f"{topic_arn!r} is not a standard SNS topic ARN "
            "(arn:aws:sns:<region>:<account>:<name>; FIFO topics are not supported)",
            param_hint="'--sns-topic-arn'",
        )
    return match.group(1)


# -- the command ------------------------------------------------------------------------


@cli.command("report")
@filter_options
@target_options
@click.option(
    "--latest", is_flag=True, envvar="ECRSCAN_LATEST",
    help="Only the most recently pushed image of each repository. Env: ECRSCAN_LATEST.",
)
@click.option(
    "--image", "images", multiple=True, envvar="ECRSCAN_IMAGE", metavar="REF",
    callback=_image_refs,
    help="Report exactly this image instead of the registry (repeatable): repo:tag, "
    "repo@sha256:..., repo:tag@sha256:..., a bare repo (= repo:latest), or a full URI "
    "<account>.dkr.ecr.<region>.amazonaws.com/repo[:tag|@digest] whose account and "
    "region are used. --filter, --exclude and --latest do not apply. "
    "Env: ECRSCAN_IMAGE (space-separated).",
)
@click.option(
    "--wait", is_flag=True, envvar="ECRSCAN_WAIT",
    help="Poll images whose scan is IN_PROGRESS or PENDING (and never-scanned images "
    "pushed in the last 15 minutes, for scan-on-push) with backoff until the scan ends "
    "or --timeout passes. Env: ECRSCAN_WAIT.",
)
@click.option(
    "--timeout", type=TimeoutParam(), default="10m", show_default=True,
    envvar="ECRSCAN_TIMEOUT",
    help="How long --wait polls: units h (hours), m (minutes), s (seconds), e.g. 90s, "
    "10m, 1h30m; a bare number is seconds (unlike --expiry of rescan, m means "
    "minutes here). Env: ECRSCAN_TIMEOUT.",
)
@click.option(
    "--threshold", "threshold_specs", multiple=True, envvar="ECRSCAN_THRESHOLD",
    metavar="LEVEL=N|off",
    help="Tolerate up to N findings at LEVEL (N+1 breaches); 'off' ignores the level. "
    "Repeatable. Levels: CRITICAL HIGH MEDIUM LOW INFORMATIONAL UNDEFINED UNTRIAGED. "
    "Defaults: 0 for CRITICAL, HIGH, MEDIUM, LOW (env CRITICAL, HIGH, MEDIUM, LOW), off "
    "for the rest. Env: ECRSCAN_THRESHOLD (space-separated).",
)
@click.option(
    "--fail-on", type=click.Choice([s.value for s in Severity], case_sensitive=False),
    envvar="ECRSCAN_FAIL_ON", metavar="LEVEL",
    help="Shorthand: threshold 0 at LEVEL and above, off below (replaces the defaults; "
    "--threshold still overrides single levels). Env: ECRSCAN_FAIL_ON.",
)
@click.option(
    "--ignore-file", type=click.Path(dir_okay=False, path_type=Path),
    envvar="ECRSCAN_IGNORE_FILE",
    help="TOML file of accepted findings ([[ignore]] id, reason, optional until date and "
    "repository regex). Ignored findings leave the counts thresholds see and stay in "
    "every output, marked. Expired entries warn and do not apply. "
    "Env: ECRSCAN_IGNORE_FILE.",
)
@click.option(
    "--details", is_flag=True, envvar="ECRSCAN_DETAILS",
    help="Read every finding (all pages) and list the findings of breaching images. "
    "Env: ECRSCAN_DETAILS.",
)
@click.option(
    "--format", "fmt", type=click.Choice([f.value for f in ReportFormat], case_sensitive=False),
    default=ReportFormat.TABLE.value, show_default=True,
    envvar=["ECRSCAN_REPORT_FORMAT", "ECRSCAN_FORMAT"],
    help="table (people), json (documented schema), markdown (PR comments), sarif "
    "(GitHub code scanning), junit (CI test reports) or csv (one row per finding). "
    "Env: ECRSCAN_REPORT_FORMAT, else ECRSCAN_FORMAT.",
)
@click.option(
    "--output", "-o", "output", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    callback=check_output_path, envvar=["ECRSCAN_REPORT_OUTPUT", "ECRSCAN_OUTPUT"],
    help="Write the report to FILE instead of stdout; the file is only opened once the "
    "report was built. Env: ECRSCAN_REPORT_OUTPUT, else ECRSCAN_OUTPUT.",
)
@click.option(
    "--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), default=DEFAULT_CONCURRENCY,
    show_default=True, envvar="ECRSCAN_CONCURRENCY",
    help="Parallel AWS calls. Env: ECRSCAN_CONCURRENCY.",
)
@click.option(
    "--publish", "publish_", is_flag=True, envvar="ECRSCAN_PUBLISH",
    help="Publish one SNS message listing every breaching image (nothing when none "
    "breaches) to --sns-topic-arn. Env: ECRSCAN_PUBLISH.",
)
@click.option(
    "--publish-always", is_flag=True, envvar="ECRSCAN_PUBLISH_ALWAYS",
    help="Like --publish, but also publish when nothing breaches. "
    "Env: ECRSCAN_PUBLISH_ALWAYS.",
)
@click.option(
    "--sns-topic-arn", envvar="ECR_SNS_REPORT_TOPIC_ARN", metavar="ARN",
    help="The SNS topic for --publish. Env: ECR_SNS_REPORT_TOPIC_ARN.",
)
@click.pass_obj
@aws_errors
@event_options
def report(
    app: AppContext,
    include: str | None,
    exclude: tuple[str, ...],
    regions: tuple[str, ...],
    role_arns: tuple[str, ...],
    in_use: str | None,
    pulled_within: tuple[Any, str] | None,
    latest: bool,
    images: tuple[ImageRef, ...],
    wait: bool,
    timeout: float,
    threshold_specs: tuple[str, ...],
    fail_on: str | None,
    ignore_file: Path | None,
    details: bool,
    fmt: str,
    output: Path | None,
    concurrency: int,
    publish_: bool,
    publish_always: bool,
    sns_topic_arn: str | None,
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
         ("nothing to report"); or --publish failed (outranks 1)

    \b
    Example (CI gate on the image just pushed):
      ecrscan report --image "$REPO:$GIT_SHA" --wait --timeout 15m --fail-on HIGH \\
          --format sarif --output ecrscan.sarif

    Registry reports can cover several regions (--region repeated) and accounts
    (--role-arn), and only the images ECS uses (--in-use) or pulled lately
    (--pulled-within); each image names its account and region, and what was left out
    is listed.  A failing account or region does not stop the others (exit 3).

    IAM: ecr:DescribeRepositories and ecr:DescribeImages (whole registry) or
    ecr:DescribeImages (--image), ecr:DescribeImageScanFindings; sns:Publish with
    --publish; --in-use: read-only ECS calls (see --in-use); --role-arn: sts:AssumeRole.
    """
    # Every check that can fail without AWS comes first: exit 2, no call made.
    thresholds = resolve_thresholds(fail_on, threshold_specs)
    rules = _ignore_rules(ignore_file)
    topic_region = publish_region(sns_topic_arn, publish_ or publish_always)
    report_format = ReportFormat(fmt.lower())
    if images and (include or exclude or latest):
        warn(app, "--filter, --exclude and --latest do not apply to --image references")
    plan = make_plan(app, regions, role_arns, in_use, pulled_within, concurrency)
    if images and (plan.in_use or plan.pulled_within or plan.role_arns or len(plan.regions) > 1):
        raise click.UsageError(
            "--image names exact images (a full URI carries its account and region): it "
            "cannot be combined with --in-use, --pulled-within, --role-arn or several "
            "--region"
        )
    settings = ReportSettings(
        filter=RepositoryFilter.compile(include, exclude),
        latest=latest,
        images=images,
        thresholds=thresholds,
        ignore_rules=rules,
        details=details,
        wait=wait,
        timeout=timeout,
        concurrency=concurrency,
        needs_findings=report_format in NEEDS_FINDINGS,
    )

    gateways: list[EcrGateway] = []

    def gateway_for(region: str | None, registry_id: str | None) -> EcrGateway:
        gateway = EcrGateway(
            app.session(),
            region=region or app.region,
            endpoint_url=app.endpoint_url,
            registry_id=registry_id,
            max_pool_connections=max(10, concurrency + 2),
        )
        gateways.append(gateway)
        return gateway

    now = app.clock()
    with ProgressDisplay.for_terminal(enabled=not app.quiet, scans=False) as display:
        if images:
            result = build_report(gateway_for, now, settings, progress=display.callback)
        else:  # logs its calls per target
            result = report_targets(
                app.session(), now, settings, plan, progress=display.callback
            )
    if images:
        log_calls(gateways)
    coverage_errors(result.coverage)

    for notice in result.notices:
        warn(app, notice)
    for name, problem in result.repository_errors:
        click.echo(f"ecrscan: error: repository {name}: {problem}", err=True)
    if topic_region is not None and sns_topic_arn:
        # before the output is written, so that its exit_code is the process's
        result = _publish(app, result, sns_topic_arn.strip(), topic_region, publish_always)
    emit(output, render_report(report_format, result))
    finish(app, result, wait)


def finish(app: AppContext, result: ReportResult, waited: bool) -> None:
    """The verdict on stderr and the exit code (``result.exit_code``)."""
    if result.nothing_reported:
        raise IncompleteError(NOTHING_REPORTED)
    warn(app, f"{headline(result)} (thresholds: {thresholds_text(result)})")
    if result.incomplete:
        raise IncompleteError(incomplete_message(result, waited))
    if result.publish_error is not None:
        raise IncompleteError(f"the report was not published: {result.publish_error}")
    if result.breached:
        click.get_current_context().exit(EXIT_BREACH)


def _publish(
    app: AppContext, result: ReportResult, topic_arn: str, region: str, always: bool
) -> ReportResult:
    messages = build_messages(
        result.images, result.thresholds, always=always, region=result.region,
        generated_at=result.generated_at,
    )
    if not messages:
        log.info("nothing breaches: no SNS message published")
        return result
    return dataclasses.replace(
        result, publish_error=send_to_sns(app, topic_arn, region, messages)
    )


def send_to_sns(
    app: AppContext, topic_arn: str, region: str, messages: Sequence[SnsMessage]
) -> Problem | None:
    """Publish ``messages``; SNS's refusal (or a transport error) as a value, reported
    on stderr, so the report still says what it found."""
    kwargs: dict[str, Any] = {"region_name": region}
    if app.endpoint_url:
        kwargs["endpoint_url"] = app.endpoint_url
    try:
        ids = publish(app.session().client("sns", **kwargs), topic_arn, messages)
    except ClientError as exc:
        problem = AwsError.from_client_error(exc, "publish").problem
    except BotoCoreError as exc:
        problem = Problem(type(exc).__name__, str(exc))
    else:
        warn(app, f"published {len(ids)} SNS message(s) to {topic_arn}")
        return None
    click.echo(f"ecrscan: error: publishing to {topic_arn} failed: {problem}", err=True)
    return problem


def incomplete_message(result: ReportResult, waited: bool) -> str:
    """Why the audit is incomplete, naming the images (at most ``MAX_LISTED`` a group)."""
    groups = (
        (ImageStatus.PENDING, "scan still pending" + (" after --timeout" if waited else
                                                       " (use --wait)")),
        (ImageStatus.NO_SCAN, "never scanned (" + (HINT_NO_SCAN_WAITED if waited else
                                                   HINT_NO_SCAN) + ")"),
        (ImageStatus.SCAN_FAILED, "scan failed"),
        (ImageStatus.ERROR, "could not be read"),
    )
    parts = []
    for status, label in groups:
        names = [_name(r) for r in result.images if r.status is status]
        if names:
            parts.append(f"{label}: {_listing(names)}")
    if result.repository_errors:
        names = [f"{name} ({problem})" for name, problem in result.repository_errors]
        parts.append(f"repositories not read: {_listing(names)}")
    targets = coverage_incomplete(result.coverage)
    if targets:
        parts.append(targets)
    if result.publish_error is not None:
        parts.append(f"the report was not published ({result.publish_error})")
    if result.breached:
        n = len(result.breached)
        parts.append(f"{plural(n, 'image')} {'breaches' if n == 1 else 'breach'} thresholds")
    return "incomplete audit: " + "; ".join(parts)


def _name(report: ImageReport) -> str:
    label = report.reference or image_label(report)
    digest = report.image.digest
    if digest and digest not in label:
        label += f" ({digest[:19]})"
    if report.status is ImageStatus.ERROR and report.error is not None:
        label += f" [{report.error.code}]"
    return label


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")
