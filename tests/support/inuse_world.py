"""Helpers for the in-use, pull-recency and multi-target tests: task definitions in moto
ECS, pull times on moto ECR images, and a session factory that can refuse chosen calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.awsrequest import AWSResponse

from tests.support.fakes import fresh_session
from tests.support.registry import FakeRegistry

ACCOUNT = "123456789012"  # moto's default account
OTHER = "210987654321"


def host(account: str = ACCOUNT, region: str = "us-east-1") -> str:
    return f"{account}.dkr.ecr.{region}.amazonaws.com"


def register(ecs: Any, family: str, *images: str) -> str:
    """Register a task definition whose containers run ``images``; its ARN."""
    containers = [
        {"name": f"c{i}", "image": image, "memory": 128} for i, image in enumerate(images)
    ]
    response = ecs.register_task_definition(family=family, containerDefinitions=containers)
    return response["taskDefinition"]["taskDefinitionArn"]


def set_pulled(registry: FakeRegistry, repo: str, digest: str, when: datetime) -> None:
    """Make DescribeImages return ``lastRecordedPullTime`` for the image (moto keeps no
    pull times of its own, but serializes the attribute when it is there)."""
    registry._image(repo, digest).last_recorded_pull_time = int(when.timestamp())


Matcher = Callable[[dict[str, Any]], bool]


class Sessions:
    """A session factory for ``AppContext``: real boto3 sessions (moto answers), except
    for the calls :meth:`refuse` names, which fail with an AWS error before leaving
    botocore.  ``seen`` records the parameters of calls :meth:`watch` names."""

    def __init__(self) -> None:
        self.hooks: list[tuple[str, Callable[..., Any]]] = []
        self.seen: dict[str, list[dict[str, Any]]] = {}

    def refuse(
        self,
        service: str,
        operation: str,
        code: str,
        message: str,
        when: Matcher = lambda request: True,
        status: int = 400,
    ) -> None:
        def handler(params: dict[str, Any], **_: Any) -> Any:
            if not when(params):
                return None
            body = {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            return AWSResponse(params["url"], status, {}, None), body

        self.hooks.append((f"before-call.{service}.{operation}", handler))

    def watch(self, service: str, operation: str) -> None:
        def handler(params: dict[str, Any], **_: Any) -> None:
            body = params.get("body") or {}
            fields = body if isinstance(body, dict) else json.loads(body)
            self.seen.setdefault(operation, []).append({"url": params["url"], **fields})

        self.hooks.append((f"before-call.{service}.{operation}", handler))

    def __call__(self, **kwargs: Any) -> Any:
        session = fresh_session(kwargs.get("region_name"), kwargs.get("profile_name"))
        for event, handler in self.hooks:
            session.events.register_first(event, handler)
        return session


def in_region(region: str) -> Matcher:
    return lambda request: f".{region}." in request["url"]


def body_field(field: str, value: str) -> Matcher:
    """Requests whose parameter ``field`` is ``value``: JSON bodies (ECR, ECS) and the
    parameter dicts of query-protocol services (STS) alike."""

    def match(request: dict[str, Any]) -> bool:
        body = request.get("body") or {}
        params = body if isinstance(body, dict) else json.loads(body)
        return params.get(field) == value

    return match
