"""The command line: parse options, call the engine, render, choose the exit code.

Exit codes (documented in the README):

* 0 - done (for ``report``: every image within thresholds)
* 1 - ``report`` only: at least one image breaches a threshold
* 2 - usage or configuration error; no AWS call was made
* 3 - an AWS or runtime error left part of the work undone
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)
from rich.console import Console

from ecrscan import __version__
from ecrscan.duration import DurationError, parse_duration
from ecrscan.ecr import EcrGateway
from ecrscan.engine import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    FatalError,
    RescanSettings,
    list_repositories,
    summarize,
)
from ecrscan.model import Coverage
from ecrscan.orchestrate import InUseMode, Plan, nothing_covered, rescan_targets
from ecrscan.policy import RepositoryFilter
from ecrscan.progress import ProgressDisplay
from ecrscan.redact import RedactingFilter
from ecrscan.render import json as json_render
from ecrscan.render import table as table_render
from ecrscan.render.coverage import STAGES
from ecrscan.targets import check_regions, check_role_arns

EXIT_OK = 0
EXIT_BREACH = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3

log = logging.getLogger("ecrscan")


class IncompleteError(click.ClickException):
    """An AWS or runtime error stopped the work: exit 3, one line on stderr."""

    exit_code = EXIT_INCOMPLETE

    def show(self, file: Any = None) -> None:
        click.echo(f"ecrscan: error: {self.format_message()}", err=True)


class ConfigError(click.ClickException):
    """Configuration that makes any AWS call impossible: exit 2."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"ecrscan: configuration error: {self.format_message()}", err=True)


@dataclass
class AppContext:
    """What the group passes to its commands; tests may pass their own ``session_factory``."""

    region: str | None = None
    # Regions given with --region on the command line before the command (repeatable).
    regions: tuple[str, ...] = ()
    profile: str | None = None
    endpoint_url: str | None = None
    verbose: int = 0
    quiet: bool = False
    session_factory: Callable[..., Any] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def session(self) -> Any:
        factory = self.session_factory
        if factory is None:
            import boto3

            factory = boto3.Session
        kwargs = {}
        if self.profile:
            kwargs["profile_name"] = self.profile
        if self.region:
            kwargs["region_name"] = self.region
        return factory(**kwargs)

    def gateway(self, concurrency: int = DEFAULT_CONCURRENCY, **kwargs: Any) -> EcrGateway:
        return EcrGateway(
            self.session(),
            region=self.region,
            endpoint_url=self.endpoint_url,
            max_pool_connections=max(10, concurrency + 2),
            **kwargs,
        )


def aws_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn AWS/botocore failures into one clear line and the right exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except NoRegionError:
            raise ConfigError(
                "no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)"
            ) from None
        except ProfileNotFound as exc:
            raise ConfigError(f"{exc}: check --profile / AWS_PROFILE") from None
        except (NoCredentialsError, PartialCredentialsError):
            raise IncompleteError(
                "no AWS credentials found: run `aws configure` or `aws sso login`, "
                "set AWS_PROFILE, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ) from None
        except EndpointConnectionError as exc:
            raise IncompleteError(f"cannot reach AWS: {exc}") from None
        except FatalError as exc:
            raise IncompleteError(str(exc.problem)) from None
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise IncompleteError(
                f"{error.get('Code', 'ClientError')}: {error.get('Message', exc)}"
            ) from None
        except BotoCoreError as exc:
            raise IncompleteError(str(exc)) from None
        except KeyboardInterrupt:
            # Click would exit 1, which means "thresholds breached": an interrupted run is
            # an incomplete one.
            raise IncompleteError("interrupted: the work is incomplete") from None

    return wrapper


# -- option helpers ------------------------------------------------------------------


def _expiry_callback(ctx: click.Context, param: click.Parameter, value: str) -> tuple[Any, str]:
    try:
        return parse_duration(value), value
    except DurationError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _filter_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    patterns = value if isinstance(value, tuple) else (value,)
    try:
        if param.name == "exclude":
            RepositoryFilter.compile(None, patterns)
        else:
            RepositoryFilter.compile(*patterns)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--exclude",
        "exclude",
        multiple=True,
        envvar="ECRSCAN_EXCLUDE",
        callback=_filter_callback,
        metavar="REGEX",
        help="Drop repositories whose name matches REGEX (re.search). Repeatable. "
        "Env: ECRSCAN_EXCLUDE (space-separated).",
    )(func)
    func = click.option(
        "--filter",
        "include",
        envvar="REPOSITORIES_FILTER_REGEXP",
        callback=_filter_callback,
        metavar="REGEX",
        help="Keep repositories whose name REGEX finds a match in (re.search: "
        "'app' matches 'my-app-api'; anchor with '^app$' for an exact name). "
        "Env: REPOSITORIES_FILTER_REGEXP.",
    )(func)
    return func


_LIST_SEPARATORS = re.compile(r"[,\s]+")


def _split(values: tuple[str, ...] | None) -> list[str]:
    """Repeated values, each of which may itself be a comma-separated list."""
    return [part for value in values or () for part in _LIST_SEPARATORS.split(value) if part]


def _regions_callback(ctx: click.Context, param: click.Parameter, values: Any) -> Any:
    try:
        return check_regions(_split(values))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _roles_callback(ctx: click.Context, param: click.Parameter, values: Any) -> Any:
    try:
        return tuple(role.arn for role in check_role_arns(_split(values)))
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


def _pulled_within_callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is None:
        return None
    return _expiry_callback(ctx, param, value)


def target_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--region (repeatable), --role-arn, --in-use and --pulled-within: the accounts,
    regions and images a rescan or report covers."""
    func = click.option(
        "--pulled-within", "pulled_within", envvar="ECRSCAN_PULLED_WITHIN",
        callback=_pulled_within_callback, metavar="DURATION",
        help="Only images whose last recorded pull (lastRecordedPullTime, updated by AWS "
        "about once a day) is within DURATION (same grammar as --expiry: 30d, 1m2w). "
        "Images never pulled are left out and counted. Env: ECRSCAN_PULLED_WITHIN.",
    )(func)
    func = click.option(
        "--in-use", "in_use", type=click.Choice([m.value for m in InUseMode],
                                                 case_sensitive=False),
        envvar="ECRSCAN_IN_USE",
        help="Only images ECS uses: 'ecs' = referenced by ACTIVE task definitions, "
        "'ecs-services' = by the task definitions of services with running or desired "
        "tasks. Tags resolve to the images carrying them now; non-ECR images are "
        "listed as skipped, other accounts' and regions' images as out of scope. "
        "IAM: ecs:ListTaskDefinitions, ecs:DescribeTaskDefinition (ecs-services: also "
        "ecs:ListClusters, ecs:ListServices, ecs:DescribeServices). Env: ECRSCAN_IN_USE.",
    )(func)
    func = click.option(
        "--role-arn", "role_arns", multiple=True, envvar="ECRSCAN_ROLE_ARNS",
        callback=_roles_callback, metavar="ARN",
        help="Also audit the account of this IAM role, through sts:AssumeRole (session "
        "name ecrscan-<version>-<time>). Repeatable, one role per account; your own "
        "account is audited too. Env: ECRSCAN_ROLE_ARNS (comma-separated).",
    )(func)
    func = click.option(
        "--region", "regions", multiple=True, envvar="ECRSCAN_REGIONS",
        callback=_regions_callback, metavar="REGION",
        help="Audit this region; repeatable (--region eu-west-1 --region us-east-1) or "
        "comma-separated. Default: AWS_REGION / AWS_DEFAULT_REGION / the profile's "
        "region. Env: ECRSCAN_REGIONS (comma-separated).",
    )(func)
    return func


def make_plan(
    app: AppContext,
    regions: tuple[str, ...],
    role_arns: tuple[str, ...],
    in_use: str | None,
    pulled_within: tuple[Any, str] | None,
    concurrency: int,
) -> Plan:
    """The run's targets and image scope from the options.  Regions given before the
    command (``ecrscan --region a rescan``) and after it add up; ECRSCAN_REGIONS applies
    when neither is given on the command line."""
    source = click.get_current_context().get_parameter_source("regions")
    if app.regions and source is not click.core.ParameterSource.COMMANDLINE:
        wanted = app.regions
    else:
        wanted = tuple(dict.fromkeys((*app.regions, *regions)))
    if wanted:
        app.region = wanted[0]
    delta, text = pulled_within if pulled_within else (None, "")
    return Plan(
        regions=wanted,
        role_arns=role_arns,
        in_use=InUseMode(in_use.lower()) if in_use else None,
        pulled_within=delta,
        pulled_within_text=text,
        endpoint_url=app.endpoint_url,
        concurrency=concurrency,
    )


def coverage_errors(coverage: Coverage | None) -> None:
    """Name every failed target and unreadable task definition on stderr; stop with
    exit 3 (nothing written) when no target could be audited at all."""
    if coverage is None:
        return
    failed = [(t, stage, problem) for t in coverage.failed_targets for stage, problem in t.errors]
    if nothing_covered(coverage):
        if len(coverage.targets) == 1 and len(failed) == 1:
            raise IncompleteError(str(failed[0][2]))
        raise IncompleteError("no account/region could be audited: " + "; ".join(
            f"{t.label}: {STAGES[stage]}: {problem}" for t, stage, problem in failed
        ))
    for target, stage, problem in failed:
        role = f" (role {target.role_arn})" if target.role_arn else ""
        click.echo(f"ecrscan: error: {target.label}{role}: {STAGES[stage]} failed: {problem}",
                   err=True)
    for arn, problem in coverage.unreadable:
        click.echo(f"ecrscan: error: task definition {arn}: {problem}", err=True)


def coverage_incomplete(coverage: Coverage | None) -> str:
    """The coverage part of an "incomplete" message ("" when the targets are whole)."""
    if coverage is None:
        return ""
    parts = []
    if coverage.failed_targets:
        parts.append(f"{len(coverage.failed_targets)} account/region targets failed")
    if coverage.unreadable:
        parts.append(f"{len(coverage.unreadable)} task definitions unreadable")
    return ", ".join(parts)


def check_output_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> Any:
    """Refuse an output path whose directory does not exist before any AWS call."""
    if value is not None and not value.absolute().parent.is_dir():
        raise click.BadParameter(
            f"directory {str(value.absolute().parent)!r} does not exist", ctx=ctx, param=param
        )
    return value


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--output",
        "-o",
        "output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        callback=check_output_path,
        envvar="ECRSCAN_OUTPUT",
        help="Write the report to FILE instead of stdout (only once the run succeeded). "
        "Env: ECRSCAN_OUTPUT.",
    )(func)
    func = click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"], case_sensitive=False),
        default="table",
        show_default=True,
        envvar="ECRSCAN_FORMAT",
        help="Output format: a table for people, JSON (documented schema) for machines. "
        "Env: ECRSCAN_FORMAT.",
    )(func)
    return func


def emit(output: Path | None, rendered: Any) -> None:
    """Write a string (JSON, CSV ...) or a rich renderable to ``output`` or stdout."""
    if output is not None:
        try:
            with output.open("w", encoding="utf-8") as handle:
                if isinstance(rendered, str):
                    handle.write(rendered)
                else:
                    Console(file=handle, width=160, no_color=True).print(rendered)
        except OSError as exc:
            raise IncompleteError(f"cannot write {output}: {exc.strerror or exc}") from None
        return
    if isinstance(rendered, str):
        click.echo(rendered, nl=False)
    else:
        tty = sys.stdout.isatty()
        Console(file=sys.stdout, width=None if tty else 200).print(rendered)


def log_calls(gateways: Iterable[Any]) -> None:
    """``-v``: the AWS calls the gateways made, per operation (as rescan and registry
    reports log them)."""
    total: Counter[str] = Counter()
    for gateway in gateways:
        total.update(gateway.calls)
    log.info("AWS calls: %s", dict(total))


def warn(app: AppContext, message: str) -> None:
    if not app.quiet:
        click.echo(f"ecrscan: {message}", err=True)


# -- the commands ------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--region",
    multiple=True,
    envvar=["AWS_REGION", "AWS_DEFAULT_REGION"],
    metavar="REGION",
    help="AWS region. rescan and report take it repeated (or after the command) to audit "
    "several regions. Env: AWS_REGION, AWS_DEFAULT_REGION.",
)
@click.option("--profile", envvar="AWS_PROFILE", help="AWS named profile. Env: AWS_PROFILE.")
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    help="Send AWS calls to this endpoint (e.g. a local emulator). Env: AWS_ENDPOINT_URL.",
)
@click.option(
    "-v", "--verbose", count=True, envvar="ECRSCAN_VERBOSE",
    help="More diagnostics on stderr (-vv for AWS request logs). Env: ECRSCAN_VERBOSE.",
)
@click.option(
    "-q", "--quiet", is_flag=True, envvar="ECRSCAN_QUIET",
    help="No progress bar and no notices; errors only. Env: ECRSCAN_QUIET.",
)
@click.version_option(__version__, "--version", prog_name="ecrscan")
@click.pass_context
def cli(
    ctx: click.Context,
    region: tuple[str, ...],
    profile: str | None,
    endpoint_url: str | None,
    verbose: int,
    quiet: bool,
) -> None:
    """Keep AWS ECR vulnerability scans honest.

    \b
    ecrscan repos                  list repositories (regex filters)
    ecrscan rescan --expiry 7d     rescan images whose last scan is older than 7 days
    ecrscan report --fail-on HIGH  findings against thresholds (the CI gate)

    Credentials come from the standard AWS chain (environment, profile, SSO, instance
    role).  Exit codes: 0 done, 1 findings above thresholds (report), 2 usage or
    configuration error, 3 an AWS or runtime error left the work incomplete.
    """
    app = ctx.ensure_object(AppContext)
    app.region = (region[0] if region else None) or app.region
    if ctx.get_parameter_source("region") is click.core.ParameterSource.COMMANDLINE:
        # checked here, not in a callback: AWS_REGION / AWS_DEFAULT_REGION stay botocore's
        try:
            app.regions = check_regions(_split(region))
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param_hint="'--region'") from None
        app.region = app.regions[0]
    app.profile = profile or app.profile
    app.endpoint_url = endpoint_url or app.endpoint_url
    app.verbose = verbose
    app.quiet = quiet
    _configure_logging(ctx, verbose)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (CliRunner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it
        pass


def _configure_logging(ctx: click.Context, verbose: int) -> None:
    """Diagnostics to stderr, every record redacted (``-vv`` logs botocore's requests,
    whose headers carry the session token and access key id); undone when the command
    ends, so a process running several commands (tests) does not pile up handlers."""
    level = logging.WARNING
    if verbose == 1:
        level = logging.INFO
    elif verbose >= 2:
        level = logging.DEBUG
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    botocore_log = logging.getLogger("botocore")
    levels = (log.level, botocore_log.level)
    root.addHandler(handler)
    log.setLevel(level)
    if verbose >= 2:
        botocore_log.setLevel(logging.DEBUG)

    def undo() -> None:
        root.removeHandler(handler)
        log.setLevel(levels[0])
        botocore_log.setLevel(levels[1])

    ctx.call_on_close(undo)


@cli.command()
@filter_options
@output_options
@click.pass_obj
@aws_errors
def repos(
    app: AppContext, include: str | None, exclude: tuple[str, ...], fmt: str, output: Path | None
) -> None:
    """List the region's repositories (every page), filtered by regular expressions.

    IAM: ecr:DescribeRepositories.
    """
    if len(app.regions) > 1:
        raise click.UsageError("repos lists one region: give --region once")
    repo_filter = RepositoryFilter.compile(include, exclude)
    gateway = app.gateway()
    repositories = list_repositories(gateway, repo_filter)
    log_calls([gateway])
    if fmt == "json":
        emit(output, json_render.dumps(
            json_render.repositories_document(repositories, gateway.region)))
    else:
        emit(output, table_render.repositories_table(repositories))


@cli.command("rescan")
@click.option(
    "--expiry",
    envvar="ECR_IMAGES_DURATION_DELTA",
    default="7d",
    show_default=True,
    callback=_expiry_callback,
    metavar="DURATION",
    help="Rescan images whose last scan is older than this. One or more <integer><unit> "
    "with units m (calendar months), w (weeks), d (days), h (hours): 7d, 36h, 1m2w. "
    "Env: ECR_IMAGES_DURATION_DELTA.",
)
@filter_options
@target_options
@click.option(
    "--dry-run", is_flag=True, envvar="ECRSCAN_DRY_RUN",
    help="Plan only: read scan states and report what is due, start nothing. "
    "Env: ECRSCAN_DRY_RUN.",
)
@click.option(
    "--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), default=DEFAULT_CONCURRENCY,
    show_default=True, envvar="ECRSCAN_CONCURRENCY",
    help="Parallel AWS calls. Throttling slows every worker down together. "
    "Env: ECRSCAN_CONCURRENCY.",
)
@click.option(
    "--via-queue", "via_queue", envvar="ECRSCAN_VIA_QUEUE", metavar="URL",
    help="Scan nothing here: send one job per repository to this SQS queue (the deployed "
    "images function's jobs queue) and print how many were queued. Jobs carry --expiry "
    "only when you set it. IAM: ecr:DescribeRepositories, sqs:SendMessage. "
    "Env: ECRSCAN_VIA_QUEUE.",
)
@output_options
@click.pass_obj
@aws_errors
def rescan_cmd(
    app: AppContext,
    expiry: tuple[Any, str],
    include: str | None,
    exclude: tuple[str, ...],
    regions: tuple[str, ...],
    role_arns: tuple[str, ...],
    in_use: str | None,
    pulled_within: tuple[Any, str] | None,
    dry_run: bool,
    concurrency: int,
    via_queue: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Start scans for images whose last scan is older than --expiry.

    Due: never scanned, last scan FAILED, or COMPLETE longer ago than --expiry.  Images
    with a scan IN_PROGRESS/PENDING, unsupported, too large or archived are left alone;
    on an ENHANCED (Amazon Inspector) registry no scans are started.  A scan refused
    because the image was already scanned in the last 24 h counts as "already scanned".

    With --in-use, --pulled-within, several --region or --role-arn, only the images in
    scope are checked; each result names its account and region, and what was left out
    is listed.  A failing account or region does not stop the others (exit 3).

    IAM: ecr:DescribeRepositories, ecr:DescribeImages, ecr:DescribeImageScanFindings,
    ecr:GetRegistryScanningConfiguration, and ecr:StartImageScan (not with --dry-run);
    --in-use: read-only ECS calls (see --in-use); --role-arn: sts:AssumeRole.
    """
    delta, expiry_text = expiry
    plan = make_plan(app, regions, role_arns, in_use, pulled_within, concurrency)
    if via_queue:
        if dry_run:
            raise click.UsageError("--dry-run and --via-queue cannot be combined")
        if plan.in_use or plan.pulled_within or plan.role_arns or len(plan.regions) > 1:
            raise click.UsageError(
                "--via-queue sends repository jobs to one deployed region: it cannot be "
                "combined with --in-use, --pulled-within, --role-arn or several --region "
                "(set ECS_DISCOVERY_ENABLED on the deployed functions instead)"
            )
        source = click.get_current_context().get_parameter_source("expiry")
        job_expiry = None if source is click.core.ParameterSource.DEFAULT else expiry_text
        return _rescan_via_queue(
            app, via_queue, RepositoryFilter.compile(include, exclude), job_expiry, fmt, output
        )
    settings = RescanSettings(
        expiry=delta,
        expiry_text=expiry_text,
        filter=RepositoryFilter.compile(include, exclude),
        dry_run=dry_run,
        concurrency=concurrency,
    )
    now = app.clock()
    with ProgressDisplay.for_terminal(enabled=not app.quiet) as display:
        result = rescan_targets(app.session(), now, settings, plan, progress=display.callback)
    coverage_errors(result.coverage)
    multi = result.coverage is not None and len(result.coverage.targets) > 1
    for notice in result.notices:
        warn(app, notice)
    for repo in result.repositories:
        if repo.error:
            where = f" ({repo.repository.registry_id}/{repo.region})" if multi else ""
            click.echo(
                f"ecrscan: error: repository {repo.repository.name}{where}: {repo.error}",
                err=True,
            )
    if fmt == "json":
        emit(output, json_render.dumps(json_render.rescan_document(result)))
    else:
        emit(output, table_render.rescan_table(result))
    if result.incomplete:
        summary = summarize(result)["TOTAL"]
        errors = sum(1 for r in result.repositories if r.error)
        targets = coverage_incomplete(result.coverage)
        raise IncompleteError(
            f"incomplete: {errors} repositories failed, {summary['failed']} images failed, "
            f"{summary['not_started']} due scans not started" + (f", {targets}" if targets else "")
        )


def _rescan_via_queue(
    app: AppContext,
    queue_url: str,
    repo_filter: RepositoryFilter,
    expiry: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """``rescan --via-queue``: one job per repository to the jobs queue; exit 3 if SQS
    refused any."""
    from botocore.config import Config

    from ecrscan.jobs import parse_job, repository_jobs, send_jobs

    gateway = app.gateway()
    repositories = list_repositories(gateway, repo_filter)
    kwargs: dict[str, Any] = {"config": Config(retries={"mode": "standard", "max_attempts": 5})}
    if app.region:
        kwargs["region_name"] = app.region
    if app.endpoint_url:
        kwargs["endpoint_url"] = app.endpoint_url
    sqs = app.session().client("sqs", **kwargs)
    report = send_jobs(sqs, queue_url, repository_jobs(repositories, expiry))
    failed = [
        {"repository": parse_job(f.body).repository_name, "code": f.code, "message": f.message}
        for f in report.failed
    ]
    warn(app, f"queued {report.sent} of {len(repositories)} repository jobs to {queue_url}")
    if fmt == "json":
        emit(output, json_render.dumps({
            "schema_version": json_render.SCHEMA_VERSION,
            "command": "rescan",
            "via_queue": queue_url,
            "region": gateway.region,
            "expiry": expiry,
            "repositories": len(repositories),
            "queued": report.sent,
            "retried": report.retried,
            "failed": failed,
        }))
    if failed:
        first = failed[0]
        raise IncompleteError(
            f"{len(failed)} jobs not queued (first: {first['repository']}: "
            f"{first['code']}: {first['message']})"
        )


def main() -> None:
    """The console script.  Exit 1 means "thresholds breached" and nothing else: Click's
    own exit 1 (Ctrl-C, a broken pipe) and any unexpected exception (a bug) exit 3, the
    latter with one line on stderr (the traceback with -v or ECRSCAN_DEBUG=1)."""
    app = AppContext()
    try:
        code = cli.main(prog_name="ecrscan", obj=app, standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("ecrscan: error: interrupted: the work is incomplete", err=True)
        sys.exit(EXIT_INCOMPLETE)
    except SystemExit as exc:
        # Without standalone mode, Click only calls sys.exit itself when stdout or stderr
        # is a closed pipe (`ecrscan report | head`), with 1: the output is incomplete.
        sys.exit(EXIT_INCOMPLETE if exc.code == EXIT_BREACH else exc.code)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug exits 3
        if app.verbose or os.environ.get("ECRSCAN_DEBUG", "").strip() not in ("", "0"):
            traceback.print_exc()
            hint = ""
        else:
            hint = " (-v or ECRSCAN_DEBUG=1 shows the traceback)"
        click.echo(
            f"ecrscan: internal error: {type(exc).__name__}: {exc}; this is a bug, "
            f"please report it{hint}",
            err=True,
        )
        sys.exit(EXIT_INCOMPLETE)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


# `ecrscan report` lives in its own module and registers itself on the group.
import ecrscan.cli_report  # noqa: E402,F401
