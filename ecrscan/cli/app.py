"""The command group: global options, the run's context, exit codes and error classes.

Exit codes (documented in the README):

* 0 - done (for ``report``: every image within thresholds)
* 1 - ``report`` only: at least one image breaches a threshold
* 2 - usage or configuration error; no AWS call was made
* 3 - an AWS or runtime error left part of the work undone
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click

from ecrscan import __version__
from ecrscan.aws.clients import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUTS,
    Timeouts,
    make_client,
    new_session,
    pool_size,
)
from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.errors import SetupKind, setup_failure
from ecrscan.aws.gateways import Gateways
from ecrscan.aws.throttle import Stop, Throttle
from ecrscan.core.redact import RedactingFilter
from ecrscan.core.targets import check_endpoint_url, check_regions
from ecrscan.engine.registry import FatalError

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
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    # Set by SIGINT/SIGTERM: the run starts nothing new and writes what it has.
    stop: Stop = field(default_factory=Stop)

    def session(self) -> Any:
        return new_session(self.session_factory, profile=self.profile, region=self.region)

    def gateway(
        self,
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        region: str | None = None,
        registry_id: str | None = None,
    ) -> EcrGateway:
        """An ECR gateway of this run's session (``region`` defaults to the run's)."""
        return EcrGateway(
            self.session(),
            region=region or self.region,
            endpoint_url=self.endpoint_url,
            registry_id=registry_id,
            throttle=Throttle(stop=self.stop),
            max_pool_connections=pool_size(concurrency),
            timeouts=self.timeouts,
        )

    def gateways(self, concurrency: int) -> Gateways:
        """Each target's gateways, with this run's endpoint, timeouts and stop request."""
        return Gateways(self.endpoint_url, concurrency, timeouts=self.timeouts, stop=self.stop)

    def client(self, service: str, retries: Mapping[str, Any], region: str | None = None) -> Any:
        """A client of another service (SQS, SNS) with this run's settings."""
        return make_client(
            self.session(),
            service,
            region=region or self.region,
            endpoint_url=self.endpoint_url,
            retries=retries,
            timeouts=self.timeouts,
        )


# The user's words for a failure to reach AWS at all (see ecrscan.aws.errors.SetupKind).
_SETUP_WORDS = {
    SetupKind.NO_REGION: "no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)",
    SetupKind.UNKNOWN_PROFILE: "{detail}: check --profile / AWS_PROFILE",
    SetupKind.NO_CREDENTIALS: (
        "no AWS credentials found: run `aws configure` or `aws sso login`, set AWS_PROFILE, "
        "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ),
    SetupKind.UNREACHABLE: "cannot reach AWS: {detail}",
    SetupKind.REFUSED: "{detail}",
    SetupKind.OTHER: "{detail}",
}


def aws_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn AWS/botocore failures into one clear line and the right exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FatalError as exc:
            raise IncompleteError(str(exc.problem)) from None
        except KeyboardInterrupt:
            # Click would exit 1, which means "thresholds breached": an interrupted run is
            # an incomplete one.
            raise IncompleteError("interrupted: the work is incomplete") from None
        except Exception as exc:
            failure = setup_failure(exc)
            if failure is None:
                raise
            message = _SETUP_WORDS[failure.kind].format(detail=failure.detail)
            if failure.kind.configuration:
                raise ConfigError(message) from None
            raise IncompleteError(message) from None

    return wrapper


_LIST_SEPARATORS = re.compile(r"[,\s]+")
_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")


class Seconds(click.ParamType[float]):
    """A number of seconds between ``low`` and ``high``, in ASCII digits (``float()``
    would also take "１" or "1_0")."""

    name = "SECONDS"

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        text = str(value).strip()
        if not _SECONDS.fullmatch(text):
            self.fail(f"{value!r} is not a number of seconds (e.g. 5 or 2.5)", param, ctx)
        seconds = float(text)
        if not self.low <= seconds <= self.high:
            self.fail(f"{text} is not between {self.low:g} and {self.high:g} seconds", param, ctx)
        return seconds


def split_list(values: tuple[str, ...] | None) -> list[str]:
    """Repeated values, each of which may itself be a comma-separated list."""
    return [part for value in values or () for part in _LIST_SEPARATORS.split(value) if part]


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
    "--connect-timeout",
    type=Seconds(0.1, 300),
    default=DEFAULT_TIMEOUTS.connect,
    show_default=True,
    envvar="ECRSCAN_CONNECT_TIMEOUT",
    metavar="SECONDS",
    help="Seconds to wait for a connection to AWS. Env: ECRSCAN_CONNECT_TIMEOUT.",
)
@click.option(
    "--read-timeout",
    type=Seconds(0.1, 900),
    default=DEFAULT_TIMEOUTS.read,
    show_default=True,
    envvar="ECRSCAN_READ_TIMEOUT",
    metavar="SECONDS",
    help="Seconds to wait for each answer from AWS. A call is tried 3 times, so it fails "
    "after at most 3 x (connect + read timeout) plus a few seconds of backoff (108 s with "
    "the defaults). Env: ECRSCAN_READ_TIMEOUT.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    envvar="ECRSCAN_VERBOSE",
    help="More diagnostics on stderr (-vv for AWS request logs). Env: ECRSCAN_VERBOSE.",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    envvar="ECRSCAN_QUIET",
    help="No progress bar and no notices; errors only. Env: ECRSCAN_QUIET.",
)
@click.version_option(__version__, "--version", prog_name="ecrscan")
@click.pass_context
def cli(
    ctx: click.Context,
    region: tuple[str, ...],
    profile: str | None,
    endpoint_url: str | None,
    connect_timeout: float,
    read_timeout: float,
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
            app.regions = check_regions(split_list(region))
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param_hint="'--region'") from None
        app.region = app.regions[0]
    app.profile = profile or app.profile
    if endpoint_url is not None:
        app.endpoint_url = _endpoint(ctx, endpoint_url)
    app.timeouts = Timeouts(connect=connect_timeout, read=read_timeout)
    app.verbose = verbose
    app.quiet = quiet
    _configure_logging(ctx, verbose)


def _endpoint(ctx: click.Context, url: str) -> str:
    """``url`` if it is an http(s) URL with a host (and a valid port); a usage error
    naming where it came from otherwise."""
    problem = check_endpoint_url(url)
    if problem:
        source = ctx.get_parameter_source("endpoint_url")
        hint = "'--endpoint-url'"
        if source is click.core.ParameterSource.ENVIRONMENT:
            hint += " (from AWS_ENDPOINT_URL)"
        raise click.BadParameter(f"{url!r} {problem}", ctx=ctx, param_hint=hint)
    return url


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (CliRunner swaps it)."""

    @property
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
