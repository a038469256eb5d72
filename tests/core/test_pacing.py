"""The adaptive rate per operation and shared (ecrscan.core.pacing), against token
buckets on a virtual clock: one sender, sending each call at the slot the pacer gives."""

from __future__ import annotations

import math

import pytest

from ecrscan.core.pacing import MIN_RATE, Pacer
from tests.support.token_bucket import Limits

LATENCY = 0.03


def drive(pacer: Pacer, limits: Limits, operations: list[str], start: float = 0.0) -> float:
    """Send every call of ``operations`` (in order, each retried until answered), one
    sender per operation taking turns by time; returns the time the last was answered."""
    clocks = {op: start for op in set(operations)}
    queues = {op: [o for o in operations if o == op] for op in clocks}
    while any(queues.values()):
        op = min((o for o in queues if queues[o]), key=lambda o: clocks[o])
        slot = pacer.reserve(op, clocks[op])
        clocks[op] = slot + LATENCY
        if limits.admit(op, slot):
            pacer.success(op, clocks[op])
            queues[op].pop()
        else:
            pacer.throttled(op, slot, clocks[op])
    return max(clocks.values())


def test_nothing_is_paced_before_a_throttle() -> None:
    pacer = Pacer()
    assert not pacer.active
    assert pacer.reserve("describe_images", 5.0) == 5.0
    assert pacer.rate("describe_images", 5.0) == math.inf


@pytest.mark.parametrize("granted", [2.0, 5.0, 20.0])
def test_converges_to_the_granted_rate(granted: float) -> None:
    pacer, limits = Pacer(), Limits.shared(granted)
    calls = int(granted * 200)
    wall = drive(pacer, limits, ["start_image_scan"] * calls)
    assert wall <= 1.3 * calls / granted
    assert sum(limits.throttled.values()) < calls / 2
    assert pacer.rate("start_image_scan", wall) < 2 * granted  # still paced


def test_the_rate_grows_again_after_throttling_stops() -> None:
    pacer, limits = Pacer(), Limits.shared(2.0)
    end = drive(pacer, limits, ["start_image_scan"] * 100)
    paced = pacer.rate("start_image_scan", end)
    assert paced < 2 * 2.0
    assert pacer.rate("start_image_scan", end + 60) > 2 * paced
    # an ample service now: no more throttling, and the rate keeps growing
    later = end + 600
    assert pacer.rate("start_image_scan", later) > 10 * paced
    first = pacer.reserve("start_image_scan", later)
    second = pacer.reserve("start_image_scan", later)
    assert first == later and second - later <= 1 / (10 * paced)


def test_one_rate_is_cut_once_per_episode() -> None:
    pacer = Pacer()
    for t in range(10):
        pacer.success("describe_images", 0.1 * t)
    pacer.throttled("describe_images", sent_at=1.0, now=1.03)
    rate = pacer.rate("describe_images", 1.03)
    for _ in range(15):  # in flight before the cut: answered throttled after it
        pacer.throttled("describe_images", sent_at=1.0, now=1.05)
    assert pacer.rate("describe_images", 1.03) == rate
    assert pacer.cuts == 1


def test_a_throttled_operation_alone_is_paced_alone() -> None:
    pacer = Pacer()
    limits = Limits.per_operation({"start_image_scan": 2.0}, others=50.0)
    ops = ["describe_image_scan_findings", "start_image_scan"] * 150
    wall = drive(pacer, limits, ops)
    assert not limits.throttled["describe_image_scan_findings"]
    assert not pacer.shared.paced
    assert pacer.rate("describe_image_scan_findings", wall) == math.inf
    assert wall <= 1.3 * 150 / 2.0


def test_different_operations_throttled_together_pace_all_at_one_rate() -> None:
    pacer, limits = Pacer(), Limits.shared(2.0)
    ops = ["describe_image_scan_findings", "start_image_scan"] * 150
    wall = drive(pacer, limits, ops)
    assert pacer.shared.paced
    assert wall <= 1.3 * 300 / 2.0
    assert sum(limits.throttled.values()) < 300 / 2


def test_a_slow_operation_never_starves_another() -> None:
    pacer = Pacer()
    for _ in range(50):  # start_image_scan cut again and again, down to the floor
        pacer.throttled("start_image_scan", sent_at=10.0, now=10.0)
    assert pacer.rate("start_image_scan", 10.0) == pytest.approx(MIN_RATE)
    waiting = [pacer.reserve("start_image_scan", 10.0) for _ in range(8)]
    assert waiting[-1] >= 10.0 + 7  # its own queue is long...
    assert pacer.reserve("describe_images", 10.0) == 10.0  # ...and nobody else waits on it
    # under a shared rate as well, the other operation waits one shared slot at most
    pacer.throttled("describe_images", sent_at=10.0, now=10.0)
    slot = pacer.reserve("describe_images", 10.0)
    assert slot - 10.0 <= 1.0 / pacer.shared.at(10.0) + 1.0 / pacer.rate("describe_images", 10.0)
    assert slot < waiting[1]
