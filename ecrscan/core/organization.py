"""The accounts of an AWS Organization a run audits (pure): the account records, the
``--accounts`` / ``--exclude-accounts`` filters, the role each account is reached
through, and the checks of what names them.

Like cloud-custodian's c7n-org and prowler, ecrscan lists the organization's ACTIVE
accounts and assumes a role of one known name in each; the caller's own account is
audited with the caller's credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ecrscan.core.patterns import Pattern, PatternError, compile_pattern

DEFAULT_ROLE_NAME = "ecrscan-audit"
ACCOUNT_ID = re.compile(r"[0-9]{12}", re.ASCII)
OU_ID = re.compile(r"(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})", re.ASCII)
ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)  # IAM: 1-64 of [\w+=,.@-]
ROLE_PATH = re.compile(r"(/[\x21-\x7e]+)*/?", re.ASCII)
PARTITION = re.compile(r"arn:(aws[a-z-]*):", re.ASCII)
ACTIVE = "ACTIVE"


@dataclass(frozen=True, slots=True)
class Account:
    """One member account: its id, name and status (ACTIVE, SUSPENDED, PENDING_CLOSURE;
    newer APIs call it state)."""

    id: str
    name: str = ""
    status: str = ACTIVE

    @property
    def label(self) -> str:
        return f"{self.id} ({self.name})" if self.name else self.id


@dataclass(frozen=True)
class AccountSelector:
    """``--accounts`` (keep only these) and ``--exclude-accounts`` (drop these): each
    value is a 12-digit account id, matched exactly, or a regular expression searched in
    the account's name (RE2, like ``--filter``)."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for value in (*self.include, *self.exclude):
            _matcher(value)  # raises ValueError naming a bad pattern

    def keeps(self, account: Account) -> bool:
        if self.include and not any(_matches(v, account) for v in self.include):
            return False
        return not any(_matches(v, account) for v in self.exclude)

    def select(self, accounts: Iterable[Account]) -> list[Account]:
        """The ACTIVE accounts the selector keeps, by id, once each."""
        kept = {a.id: a for a in accounts if a.status == ACTIVE and self.keeps(a)}
        return [kept[i] for i in sorted(kept)]


@dataclass(frozen=True)
class OrgScope:
    """What ``--organization`` covers: the accounts under ``ous`` (all: the whole
    organization), filtered, each reached through the role ``role_name``."""

    role_name: str = DEFAULT_ROLE_NAME
    ous: tuple[str, ...] = ()
    accounts: AccountSelector = field(default_factory=AccountSelector)


def _matcher(value: str) -> str | Pattern:
    if ACCOUNT_ID.fullmatch(value):
        return value
    try:
        return compile_pattern(value)
    except PatternError as exc:
        raise ValueError(f"invalid account name pattern {value!r}: {exc}") from None


def _matches(value: str, account: Account) -> bool:
    matcher = _matcher(value)
    if isinstance(matcher, str):
        return account.id == matcher
    return bool(matcher.search(account.name))


def check_role_name(name: str) -> str:
    """A role name, optionally with a path (``audit/ecrscan``); ``ValueError`` otherwise."""
    text = name.strip().strip("/")
    path, _, role = text.rpartition("/")
    if not ROLE_NAME.fullmatch(role) or not ROLE_PATH.fullmatch(f"/{path}" if path else ""):
        raise ValueError(
            f"invalid role name {name!r}: 1-64 characters of letters, digits and +=,.@_- "
            "(optionally after a path: path/name)"
        )
    return text


def check_ou_ids(ous: Sequence[str]) -> tuple[str, ...]:
    """Organizational unit (or root) ids, once each; ``ValueError`` for a malformed one."""
    seen: dict[str, None] = {}
    for ou in ous:
        text = ou.strip()
        if not OU_ID.fullmatch(text):
            raise ValueError(
                f"invalid organizational unit id {ou!r}: expected ou-xxxx-xxxxxxxx "
                "(or a root, r-xxxx)"
            )
        seen.setdefault(text, None)
    return tuple(seen)


def partition_of(arn: str) -> str:
    """The partition of an ARN (``aws``, ``aws-us-gov``, ``aws-cn`` ...); ``aws`` if none."""
    match = PARTITION.match(arn)
    return match.group(1) if match else "aws"


def role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"
