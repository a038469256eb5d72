"""The targets of a run (:func:`query_targets`), and of an organization-wide (or
all-regions) run in particular: which accounts, through which credentials, in which
regions.

1. The caller's identity (``sts:GetCallerIdentity``): its account and partition.
2. The accounts: with ``--organization``, the organization's ACTIVE accounts (all, or
   under the given organizational units), filtered; otherwise the caller's account and
   the accounts of ``--role-arn``.
3. The credentials of each account, side by side: the caller's for its own account, a
   refreshing assumed-role session for every other (the organization's role name, or
   the given role ARN).
4. The regions of each account: ``--all-regions`` asks each account which regions it
   has enabled (``ec2:DescribeRegions``); otherwise the run's regions.

An account whose role cannot be assumed, or whose regions cannot be read, becomes a
:class:`~ecrscan.core.targets.TargetFailure` (region "" when the regions were never
known) and the other accounts are still covered.  Not being allowed to list the
organization at all stops the run (:class:`~ecrscan.engine.registry.FatalError`):
nothing could be covered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecrscan.aws.clients import STS, Timeouts, make_client, refreshing_session
from ecrscan.aws.errors import AwsError, NoRegionError, problem_of
from ecrscan.aws.organizations import PARENT_NOT_FOUND, OrganizationsGateway, RegionsGateway
from ecrscan.aws.sts import resolve_targets, role_credentials
from ecrscan.core.errors import FatalError
from ecrscan.core.organization import Account, OrgScope, partition_of, role_arn
from ecrscan.core.problem import Problem
from ecrscan.core.targets import Target, TargetFailure, TargetQuery, check_role_arns

LIST_HINT = (
    "listing the organization's accounts needs the management account or a delegated "
    "administrator, with organizations:ListAccounts (and, to list organizational units, "
    "organizations:ListAccountsForParent and organizations:ListOrganizationalUnitsForParent)"
)


NO_ACCOUNTS = "the organization has no ACTIVE account in the account selection"


@dataclass(frozen=True)
class Reach:
    """How the targets are reached: the run's region(s), endpoint and timeouts."""

    regions: tuple[str, ...]  # empty: the base session's region
    all_regions: bool
    session_name: str
    endpoint_url: str | None
    timeouts: Timeouts
    parallel: int = 8  # accounts resolved side by side
    clock: Callable[[], datetime] | None = None  # botocore's now for refreshing credentials


def query_targets(
    base_session: Any,
    query: TargetQuery,
    *,
    endpoint_url: str | None = None,
    timeouts: Timeouts,
    parallel: int = 8,
) -> tuple[list[Target], list[TargetFailure]]:
    """The targets of ``query`` and the ones that could not be reached.  Without a need
    for the account (``query.needs_identity``) the single target's account is "" and no
    STS call is made (its account and region are read off the results); ``parallel``
    accounts are resolved side by side.  Raises
    botocore's ``NoRegionError`` when no region is known."""
    if query.organization is not None or query.all_regions:
        reach = Reach(
            regions=query.regions,
            all_regions=query.all_regions,
            session_name=query.session_name,
            endpoint_url=endpoint_url,
            timeouts=timeouts,
            parallel=parallel,
        )
        return organization_targets(base_session, query.organization, query.role_arns, reach)
    if query.needs_identity:
        return resolve_targets(
            base_session,
            query.regions,
            query.role_arns,
            session_name=query.session_name,
            endpoint_url=endpoint_url,
            timeouts=timeouts,
        )
    # A session-like object without ``region_name`` leaves the region to its clients.
    region = query.regions[0] if query.regions else getattr(base_session, "region_name", "")
    if region is None:
        raise NoRegionError()
    return [Target("", region, base_session)], []


@dataclass(frozen=True)
class _Member:
    account: Account
    role_arn: str  # "" for the caller's own account


def organization_targets(
    base_session: Any, org: OrgScope | None, role_arns: Sequence[str], reach: Reach
) -> tuple[list[Target], list[TargetFailure]]:
    """Every (account, region) target of the run and the ones that could not be
    reached; see the module's docstring."""
    home = reach.regions[0] if reach.regions else getattr(base_session, "region_name", None)
    if not home:
        raise NoRegionError()
    sts = make_client(
        base_session,
        "sts",
        region=home,
        endpoint_url=reach.endpoint_url,
        retries=STS,
        timeouts=reach.timeouts,
    )
    try:
        identity = sts.get_caller_identity()
    except Exception as exc:
        problem = _problem_or_raise(exc)
        return [], [TargetFailure("", r, problem) for r in reach.regions or (home,)]
    caller, partition = str(identity["Account"]), partition_of(str(identity.get("Arn", "")))
    members = _members(base_session, org, role_arns, caller, partition, home, reach)
    with ThreadPoolExecutor(max_workers=max(1, min(reach.parallel, len(members)))) as pool:
        reached = list(
            pool.map(lambda m: _reach(base_session, sts, m, caller, home, reach), members)
        )
    targets = [t for found, _ in reached for t in found]
    failures = [f for _, failed in reached for f in failed]
    return targets, failures


def _members(
    base_session: Any,
    org: OrgScope | None,
    role_arns: Sequence[str],
    caller: str,
    partition: str,
    home: str,
    reach: Reach,
) -> list[_Member]:
    """The accounts to cover and the role of each ("" for the caller's own)."""
    if org is None:
        roles = {r.account: r.arn for r in check_role_arns(role_arns)}
        members = [_Member(Account(caller), "")] if caller not in roles else []
        return members + [_Member(Account(a), arn) for a, arn in roles.items()]
    gateway = OrganizationsGateway(
        base_session, region=home, endpoint_url=reach.endpoint_url, timeouts=reach.timeouts
    )
    try:
        accounts = org.accounts.select(gateway.accounts(org.ous))
    except AwsError as exc:
        if exc.problem.code == PARENT_NOT_FOUND:  # named by the gateway: no permission hint
            raise FatalError(exc.problem) from exc
        raise FatalError(Problem(exc.problem.code, f"{exc.problem.message} ({LIST_HINT})")) from exc
    if not accounts:
        raise FatalError(
            Problem(
                "NoAccounts",
                NO_ACCOUNTS,
            )
        )
    return [
        _Member(a, "" if a.id == caller else role_arn(partition, a.id, org.role_name))
        for a in accounts
    ]


def _reach(
    base_session: Any, sts: Any, member: _Member, caller: str, home: str, reach: Reach
) -> tuple[list[Target], list[TargetFailure]]:
    """One account's targets (or failures): its credentials, then its regions."""
    account, arn = member.account.id, member.role_arn
    wanted = reach.regions or (home,)
    try:
        credentials = (
            None
            if account == caller and not arn
            else role_credentials(sts, arn, reach.session_name, clock=reach.clock)
        )
    except Exception as exc:
        problem = _problem_or_raise(exc)
        where = ("",) if reach.all_regions else wanted
        return [], [TargetFailure(account, r, problem, arn) for r in where]

    def session(region: str) -> Any:
        return base_session if credentials is None else refreshing_session(credentials, region)

    if reach.all_regions:
        try:
            wanted = RegionsGateway(
                session(home), region=home, endpoint_url=reach.endpoint_url, timeouts=reach.timeouts
            ).enabled_regions()
        except AwsError as exc:
            return [], [TargetFailure(account, "", exc.problem, arn)]
    return [Target(account, region, session(region), arn) for region in wanted], []


def _problem_or_raise(exc: Exception) -> Problem:
    problem = problem_of(exc)
    if problem is None:
        raise exc
    return problem
