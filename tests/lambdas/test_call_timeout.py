"""The functions bound one AWS call too (``ECRSCAN_CALL_TIMEOUT``, default 120 s): an
endpoint that drips its answer fails the call within the bound, and a bad value is a
configuration error naming the variable before any AWS call (issue 18)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from ecrscan.core.jobs import job_body
from ecrscan.lambdas import images, reporter, repositories, runtime
from tests.support.cli_sessions import no_aws
from tests.support.listener import Dripping

CALL = 0.6
SLACK = 3.0  # scheduling on a busy machine
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"


class Context:
    function_name = "ecrscan-test"
    aws_request_id = "request"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def drip(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dripping]:
    server = Dripping(interval=0.1)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("ECRSCAN_CALL_TIMEOUT", str(CALL))
    monkeypatch.setattr(runtime, "connections", runtime.new_connections())
    yield server
    server.close()


def test_the_container_reads_the_bound_from_its_environment() -> None:
    assert runtime.new_connections(env={}).timeouts.call == 120.0
    assert runtime.new_connections(env={"ECRSCAN_CALL_TIMEOUT": "45"}).timeouts.call == 45.0
    assert runtime.STATE_LIMITS.timeouts is not None
    assert runtime.STATE_LIMITS.timeouts.call < 30  # the reporter has 30 s in all


def test_the_repositories_function_gives_up_within_the_bound(drip: Dripping) -> None:
    started = time.monotonic()
    with pytest.raises(Exception, match=r"call timeout of 0\.6 s"):
        repositories.handler({"jobsQueueUrl": QUEUE}, Context())
    assert time.monotonic() - started < CALL + SLACK
    assert drip.settled_requests() == 1


def test_the_images_function_fails_the_message_within_the_bound(
    drip: Dripping, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {
        "Records": [{"messageId": "m1", "body": job_body("team/api"), "eventSource": "aws:sqs"}]
    }
    started = time.monotonic()
    result = images.handler(event, Context())
    assert time.monotonic() - started < 2 * CALL + SLACK  # at most two calls in turn
    assert result == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert "call timeout of 0.6 s" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("handler", "event"),
    [
        (repositories.handler, {"jobsQueueUrl": QUEUE}),
        (images.handler, {"Records": []}),
        (reporter.handler, {}),
    ],
    ids=["repositories", "images", "reporter"],
)
@pytest.mark.parametrize("value", ["0", "-1", "forever", "901", "１"])
def test_a_bad_call_timeout_is_a_configuration_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, handler: Any, event: dict[str, Any], value: str
) -> None:
    monkeypatch.setattr(runtime, "environ", lambda: {"ECRSCAN_CALL_TIMEOUT": value})
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(no_aws))
    with pytest.raises(runtime.ConfigurationError, match="ECRSCAN_CALL_TIMEOUT"):
        handler(event, Context())


def test_a_session_is_still_made_with_a_good_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: with a good value, the function does reach AWS."""
    monkeypatch.setattr(runtime, "environ", lambda: {"ECRSCAN_CALL_TIMEOUT": "5"})
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(no_aws))
    with pytest.raises(AssertionError, match="an AWS session was created"):
        repositories.handler({"jobsQueueUrl": QUEUE}, Context())
