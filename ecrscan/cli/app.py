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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

import click

from ecrscan.core.control import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUTS, Stop, Timeouts
from ecrscan.core.errors import FatalError
from ecrscan.core.exits import EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE
from ecrscan.core.problem import Problem
from ecrscan.core.targets import check_endpoint_url
from ecrscan.render.controls import escape_controls

if TYPE_CHECKING:
    # ecrscan.aws imports botocore: only a command that calls AWS imports it (at its
    # first connection), so `ecrscan --help` and `--version` start without it.
    from ecrscan.aws.connections import Connections
    from ecrscan.aws.dynamodb import StateStore
    from ecrscan.aws.ecr import EcrGateway

log = logging.getLogger("ecrscan")


class IncompleteError(click.ClickException):
    """An AWS or runtime error stopped the work: exit 3, one line on stderr."""

    exit_code = EXIT_INCOMPLETE

    def show(self, file: Any = None) -> None:
        click.echo(f"ecrscan: error: {escape_controls(self.format_message())}", err=True)


def conclude(code: int, failure: str | None = None) -> None:
    """End the command with ``code``, the exit code its result decided (the one its JSON
    shows); ``failure`` is the error line saying why the work is incomplete."""
    if failure is not None:
        error = IncompleteError(failure)
        error.exit_code = code
        raise error
    if code != EXIT_OK:
        click.get_current_context().exit(code)


class ConfigError(click.ClickException):
    """Configuration that makes any AWS call impossible: exit 2."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(
            f"ecrscan: configuration error: {escape_controls(self.format_message())}", err=True
        )


class RunControls(TypedDict):
    """The engine settings every run shares (see :meth:`AppContext.controls`); not the
    engine's :class:`~ecrscan.engine.wait.Pacing` (how ``--wait`` polls)."""

    concurrency: int
    stop: Stop


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

    _connections: Connections | None = field(default=None, init=False, repr=False)

    def connections(self, concurrency: int | None = None) -> Connections:
        """The run's connections, made on first use: this run's session, endpoint,
        timeouts, stop request and ``concurrency`` (its one home; default
        :data:`DEFAULT_CONCURRENCY`), one throttle per (account, region)."""
        if self._connections is not None:
            if concurrency is not None and concurrency != self._connections.concurrency:
                raise ValueError("the run's concurrency is set once")
            return self._connections
        from ecrscan.aws.connections import Connections

        self._connections = Connections(
            self.session_factory,
            profile=self.profile,
            region=self.region,
            endpoint_url=self.endpoint_url,
            timeouts=self.timeouts,
            concurrency=DEFAULT_CONCURRENCY if concurrency is None else concurrency,
            stop=self.stop,
        )
        return self._connections

    def gateway(self, *, region: str | None = None, registry_id: str | None = None) -> EcrGateway:
        """An ECR gateway of this run's session (``region`` defaults to the run's)."""
        connections = self.connections()
        return connections.ecr(connections.home(region or self.region), registry_id)

    def state_store(self, table: str, region: str | None = None) -> StateStore:
        """The notification state table's gateway, with this run's settings."""
        return self.connections().state_store(table, region)

    def client(self, service: str, retries: Mapping[str, Any], region: str | None = None) -> Any:
        """A client of another service (SQS, SNS) with this run's settings."""
        return self.connections().client(service, region, retries)

    def controls(self, concurrency: int) -> RunControls:
        """Set the run's concurrency (kept by its connections) and return the engine
        settings every run shares: how many calls at once, and the stop request a signal
        sets."""
        connections = self.connections(concurrency)
        return RunControls(concurrency=connections.concurrency, stop=self.stop)


# The user's words for a failure to reach AWS at all, by the name of its
# ecrscan.aws.errors.SetupKind (that module imports botocore, which the command line
# imports only when a command calls AWS).
_SETUP_WORDS = {
    "NO_REGION": "no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)",
    "UNKNOWN_PROFILE": "{detail}: check --profile / AWS_PROFILE",
    "NO_CREDENTIALS": (
        "no AWS credentials found: run `aws configure` or `aws sso login`, set AWS_PROFILE, "
        "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ),
    "UNREACHABLE": "cannot reach AWS: {detail}",
    "REFUSED": "{detail}",
    "OTHER": "{detail}",
}


# The user's words for the engine's problems that name what the options selected.
_PROBLEM_WORDS = {
    "NoAccounts": "the organization has no ACTIVE account that --ou, --accounts and "
    "--exclude-accounts select",
}


def _worded(problem: Problem) -> str:
    words = _PROBLEM_WORDS.get(problem.code)
    return f"{problem.code}: {words}" if words else str(problem)


def aws_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn AWS/botocore failures into one clear line and the right exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FatalError as exc:
            raise IncompleteError(_worded(exc.problem)) from None
        except KeyboardInterrupt:
            # Click would exit 1, which means "thresholds breached": an interrupted run is
            # an incomplete one.
            raise IncompleteError("interrupted: the work is incomplete") from None
        except Exception as exc:
            from ecrscan.aws.errors import setup_failure

            failure = setup_failure(exc)
            if failure is None:
                raise
            message = _SETUP_WORDS[failure.kind.name].format(detail=failure.detail)
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


def check_endpoint(ctx: click.Context, url: str, param: str = "endpoint_url") -> str:
    """``url`` if it is an http(s) URL with a host (and a valid port); a usage error
    naming where it came from otherwise."""
    problem = check_endpoint_url(url)
    if problem:
        source = ctx.get_parameter_source(param)
        hint = "'--endpoint-url'"
        if source is click.core.ParameterSource.ENVIRONMENT:
            hint += " (set by the environment variable AWS_ENDPOINT_URL)"
        raise click.BadParameter(f"{url!r} {problem}", ctx=ctx, param_hint=hint)
    return url
