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
from ecrscan.core.control import DEFAULT_MAX_CONCURRENCY
from ecrscan.core.durations import DEFAULT_EXPIRY, Duration, DurationError
from ecrscan.core.inuse import ScopeHints
from ecrscan.core.organization import (
    DEFAULT_ROLE_NAME,
    AccountSelector,
    OrgScope,
    check_ou_ids,
    check_role_name,
)
from ecrscan.core.policy import FilterError, RepositoryFilter
from ecrscan.core.targets import check_regions, check_role_arns
from ecrscan.engine.plan import InUseMode, Plan

# How an out-of-scope image's reason says to bring it into scope, in the CLI's words.
ORGANIZATION_HINTS = ScopeHints(
    account="bring that account into the organization selection (--ou, --accounts) to audit it",
    region="add --region {region}, or use --all-regions",
)
SCOPE_HINTS = ScopeHints(
    account="give --role-arn for a role in that account to audit it",
    region="add --region {region}",
)


def _duration(value: str) -> Duration:
    try:
        return Duration.parse(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _optional_duration(value: str | None) -> Duration | None:
    return None if value is None else _duration(value)


def _account_patterns(values: tuple[str, ...]) -> tuple[str, ...]:
    AccountSelector(values)  # raises ValueError naming a bad pattern
    return values


def account_option(decl: str, help: str) -> Decorator:
    """``--accounts`` / ``--exclude-accounts``: repeatable ids or name patterns."""
    name = decl.lstrip("-").replace("-", "_")
    return env_option(
        decl,
        name,
        multiple=True,
        env=f"ECRSCAN_{name.upper()}",
        env_note="space-separated",
        callback=checked(_account_patterns),
        metavar="ID",
        help=help,
    )


# The options that set each repository pattern, in the messages about a bad one.
_FILTER_OPTIONS = {"include": "--filter", "exclude": "--exclude"}


def _include(value: str | None) -> str | None:
    _check_filter(value, ())
    return value


def _exclude(values: tuple[str, ...]) -> tuple[str, ...]:
    _check_filter(None, values)
    return values


def _check_filter(include: str | None, exclude: tuple[str, ...]) -> None:
    try:
        RepositoryFilter.compile(include, exclude)
    except FilterError as exc:
        raise ValueError(exc.naming(_FILTER_OPTIONS[exc.setting])) from None


expiry_option = env_option(
    "--expiry",
    env="ECR_IMAGES_DURATION_DELTA",
    default=DEFAULT_EXPIRY.text,
    show_default=True,
    callback=checked(_duration),
    metavar="DURATION",
    help="Rescan images whose last scan is older than this: units mo (m), w, d, h, min "
    "(7d, 36h, 1mo2w).",
)

filter_options = stack(
    env_option(
        "--filter",
        "include",
        env="REPOSITORIES_FILTER_REGEXP",
        callback=checked(_include),
        metavar="REGEX",
        help="Keep repositories whose name REGEX finds a match in (re.search).",
    ),
    env_option(
        "--exclude",
        "exclude",
        multiple=True,
        env="ECRSCAN_EXCLUDE",
        env_note="space-separated",
        callback=checked(_exclude),
        metavar="REGEX",
        help="Drop repositories matching REGEX; repeatable.",
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
        env_note="commas or spaces",
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
        help="Audit this region (repeatable).",
    ),
    list_option(
        "--role-arn",
        "role_arns",
        env="ECRSCAN_ROLE_ARNS",
        check=lambda arns: tuple(role.arn for role in check_role_arns(arns)),
        metavar="ARN",
        help="Also audit this role's account (repeatable).",
    ),
    env_option(
        "--in-use",
        "in_use",
        env="ECRSCAN_IN_USE",
        type=click.Choice([m.value for m in InUseMode], case_sensitive=False),
        metavar="MODE",
        help="Only images ECS uses: ecs or ecs-services.",
    ),
    env_option(
        "--organization",
        "organization",
        is_flag=True,
        env="ECRSCAN_ORGANIZATION",
        help="Audit every ACTIVE account of the organization.",
    ),
    list_option(
        "--ou",
        "ous",
        env="ECRSCAN_OUS",
        check=check_ou_ids,
        metavar="OU_ID",
        help="Only the accounts under this OU (repeatable).",
    ),
    env_option(
        "--role-name",
        "role_name",
        env="ECRSCAN_ROLE_NAME",
        default=DEFAULT_ROLE_NAME,
        show_default=True,
        callback=checked(check_role_name),
        metavar="NAME",
        help="The role assumed in each account (path/NAME too).",
    ),
    account_option(
        "--accounts",
        "Only these accounts (an id, or a regex on the name).",
    ),
    account_option(
        "--exclude-accounts",
        "Leave these accounts out (an id, or a name regex).",
    ),
    env_option(
        "--all-regions",
        "all_regions",
        is_flag=True,
        env="ECRSCAN_ALL_REGIONS",
        help="Audit every region each account has enabled.",
    ),
    env_option(
        "--max-concurrency",
        "max_concurrency",
        env="ECRSCAN_MAX_CONCURRENCY",
        type=click.IntRange(1, 512),
        metavar="N",
        default=DEFAULT_MAX_CONCURRENCY,
        show_default=True,
        help="AWS calls in flight in all.",
    ),
    env_option(
        "--pulled-within",
        "pulled_within",
        env="ECRSCAN_PULLED_WITHIN",
        callback=checked(_optional_duration),
        metavar="DURATION",
        help="Only images pulled within DURATION (30d, 1mo2w).",
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
    pulled_within: Duration | None = None
    organization: bool = False
    ous: tuple[str, ...] = ()
    role_name: str = DEFAULT_ROLE_NAME
    accounts: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()
    all_regions: bool = False
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY

    def org_scope(self) -> OrgScope | None:
        """The organization the run covers; usage errors for options that need
        --organization or cannot go with it (raised before any AWS call)."""
        if not self.organization:
            given = {
                "ous": bool(self.ous),
                "role_name": self.role_name != DEFAULT_ROLE_NAME,
                "accounts": bool(self.accounts),
                "exclude_accounts": bool(self.exclude_accounts),
            }
            for name in (n for n, on in given.items() if on):
                ctx = click.get_current_context()
                param = next(p for p in ctx.command.params if p.name == name)
                raise click.BadParameter("needs --organization", ctx=ctx, param=param)
            return None
        if self.role_arns:
            raise click.UsageError(
                "--organization reaches every account through --role-name: it cannot be "
                "combined with --role-arn"
            )
        selector = AccountSelector(self.accounts, self.exclude_accounts)
        return OrgScope(self.role_name, self.ous, selector)

    def repo_filter(self) -> RepositoryFilter:
        return RepositoryFilter.compile(self.include, self.exclude)


# --filter, --exclude, --region, --role-arn, --in-use, --pulled-within as `selection`.
selection_options = stack(filter_options, target_options, collect(Selection, "selection"))


def make_plan(app: AppContext, selection: Selection) -> Plan:
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
    organization = selection.org_scope()
    if selection.all_regions and wanted and source is click.core.ParameterSource.COMMANDLINE:
        raise click.UsageError("--all-regions covers every enabled region: drop --region")
    return Plan(
        regions=wanted,
        role_arns=selection.role_arns,
        in_use=InUseMode(selection.in_use.lower()) if selection.in_use else None,
        pulled_within=selection.pulled_within,
        scope_hints=ORGANIZATION_HINTS if organization is not None else SCOPE_HINTS,
        organization=organization,
        all_regions=selection.all_regions,
        max_concurrency=selection.max_concurrency,
    )
