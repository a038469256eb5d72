"""A StartImageScan that AWS carried out but whose reply was lost (a 5xx after the fact, a
closed connection) is recorded as started by this run, once: the fake applies the call
on moto, then fails."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from ecrscan.aws.ecr import EcrGateway
from ecrscan.core.durations import Duration
from ecrscan.core.model import Outcome
from ecrscan.core.summary import summarize
from ecrscan.engine.rescan import RescanSettings, rescan
from tests.support.env import REGION
from tests.support.fakes import fresh_session, quick_registry
from tests.support.registry import FakeRegistry


def server_error(operation: str) -> Exception:
    error = {"Code": "ServiceUnavailableException", "Message": "try again later"}
    meta = {"HTTPStatusCode": 503}
    return ClientError({"Error": error, "ResponseMetadata": meta}, operation)


def closed_connection(operation: str) -> Exception:
    return ConnectionClosedError(endpoint_url=f"https://api.ecr.{REGION}.amazonaws.com/")


class LosingReplies:
    """Wraps the gateway's StartImageScan client: the first ``losses`` calls are carried
    out (``apply=True``) or not, and then fail with ``failure``."""

    def __init__(
        self, gateway: EcrGateway, failure: Callable[[str], Exception], *, apply: bool, losses: int
    ) -> None:
        self.real = gateway._write.start_image_scan
        self.failure, self.apply, self.losses = failure, apply, losses
        self.calls = 0
        gateway._write.start_image_scan = self  # type: ignore[method-assign]

    def __call__(self, **params: Any) -> Any:
        self.calls += 1
        if self.calls > self.losses:
            return self.real(**params)
        if self.apply:
            self.real(**params)
        raise self.failure("StartImageScan")


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    registry = quick_registry(REGION)
    registry.create_repo("team/api")
    return registry


def run(registry: FakeRegistry, failure: Callable[[str], Exception], *, apply: bool):
    digest = registry.push("team/api", "v1")  # never scanned: due
    gateway = EcrGateway(fresh_session(REGION), region=REGION)
    losing = LosingReplies(gateway, failure, apply=apply, losses=1)
    now = datetime.now(UTC)
    result = rescan(gateway, now, RescanSettings(expiry=Duration.parse("7d")))
    return result, registry._image("team/api", digest), losing


@pytest.mark.parametrize("failure", [server_error, closed_connection])
def test_a_carried_out_call_with_a_lost_reply_is_started_once(
    registry: FakeRegistry, failure: Callable[[str], Exception]
) -> None:
    result, image, losing = run(registry, failure, apply=True)
    [only] = result.all_images()
    assert only.outcome is Outcome.STARTED
    assert "reply lost" in only.detail and "scan confirmed" in only.detail
    assert losing.calls == 1  # no blind retry, which moto (like AWS) would refuse
    assert image.last_scan is not None  # the server scanned it
    totals = summarize(result)["TOTAL"]
    assert (totals["started"], totals["already_scanned"], totals["failed"]) == (1, 0, 0)
    assert not result.incomplete


@pytest.mark.parametrize("failure", [server_error, closed_connection])
def test_a_call_that_was_not_carried_out_is_made_again(
    registry: FakeRegistry, failure: Callable[[str], Exception]
) -> None:
    result, image, losing = run(registry, failure, apply=False)
    [only] = result.all_images()
    assert (only.outcome, only.detail) == (Outcome.STARTED, "")
    assert losing.calls == 2 and image.last_scan is not None
