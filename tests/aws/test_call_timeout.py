"""``--call-timeout``: one AWS call, connect to last byte, is bounded.  An endpoint that
drips its answer one byte at a time restarts botocore's read timeout with every byte;
the call timeout still ends the call, for every service ecrscan calls (issue 18).  The
installed command's end of it: tests/e2e/test_call_timeout.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.handlers
import pytest

from ecrscan.aws.calltimeout import CallTimeoutError
from ecrscan.aws.clients import NO_RETRIES, READS, make_client
from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.core.control import DEFAULT_TIMEOUTS, Timeouts
from tests.support.env import REGION
from tests.support.inspector_fake import FakeInspector
from tests.support.listener import Dripping

# A read timeout the drip never reaches (a byte every 0.1 s), and a short call bound.
TIMEOUTS = Timeouts(connect=1.0, read=1.0, call=0.6)
SLACK = 3.0  # seconds of scheduling and thread start-up allowed over the bound (a busy CI)

# One cheap operation of every service ecrscan calls.
CALLS = [
    ("ecr", "describe_repositories", {}),
    ("ecs", "list_clusters", {}),
    ("inspector2", "list_coverage", {}),
    ("sts", "get_caller_identity", {}),
    ("organizations", "list_accounts", {}),
    ("sqs", "list_queues", {}),
    ("sns", "list_topics", {}),
    ("dynamodb", "list_tables", {}),
]


@pytest.fixture
def drip(inspector: FakeInspector) -> Iterator[Dripping]:
    # The suite's Amazon Inspector fake answers inspector2 calls itself: not here.
    entry = ("before-send.inspector2", inspector.handle)
    botocore.handlers.BUILTIN_HANDLERS.remove(entry)
    server = Dripping(interval=0.1)
    try:
        yield server
    finally:
        botocore.handlers.BUILTIN_HANDLERS.append(entry)
        server.close()


def timed(call: Any) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        call()
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize(("service", "operation", "params"), CALLS, ids=[c[0] for c in CALLS])
def test_every_service_gives_up_on_a_dripping_endpoint_within_the_bound(
    drip: Dripping, service: str, operation: str, params: dict[str, Any]
) -> None:
    client = make_client(
        boto3.Session(region_name=REGION),
        service,
        region=REGION,
        endpoint_url=drip.url,
        retries=READS,
        timeouts=TIMEOUTS,
    )
    error, took = timed(lambda: getattr(client, operation)(**params))
    assert isinstance(error, CallTimeoutError), repr(error)
    assert TIMEOUTS.call <= took < TIMEOUTS.call + SLACK, f"{took:.2f}s"
    # The request reached the endpoint (the abandoned worker sent it, however late the
    # machine let it), and only once: the drip never trips the read timeout, so no retry.
    assert drip.settled_requests() == 1
    message = str(error)
    assert drip.url in message and "0.6 s" in message and "call timeout" in message


def test_the_bound_covers_botocores_retries(drip: Dripping) -> None:
    """Three attempts that each time out on reading stop at the call bound, not after
    3 x (connect + read) seconds."""
    silent = Timeouts(connect=1.0, read=1.0, call=1.5)
    server = Dripping(interval=10.0)  # one byte, then silence: the read timeout fires
    try:
        client = make_client(
            boto3.Session(region_name=REGION),
            "ecr",
            region=REGION,
            endpoint_url=server.url,
            timeouts=silent,
        )
        error, took = timed(client.describe_repositories)
        requests = server.settled_requests()
    finally:
        server.close()
    assert isinstance(error, CallTimeoutError), repr(error)
    assert took < silent.call + SLACK, f"{took:.2f}s"
    assert requests >= 1


def test_a_gateway_call_fails_with_one_network_problem(drip: Dripping) -> None:
    gateway = EcrGateway(
        boto3.Session(region_name=REGION),
        region=REGION,
        endpoint_url=drip.url,
        timeouts=TIMEOUTS,
    )
    error, took = timed(lambda: list(gateway.repositories()))
    assert isinstance(error, AwsError) and error.kind is ErrorKind.NETWORK
    assert error.problem.code == "CallTimeoutError"
    assert "DescribeRepositories" in error.problem.message and drip.url in error.problem.message
    assert took < TIMEOUTS.call + SLACK, f"{took:.2f}s"
    assert gateway.calls["describe_repositories"] == 1


def test_start_image_scan_is_bounded_too(drip: Dripping) -> None:
    client = make_client(
        boto3.Session(region_name=REGION),
        "ecr",
        region=REGION,
        endpoint_url=drip.url,
        retries=NO_RETRIES,
        timeouts=TIMEOUTS,
    )
    error, _ = timed(
        lambda: client.start_image_scan(repositoryName="team/api", imageId={"imageTag": "v1"})
    )
    assert isinstance(error, CallTimeoutError)


def test_an_answer_within_the_bound_is_returned(mocked: None) -> None:
    client = make_client(boto3.Session(region_name=REGION), "ecr", region=REGION)
    assert client.describe_repositories()["repositories"] == []


def test_errors_of_a_call_reach_the_caller_unchanged(mocked: None) -> None:
    client = make_client(boto3.Session(region_name=REGION), "ecr", region=REGION)
    with pytest.raises(client.exceptions.RepositoryNotFoundException):
        client.describe_images(repositoryName="missing")


def test_the_default_call_timeout_is_above_the_documented_retry_bound() -> None:
    assert DEFAULT_TIMEOUTS.call == 120.0
    assert Timeouts(call=1e9).bound() == 108 < DEFAULT_TIMEOUTS.call
    assert Timeouts(connect=5.0, read=30.0, call=10.0).bound() == 10.0
