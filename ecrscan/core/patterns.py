"""Regular expressions users supply (``--filter``, ``--exclude``, the repositories
function's ``REPOSITORIES_FILTER_REGEXP``, an ignore file's ``repository``), matched in
linear time by RE2.

Python's :mod:`re` backtracks: ``(a+)+$`` against 32 characters runs for minutes, and
these patterns can come from a pull request.  RE2 guarantees time linear in the input,
at the price of backreferences and lookaround, which :func:`compile_pattern` refuses
with an error naming the pattern.  Searching is :meth:`re.Pattern.search` semantics.
"""

from __future__ import annotations

from typing import Any, Protocol

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would also write every parse error to stderr
_UNSUPPORTED = ("invalid perl operator", "invalid escape sequence", "invalid named capture")


class PatternError(ValueError):
    """A pattern RE2 cannot compile."""


class Pattern(Protocol):
    """What callers use of a compiled pattern."""

    @property
    def pattern(self) -> str: ...

    def search(self, text: str) -> Any: ...


def compile_pattern(text: str) -> Pattern:
    """Compile ``text`` with RE2; :class:`PatternError` says why it cannot be used."""
    try:
        return re2.compile(text, _OPTIONS)  # type: ignore[no-any-return]
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args else str(exc)
        if reason.startswith(_UNSUPPORTED):
            reason += (
                " (patterns run on RE2, which matches in linear time and has no "
                "backreferences or lookaround)"
            )
        raise PatternError(reason) from None
