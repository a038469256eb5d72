"""Options shared by several commands, each defined once, with their checks: every
value that can be wrong without AWS is refused here (exit 2) before any call.

Every option has an environment variable, named at the end of its help by
:func:`env_option`.  Option groups that travel together reach the command as one value
(:class:`Selection`), collected by :func:`collect`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ecrscan.aws.clients import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from ecrscan.cli.app import AppContext, split_list
from ecrscan.core.durations import DurationError, parse_duration, parse_timeout
from ecrscan.core.imageref import parse_image_ref
from ecrscan.core.inuse import ScopeHints
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.targets import check_regions, check_role_arns
from ecrscan.engine.targets import InUseMode, Plan
from ecrscan.render.formats import Format

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

# How an out-of-scope image's reason says to bring it into scope, in the CLI's words.
SCOPE_HINTS = ScopeHints(
    account="give --role-arn for a role in that account to audit it",
    region="add --region {region}",
)


def env_option(
    *decls: str, env: str | Sequence[str], help: str, env_note: str = "", **kwargs: Any
) -> Decorator:
    """``click.option`` read from ``env`` too (the first variable set wins), which its
    help names: "... Env: A, else B (note)."."""
    names = [env] if isinstance(env, str) else list(env)
    note = f" ({env_note})" if env_note else ""
    return click.option(
        *decls,
        envvar=names[0] if len(names) == 1 else names,
        help=f"{help} Env: {', else '.join(names)}{note}.",
        **kwargs,
    )


def stack(*decorators: Decorator) -> Decorator:
    """Several decorators as one, applied as if written top to bottom."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


def collect(cls: type, name: str) -> Decorator:
    """Pass the options named like the fields of the dataclass ``cls`` to the command as
    one ``cls`` value, keyword ``name``."""
    fields = [f.name for f in dataclasses.fields(cls)]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = cls(**{field: kwargs.pop(field) for field in fields})
            return func(*args, **kwargs)

        return wrapper

    return decorate


def _checked(check: Callable[[Any], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback that turns ``check``'s ``ValueError`` into a usage error on the option."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


def _duration(value: str) -> tuple[Any, str]:
    try:
        return parse_duration(value), value
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _optional_duration(value: str | None) -> tuple[Any, str] | None:
    return None if value is None else _duration(value)


def _include(value: str | None) -> str | None:
    RepositoryFilter.compile(value)
    return value


def _exclude(values: tuple[str, ...]) -> tuple[str, ...]:
    RepositoryFilter.compile(None, values)
    return values


expiry_option = env_option(
    "--expiry",
    env="ECR_IMAGES_DURATION_DELTA",
    default="7d",
    show_default=True,
    callback=_checked(_duration),
    metavar="DURATION",
    help="Rescan images whose last scan is older than this. One or more <integer><unit> "
    "with units m (calendar months), w (weeks), d (days), h (hours): 7d, 36h, 1m2w.",
)

filter_options = stack(
    env_option(
        "--filter",
        "include",
        env="REPOSITORIES_FILTER_REGEXP",
        callback=_checked(_include),
        metavar="REGEX",
        help="Keep repositories whose name REGEX finds a match in (re.search: 'app' "
        "matches 'my-app-api'; anchor with '^app$' for an exact name).",
    ),
    env_option(
        "--exclude",
        "exclude",
        multiple=True,
        env="ECRSCAN_EXCLUDE",
        env_note="space-separated",
        callback=_checked(_exclude),
        metavar="REGEX",
        help="Drop repositories whose name matches REGEX (re.search). Repeatable.",
    ),
)


def list_option(
    decl: str, name: str, *, env: str, check: Callable[[list[str]], Any], **kwargs: Any
) -> Decorator:
    """A repeatable option whose values may each be a comma-separated list, checked as
    one list by ``check``."""
    return env_option(
        decl,
        name,
        env=env,
        env_note="comma-separated",
        multiple=True,
        callback=_checked(lambda values: check(split_list(values))),
        **kwargs,
    )


target_options = stack(
    list_option(
        "--region",
        "regions",
        env="ECRSCAN_REGIONS",
        check=check_regions,
        metavar="REGION",
        help="Audit this region; repeatable (--region eu-west-1 --region us-east-1) or "
        "comma-separated. Default: AWS_REGION / AWS_DEFAULT_REGION / the profile's region.",
    ),
    list_option(
        "--role-arn",
        "role_arns",
        env="ECRSCAN_ROLE_ARNS",
        check=lambda arns: tuple(role.arn for role in check_role_arns(arns)),
        metavar="ARN",
        help="Also audit the account of this IAM role, through sts:AssumeRole (session name "
        "ecrscan-<version>-<time>). Repeatable, one role per account; your own account is "
        "audited too.",
    ),
    env_option(
        "--in-use",
        "in_use",
        env="ECRSCAN_IN_USE",
        type=click.Choice([m.value for m in InUseMode], case_sensitive=False),
        help="Only images ECS uses: 'ecs' = referenced by ACTIVE task definitions, "
        "'ecs-services' = by the task definitions of services with running or desired "
        "tasks. Tags resolve to the images carrying them now; non-ECR images are listed as "
        "skipped, other accounts' and regions' images as out of scope. IAM: "
        "ecs:ListTaskDefinitions, ecs:DescribeTaskDefinition (ecs-services: also "
        "ecs:ListClusters, ecs:ListServices, ecs:DescribeServices).",
    ),
    env_option(
        "--pulled-within",
        "pulled_within",
        env="ECRSCAN_PULLED_WITHIN",
        callback=_checked(_optional_duration),
        metavar="DURATION",
        help="Only images whose last recorded pull (lastRecordedPullTime, updated by AWS "
        "about once a day) is within DURATION (same grammar as --expiry: 30d, 1m2w). "
        "Images never pulled are left out and counted.",
    ),
)


@dataclass(frozen=True)
class Selection:
    """What a rescan or report covers: the repository filters, the accounts and regions,
    and the image scope, as the options gave them."""

    include: str | None = None
    exclude: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    role_arns: tuple[str, ...] = ()
    in_use: str | None = None
    pulled_within: tuple[Any, str] | None = None

    def repo_filter(self) -> RepositoryFilter:
        return RepositoryFilter.compile(self.include, self.exclude)


# --filter, --exclude, --region, --role-arn, --in-use, --pulled-within as `selection`.
selection_options = stack(filter_options, target_options, collect(Selection, "selection"))


def make_plan(app: AppContext, selection: Selection, concurrency: int) -> Plan:
    """The run's targets and image scope from the options.  Regions given before the
    command (``ecrscan --region a rescan``) and after it add up; ECRSCAN_REGIONS applies
    when neither is given on the command line."""
    source = click.get_current_context().get_parameter_source("regions")
    if app.regions and source is not click.core.ParameterSource.COMMANDLINE:
        wanted = app.regions
    else:
        wanted = tuple(dict.fromkeys((*app.regions, *selection.regions)))
    if wanted:
        app.region = wanted[0]
    delta, text = selection.pulled_within or (None, "")
    return Plan(
        regions=wanted,
        role_arns=selection.role_arns,
        in_use=InUseMode(selection.in_use.lower()) if selection.in_use else None,
        pulled_within=delta,
        pulled_within_text=text,
        endpoint_url=app.endpoint_url,
        timeouts=app.timeouts,
        concurrency=concurrency,
        scope_hints=SCOPE_HINTS,
    )


allow_empty_option = env_option(
    "--allow-empty",
    env="ECRSCAN_ALLOW_EMPTY",
    is_flag=True,
    help="Accept an empty scope (the filters, --in-use or --pulled-within leave no image): "
    "exit 0 instead of 3. Without it, an empty scope is never a pass.",
)


def concurrency_option(help_text: str) -> Decorator:
    return env_option(
        "--concurrency",
        env="ECRSCAN_CONCURRENCY",
        type=click.IntRange(1, MAX_CONCURRENCY),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help=help_text,
    )


def check_output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """The ``--output`` destination, checked before any AWS call: ``None`` for stdout
    (no option, or ``-``); otherwise a file path that is not empty, not a directory, in
    an existing directory where a file can be created (tried, then removed)."""
    if value is None or value == "-":
        return None
    problem = output_problem(value)
    if problem:
        raise click.BadParameter(problem, ctx=ctx, param=param)
    return Path(value)


def output_problem(value: str) -> str:
    """Why ``value`` cannot receive the output ("" when it can)."""
    if not value.strip():
        return "empty path (give a file name, or - for stdout)"
    path = Path(value)
    if path.is_dir():
        return f"{value!r} is a directory"
    parent = path.absolute().parent
    if not parent.is_dir():
        return f"directory {str(parent)!r} does not exist"
    try:
        handle, probe = tempfile.mkstemp(dir=parent, prefix=".ecrscan-", suffix=".probe")
    except OSError as exc:
        return f"cannot write in {str(parent)!r}: {exc.strerror or exc}"
    os.close(handle)
    os.unlink(probe)
    return ""


def output_options(
    formats: Sequence[Format],
    *,
    format_help: str,
    format_envvars: Sequence[str] = ("ECRSCAN_FORMAT",),
    output_help: str = "Write the report to FILE instead of stdout (only once the run succeeded).",
    output_envvars: Sequence[str] = ("ECRSCAN_OUTPUT",),
) -> Decorator:
    """``--format`` (one of ``formats``, from the render registry) and ``--output``."""
    return stack(
        env_option(
            "--format",
            "fmt",
            env=format_envvars,
            type=click.Choice([f.value for f in formats], case_sensitive=False),
            default=Format.TABLE.value,
            show_default=True,
            help=format_help,
        ),
        env_option(
            "--output",
            "-o",
            "output",
            env=output_envvars,
            metavar="FILE",
            callback=check_output_path,
            help=output_help,
        ),
    )


class TimeoutParam(click.ParamType[float]):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        try:
            return parse_timeout(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


image_refs_callback = _checked(lambda values: tuple(parse_image_ref(v) for v in values))
