"""Targets: the (account, region) pairs one run covers, and the checks of what names
them (regions, role ARNs, role session names).  Pure: the credentials behind a target
are resolved by :func:`ecrscan.aws.sts.resolve_targets`.

A failure is a :class:`TargetFailure` value, one per (account, region) it leaves
uncovered, never an exception that stops the other targets.  ``Target.region`` is
authoritative: build every client with ``region=target.region`` (the base session keeps
its own default region).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from ecrscan import __version__
from ecrscan.core.problem import Problem

ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):"
    r"iam::(?P<account>[0-9]{12}):role/(?P<name>[\w+=,.@/-]{1,512})",
    re.ASCII,
)
REGION = re.compile(r"[a-z]{2,}(-[a-z]+)+-[0-9]+")
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)  # AWS: 2-64 of [\w+=,.@-]


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


@dataclass(frozen=True)
class TargetQuery:
    """Which targets a run covers, as the AWS side resolves them (the connections'
    ``targets``): the caller's credentials, each role, the organization's accounts
    (``organization``: a :class:`~ecrscan.core.organization.OrgScope`), times each region
    (``regions`` empty: the session's; ``all_regions``: each account's enabled ones).
    ``needs_identity``: the caller's account must be known (an STS call)."""

    regions: tuple[str, ...] = ()
    role_arns: tuple[str, ...] = ()
    organization: Any = None
    all_regions: bool = False
    needs_identity: bool = False
    session_name: str = ""


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
        return f"{self.account or 'unknown account'}/{self.region or 'all regions'}"


TargetKey = tuple[str, str, str]  # (account, region, role ARN)


def target_key(target: Target | TargetFailure) -> TargetKey:
    """A target's (or a target failure's) identity: account, region and role ARN."""
    return target.account, target.region, target.role_arn


def parse_role_arn(text: str) -> RoleArn:
    """Parse an IAM role ARN; raise ``ValueError`` naming the expected shape."""
    match = ROLE_ARN.fullmatch(text.strip())
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
        if not REGION.fullmatch(name):
            raise ValueError(f"invalid region {region!r}: expected a name such as eu-west-1")
        seen.setdefault(name, None)
    return tuple(seen)


def check_endpoint_url(url: str) -> str:
    """Why ``url`` cannot be an AWS endpoint ("" when it can): it must be ``http://`` or
    ``https://`` with a host and, if any, a port number."""
    if not url.isprintable() or any(c.isspace() for c in url):
        return "is not a URL: it contains spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "http://[::1": an unclosed IPv6 address
        return f"is not a URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "is not a URL: expected http://HOST[:PORT] or https://HOST[:PORT]"
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is no number
    except ValueError:
        return "has an invalid port"
    if not parts.hostname:
        return "has no host"
    return ""


# An SQS queue URL's path (/ACCOUNT/NAME: 1-80 of [A-Za-z0-9_-], ".fifo" allowed) and
# AWS's own hosts (sqs.eu-west-1.amazonaws.com, the legacy eu-west-1.queue.amazonaws.com,
# FIPS, VPC endpoints, China's amazonaws.com.cn).
QUEUE_PATH = re.compile(r"/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?", re.ASCII)
AWS_HOST = re.compile(r"([a-z0-9-]+\.)+amazonaws\.com(\.cn)?", re.ASCII)
QUEUE_URL_FORM = "https://sqs.REGION.amazonaws.com/ACCOUNT/NAME"


def check_queue_url(url: str, endpoint_url: str | None = None) -> str:
    """Why ``url`` cannot be an SQS queue URL ("" when it can): ``https://`` on an AWS
    host, or a URL on ``endpoint_url``'s host and port (a local emulator), with the path
    ``/ACCOUNT/NAME`` (a 12-digit account) and nothing after it."""
    if not url or check_endpoint_url(url):
        return f"is not a queue URL: expected {QUEUE_URL_FORM}"
    parts = urlsplit(url)
    if parts.query or parts.fragment or not QUEUE_PATH.fullmatch(parts.path):
        return f"is not a queue URL: expected the path /ACCOUNT/NAME ({QUEUE_URL_FORM})"
    if endpoint_url:
        endpoint = urlsplit(endpoint_url)
        if (parts.scheme, parts.netloc) == (endpoint.scheme, endpoint.netloc):
            return ""
    if parts.scheme == "https" and AWS_HOST.fullmatch(parts.hostname or ""):
        return ""
    where = f" or on the --endpoint-url host {endpoint_url}" if endpoint_url else ""
    return f"is not a queue URL of AWS{where}: expected {QUEUE_URL_FORM}"


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
                "give one role per account"
            )
    return tuple(by_account.values())


def default_session_name(now: datetime) -> str:
    """``ecrscan-<version>-<UTC time>``: names the tool and the run in CloudTrail."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return check_session_name(f"ecrscan-{__version__}-{stamp}"[:64])


def check_session_name(name: str) -> str:
    if not SESSION_NAME.fullmatch(name):
        raise ValueError(
            f"invalid role session name {name!r}: 2-64 characters of letters, digits and +=,.@_-"
        )
    return name
