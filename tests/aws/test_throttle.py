"""The shared throttle gate, with a fake clock, sleep and random source (no real sleeping)."""

from __future__ import annotations

import threading

import pytest

from ecrscan.aws.throttle import BudgetSpent, Deadline, Throttle
from tests.support.fakes import FakeTime, fake_throttle


class Recorder(FakeTime):
    """Records sleeps without moving the clock: every worker waits "at the same instant"."""

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


def make(fake: FakeTime, rng: float = 0.5, **kwargs: float) -> Throttle:
    return fake_throttle(fake, rng, **kwargs)


def test_no_throttle_no_sleep() -> None:
    fake = FakeTime()
    gate = make(fake)
    for _ in range(100):
        gate.wait()
        gate.success()
    assert fake.sleeps == []
    assert gate.level == 0
    assert gate.stats.throttled == 0


def test_a_throttle_by_one_worker_delays_the_others() -> None:
    fake = FakeTime()
    gate = make(fake, rng=0.0, base=1.0)
    delay = gate.throttled()  # worker A was throttled
    assert delay == 0.5  # equal jitter with rng 0: half of base * 2**0
    gate.wait()  # worker B, which was never throttled, must wait for the gate
    assert fake.sleeps == [0.5]
    assert gate.stats.throttled == 1
    assert gate.stats.slept_seconds == pytest.approx(0.5)


def test_waiting_workers_are_spaced_out_no_thundering_herd() -> None:
    fake = Recorder()
    gate = make(fake, rng=0.0, base=1.0)
    gate.throttled()  # gate closed for 0.5 s, level 1
    for _ in range(4):
        gate.wait()
    # each admission is pushed a quarter of the current delay after the previous one
    assert fake.sleeps == pytest.approx([0.5, 0.625, 0.75, 0.875])


def test_spacing_holds_with_real_threads() -> None:
    fake = Recorder()
    gate = make(fake, rng=0.0, base=1.0)
    gate.throttled()
    workers = [threading.Thread(target=gate.wait) for _ in range(16)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(fake.sleeps) == 16
    assert len(set(fake.sleeps)) == 16  # nobody retries at the same instant
    assert sorted(fake.sleeps) == pytest.approx([0.5 + i * 0.125 for i in range(16)])


def test_delays_grow_exponentially_and_are_capped() -> None:
    fake = FakeTime()
    gate = make(fake, rng=1.0, base=0.25, cap=4.0)
    delays = [gate.throttled() for _ in range(8)]
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    for _ in range(100):
        gate.throttled()
    assert gate.level == 32  # the level itself is bounded
    assert gate.throttled() == 4.0


def test_delays_are_jittered_between_half_and_all_of_the_ceiling() -> None:
    values = iter([0.0, 0.25, 0.999])
    fake = FakeTime()
    gate = Throttle(base=8.0, cap=8.0, sleep=fake.sleep, clock=fake.clock, rng=lambda: next(values))
    assert [gate.throttled() for _ in range(3)] == pytest.approx([4.0, 5.0, 7.996])


def test_success_cools_the_gate_one_level_at_a_time() -> None:
    fake = FakeTime()
    gate = make(fake, rng=0.0, base=1.0, cap=64.0)
    for _ in range(3):
        gate.throttled()
    assert gate.level == 3
    gate.success()
    assert gate.level == 2
    gate.success()
    gate.success()
    gate.success()  # never below zero
    assert gate.level == 0
    fake.now += 100  # the last closing has passed
    fake.sleeps.clear()
    gate.wait()
    gate.wait()
    assert fake.sleeps == []  # cool again: no spacing


def test_gate_does_not_reopen_early_when_a_shorter_delay_follows() -> None:
    fake = FakeTime()
    gate = make(fake, rng=0.0, base=1.0, cap=64.0)
    for _ in range(4):
        gate.throttled()  # open at now + 4.0 (level 4, rng 0 -> 8/2)
    for _ in range(4):
        gate.success()
    gate.throttled()  # level 1: 0.5 s, but the gate stays closed for the longer delay
    gate.wait()
    assert fake.sleeps == [4.0]


def test_budget_spent_after_max_attempts() -> None:
    fake = FakeTime()
    gate = make(fake, max_attempts=3, budget_seconds=1e9)
    started = gate.now()
    gate.retry_or_raise(1, started)
    gate.retry_or_raise(2, started)
    with pytest.raises(BudgetSpent, match="still throttled after 3 attempts"):
        gate.retry_or_raise(3, started)
    assert gate.stats.throttled == 3  # the last throttle still slows everyone


def test_budget_spent_after_budget_seconds() -> None:
    fake = FakeTime()
    gate = make(fake, max_attempts=100, budget_seconds=10.0)
    started = gate.now()
    gate.retry_or_raise(1, started)
    fake.now += 9.9
    gate.retry_or_raise(2, started)
    fake.now += 0.1
    with pytest.raises(BudgetSpent, match=r"over 10\.0s"):
        gate.retry_or_raise(3, started)


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_invalid_settings(base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        Throttle(base=base, cap=cap)


# -- a run's deadline -------------------------------------------------------------------


def test_the_gate_never_sleeps_past_the_deadline() -> None:
    fake = FakeTime()
    deadline = Deadline(fake.now + 3.0, fake.clock)
    gate = make(fake, rng=1.0, base=1.0, cap=64.0, deadline=deadline)
    gate.throttled()  # closed for 1 s: fits before the deadline
    gate.wait()
    assert fake.sleeps == [1.0]
    gate.throttled()  # closed for 2 s: opens exactly at the deadline, no time to call
    with pytest.raises(BudgetSpent, match=r"opens in 2\.0s, past the run's deadline"):
        gate.wait()
    assert fake.sleeps == [1.0]  # raised instead of sleeping
    assert fake.now <= deadline.at


def test_past_the_deadline_even_a_cool_gate_admits_nothing() -> None:
    fake = FakeTime()
    gate = make(fake, deadline=Deadline.after(5.0, fake.clock))
    gate.wait()
    fake.now += 5.0
    with pytest.raises(BudgetSpent, match="deadline is reached"):
        gate.wait()
    assert fake.sleeps == []


def test_threads_waiting_at_a_hot_gate_all_wake_before_the_deadline() -> None:
    fake = Recorder()
    gate = make(fake, rng=0.0, base=1.0, deadline=Deadline(fake.now + 2.0, fake.clock))
    gate.throttled()  # open in 0.5 s, then admissions 0.125 s apart
    spent: list[BudgetSpent] = []

    def worker() -> None:
        try:
            gate.wait()
        except BudgetSpent as exc:
            spent.append(exc)

    workers = [threading.Thread(target=worker) for _ in range(16)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert fake.sleeps and max(fake.sleeps) < 2.0  # every sleep ends before the deadline
    assert len(fake.sleeps) + len(spent) == 16 and spent
