"""JSON from untrusted sources (an SQS message, an event) with bounds: size, nesting
depth, and the length of a number, so a hostile document is a :class:`JSONLimitError`
(a ``ValueError``) instead of a ``RecursionError``, the interpreter's 4,300-digit
``ValueError`` or an unbounded parse."""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_BYTES = 256 * 1024  # the largest SQS message
MAX_DEPTH = 32
MAX_NUMBER_CHARS = 32

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class JSONLimitError(ValueError):
    """A document that is not JSON or exceeds a bound; the message says which."""


def loads(
    document: str | bytes | bytearray,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_number_chars: int = MAX_NUMBER_CHARS,
) -> Any:
    """Parse ``document``; raise :class:`JSONLimitError` when it is not valid JSON, is
    larger than ``max_bytes``, nests deeper than ``max_depth`` or has a number longer
    than ``max_number_chars`` characters (or out of a float's range).  ``NaN`` and
    ``Infinity`` are not JSON and are refused."""
    if isinstance(document, (bytes, bytearray)):
        size = len(document)
        if size > max_bytes:
            raise JSONLimitError(f"larger than {max_bytes} bytes ({size} bytes)")
        try:
            text = bytes(document).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONLimitError(f"not valid JSON (not UTF-8: {exc})") from None
    else:
        text = document
        if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            raise JSONLimitError(f"larger than {max_bytes} bytes")
    _check_depth(text, max_depth)

    def number(literal: str) -> int | float:
        if len(literal) > max_number_chars:
            raise JSONLimitError(
                f"a number with more than {max_number_chars} digits: {literal[:20]}..."
            )
        value = float(literal) if any(c in literal for c in ".eE") else int(literal)
        if isinstance(value, float) and not math.isfinite(value):
            raise JSONLimitError(f"a number out of range (more digits than a float): {literal}")
        return value

    def constant(name: str) -> Any:
        raise JSONLimitError(f"not valid JSON ({name} is not a JSON value)")

    try:
        return json.loads(text, parse_int=number, parse_float=number, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise JSONLimitError(f"not valid JSON ({exc})") from None
    except RecursionError:  # the depth check makes this unreachable; belt and braces
        raise JSONLimitError(f"nested deeper than {max_depth} levels") from None


def _check_depth(text: str, max_depth: int) -> None:
    """Refuse nesting deeper than ``max_depth`` before the recursive parser sees it
    (brackets inside strings do not count)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise JSONLimitError(f"nested deeper than {max_depth} levels")
        else:
            depth -= 1
