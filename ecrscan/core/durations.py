"""Durations such as ``7d``, ``36h``, ``1mo2w`` or ``90min``, and timeouts such as
``90s`` or ``1h30min``: one grammar, parsed with errors that say how to fix them.

Grammar: one or more ``<integer><unit>`` groups, no spaces, each unit at most once.
Units: ``mo`` (calendar months; ``m`` too, where months make sense), ``w`` (weeks),
``d`` (days), ``h`` (hours), ``min`` (minutes) and ``s`` (seconds).  Which units a value
takes depends on what it measures:

* :func:`parse_duration` (ages: ``--expiry``, ``--pulled-within``): ``mo``/``m``, ``w``,
  ``d``, ``h``, ``min``.  Months are calendar months, so ``1mo`` before 31 March is 28 or
  29 February (python-dateutil's ``relativedelta``).  At most about 100 years.
* :func:`parse_timeout` (waiting: ``--timeout``): ``h``, ``min``, ``s``, or a bare number
  of seconds; at most 24 hours.  ``m`` is refused with a hint: it means months.

The total must be greater than zero (a timeout may be ``0``: check once, do not wait).
:func:`describe_duration` says in words how a value was understood.  An age that travels
on (``--expiry``, ``--pulled-within``, ``--state-ttl``) is a :class:`Duration`: parsed
once, with the user's text kept to show and to pass on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

# unit -> (relativedelta keyword, approximate days, words)
_UNITS: dict[str, tuple[str, float, str]] = {
    "mo": ("months", 30.4375, "month"),
    "m": ("months", 30.4375, "month"),
    "w": ("weeks", 7.0, "week"),
    "d": ("days", 1.0, "day"),
    "h": ("hours", 1 / 24, "hour"),
    "min": ("minutes", 1 / 1440, "minute"),
    "s": ("seconds", 1 / 86400, "second"),
}
AGE_UNITS = ("mo", "m", "w", "d", "h", "min")
TIMEOUT_UNITS = ("h", "min", "s")
# ASCII digits only: ``\d`` would also accept digits of other scripts ("٧d").
_GROUP = re.compile(r"([0-9]+)([A-Za-z]*)")
_MAX_DIGITS = 7  # refuse absurd numbers before converting them
_MAX_DAYS = 36_525  # about 100 years
MAX_TIMEOUT = 24 * 3600
_AGE_HELP = "mo (months), w (weeks), d (days), h (hours), min (minutes), e.g. 7d or 1mo2w"
_TIMEOUT_HELP = "h (hours), min (minutes), s (seconds), e.g. 90s, 10min or 1h30min"


class DurationError(ValueError):
    """A duration string that does not follow the grammar."""


def _groups(text: str, allowed: tuple[str, ...], what: str, help_: str) -> dict[str, int]:
    """``{unit: number}`` of ``text``; :class:`DurationError` naming what is wrong."""
    raw = str(text).strip()
    seen: dict[str, int] = {}
    pos = 0
    while pos < len(raw):
        match = _GROUP.match(raw, pos)
        if not match:
            raise DurationError(
                f"invalid {what} {raw!r} at {raw[pos:]!r}: expected <integer><unit> groups "
                f"with units {help_}"
            )
        number, unit = match.groups()
        if not unit:
            raise DurationError(f"invalid {what} {raw!r}: {number!r} has no unit ({help_})")
        if unit != unit.lower():
            raise DurationError(f"invalid {what} {raw!r}: units are lowercase ({help_})")
        if unit not in allowed:
            raise DurationError(f"invalid {what} {raw!r}: {_unit_problem(unit, what)} ({help_})")
        key = "mo" if unit == "m" else unit
        if key in seen:
            raise DurationError(f"invalid {what} {raw!r}: unit {unit!r} given twice")
        if len(number.lstrip("0")) > _MAX_DIGITS:
            raise DurationError(f"invalid {what} {raw!r}: {number}{unit} is too large")
        seen[key] = int(number)
        pos = match.end()
    return seen


def _unit_problem(unit: str, what: str) -> str:
    if what == "timeout" and unit == "m":
        return "'m' means months in ecrscan durations; write min for minutes (e.g. 30min)"
    if what == "timeout" and unit in ("mo", "w", "d"):
        return f"unit {unit!r} is too long for a timeout"
    if unit == "s":
        return "seconds are too short here"
    return f"unknown unit {unit!r}"


def parse_duration(text: str) -> relativedelta:
    """Parse an age such as ``7d`` or ``1mo2w`` into a ``relativedelta``."""
    if text is None or not str(text).strip():
        raise DurationError("empty duration (expected e.g. 7d, 36h, 1mo2w)")
    seen = _groups(text, AGE_UNITS, "duration", _AGE_HELP)
    raw = str(text).strip()
    if not any(seen.values()):
        raise DurationError(f"invalid duration {raw!r}: must be greater than zero")
    if sum(_UNITS[u][1] * v for u, v in seen.items()) > _MAX_DAYS:
        raise DurationError(f"invalid duration {raw!r}: longer than 100 years")
    return relativedelta(**{_UNITS[u][0]: v for u, v in seen.items()})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Duration:
    """An age as the user wrote it (``text``, shown and passed on as given) and as
    :func:`parse_duration` understood it (``delta``)."""

    delta: relativedelta
    text: str

    @classmethod
    def parse(cls, text: str) -> Duration:
        """``text`` parsed once; :class:`DurationError` as :func:`parse_duration` says."""
        return cls(parse_duration(text), text)


# How old a scan may be before rescan starts a new one (--expiry, ECR_IMAGES_DURATION_DELTA).
DEFAULT_EXPIRY = Duration.parse("7d")


def parse_timeout(text: str) -> float:
    """``90s``, ``10min``, ``1h``, ``1h30min`` or plain seconds (``45``) -> seconds;
    ``0`` means "check once, do not wait".  At most 24h."""
    raw = str(text).strip()
    if raw.isascii() and raw.isdigit():
        raw += "s"
    if not raw:
        raise DurationError(f"empty timeout (expected units {_TIMEOUT_HELP})")
    seen = _groups(raw, TIMEOUT_UNITS, "timeout", _TIMEOUT_HELP)
    total = seen.get("h", 0) * 3600 + seen.get("min", 0) * 60 + seen.get("s", 0)
    if total > MAX_TIMEOUT:
        raise DurationError(f"invalid timeout {text!r}: at most 24h")
    return float(total)


def describe_duration(text: str) -> str:
    """How ``text`` (a valid duration or timeout) was understood, in words:
    ``7d`` -> ``7 days``, ``1m2w`` -> ``1 month, 2 weeks``."""
    raw = str(text).strip().lower()
    if raw.isascii() and raw.isdigit():
        raw += "s"
    parts = []
    for number, unit in _GROUP.findall(raw):
        word = _UNITS["mo" if unit == "m" else unit][2]
        value = int(number)
        parts.append(f"{value} {word}{'' if value == 1 else 's'}")
    return ", ".join(parts)
