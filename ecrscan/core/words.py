"""Counting in words (pure): ``1 image``, ``2 images``, ``1 repository``."""

from __future__ import annotations

_IRREGULAR = {"repository": "repositories", "entry": "entries", "is": "are", "breaches": "breach"}


def plural(number: int, noun: str, many: str | None = None) -> str:
    """``number`` and ``noun``, in the plural unless ``number`` is 1 (``many`` when
    given, else the known irregular plural, else ``noun + "s"``)."""
    if number == 1:
        return f"{number} {noun}"
    return f"{number} {many or _IRREGULAR.get(noun, noun + 's')}"
