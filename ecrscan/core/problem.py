"""A failure as a value: what results carry instead of an exception."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """An AWS error turned into a value: its code (AWS's error code, or the botocore
    exception's class name for a transport error) and AWS's message."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code
