"""Pure rules: which repositories are in scope and whether an image is due for a scan.

No I/O and no clock: callers pass ``now``.  Every ``ScanStatus`` in botocore's ECR model
has an explicit entry in :data:`STATUS_RULES`; a status AWS adds later falls back to
"skipped" with a reason that names it, rather than silently being rescanned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from dateutil.relativedelta import relativedelta

from ecrscan.core.model import Decision, Image, ScanState, ScanType, Verdict
from ecrscan.core.patterns import Pattern, PatternError, compile_pattern

# Status -> (decision, reason).  COMPLETE is special: due or fresh depending on age.
STATUS_RULES: dict[str, tuple[Decision, str]] = {
    "COMPLETE": (Decision.FRESH, "scanned within expiry"),
    "FAILED": (Decision.DUE, "last scan failed"),
    "LIMIT_EXCEEDED": (Decision.DUE, "last scan hit a scan quota"),
    "IN_PROGRESS": (Decision.IN_PROGRESS, "scan in progress"),
    "PENDING": (Decision.IN_PROGRESS, "scan pending"),
    "UNSUPPORTED_IMAGE": (Decision.SKIPPED, "image type not supported by scanning"),
    "IMAGE_SIZE_EXCEEDED": (Decision.SKIPPED, "image too large to scan"),
    "IMAGE_ARCHIVED": (Decision.SKIPPED, "image is archived"),
    "ACTIVE": (Decision.NOT_RESCANNABLE, "continuously scanned by enhanced scanning"),
    "SCAN_ELIGIBILITY_EXPIRED": (
        Decision.NOT_RESCANNABLE,
        "enhanced scanning eligibility expired (push or pull the image to renew it)",
    ),
    "FINDINGS_UNAVAILABLE": (
        Decision.NOT_RESCANNABLE,
        "enhanced scanning findings unavailable",
    ),
}


def decide(image: Image, state: ScanState, now: datetime, expiry: relativedelta) -> Verdict:
    """Decide what to do with ``image`` whose last scan is ``state``, at time ``now``."""
    if (image.image_status or "").upper() == "ARCHIVED":
        return Verdict(Decision.SKIPPED, "image is archived")
    if state.never_scanned:
        return Verdict(Decision.DUE, "never scanned")
    status = (state.status or "").upper()
    if status == "COMPLETE":
        if state.completed_at is None:
            return Verdict(Decision.DUE, "scan complete but its date is unknown")
        cutoff = now - expiry
        if state.completed_at < cutoff:
            return Verdict(Decision.DUE, f"last scan older than {_age(now, state.completed_at)}")
        return Verdict(Decision.FRESH, "scanned within expiry")
    rule = STATUS_RULES.get(status)
    if rule is None:
        return Verdict(Decision.SKIPPED, f"unknown scan status {state.status!r}")
    return Verdict(*rule)


def apply_scan_type(verdict: Verdict, scan_type: ScanType) -> Verdict:
    """Enhanced registries do not accept manual scans: nothing is due there."""
    if scan_type is ScanType.ENHANCED and verdict.decision is Decision.DUE:
        return Verdict(
            Decision.NOT_RESCANNABLE,
            f"{verdict.reason}; registry uses enhanced scanning (no manual scans)",
        )
    return verdict


def _age(now: datetime, then: datetime) -> str:
    delta = now - then
    days = delta.days
    if days >= 1:
        return f"expiry ({days}d ago)"
    return f"expiry ({int(delta.total_seconds() // 3600)}h ago)"


@dataclass(frozen=True)
class RepositoryFilter:
    """``include`` is searched (``re.search`` semantics, in linear time: RE2) in the
    name; any ``exclude`` drops it."""

    include: Pattern | None = None
    exclude: tuple[Pattern, ...] = ()

    @classmethod
    def compile(cls, include: str | None, exclude: Sequence[str] = ()) -> RepositoryFilter:
        """Compile the patterns; raise :class:`FilterError` naming the bad one."""
        return cls(
            include=_compile(include, "include") if include else None,
            exclude=tuple(_compile(p, "exclude") for p in exclude if p),
        )

    def matches(self, name: str) -> bool:
        if self.include is not None and not self.include.search(name):
            return False
        return not any(p.search(name) for p in self.exclude)


class FilterError(ValueError):
    """A repository pattern that does not compile.  ``setting`` says which one
    (``"include"`` or ``"exclude"``); the message names it neutrally, and
    :meth:`naming` in the words of whoever set it (an option, a variable)."""

    WORDS: ClassVar[dict[str, str]] = {
        "include": "repository filter",
        "exclude": "repository exclusion",
    }

    def __init__(self, setting: str, pattern: str, problem: str) -> None:
        self.setting, self.pattern, self.problem = setting, pattern, problem
        super().__init__(self.naming(self.WORDS[setting]))

    def naming(self, name: str) -> str:
        """The message with ``name`` for the setting: ``invalid <name> regular
        expression '<pattern>': <problem>``."""
        return f"invalid {name} regular expression {self.pattern!r}: {self.problem}"


def _compile(pattern: str, setting: str) -> Pattern:
    try:
        return compile_pattern(pattern)
    except PatternError as exc:
        raise FilterError(setting, pattern, str(exc)) from None
