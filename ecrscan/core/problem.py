"""A failure as a value: what results carry instead of an exception."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG = re.compile(r"<[/!]?[A-Za-z][^<>]{0,200}>")
MESSAGE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class Problem:
    """An AWS error turned into a value: its code (AWS's error code, or the botocore
    exception's class name for a transport error) and AWS's message."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


def condensed(message: str) -> str:
    """An error message fit for one line of a record: a proxy's or server's HTML error
    page loses its tags, every run of whitespace becomes one space, and more than
    ``MESSAGE_LIMIT`` characters are cut with an ellipsis."""
    text = _TAG.sub(" ", message) if "<" in message else message
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1].rstrip() + "…"
