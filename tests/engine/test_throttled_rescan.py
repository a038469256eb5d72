"""A whole rescan against AWS rate limits on a virtual clock (moto behind token buckets,
tests/support/bucket_server.py): one bucket of 2 requests/s shared by every operation,
or one per operation (StartImageScan 2/s, the rest 5/s).  The run must finish within
1.3x of calls / rate, with fewer throttled answers than calls and every due scan started.
Eight workers (the default concurrency); every time below is virtual: the clock moves
only when all workers sleep (tests/support/bucket_server.VirtualTime)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.throttle import Throttle
from ecrscan.core.durations import Duration
from ecrscan.core.summary import summarize
from ecrscan.engine.rescan import RescanSettings, rescan
from tests.support.bucket_server import BucketServer, VirtualTime, virtual_botocore_sleep
from tests.support.env import REGION
from tests.support.fakes import fresh_session, quick_registry
from tests.support.token_bucket import Limits

IMAGES = 60  # in 2 repositories, never scanned: every one is due

LIMITS = {
    "shared": lambda: Limits.shared(2.0),
    "per-operation": lambda: Limits.per_operation({"StartImageScan": 2.0}, others=5.0),
}


@pytest.fixture
def seeded(mocked: None) -> None:
    registry = quick_registry(REGION)
    for repo in ("team/api", "team/web"):
        registry.create_repo(repo)
        for i in range(IMAGES // 2):
            registry.push(repo, f"v{i}")


def bound(limits: Limits) -> float:
    """calls / rate: the shortest wall the limits allow for the calls answered."""
    if "StartImageScan" not in limits.buckets:
        return sum(limits.granted.values()) / 2.0
    starts = limits.granted["StartImageScan"] / 2.0
    reads = max(n / 5.0 for op, n in limits.granted.items() if op != "StartImageScan")
    return max(starts, reads)


@pytest.mark.parametrize("kind", sorted(LIMITS))
def test_a_throttled_rescan_runs_near_the_granted_rate(seeded: None, kind: str) -> None:
    limits = LIMITS[kind]()
    fake = VirtualTime(workers=8)
    session = fresh_session(REGION)
    BucketServer(limits, fake).attach(session.events)
    throttle = Throttle(sleep=fake.sleep, clock=fake.clock)
    gateway = EcrGateway(session, region=REGION, throttle=throttle)
    settings = RescanSettings(expiry=Duration.parse("7d"), concurrency=8)
    started = fake.clock()
    try:
        with virtual_botocore_sleep(fake):
            result = rescan(gateway, datetime.now(UTC), settings)
    finally:
        fake.close()
    wall = fake.clock() - started
    totals = summarize(result)["TOTAL"]
    assert (totals["started"], totals["failed"], totals["not_started"]) == (IMAGES, 0, 0)
    calls = sum(limits.granted.values())
    assert calls == 2 * IMAGES + 4  # scan type, repositories, 2 image pages; per image 2
    assert wall <= 1.3 * bound(limits), (wall, bound(limits), dict(limits.throttled))
    assert sum(limits.throttled.values()) < calls


def test_botocore_leaves_a_throttled_read_to_the_pacer(seeded: None) -> None:
    """botocore's standard retries would retry a throttled read on their own schedule,
    unseen by the throttle gate; the gateway's clients leave it to the gate."""
    limits = Limits.shared(1.0, capacity=1.0)  # one call, then throttled for a second
    fake = VirtualTime(workers=1)
    session = fresh_session(REGION)
    BucketServer(limits, fake).attach(session.events)
    throttle = Throttle(sleep=fake.sleep, clock=fake.clock)
    gateway = EcrGateway(session, region=REGION, throttle=throttle)
    try:
        with virtual_botocore_sleep(fake):
            assert gateway.scan_type()
            assert len(list(gateway.repositories())) == 2
    finally:
        fake.close()
    assert dict(limits.throttled) == {"DescribeRepositories": 1}
    assert throttle.stats.throttled == 1  # seen by the gate, which paced the retry
    assert gateway.calls["describe_repositories"] == 2
    assert throttle.pacer.rate("describe_repositories", fake.clock()) < 2.0
