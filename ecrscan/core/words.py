"""Counting in words (pure): ``1 image``, ``2 images``, ``1 repository``; the verb that
agrees with a count; AWS call counts by the API's operation names."""

from __future__ import annotations

from collections.abc import Mapping

_IRREGULAR = {
    "repository": "repositories",
    "entry": "entries",
    "is": "are",
    "was": "were",
    "does": "do",
    "breaches": "breach",
}


def plural(number: int, noun: str, many: str | None = None) -> str:
    """``number`` and ``noun``, in the plural unless ``number`` is 1 (``many`` when
    given, else the known irregular plural, else ``noun + "s"``)."""
    if number == 1:
        return f"{number} {noun}"
    return f"{number} {many or _IRREGULAR.get(noun, noun + 's')}"


def agree(number: int, verb: str) -> str:
    """``verb`` (its third-person singular: ``is``, ``breaches``) agreeing with
    ``number``: ``1 image breaches``, ``2 images breach``."""
    return verb if number == 1 else _IRREGULAR.get(verb, verb.removesuffix("s"))


def operation_name(method: str) -> str:
    """The API's name of a boto3 method: ``describe_image_scan_findings`` →
    ``DescribeImageScanFindings``."""
    return "".join(part[:1].upper() + part[1:] for part in method.split("_"))


def calls_text(calls: Mapping[str, int]) -> str:
    """``DescribeImages 3, DescribeRepositories 1 (4 in total)``: call counts by
    operation name, sorted, with their total ("none" without any)."""
    if not calls:
        return "none"
    named = sorted((operation_name(method), n) for method, n in calls.items())
    listing = ", ".join(f"{name} {n}" for name, n in named)
    return f"{listing} ({sum(calls.values())} in total)"
