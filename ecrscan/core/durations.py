"""Durations such as ``7d``, ``36h`` or ``1m2w``, and timeouts such as ``90s`` or
``1h30m``: parsing, with errors that say how to fix them.

Grammar: one or more ``<integer><unit>`` groups, no spaces, each unit at most once, with
units ``m`` (calendar months), ``w`` (weeks), ``d`` (days) and ``h`` (hours).  Months are
calendar months, so ``1m`` before 31 March is 28 or 29 February (python-dateutil's
``relativedelta`` semantics).  The total must be greater than zero and at most about
100 years (so ``now - duration`` is always a valid date).
"""

from __future__ import annotations

import re

from dateutil.relativedelta import relativedelta

UNITS = {"m": "months", "w": "weeks", "d": "days", "h": "hours"}
# ASCII digits only: ``\d`` would also accept digits of other scripts ("٧d").
_GROUP = re.compile(r"([0-9]+)([a-zA-Z]?)")
_MAX_DIGITS = 7  # refuse absurd numbers before converting them
_MAX_DAYS = 36_525  # about 100 years
_APPROX_DAYS = {"m": 30.4375, "w": 7.0, "d": 1.0, "h": 1 / 24}


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
        if len(number.lstrip("0")) > _MAX_DIGITS:
            raise DurationError(f"invalid duration {raw!r}: {number}{unit} is too large")
        seen[unit] = int(number)
        pos = match.end()
    if not any(seen.values()):
        raise DurationError(f"invalid duration {raw!r}: must be greater than zero")
    if sum(_APPROX_DAYS[u] * v for u, v in seen.items()) > _MAX_DAYS:
        raise DurationError(f"invalid duration {raw!r}: longer than 100 years")
    return relativedelta(
        months=seen.get("m", 0),
        weeks=seen.get("w", 0),
        days=seen.get("d", 0),
        hours=seen.get("h", 0),
    )


# -- timeouts: their own small grammar (the duration grammar's "m" means months) -------

_TIMEOUT = re.compile(r"(?:([0-9]{1,6})h)?(?:([0-9]{1,6})m)?(?:([0-9]{1,6})s)?")
MAX_TIMEOUT = 24 * 3600


def parse_timeout(text: str) -> float:
    """``90s``, ``10m``, ``1h``, ``1h30m``, ``2m30s`` or plain seconds (``45``) -> seconds.
    Units h (hours), m (minutes), s (seconds), largest first, each at most once; ``0``
    means "check once, do not wait".  At most 24h."""
    raw = str(text).strip().lower()
    if raw.isascii() and raw.isdigit():
        raw += "s"
    match = _TIMEOUT.fullmatch(raw) if raw else None
    if not match or not any(match.groups()):
        raise DurationError(
            f"invalid timeout {text!r}: expected e.g. 90s, 10m, 1h or 1h30m "
            "(units h hours, m minutes, s seconds; a bare number is seconds)"
        )
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total > MAX_TIMEOUT:
        raise DurationError(f"invalid timeout {text!r}: at most 24h")
    return float(total)
