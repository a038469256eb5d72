"""The ignore file: accepted findings, each with a reason and optionally an end date.

.. code-block:: toml

    [[ignore]]
    id = "CVE-2023-1234"        # CVE id or enhanced finding ARN; required
    reason = "not reachable"    # required, non-empty
    until = 2026-12-31          # optional date; applies through that day, UTC
    repository = "^team/"       # optional regex, searched in the repository name

Only :func:`load_ignore_file` reads a file; everything else is pure, and the time is
passed in.  Ignoring a finding never hides it: :func:`apply_ignores` marks it with the
rule's reason, and outputs show it as ignored.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ecrscan.core.model import Finding
from ecrscan.core.patterns import Pattern, PatternError, compile_pattern

KEYS = ("id", "reason", "until", "repository")

# The bounds of an ignore file: read at most this many bytes (an ignore file of a few
# hundred entries is a few tens of KiB; /dev/zero or a FIFO never ends) and nest arrays
# and inline tables at most this deep (tomllib is recursive: 100,000 "[" would raise
# RecursionError).
MAX_IGNORE_BYTES = 1024 * 1024
MAX_IGNORE_DEPTH = 32
# What hides brackets from the depth count: TOML strings (multi-line first) and comments.
_TOML_SKIPPED = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*'
)
_TOML_BRACKET = re.compile(r"[\[\]{}]")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class IgnoreFileError(ValueError):
    """The ignore file cannot be read or one of its entries is invalid."""


@dataclass(frozen=True)
class IgnoreRule:
    """One ``[[ignore]]`` entry.  ``entry`` is its 1-based position in ``source``."""

    id: str
    reason: str
    until: date | None = None
    repository: Pattern | None = None
    source: str = ""
    entry: int = 0

    def matches(self, finding: Finding, repository: str) -> bool:
        """True when the rule names the finding (its vulnerability id or its ARN, letter
        case aside) and, if it has a repository pattern, the pattern is found in
        ``repository``."""
        wanted = self.id.casefold()
        if not wanted or wanted not in (finding.id.casefold(), finding.arn.casefold()):
            return False
        return self.repository is None or self.repository.search(repository) is not None

    def active_on(self, now: datetime) -> bool:
        """An entry with ``until`` = D applies through the whole of day D, UTC."""
        return self.until is None or _utc_date(now) <= self.until

    def describe(self) -> str:
        where = f"{self.source}, entry {self.entry}" if self.source else f"entry {self.entry}"
        until = f" until {self.until.isoformat()}" if self.until else ""
        return f"{where} ({self.id}{until})"


def load_ignore_file(path: str | Path) -> tuple[IgnoreRule, ...]:
    """Read and validate an ignore file.  Raises :class:`IgnoreFileError` naming the file
    and, for a bad entry, its number."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_IGNORE_BYTES + 1)
        if len(data) > MAX_IGNORE_BYTES:
            raise IgnoreFileError(
                f"ignore file {source}: larger than 1 MiB ({MAX_IGNORE_BYTES} bytes)"
            )
        text = data.decode("utf-8")
        _check_depth(text, source)
        document = tomllib.loads(text)
    except OSError as exc:
        raise IgnoreFileError(
            f"ignore file {source}: cannot read it: {exc.strerror or exc}"
        ) from None
    except UnicodeDecodeError as exc:
        raise IgnoreFileError(
            f"ignore file {source}: not UTF-8 text (byte {exc.start}: "
            f"{exc.object[exc.start : exc.start + 1]!r}); TOML files are UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise IgnoreFileError(f"ignore file {source}: not valid TOML: {exc}") from None
    except RecursionError:  # the depth check makes this unreachable; belt and braces
        raise IgnoreFileError(_too_deep(source)) from None
    return parse_ignore_document(document, source)


def _too_deep(source: str) -> str:
    return f"ignore file {source}: nested deeper than {MAX_IGNORE_DEPTH} levels"


def _check_depth(text: str, source: str) -> None:
    """Refuse arrays and inline tables nested deeper than :data:`MAX_IGNORE_DEPTH`
    before tomllib sees them (brackets in strings and comments do not count; a table
    header ``[[ignore]]`` counts 2)."""
    depth = 0
    for match in _TOML_BRACKET.finditer(_TOML_SKIPPED.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > MAX_IGNORE_DEPTH:
                raise IgnoreFileError(_too_deep(source))
        else:
            depth -= 1


def parse_ignore_document(document: Mapping[str, Any], source: str = "") -> tuple[IgnoreRule, ...]:
    """Validate an already parsed TOML document (``load_ignore_file`` minus the reading)."""
    label = f"ignore file {source}" if source else "ignore file"
    unknown = sorted(set(document) - {"ignore"})
    if unknown:
        raise IgnoreFileError(
            f"{label}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            "entries go in [[ignore]] tables"
        )
    entries = document.get("ignore", [])
    if not isinstance(entries, list):
        raise IgnoreFileError(f"{label}: 'ignore' must be an array of tables ([[ignore]])")
    return tuple(_rule(entry, number, source, label) for number, entry in enumerate(entries, 1))


def split_expired(
    rules: Iterable[IgnoreRule], now: datetime
) -> tuple[tuple[IgnoreRule, ...], tuple[IgnoreRule, ...]]:
    """``(active, expired)`` at ``now`` (an aware datetime; a naive one is taken as UTC)."""
    active: list[IgnoreRule] = []
    expired: list[IgnoreRule] = []
    for rule in rules:
        (active if rule.active_on(now) else expired).append(rule)
    return tuple(active), tuple(expired)


def apply_ignores(
    findings: Iterable[Finding], repository: str, rules: Sequence[IgnoreRule]
) -> tuple[Finding, ...]:
    """The findings with ``ignored`` set to the reason of the first rule that matches
    each; findings no rule matches are returned unchanged.  Expiry is not looked at
    here: pass the active rules (:func:`split_expired`)."""
    result = []
    for finding in findings:
        rule = next((r for r in rules if r.matches(finding, repository)), None)
        result.append(replace(finding, ignored=rule.reason) if rule else finding)
    return tuple(result)


# -- validation ----------------------------------------------------------------------


def _rule(entry: Any, number: int, source: str, label: str) -> IgnoreRule:
    where = f"{label}, entry {number}"
    if not isinstance(entry, dict):
        raise IgnoreFileError(f"{where}: expected a table ([[ignore]]), got {type(entry).__name__}")
    for key in entry:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise IgnoreFileError(
                f"{where}: unknown key {key!r}{hint}; allowed keys: {', '.join(KEYS)}"
            )
    return IgnoreRule(
        id=_required_text(entry, "id", where),
        reason=_required_text(entry, "reason", where),
        until=_until(entry.get("until"), where),
        repository=_pattern(entry.get("repository"), where),
        source=source,
        entry=number,
    )


def _required_text(entry: Mapping[str, Any], key: str, where: str) -> str:
    if key not in entry:
        raise IgnoreFileError(f"{where}: {key!r} is required")
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise IgnoreFileError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _until(value: Any, where: str) -> date | None:
    if value is None:
        return None
    # TOML offset/local date-times are datetime objects (a date subclass): not a day.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise IgnoreFileError(
                f"{where}: 'until' {value!r} is not a valid date: {exc}"
            ) from None
    raise IgnoreFileError(
        f"{where}: 'until' must be a date such as 2026-12-31 (a TOML date or a "
        f'"YYYY-MM-DD" string), got {value!r}'
    )


def _pattern(value: Any, where: str) -> Pattern | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise IgnoreFileError(f"{where}: 'repository' must be a non-empty regular expression")
    try:
        return compile_pattern(value)
    except PatternError as exc:
        raise IgnoreFileError(
            f"{where}: 'repository' {value!r} is not a valid regex: {exc}"
        ) from None


def _utc_date(now: datetime) -> date:
    if now.tzinfo is None:
        return now.date()
    return now.astimezone(UTC).date()
