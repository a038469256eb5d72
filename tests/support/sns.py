"""Reading SNS messages in tests: bodies, subjects, listed images."""

from __future__ import annotations

import json
import re

from ecrscan.render.sns import SnsMessage
from tests.support.report_samples import (
    CRITICAL_OPENSSL,
    HIGH_ZLIB,
    report,
)


def body(message: SnsMessage) -> dict[str, str]:
    return json.loads(message.message)


def breaching(n: int, prefix: str = "team/app") -> list:
    return [report(f"{prefix}-{i:05}", ("v1",), (CRITICAL_OPENSSL, HIGH_ZLIB)) for i in range(n)]


def listed(messages: list[SnsMessage], prefix: str = "team/app") -> list[str]:
    """Repository names listed in the ``default`` texts, in order."""
    names = []
    for message in messages:
        names += re.findall(rf"^- ({re.escape(prefix)}-\d+)[:@]", body(message)["default"], re.M)
    return names


def assert_subject_ok(subject: str) -> None:
    assert 0 < len(subject) < 100
    assert "\n" not in subject and "\r" not in subject
    assert all(32 <= ord(c) < 127 for c in subject)
    assert subject[0] not in " \t"
