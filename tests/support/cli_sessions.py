"""Sessions for CLI tests: counted, or forbidden to call AWS."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from tests.support.fakes import fresh_session


class Forbidden(AssertionError):
    pass


def no_aws(**kwargs: Any) -> Any:
    raise Forbidden("an AWS session was created")


class Sessions:
    """A session factory for AppContext that can refuse chosen calls."""

    def __init__(self) -> None:
        self.created = 0
        self.hooks: list[tuple[str, Callable[..., Any]]] = []

    def refuse(self, operation: str, code: str, message: str, repository: str | None = None):
        def handler(params: dict[str, Any], **_: Any) -> Any:
            body = json.loads(params.get("body") or b"{}")
            if repository is not None and body.get("repositoryName") != repository:
                return None
            error = {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            return SimpleNamespace(status_code=400, headers={}), error

        self.hooks.append((f"before-call.ecr.{operation}", handler))

    def __call__(self, **kwargs: Any) -> Any:
        self.created += 1
        session = fresh_session(kwargs.get("region_name"), kwargs.get("profile_name"))
        for event, handler in self.hooks:
            session.events.register_first(event, handler)
        return session
