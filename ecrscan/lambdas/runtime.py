"""What the three functions share: the connections of a warm container, the clock, the
environment, configuration checks and the JSON log line.

Nothing is built at import time: the boto3 session, its clients and gateways are
created on first use and kept by :data:`connections` for the warm container's later
invocations; each handler reads the clock once per invocation.  Tests replace
:data:`connections` (see :func:`new_connections`), :func:`environ`, :func:`clock`,
:func:`sleep` and :func:`monotonic` on this module.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ecrscan.aws.connections import (
    ROLE_SESSION_REUSE_SECONDS,
    Connections,
    RoleNotAssumed,
    StateLimits,
)
from ecrscan.core.control import DEFAULT_TIMEOUTS, Timeouts
from ecrscan.core.durations import parse_duration
from ecrscan.core.organization import check_role_name
from ecrscan.core.targets import check_regions, check_role_arns, parse_role_arn

# The reporter's state table must answer well within the function's 30 s: a table that
# does not is skipped (the alert is published anyway).  Two attempts of 2 + 3 s, one
# call 12 s in all (an answer dripping in), and a throttled call retried for at most 8 s.
STATE_LIMITS = StateLimits(
    timeouts=Timeouts(connect=2.0, read=3.0, call=12.0),
    read_attempts=2,
    throttle_attempts=4,
    throttle_seconds=8.0,
)
__all__ = [
    "ROLE_SESSION_REUSE_SECONDS",
    "STATE_LIMITS",
    "AllowedRoles",
    "ConfigurationError",
    "RoleNotAssumed",
    "connections",
    "new_connections",
]
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


class ConfigurationError(ValueError):
    """The function's environment (or the event's overrides) cannot work."""


MAX_CALL_TIMEOUT = 900.0  # a function runs 15 minutes at most
_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)


def call_timeout(env: Mapping[str, str]) -> float:
    """``ECRSCAN_CALL_TIMEOUT``: seconds one AWS call may take in all, connect to last
    byte (default 120); a :class:`ConfigurationError` naming the variable unless it is a
    number of seconds from 0.1 to :data:`MAX_CALL_TIMEOUT`."""
    raw = (env.get("ECRSCAN_CALL_TIMEOUT") or "").strip()
    if not raw:
        return DEFAULT_TIMEOUTS.call
    if not _SECONDS.fullmatch(raw) or not 0.1 <= float(raw) <= MAX_CALL_TIMEOUT:
        raise ConfigurationError(
            f"ECRSCAN_CALL_TIMEOUT must be a number of seconds from 0.1 to "
            f"{MAX_CALL_TIMEOUT:g}, got {raw!r}"
        )
    return float(raw)


def new_connections(
    session_factory: Callable[..., Any] | None = None, env: Mapping[str, str] | None = None
) -> Connections:
    """The connections of a warm container: the function's own session, made on first
    use; throttles on this module's :func:`sleep` and :func:`monotonic`; one call bounded
    by ``ECRSCAN_CALL_TIMEOUT`` of ``env`` (default: the process's environment, which a
    container keeps for its life; a bad value leaves the default here, and every
    invocation fails on it: :func:`call_timeout`); the state table's short limits
    (:data:`STATE_LIMITS`).  Each invocation (and each job) works through a
    :meth:`~Connections.view` carrying its own deadline."""
    try:
        call = call_timeout(os.environ if env is None else env)
    except ConfigurationError:
        call = DEFAULT_TIMEOUTS.call
    return Connections(
        session_factory,
        timeouts=replace(DEFAULT_TIMEOUTS, call=call),
        sleep=lambda seconds: sleep(seconds),
        clock=lambda: monotonic(),
        state_limits=STATE_LIMITS,
    )


connections = new_connections()


def environ() -> Mapping[str, str]:
    return os.environ


def clock() -> datetime:
    return datetime.now(UTC)


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def monotonic() -> float:
    return time.monotonic()


# -- configuration -------------------------------------------------------------------


def check_duration(text: str, what: str) -> None:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise ConfigurationError(f"{what}: {exc}") from None


def flag(raw: str | None, name: str) -> bool:
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def organization_role(env: Mapping[str, str]) -> str:
    """``ORGANIZATION_ROLE_NAME``: the role assumed in each account of the organization
    ("" when the functions cover only their own account)."""
    raw = (env.get("ORGANIZATION_ROLE_NAME") or "").strip()
    if not raw:
        return ""
    try:
        return check_role_name(raw)
    except ValueError as exc:
        raise ConfigurationError(f"ORGANIZATION_ROLE_NAME: {exc}") from None


ALL_ENABLED = "ALL_ENABLED"  # ORGANIZATION_REGIONS: every region each account has enabled


@dataclass(frozen=True)
class Regions:
    """``ORGANIZATION_REGIONS``: the regions the repositories function covers (empty:
    its own), or every region each account has enabled (``all_enabled``)."""

    names: tuple[str, ...] = ()
    all_enabled: bool = False

    def __bool__(self) -> bool:
        return bool(self.names) or self.all_enabled


def organization_regions(env: Mapping[str, str]) -> Regions:
    """``ORGANIZATION_REGIONS``: comma-separated region names (blanks ignored, checked as
    the command line's ``--region``), or ``ALL_ENABLED``; empty: the function's own
    region.  Anything else is a :class:`ConfigurationError` naming the variable."""
    raw = env.get("ORGANIZATION_REGIONS") or ""
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if parts == [ALL_ENABLED]:
        return Regions(all_enabled=True)
    try:
        if ALL_ENABLED in parts:
            raise ValueError(f"{ALL_ENABLED} stands alone, not in a list of regions")
        return Regions(check_regions(parts))
    except ValueError as exc:
        raise ConfigurationError(
            f"ORGANIZATION_REGIONS must be region names separated by commas (eu-west-1,"
            f"us-east-1) or {ALL_ENABLED}, got {raw!r}: {exc}"
        ) from None


@dataclass(frozen=True)
class AllowedRoles:
    """The roles a job may name: those of ``ECS_DISCOVERY_ROLES``, and with
    ``ORGANIZATION_ROLE_NAME`` that role in any account."""

    arns: frozenset[str]
    organization_role: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AllowedRoles:
        return cls(frozenset(discovery_roles(env)), organization_role(env))

    def allows(self, arn: str) -> bool:
        if arn in self.arns:
            return True
        return bool(self.organization_role) and parse_role_arn(arn).name == self.organization_role

    def describe(self) -> str:
        named = ", ".join(sorted(self.arns)) or "none set"
        org = f"; ORGANIZATION_ROLE_NAME {self.organization_role}" if self.organization_role else ""
        return f"ECS_DISCOVERY_ROLES ({named}){org}"


def discovery_roles(env: Mapping[str, str]) -> tuple[str, ...]:
    """``ECS_DISCOVERY_ROLES``: comma-separated role ARNs (blanks ignored), one per account."""
    raw = env.get("ECS_DISCOVERY_ROLES") or ""
    try:
        roles = check_role_arns([part for part in raw.split(",") if part.strip()])
    except ValueError as exc:
        raise ConfigurationError(f"ECS_DISCOVERY_ROLES: {exc}") from None
    return tuple(role.arn for role in roles)


def log(context: Any, level: str, message: str, **fields: Any) -> None:
    """One JSON object per line on stdout (CloudWatch Logs Insights reads the fields)."""
    record = {
        "level": level,
        "message": message,
        "function": getattr(context, "function_name", None),
        "requestId": getattr(context, "aws_request_id", None),
        **fields,
    }
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()
