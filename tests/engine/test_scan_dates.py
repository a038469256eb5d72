"""The scan-date cache in the rescan engine, on moto in-process with an injected clock:
day 1 reads every image and remembers the completed scans, day 2 of the unchanged
registry reads what the cache cannot vouch for, and never decides differently."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto import mock_aws

from ecrscan.aws.ecr import EcrGateway
from ecrscan.cli.scandates import FileScanDates
from ecrscan.core.durations import Duration
from ecrscan.core.model import Outcome, RescanResult
from ecrscan.core.scancache import SOURCE
from ecrscan.engine.rescan import RescanSettings, rescan
from tests.support.env import REGION
from tests.support.fakes import FakeTime, fake_throttle, fresh_session
from tests.support.registry import FakeRegistry
from tests.support.scan_dates import reads, seed, starts

DAY1 = datetime.now(UTC)  # moto's per-image scan quota compares today's date
DAY2 = DAY1 + timedelta(days=1)
WEEKLY = Duration.parse("7d")


class World:
    def __init__(self, cache_dir: Path) -> None:
        self.session = fresh_session(REGION)
        self.registry = FakeRegistry(self.session.client("ecr"), REGION)
        self.images = seed(self.registry, DAY1, per_repo=12)
        self.cache_dir = cache_dir

    def run(
        self,
        now: datetime,
        *,
        cached: bool = True,
        dry_run: bool = False,
        expiry: Duration = WEEKLY,
    ) -> tuple[RescanResult, EcrGateway]:
        gateway = EcrGateway(self.session, region=REGION, throttle=fake_throttle(FakeTime()))
        cache = FileScanDates(self.cache_dir) if cached else None
        settings = RescanSettings(expiry=expiry, dry_run=dry_run, cache=cache)
        return rescan(gateway, now, settings), gateway

    def complete_started(self, result: RescanResult, when: datetime) -> None:
        """What AWS does after a run: the scans it started complete."""
        for r in result.all_images():
            if r.outcome is Outcome.STARTED:
                self.registry.set_scan(r.image.repository, r.image.digest, completed_at=when)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with mock_aws():
        yield World(tmp_path / "cache")


def decisions(result: RescanResult) -> dict[str, tuple[str, str | None]]:
    return {
        r.image.digest: (r.verdict.decision.value, r.outcome.value if r.outcome else None)
        for r in result.all_images()
    }


def test_day_two_of_an_unchanged_registry_reads_a_fifth_and_starts_nothing_twice(
    world: World,
) -> None:
    day1, gateway1 = world.run(DAY1)
    started1 = {r.image.digest for r in day1.all_images() if r.outcome is Outcome.STARTED}
    assert reads(gateway1) == 36 and len(started1) == 6 == starts(gateway1)
    assert day1.cache is not None and day1.cache.reads_saved == 0
    world.complete_started(day1, DAY1 + timedelta(hours=1))

    day2, gateway2 = world.run(DAY2)

    assert reads(gateway2) <= reads(gateway1) / 5
    assert starts(gateway2) == 0
    assert day2.cache is not None and day2.cache.reads_saved == 36 - reads(gateway2)
    assert day2.cache.location == str(world.cache_dir)
    vouched = {r.image.digest for r in day2.all_images() if r.state and r.state.source == SOURCE}
    assert not vouched & started1  # this run's starts were not remembered as completed
    assert all(r.verdict.decision.value == "fresh" for r in day2.all_images())


def test_a_dry_run_with_a_shorter_expiry_plans_what_a_run_without_the_cache_plans(
    world: World,
) -> None:
    world.run(DAY1, dry_run=True)  # fills the cache, starts nothing
    shorter = Duration.parse("4d")

    with_cache, gateway = world.run(DAY2, dry_run=True, expiry=shorter)
    without, _ = world.run(DAY2, dry_run=True, expiry=shorter, cached=False)

    assert decisions(with_cache) == decisions(without)
    assert with_cache.cache is not None and 0 < with_cache.cache.reads_saved < 36
    assert any(r.outcome is Outcome.PLANNED for r in with_cache.all_images())
    assert reads(gateway) == 36 - with_cache.cache.reads_saved


def test_a_digest_pushed_again_after_its_cached_scan_is_read_and_found_due(world: World) -> None:
    world.run(DAY1, dry_run=True)
    repo, digest = world.images["beta-5"]
    world.registry.never_scanned(repo, digest)  # deleted, then pushed again
    world.registry.set_pushed_at(repo, digest, DAY1 + timedelta(hours=2))

    day2, _ = world.run(DAY2, dry_run=True)

    (again,) = [r for r in day2.all_images() if r.image.digest == digest]
    assert again.state is not None and again.state.source != SOURCE
    assert (again.verdict.decision.value, again.outcome) == ("due", Outcome.PLANNED)


def test_a_registry_switched_to_enhanced_scanning_is_never_decided_from_the_cache(
    world: World,
) -> None:
    world.run(DAY1, dry_run=True)
    world.registry.set_scan_type("ENHANCED")

    day2, _ = world.run(DAY2, dry_run=True)

    assert day2.cache is not None and day2.cache.reads_saved == 0
    assert not any(r.state and r.state.source == SOURCE for r in day2.all_images())


def test_another_endpoint_finds_nothing_cached(world: World) -> None:
    world.run(DAY1, dry_run=True)
    gateway = EcrGateway(world.session, region=REGION, throttle=fake_throttle(FakeTime()))
    elsewhere = FileScanDates(world.cache_dir, endpoint="http://localhost:4566")

    result = rescan(gateway, DAY2, RescanSettings(expiry=WEEKLY, dry_run=True, cache=elsewhere))

    assert result.cache is not None and result.cache.reads_saved == 0
    assert reads(gateway) == 36
