"""Targets: the (account, region) pairs one run covers, with a session for each.

One target per (credentials, region): the base credentials (whose account comes from
``sts:GetCallerIdentity``) and, for each ``--role-arn``, the credentials of that role
(``sts:AssumeRole`` once per role, with a ``RoleSessionName`` that names ecrscan and the
run's time, so CloudTrail in the audited account shows who called).  A failure is a
:class:`TargetFailure` value, one per (account, region) it leaves uncovered, never an
exception that stops the other targets.

``Target.region`` is authoritative: build every client with ``region=target.region``
(the base session keeps its own default region).  ``endpoint_url`` (and the
``AWS_ENDPOINT_URL`` environment variable, which botocore reads for every client) is
honoured for STS and for the clients built from assumed-role sessions alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoRegionError,
)

from ecrscan import __version__
from ecrscan.aws import AwsError
from ecrscan.model import Problem

T = TypeVar("T")

ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):"
    r"iam::(?P<account>\d{12}):role/(?P<name>[\w+=,.@/-]{1,512})$"
)
REGION = re.compile(r"^[a-z]{2,}(-[a-z]+)+-\d+$")
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")  # AWS: 2-64 of [\w+=,.@-]


@dataclass(frozen=True, slots=True)
class RoleArn:
    arn: str
    partition: str
    account: str
    name: str


@dataclass(frozen=True, slots=True)
class Target:
    """One account and region, and the boto3 session whose credentials reach it."""

    account: str
    region: str
    session: Any = field(compare=False, repr=False)
    role_arn: str = ""  # "" for the base credentials

    @property
    def label(self) -> str:
        return f"{self.account}/{self.region}"


@dataclass(frozen=True, slots=True)
class TargetFailure:
    """An (account, region) that could not be covered, and why.  ``account`` is "" when
    even the base credentials' account could not be read."""

    account: str
    region: str
    problem: Problem
    role_arn: str = ""

    @property
    def label(self) -> str:
        return f"{self.account or 'unknown account'}/{self.region}"


def parse_role_arn(text: str) -> RoleArn:
    """Parse an IAM role ARN; raise ``ValueError`` naming the expected shape."""
    match = ROLE_ARN.match(text.strip())
    if not match:
        raise ValueError(
            f"invalid role ARN {text!r}: expected arn:aws:iam::<12-digit account>:role/<name>"
        )
    return RoleArn(match.group(0), match["partition"], match["account"], match["name"])


def check_regions(regions: Sequence[str]) -> tuple[str, ...]:
    """The regions without duplicates, in order; ``ValueError`` for a malformed name."""
    seen: dict[str, None] = {}
    for region in regions:
        name = region.strip().lower()
        if not REGION.match(name):
            raise ValueError(f"invalid region {region!r}: expected a name such as eu-west-1")
        seen.setdefault(name, None)
    return tuple(seen)


def check_role_arns(role_arns: Sequence[str]) -> tuple[RoleArn, ...]:
    """Parsed role ARNs, duplicates dropped; ``ValueError`` for a malformed ARN or two
    different roles for one account (which one should audit it?)."""
    by_account: dict[str, RoleArn] = {}
    for text in role_arns:
        role = parse_role_arn(text)
        other = by_account.setdefault(role.account, role)
        if other.arn != role.arn:
            raise ValueError(
                f"two roles for account {role.account}: {other.arn} and {role.arn}; "
                "give one --role-arn per account"
            )
    return tuple(by_account.values())


def default_session_name(now: datetime) -> str:
    """``ecrscan-<version>-<UTC time>``: names the tool and the run in CloudTrail."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return check_session_name(f"ecrscan-{__version__}-{stamp}"[:64])


def check_session_name(name: str) -> str:
    if not SESSION_NAME.match(name):
        raise ValueError(
            f"invalid role session name {name!r}: 2-64 characters of letters, digits "
            "and +=,.@_-"
        )
    return name


def resolve_targets(
    base_session: Any,
    regions: Sequence[str],
    role_arns: Sequence[str],
    *,
    session_name: str,
    endpoint_url: str | None = None,
    include_base: bool = True,
    duration_seconds: int = 3600,
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

    sts_kwargs: dict[str, Any] = {"region_name": wanted[0]}
    if endpoint_url:
        sts_kwargs["endpoint_url"] = endpoint_url
    config = Config(user_agent_extra=f"ecrscan/{__version__}", retries={"mode": "standard"})
    sts = base_session.client("sts", config=config, **sts_kwargs)

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
            credentials = sts.assume_role(
                RoleArn=role.arn, RoleSessionName=name, DurationSeconds=duration_seconds
            )["Credentials"]
        except Exception as exc:
            problem = _problem_or_raise(exc)
            failures.extend(TargetFailure(role.account, r, problem, role.arn) for r in wanted)
            continue
        for region in wanted:
            session = boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=region,
            )
            targets.append(Target(role.account, region, session, role.arn))
    return targets, failures


def run_per_target(
    targets: Sequence[Target], work: Callable[[Target], T]
) -> tuple[list[tuple[Target, T]], list[TargetFailure]]:
    """Call ``work(target)`` for each target in turn; an AWS error in one (anything
    carrying a :class:`Problem`, a ``ClientError``, an unreachable endpoint) becomes a
    :class:`TargetFailure` and the others still run.  Other exceptions propagate."""
    done: list[tuple[Target, T]] = []
    failures: list[TargetFailure] = []
    for target in targets:
        try:
            done.append((target, work(target)))
        except Exception as exc:
            failures.append(
                TargetFailure(target.account, target.region, _problem_or_raise(exc),
                              target.role_arn)
            )
    return done, failures


def _problem_or_raise(exc: Exception) -> Problem:
    """The :class:`Problem` an AWS failure carries; re-raise anything else (a bug, or
    missing credentials, which no other target could survive either)."""
    problem = getattr(exc, "problem", None)
    if isinstance(problem, Problem):
        return problem
    if isinstance(exc, ClientError):
        return AwsError.from_client_error(exc, exc.operation_name).problem
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return Problem(type(exc).__name__, str(exc))
    raise exc
