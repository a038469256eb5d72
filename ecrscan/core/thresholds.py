"""Per-severity thresholds: pure parsing and evaluation.

A threshold N tolerates up to N findings at that level; N+1 breaches.  ``None`` means
the level is off.  Defaults: 0 for CRITICAL, HIGH, MEDIUM and LOW, off for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ecrscan.core.severity import Breach, Severity

DEFAULT_LEVELS = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
# Environment variables of the Lambda this tool replaces, honoured as defaults.
ENV_VARS = {s.value: s for s in DEFAULT_LEVELS}


_WHOLE = re.compile(r"-?[0-9]{1,9}")  # ASCII digits, at most 999,999,999


class ThresholdError(ValueError):
    """A threshold specification that cannot be parsed."""


def _default_limits() -> dict[Severity, int | None]:
    return {s: (0 if s in DEFAULT_LEVELS else None) for s in Severity}


def parse_limit(text: str, what: str = "threshold") -> int | None:
    value = str(text).strip().lower()
    if value == "off":  # the one word: "none", "disabled" or "-" would hide a typo
        return None
    if not _WHOLE.fullmatch(value):  # int() would take "１", "1_000" and 5,000 digits
        raise ThresholdError(f"invalid {what} {text!r}: expected a whole number >= 0 or 'off'")
    number = int(value)
    if number < 0:
        raise ThresholdError(f"invalid {what} {text!r}: must be >= 0 (or 'off')")
    return number


@dataclass(frozen=True)
class Thresholds:
    limits: Mapping[Severity, int | None] = field(default_factory=_default_limits)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Thresholds:
        """Defaults, overridden by the ``CRITICAL``/``HIGH``/``MEDIUM``/``LOW`` variables."""
        limits = _default_limits()
        for name, severity in ENV_VARS.items():
            raw = environ.get(name)
            if raw is not None and raw.strip() != "":
                limits[severity] = parse_limit(raw, f"{name} environment variable")
        return cls(limits)

    def fail_on(self, level: Severity) -> Thresholds:
        """0 at ``level`` and above, off below."""
        return Thresholds({s: (0 if s.rank >= level.rank else None) for s in Severity})

    def with_overrides(self, specs: Iterable[str]) -> Thresholds:
        """Apply ``LEVEL=N`` / ``LEVEL=off`` specifications."""
        limits = dict(self.limits)
        for spec in specs:
            name, sep, value = spec.partition("=")
            if not sep:
                raise ThresholdError(f"invalid threshold {spec!r}: expected LEVEL=N or LEVEL=off")
            try:
                severity = Severity.parse(name)
            except ValueError as exc:
                raise ThresholdError(f"invalid threshold {spec!r}: {exc}") from None
            limits[severity] = parse_limit(value)
        return Thresholds(limits)

    def limit(self, severity: Severity) -> int | None:
        return self.limits.get(severity)

    def evaluate(self, counts: Mapping[str, int]) -> tuple[Breach, ...]:
        """The breaches for severity ``counts`` (keys are severity names; others such as
        ``TOTAL`` are ignored), most severe first."""
        breaches = []
        for severity in Severity:
            limit = self.limits.get(severity)
            count = int(counts.get(severity.value, 0) or 0)
            if limit is not None and count > limit:
                breaches.append(Breach(severity, count, limit))
        return tuple(breaches)

    def describe(self) -> dict[str, int | None]:
        return {s.value: self.limits.get(s) for s in Severity}
