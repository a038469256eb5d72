"""The connections of one run: one session, one throttle per target shared by its
gateways, cached gateways and clients, views under a job's deadline that change
nothing shared, and ``--concurrency`` kept in one place."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ecrscan.aws.clients import pool_size
from ecrscan.aws.connections import ROLE_SESSION_REUSE_SECONDS, Connections
from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.core.control import Deadline
from ecrscan.core.targets import Target

REGION = "us-east-1"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_session_is_made_once_and_clients_are_cached(mocked: None) -> None:
    made: list[dict[str, Any]] = []

    def factory(**kwargs: Any) -> Any:
        made.append(kwargs)
        return boto3.Session(**kwargs)

    connections = Connections(factory, region=REGION, profile=None)
    assert connections.session() is connections.session()
    assert made == [{"region_name": REGION}]
    assert connections.client("sqs") is connections.client("sqs")
    assert connections.client("sqs") is not connections.client("sns")
    assert connections.state_store("t") is connections.state_store("t")
    assert connections.view(None).client("sqs") is connections.client("sqs")  # shared


def test_a_view_shares_gateways_clients_and_the_gate_but_not_the_deadline(mocked: None) -> None:
    clock = Clock()
    connections = Connections.of(boto3.Session(region_name=REGION), clock=clock)
    home = connections.home()
    shared = connections.ecr(home)
    first = connections.view(Deadline.after(10.0, clock))
    second = connections.view(Deadline.after(60.0, clock))
    one, two = first.ecr(home), second.ecr(home)
    assert (one.throttle.deadline, two.throttle.deadline) == (first.deadline, second.deadline)
    assert shared.throttle.deadline is None and connections.deadline is None
    assert one._read is two._read is shared._read  # one client, built once
    assert one.inspector()._read is two.inspector()._read is shared.inspector()._read
    assert first.ecs(home).throttle.deadline is first.deadline
    one.throttle.throttled()
    assert two.throttle.level == shared.throttle.level == 1
    clock.now += 30.0  # past the first view's deadline only
    assert one.throttle.deadline is not None and one.throttle.deadline.passed
    assert two.throttle.deadline is not None and not two.throttle.deadline.passed


def test_a_calls_count_covers_every_gateway_of_a_target_and_its_views(mocked: None) -> None:
    connections = Connections.of(boto3.Session(region_name=REGION))
    home = connections.home()
    connections.ecr(home).scan_type()
    connections.view(Deadline.after(60.0, Clock())).ecr(home).scan_type()
    other = Target("", "eu-west-1", home.session)
    assert connections.calls(home) == {"get_registry_scanning_configuration": 2}
    assert connections.calls(other) == {}


def test_an_assumed_role_is_reused_then_assumed_afresh(mocked: None) -> None:
    clock = Clock()
    connections = Connections.of(boto3.Session(region_name=REGION), clock=clock)
    role = "arn:aws:iam::111111111111:role/audit"
    first = connections.assume(role, "session-1")
    assert connections.assume(role, "session-2") is first  # a later job, the same role
    assert connections.ecr(first, first.account) is connections.ecr(first, first.account)
    old = connections.ecr(first, first.account)
    clock.now += ROLE_SESSION_REUSE_SECONDS
    again = connections.assume(role, "session-3")
    assert again is not first and again.session is not first.session
    fresh = connections.ecr(again, again.account)
    assert fresh is not old  # the new credentials' gateway
    assert fresh.throttle is old.throttle  # the same account and region: the same gate


@pytest.mark.parametrize("command", [["rescan", "--dry-run"], ["report"]])
def test_concurrency_has_one_home_the_runs_connections(mocked: None, command: list[str]) -> None:
    boto3.client("ecr", region_name=REGION).create_repository(repositoryName="app")
    app = AppContext(region=REGION)
    args = [*command, "--concurrency", "20", "--format", "json", "--allow-empty"]
    result = CliRunner().invoke(cli, args, obj=app)
    assert result.exit_code == 0, result.output
    connections = app.connections()
    assert connections.concurrency == 20
    gateway = app.gateway()
    assert gateway._read.meta.config.max_pool_connections == pool_size(20)
    with pytest.raises(ValueError, match="set once"):
        app.connections(4)
