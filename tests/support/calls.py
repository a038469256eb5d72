"""A session factory that counts the AWS calls of an in-process command, by operation
(botocore's ``before-call`` event of every client its sessions make)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import boto3


class CallCounter:
    """Pass as ``AppContext(session_factory=...)``; ``calls`` counts by operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, **kwargs: Any) -> Any:
        session = boto3.Session(**kwargs)
        session.events.register("before-call.*.*", self._count)
        return session

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())
