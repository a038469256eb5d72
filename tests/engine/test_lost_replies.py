"""A StartImageScan whose outcome is unknown (a 5xx, a dropped connection) against moto,
with the faults injected at the botocore level (tests/support/faults.py): the scan state
is read before every retry, the attempts are bounded, and the record claims only the
scans this run can prove it started and disowns none it started, alone or with another
run on the same registry."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from ecrscan.aws.ecr import MAX_START_CALLS, EcrGateway
from ecrscan.core.durations import Duration
from ecrscan.core.imageref import parse_image_ref
from ecrscan.core.model import Image, Outcome, RescanResult
from ecrscan.core.summary import summarize
from ecrscan.engine.report import ReportSettings
from ecrscan.engine.rescan import RescanSettings, rescan
from ecrscan.engine.scan import ScanSettings, start_scans
from tests.support.env import REGION
from tests.support.fakes import fresh_session, quick_registry
from tests.support.faults import (
    AFTER,
    BEFORE,
    DROPPED,
    NONE,
    START,
    FaultyServer,
    mismatches,
    random_faults,
)
from tests.support.registry import FakeRegistry

FINDINGS = "DescribeImageScanFindings"
MEANWHILE = "a scan started meanwhile: this run's call or another run's"


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    registry = quick_registry(REGION)
    registry.create_repo("team/api")
    return registry


def gateway(server: FaultyServer, run: str) -> EcrGateway:
    made = EcrGateway(fresh_session(REGION), region=REGION)
    server.attach(made._read, run)
    server.attach(made._write, run)
    return made


def run(made: EcrGateway, concurrency: int = 4) -> RescanResult:
    settings = RescanSettings(expiry=Duration.parse("7d"), concurrency=concurrency)
    return rescan(made, datetime.now(UTC), settings)


def totals(result: RescanResult) -> tuple[int, int, int, int, int]:
    counts = summarize(result)["TOTAL"]
    keys = ("started", "scanned_meanwhile", "already_scanned", "not_started", "failed")
    return tuple(counts[k] for k in keys)  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("fault", "code"), [(AFTER, "ServerException"), (DROPPED, "ConnectionClosedError")]
)
def test_a_carried_out_call_whose_reply_is_lost_is_scanned_meanwhile(
    registry: FakeRegistry, fault: str, code: str
) -> None:
    digest = registry.push("team/api", "v1")  # never scanned: due
    server = FaultyServer(script=[fault])
    result = run(gateway(server, "a"))
    [only] = result.all_images()
    assert only.outcome is Outcome.SCANNED_MEANWHILE
    assert only.detail == f"reply lost ({code}); {MEANWHILE}"
    assert server.started["a"] == {digest}  # the server did start it ...
    assert server.sent["a"] == 1  # ... and it was not sent again, blindly or not
    assert server.order["a"][-2:] == [START, FINDINGS]  # the state was read instead
    assert totals(result) == (0, 1, 0, 0, 0)
    assert not result.incomplete  # neutral: neither claimed nor a failure
    assert mismatches(result, server.started["a"]) == []


def test_a_call_not_carried_out_is_sent_again_after_reading_the_state(
    registry: FakeRegistry,
) -> None:
    digest = registry.push("team/api", "v1")
    server = FaultyServer(script=[BEFORE])
    result = run(gateway(server, "a"))
    [only] = result.all_images()
    assert (only.outcome, only.detail) == (Outcome.STARTED, "")  # the retry's reply: proof
    assert server.order["a"][-3:] == [START, FINDINGS, START]
    assert server.started["a"] == {digest}
    assert mismatches(result, server.started["a"]) == []


def test_the_state_is_read_before_every_retry_and_the_attempts_are_bounded(
    registry: FakeRegistry,
) -> None:
    registry.push("team/api", "v1")
    server = FaultyServer(script=[BEFORE] * 10)
    result = run(gateway(server, "a"))
    [only] = result.all_images()
    assert MAX_START_CALLS == 3
    assert server.sent["a"] == MAX_START_CALLS
    assert server.order["a"][-6:] == [START, FINDINGS] * 3  # a read before each retry
    assert only.outcome is Outcome.NOT_STARTED  # no scan in the state: nothing to claim
    assert only.detail.startswith("3 calls, no reply and no scan in the scan state")
    assert "ServiceUnavailableException" in only.detail
    assert result.incomplete
    assert server.started["a"] == set()


def test_a_scan_another_run_started_meanwhile_is_not_claimed(registry: FakeRegistry) -> None:
    """Run b's call fails (not carried out) while run a starts the same image's scan:
    the old rule ("a scan completed after this run began is this run's") had both
    runs record it as started."""
    digest = registry.push("team/api", "v1")
    server = FaultyServer(script=[BEFORE])
    a, b = gateway(server, "a"), gateway(server, "b")
    image = Image(repository="team/api", registry_id=registry.account, digest=digest)
    starts = []

    def a_acts_first(run: str, _: str) -> None:
        if run == "b" and not starts:
            starts.append(a.start_scan(image))  # a's request: no fault, a real reply

    server.before_fault = a_acts_first
    result = run(b)
    assert [s.outcome for s in starts] == [Outcome.STARTED]  # a holds the proof
    [only] = result.all_images()
    assert only.outcome is Outcome.SCANNED_MEANWHILE
    assert only.detail == f"reply lost (ServiceUnavailableException); {MEANWHILE}"
    assert server.started == {"a": {digest}}
    assert mismatches(result, server.started["b"]) == []


def test_a_scan_whose_reply_was_lost_is_not_claimed_by_another_run(
    registry: FakeRegistry,
) -> None:
    """Run a's call is carried out and its reply lost just before run b's call, which
    the quota refuses: a may not claim it, b must not either."""
    digest = registry.push("team/api", "v1")
    server = FaultyServer(script=[NONE, AFTER])  # b's request, then a's
    a, b = gateway(server, "a"), gateway(server, "b")
    image = Image(repository="team/api", registry_id=registry.account, digest=digest)
    starts = []

    def a_acts_first(run: str, _: str) -> None:
        if run == "b" and not starts:
            starts.append(a.start_scan(image))

    server.before_fault = a_acts_first
    result = run(b)
    [a_start] = starts
    assert a_start.outcome is Outcome.SCANNED_MEANWHILE
    [only] = result.all_images()
    assert only.outcome is Outcome.ALREADY_SCANNED  # b's call was refused, not lost
    assert server.started == {"a": {digest}}
    assert mismatches(result, server.started["b"]) == []


def test_two_concurrent_runs_with_faults_record_only_what_the_server_says(
    registry: FakeRegistry,
) -> None:
    """Two rescans of one registry at once, 30 % 5xx and 30 % lost replies on
    StartImageScan: each run's record matches the server's log of its own scans."""
    digests = {registry.push("team/api", f"v{n}") for n in range(16)}
    server = FaultyServer(choose=random_faults(seed=18, server_errors=0.3, lost=0.3))
    gateways = {name: gateway(server, name) for name in ("a", "b")}
    results: dict[str, RescanResult] = {}

    def one(name: str) -> None:
        results[name] = run(gateways[name], concurrency=4)

    threads = [threading.Thread(target=one, args=(name,)) for name in gateways]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in gateways:
        assert mismatches(results[name], server.started[name]) == [], name
    assert not server.started["a"] & server.started["b"]  # one scan per image per day
    assert server.started["a"] | server.started["b"] <= digests
    claimed = [
        {r.image.digest for r in results[n].all_images() if r.outcome is Outcome.STARTED}
        for n in ("a", "b")
    ]
    assert not claimed[0] & claimed[1]  # no scan is claimed by both runs


def test_scan_says_scanned_meanwhile_for_a_lost_reply(registry: FakeRegistry) -> None:
    """``scan`` used to say "scanned in the last 24 h: that scan is used" for scans it
    had started itself (its blind retry was refused by the quota)."""
    registry.push("team/api", "v1")
    server = FaultyServer(script=[AFTER])
    made = gateway(server, "a")
    settings = ScanSettings(ReportSettings(images=(parse_image_ref("team/api:v1"),)))
    [start] = start_scans(lambda region, registry_id: made, datetime.now(UTC), settings)
    assert start.action.startswith("scanned meanwhile: reply lost (ServerException)")
    assert "24 h" not in start.action
    assert start.expected  # that scan is waited for and judged
    assert server.sent["a"] == 1
