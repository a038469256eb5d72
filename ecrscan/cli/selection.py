"""What a rescan or report covers, from its options: the repository filters, the
accounts and regions, the image scope (``--in-use``, ``--pulled-within``) and the
expiry, checked before any AWS call; :func:`make_plan` turns them into the engine's
:class:`~ecrscan.engine.targets.Plan`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from ecrscan.cli.app import AppContext, split_list
from ecrscan.cli.options import Decorator, checked, collect, env_option, stack
from ecrscan.core.durations import DurationError, parse_duration
from ecrscan.core.inuse import ScopeHints
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.targets import check_regions, check_role_arns
from ecrscan.engine.targets import InUseMode, Plan

# How an out-of-scope image's reason says to bring it into scope, in the CLI's words.
SCOPE_HINTS = ScopeHints(
    account="give --role-arn for a role in that account to audit it",
    region="add --region {region}",
)


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
    callback=checked(_duration),
    metavar="DURATION",
    help="Rescan images whose last scan is older than this. One or more <integer><unit> "
    "with units mo (calendar months; m too), w (weeks), d (days), h (hours), min "
    "(minutes): 7d, 36h, 1mo2w.",
)

filter_options = stack(
    env_option(
        "--filter",
        "include",
        env="REPOSITORIES_FILTER_REGEXP",
        callback=checked(_include),
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
        callback=checked(_exclude),
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
        callback=checked(lambda values: check(split_list(values))),
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
        callback=checked(_optional_duration),
        metavar="DURATION",
        help="Only images whose last recorded pull (lastRecordedPullTime, updated by AWS "
        "about once a day) is within DURATION (same grammar as --expiry: 30d, 1mo2w). "
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
