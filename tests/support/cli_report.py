"""Running `ecrscan report` in-process, with counted sessions."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from click.testing import CliRunner

from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from tests.support.registry import FakeRegistry

NOW = datetime.now(UTC)


class CountingSessions:
    """A session factory that counts sessions; usage errors must create none."""

    def __init__(self) -> None:
        self.created = 0

    def __call__(self, **kwargs: Any) -> Any:
        self.created += 1
        return boto3.Session(**kwargs)


def invoke(
    args: list[str], env: dict[str, str] | None = None, app: AppContext | None = None
) -> Any:
    return CliRunner().invoke(
        cli, args, env=env or {}, obj=app or AppContext(), catch_exceptions=False
    )


def image(
    reg: FakeRegistry,
    repo: str,
    tag: str,
    counts: dict[str, int] | None,
    findings: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> str:
    with contextlib.suppress(reg.client.exceptions.RepositoryAlreadyExistsException):
        reg.create_repo(repo)
    digest = reg.push(repo, tag)
    if counts is not None:
        reg.set_scan(
            repo,
            digest,
            completed_at=NOW - timedelta(hours=2),
            counts=counts,
            findings=findings,
            **kw,
        )
    return digest
