"""Finding severities, in one total order, and a breach of a threshold."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(enum.Enum):
    """Finding severities in descending order of seriousness.

    ``rank`` gives a total order (higher is worse) so thresholds like "HIGH and above"
    compare every level the same way.  ``UNTRIAGED`` only appears with enhanced scanning.
    """

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFORMATIONAL = "INFORMATIONAL"
    UNDEFINED = "UNDEFINED"
    UNTRIAGED = "UNTRIAGED"

    @property
    def rank(self) -> int:
        return len(_SEVERITY_ORDER) - _SEVERITY_ORDER.index(self)

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().upper())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of {names})") from None


_SEVERITY_ORDER = list(Severity)


@dataclass(frozen=True, slots=True)
class Breach:
    severity: Severity
    count: int
    threshold: int
