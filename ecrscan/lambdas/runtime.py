"""What the three functions share: the process-wide clients of a warm container, the
clock, the environment, configuration checks and the JSON log line.

Nothing is built at import time: the boto3 session and its clients are created on first
use and kept for the warm container's later invocations; each handler reads the clock
once per invocation.  Tests replace :data:`clients`, :func:`environ`, :func:`clock`,
:func:`sleep` and :func:`monotonic` on this module.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecrscan.aws.clients import MESSAGING, Timeouts, make_client, new_session
from ecrscan.aws.dynamodb import StateStore
from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.ecs import EcsGateway
from ecrscan.aws.sts import resolve_targets
from ecrscan.aws.throttle import Throttle
from ecrscan.core.durations import parse_duration
from ecrscan.core.organization import check_role_name
from ecrscan.core.targets import check_role_arns, parse_role_arn

# Assumed-role credentials last an hour (aws.sts.resolve_targets); a warm container
# assumes the role again after this long.
ROLE_SESSION_REUSE_SECONDS = 45 * 60
# The reporter's state table must answer well within the function's 30 s: a table that
# does not is skipped (the alert is published anyway).  Two attempts of 2 + 3 s, and a
# throttled call retried for at most 8 s.
STATE_TIMEOUTS = Timeouts(connect=2.0, read=3.0)
STATE_READ_ATTEMPTS = 2
STATE_THROTTLE_ATTEMPTS = 4
STATE_THROTTLE_SECONDS = 8.0
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


class ConfigurationError(ValueError):
    """The function's environment (or the event's overrides) cannot work."""


class RoleNotAssumed(RuntimeError):
    """The role a job names could not be assumed."""


class Clients:
    """A boto3 session and the clients built from it, created on first use and reused
    by later invocations of the same (warm) container."""

    def __init__(self, session_factory: Callable[[], Any] | None = None) -> None:
        self._session_factory = session_factory
        self._session: Any = None
        self._gateways: dict[tuple[str | None, str | None], EcrGateway] = {}
        # (registry id, role ARN, region) -> (when the role was assumed, the gateway)
        self._role_gateways: dict[tuple[str | None, str, str | None], tuple[float, EcrGateway]] = {}
        self._ecs: EcsGateway | None = None
        self._sqs: Any = None
        self._sns: Any = None
        self._stores: dict[str, StateStore] = {}

    def session(self) -> Any:
        if self._session is None:
            self._session = new_session(self._session_factory)
        return self._session

    def gateway(
        self,
        registry_id: str | None = None,
        role_arn: str | None = None,
        session_name: str = "",
        region: str | None = None,
    ) -> EcrGateway:
        """The ECR gateway for a registry (in ``region``, default the function's), with
        the function's credentials or, given ``role_arn``, the role's (assumed as
        ``session_name``; they renew themselves, and the role is assumed afresh after
        :data:`ROLE_SESSION_REUSE_SECONDS` all the same)."""
        if role_arn:
            return self._role_gateway(registry_id, role_arn, session_name, region)
        key = (registry_id, region)
        if key not in self._gateways:
            self._gateways[key] = EcrGateway(self.session(), registry_id=registry_id, region=region)
        return self._gateways[key]

    def _role_gateway(
        self, registry_id: str | None, role_arn: str, session_name: str, region: str | None
    ) -> EcrGateway:
        key = (registry_id, role_arn, region)
        cached = self._role_gateways.get(key)
        if cached is not None and monotonic() - cached[0] < ROLE_SESSION_REUSE_SECONDS:
            return cached[1]
        targets, failures = resolve_targets(
            self.session(),
            [region] if region else [],
            [role_arn],
            session_name=session_name,
            include_base=False,
        )
        if failures:
            raise RoleNotAssumed(f"cannot assume {role_arn}: {failures[0].problem}")
        target = targets[0]
        gateway = EcrGateway(
            target.session, region=target.region, registry_id=registry_id or target.account
        )
        self._role_gateways[key] = (monotonic(), gateway)
        return gateway

    def ecs(self) -> EcsGateway:
        if self._ecs is None:
            self._ecs = EcsGateway(self.session())
        return self._ecs

    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = make_client(self.session(), "sqs", retries=MESSAGING)
        return self._sqs

    def sns(self) -> Any:
        if self._sns is None:
            self._sns = make_client(self.session(), "sns", retries=MESSAGING)
        return self._sns

    def state_store(self, table: str) -> StateStore:
        """The notification state table's gateway (short timeouts and retries: see
        :data:`STATE_TIMEOUTS`)."""
        if table not in self._stores:
            throttle = Throttle(
                max_attempts=STATE_THROTTLE_ATTEMPTS, budget_seconds=STATE_THROTTLE_SECONDS
            )
            self._stores[table] = StateStore(
                self.session(),
                table,
                throttle=throttle,
                read_attempts=STATE_READ_ATTEMPTS,
                timeouts=STATE_TIMEOUTS,
            )
        return self._stores[table]


clients = Clients()


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
