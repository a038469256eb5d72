"""Benchmark the scan-date cache of `ecrscan rescan`: day 1 against day 2 of an unchanged
registry, on an in-process moto registry with a per-request latency.

Seeds a moto ECR registry (default 50 repositories x 100 images = 5,000) that a daily
`rescan --expiry 7d` keeps fresh: the last completed scans are spread evenly over the
past 7 days, 2% of the images were never scanned and 2% were scanned 30 days ago.  Then:

* day 1 (the clock at T): `rescan` with an empty cache: reads every scan state, starts
  the due scans; the scans it started complete an hour later (as AWS would);
* day 2 (T + 1 day): `rescan` with the cache day 1 wrote;
* day 2 without the cache (`--no-cache`), on the same registry state, for comparison.

Each run goes through ``EcrGateway`` on a ``boto3.Session`` (the CLI's code path) with
the CLI's file store.  It prints the scan-state reads (DescribeImageScanFindings), the
StartImageScan calls and the wall time of each run, checks that day 2 decides exactly
what day 2 without the cache decides and starts nothing day 1 started, and ends with the
ratios.  Nothing here asserts timings: it reports them.

Run from the repository root:  python3 benchmarks/cache_bench.py   (see --help)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.rescan_bench import REGION, Latency  # noqa: E402
from tests.support.env import fake_aws_environment  # noqa: E402

READ = "describe_image_scan_findings"
START = "start_image_scan"


@dataclass
class Day:
    label: str
    images: int
    reads: int
    starts: int
    wall: float
    saved: int
    plan: dict[str, tuple[str, str]]  # digest -> (decision, outcome)


def seed(repos: int, per_repo: int, now: datetime) -> Any:
    import boto3

    from tests.support.registry import FakeRegistry

    registry = FakeRegistry(boto3.client("ecr", region_name=REGION), REGION)
    total = repos * per_repo
    pushed = now - timedelta(days=90)
    for r in range(repos):
        repo = f"bench-{r:03d}"
        registry.create_repo(repo)
        for i in range(per_repo):
            n = r * per_repo + i
            digest = registry.push(repo, tag=f"v{i}", seed=f"{repo}:{i}")
            registry.set_pushed_at(repo, digest, pushed)
            if n % 50 == 0:
                registry.never_scanned(repo, digest)
                continue
            if n % 50 == 1:
                age = timedelta(days=30)
            else:  # spread evenly over the last 7 days
                age = timedelta(days=7) * ((n * 7919) % total) / total
            registry.set_scan(repo, digest, completed_at=now - age, counts={"HIGH": 1})
    return registry


def run_day(label: str, now: datetime, latency: float, concurrency: int, cache: Any) -> Any:
    import boto3

    from ecrscan.aws.ecr import EcrGateway
    from ecrscan.core.durations import Duration
    from ecrscan.engine.rescan import RescanSettings, rescan

    session = boto3.Session(region_name=REGION)
    Latency(latency).install(session)
    gateway = EcrGateway(session, region=REGION, max_pool_connections=max(10, concurrency + 2))
    settings = RescanSettings(expiry=Duration.parse("7d"), concurrency=concurrency, cache=cache)
    started = time.perf_counter()
    result = rescan(gateway, now, settings)
    wall = time.perf_counter() - started
    images = result.all_images()
    plan = {
        r.image.digest: (r.verdict.decision.value, r.outcome.value if r.outcome else "")
        for r in images
    }
    saved = result.cache.reads_saved if result.cache else 0
    day = Day(label, len(images), gateway.calls[READ], gateway.calls[START], wall, saved, plan)
    return day, result


def complete_started(registry: Any, result: Any, when: datetime) -> None:
    from ecrscan.core.model import Outcome

    for r in result.all_images():
        if r.outcome is Outcome.STARTED:
            registry.set_scan(r.image.repository, r.image.digest, completed_at=when)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=50)
    parser.add_argument("--images", type=int, default=100, help="images per repository")
    parser.add_argument("--latency", type=float, default=0.01, help="seconds per request")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    fake_aws_environment()
    from moto import mock_aws

    from ecrscan.cli.scandates import FileScanDates

    now = datetime.now(UTC)  # moto's per-image scan quota compares today's date
    with mock_aws(), tempfile.TemporaryDirectory() as directory:
        t0 = time.perf_counter()
        registry = seed(args.repos, args.images, now)
        print(f"seeded {args.repos * args.images} images in {time.perf_counter() - t0:.1f} s")
        cache = Path(directory)
        day1, result1 = run_day("day 1", now, args.latency, args.concurrency, FileScanDates(cache))
        complete_started(registry, result1, now + timedelta(hours=1))
        tomorrow = now + timedelta(days=1)
        day2, _ = run_day("day 2", tomorrow, args.latency, args.concurrency, FileScanDates(cache))
        bare, _ = run_day("day 2, --no-cache", tomorrow, args.latency, args.concurrency, None)
        size = sum(p.stat().st_size for p in cache.glob("*.json"))
    started1 = {d for d, (_, outcome) in day1.plan.items() if outcome == "started"}
    started2 = {d for d, (_, outcome) in day2.plan.items() if outcome == "started"}
    decisions = Counter(decision for decision, _ in day2.plan.values())
    print(f"{'run':<20} {'images':>7} {'reads':>7} {'starts':>7} {'saved':>7} {'wall s':>8}")
    for day in (day1, day2, bare):
        print(
            f"{day.label:<20} {day.images:>7} {day.reads:>7} {day.starts:>7} "
            f"{day.saved:>7} {day.wall:>8.2f}"
        )
    print(f"cache files: {size / 1024:.0f} KiB; day 2 decisions: {dict(sorted(decisions.items()))}")
    # (outcomes may differ: the --no-cache run comes after day 2 started the due scans)
    same = {d: p[0] for d, p in day2.plan.items()} == {d: p[0] for d, p in bare.plan.items()}
    print(f"day 2 decides exactly as without the cache: {same}")
    print(f"scans day 2 started that day 1 started too: {len(started1 & started2)}")
    print("summary:")
    print(f"  day-2 reads / day-1 reads        = {day2.reads / max(1, day1.reads):.3f}")
    print(f"  day-2 wall / day-1 wall          = {day2.wall / day1.wall:.3f}")
    print(f"  day-2 wall / day-2 --no-cache    = {day2.wall / bare.wall:.3f}")
    if not same or started1 & started2:
        raise SystemExit("benchmark broken: the cache changed a decision")


if __name__ == "__main__":
    main()
