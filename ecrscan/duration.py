"""Durations such as ``7d``, ``36h`` or ``1m2w``: parsing and formatting.

Grammar: one or more ``<integer><unit>`` groups, no spaces, each unit at most once, with
units ``m`` (calendar months), ``w`` (weeks), ``d`` (days) and ``h`` (hours).  Months are
calendar months, so ``1m`` before 31 March is 28 or 29 February (python-dateutil's
``relativedelta`` semantics).  The total must be greater than zero.
"""

from __future__ import annotations

import re

from dateutil.relativedelta import relativedelta

UNITS = {"m": "months", "w": "weeks", "d": "days", "h": "hours"}
_GROUP = re.compile(r"(\d+)([a-zA-Z]?)")
_MAX_PER_UNIT = 100_000


class DurationError(ValueError):
    """A duration string that does not follow the grammar."""


def parse_duration(text: str) -> relativedelta:
    """Parse ``text`` into a ``relativedelta``; raise ``DurationError`` with a hint."""
    if text is None or not str(text).strip():
        raise DurationError("empty duration (expected e.g. 7d, 36h, 1m2w)")
    raw = str(text).strip()
    pos = 0
    seen: dict[str, int] = {}
    while pos < len(raw):
        match = _GROUP.match(raw, pos)
        if not match:
            raise DurationError(
                f"invalid duration {raw!r} at {raw[pos:]!r}: expected <integer><unit> "
                "groups with units m (months), w (weeks), d (days), h (hours), e.g. 7d or 1m2w"
            )
        number, unit = match.groups()
        if not unit:
            raise DurationError(
                f"invalid duration {raw!r}: {number!r} has no unit "
                "(use m for months, w for weeks, d for days, h for hours)"
            )
        if unit not in UNITS:
            raise DurationError(
                f"invalid duration {raw!r}: unknown unit {unit!r} "
                "(use m for months, w for weeks, d for days, h for hours; units are lowercase)"
            )
        if unit in seen:
            raise DurationError(f"invalid duration {raw!r}: unit {unit!r} given twice")
        value = int(number)
        if value > _MAX_PER_UNIT:
            raise DurationError(f"invalid duration {raw!r}: {value}{unit} is too large")
        seen[unit] = value
        pos = match.end()
    if not any(seen.values()):
        raise DurationError(f"invalid duration {raw!r}: must be greater than zero")
    return relativedelta(**{UNITS[u]: v for u, v in seen.items()})

