"""STS: the credentials behind each target of a run.

One target per (credentials, region): the base credentials (whose account comes from
``sts:GetCallerIdentity``) and, for each role, the credentials of that role
(``sts:AssumeRole`` once per role, with a ``RoleSessionName`` that names ecrscan and the
run's time, so CloudTrail in the audited account shows who called).  ``endpoint_url``
(and the ``AWS_ENDPOINT_URL`` environment variable, which botocore reads for every
client) is honoured for STS and for the clients built from assumed-role sessions alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.credentials import RefreshableCredentials
from botocore.exceptions import NoRegionError
from dateutil.parser import isoparse

from ecrscan.aws.clients import DEFAULT_TIMEOUTS, STS, Timeouts, make_client, refreshing_session
from ecrscan.aws.errors import problem_of
from ecrscan.core.problem import Problem
from ecrscan.core.targets import (
    Target,
    TargetFailure,
    check_regions,
    check_role_arns,
    check_session_name,
)


def resolve_targets(
    base_session: Any,
    regions: Sequence[str],
    role_arns: Sequence[str],
    *,
    session_name: str,
    endpoint_url: str | None = None,
    include_base: bool = True,
    duration_seconds: int = 3600,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
    clock: Callable[[], datetime] | None = None,
) -> tuple[list[Target], list[TargetFailure]]:
    """One target per (base credentials or role) x region, and the failures.

    ``regions`` empty means the base session's region.  ``session_name`` is the
    ``RoleSessionName`` of every AssumeRole (the caller's: :func:`default_session_name`
    of its ``now``, for one).  Malformed regions, role ARNs or session names raise
    ``ValueError`` before any AWS call; a missing region raises
    botocore's ``NoRegionError`` and missing credentials its ``NoCredentialsError``
    (nothing could be covered at all).  Everything AWS refuses (GetCallerIdentity,
    AssumeRole: access denied, expired token …) becomes a :class:`TargetFailure` per
    region, and the other targets are still resolved.  A role in the base account
    replaces the base credentials for that account.
    """
    wanted = check_regions(regions) if regions else (base_session.region_name or "",)
    if not wanted[0]:
        raise NoRegionError()
    roles = check_role_arns(role_arns)
    name = check_session_name(session_name)

    sts = make_client(
        base_session,
        "sts",
        region=wanted[0],
        endpoint_url=endpoint_url,
        retries=STS,
        timeouts=timeouts,
    )

    targets: list[Target] = []
    failures: list[TargetFailure] = []
    role_accounts = {role.account for role in roles}
    if include_base:
        try:
            account = sts.get_caller_identity()["Account"]
        except Exception as exc:
            failures.extend(TargetFailure("", r, _problem_or_raise(exc)) for r in wanted)
        else:
            if account not in role_accounts:
                targets.extend(Target(account, r, base_session) for r in wanted)

    for role in roles:
        try:
            credentials = role_credentials(sts, role.arn, name, duration_seconds, clock)
        except Exception as exc:
            problem = _problem_or_raise(exc)
            failures.extend(TargetFailure(role.account, r, problem, role.arn) for r in wanted)
            continue
        targets.extend(
            Target(role.account, region, refreshing_session(credentials, region), role.arn)
            for region in wanted
        )
    return targets, failures


def role_credentials(
    sts: Any,
    role_arn: str,
    session_name: str,
    duration_seconds: int = 3600,
    clock: Callable[[], datetime] | None = None,
) -> RefreshableCredentials:
    """The role's credentials, assumed now (so a role that cannot be assumed fails
    here, not at the target's first call) and again before they expire (botocore's
    refreshable credentials renew 15 minutes ahead, under a lock, so a target that runs
    for hours keeps working); one set serves every region of the account.  ``clock`` is
    botocore's notion of now (tests pass a fake one)."""

    def fetch() -> dict[str, str]:
        credentials = sts.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=duration_seconds
        )["Credentials"]
        expiry = credentials["Expiration"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": expiry.isoformat() if isinstance(expiry, datetime) else str(expiry),
        }

    first = fetch()
    credentials = RefreshableCredentials(
        access_key=first["access_key"],
        secret_key=first["secret_key"],
        token=first["token"],
        expiry_time=isoparse(first["expiry_time"]),
        refresh_using=fetch,
        method="sts-assume-role",
        time_fetcher=clock or _utc_now,
    )
    return credentials


def _problem_or_raise(exc: Exception) -> Problem:
    """The :class:`Problem` of an AWS failure; anything else is re-raised."""
    problem = problem_of(exc)
    if problem is None:
        raise exc
    return problem


def _utc_now() -> datetime:
    return datetime.now(UTC)
