"""Benchmark `ecrscan rescan` against an in-process moto registry with per-request latency.

Seeds a moto ECR registry (default 40 repositories x 50 images) whose images have mixed,
explicitly set scan states, adds a fixed latency to every AWS request, and runs the
rescan engine through ``EcrGateway`` on a ``boto3.Session`` (the CLI's code path) at
several ``--concurrency`` values, in dry-run and in real mode.  For every run it prints
the wall time, CPU time, API calls by operation and the call lower bound; then it traces
memory (tracemalloc) at two registry sizes.  A summary block with the ratios ends the
output.  Nothing here asserts timings: it reports them.

Run from the repository root:  python3 benchmarks/rescan_bench.py   (see --help)
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import gc
import math
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.env import fake_aws_environment  # noqa: E402

REGION = "us-east-1"
PAGE_SIZE = 1000  # DescribeRepositories / DescribeImages maxResults the gateway asks for
OPERATIONS = (
    "get_registry_scanning_configuration",
    "describe_repositories",
    "describe_images",
    "describe_image_scan_findings",
    "start_image_scan",
)

# One cycle of scan states, repeated over every repository's images (20 slots: 11 due).
#   kind -> (set_scan status or None for never scanned, completed_at age or None)
STATES: dict[str, tuple[str | None, timedelta | None]] = {
    "never_scanned": (None, None),
    "complete_old": ("COMPLETE", timedelta(days=30)),
    "complete_fresh": ("COMPLETE", timedelta(days=1)),
    "in_progress": ("IN_PROGRESS", None),
    "pending": ("PENDING", None),
    "failed_old": ("FAILED", timedelta(days=3)),
    "failed_today": ("FAILED", None),  # due, but moto refuses: already scanned today
    "unsupported": ("UNSUPPORTED_IMAGE", None),
    "size_exceeded": ("IMAGE_SIZE_EXCEEDED", None),
}
CYCLE: tuple[str, ...] = (
    ("never_scanned",) * 4
    + ("complete_old",) * 5
    + ("complete_fresh",) * 5
    + ("in_progress", "pending", "failed_old", "failed_today", "unsupported", "size_exceeded")
)
DUE_KINDS = frozenset({"never_scanned", "complete_old", "failed_old", "failed_today"})


# -- the seeded registry ------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    repo: str
    digest: str
    kind: str


class BenchRegistry:
    """A seeded moto registry whose scan states can be put back before every run."""

    def __init__(self, repos: int, images: int) -> None:
        import boto3

        from tests.support.registry import FakeRegistry

        self.fake = FakeRegistry(boto3.client("ecr", region_name=REGION), REGION)
        self.repo_names = [f"bench-{r:03d}" for r in range(repos)]
        self.images_per_repo = images
        self.plan: list[Seeded] = []
        pushed = datetime.now(UTC) - timedelta(days=60)
        for r, repo in enumerate(self.repo_names):
            self.fake.create_repo(repo)
            for i in range(images):
                digest = self.fake.push(repo, tag=f"v{i}", seed=f"{repo}:{i}")
                self.fake.set_pushed_at(repo, digest, pushed + timedelta(minutes=r * images + i))
                self.plan.append(Seeded(repo, digest, CYCLE[(r + i) % len(CYCLE)]))

    def reset(self, now: datetime) -> None:
        """Put every image back into its planned scan state (StartImageScan changes them)."""
        for item in self.plan:
            status, age = STATES[item.kind]
            if status is None:
                self.fake.never_scanned(item.repo, item.digest)
                continue
            completed = now - age if age is not None else None
            self.fake.set_scan(
                item.repo,
                item.digest,
                status=status,
                completed_at=completed,
                counts={"HIGH": 1} if status == "COMPLETE" else {},
            )

    def in_scope(self, repos: int) -> list[Seeded]:
        names = set(self.repo_names[:repos])
        return [item for item in self.plan if item.repo in names]


# -- latency -------------------------------------------------------------------------


class Latency:
    """Sleeps before every HTTP attempt of every AWS call made through ``session``.

    moto answers in a ``before-send`` handler; this one is registered *first* on the same
    event, so it runs (and sleeps) before moto answers, once per attempt, like a network
    round trip.  ``count`` lets the benchmark check that every call paid the latency.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.count = 0
        self._lock = threading.Lock()

    def install(self, session: Any) -> None:
        session.events.register_first("before-send.ecr", self._delay)

    def _delay(self, **_: Any) -> None:
        with self._lock:
            self.count += 1
        if self.seconds > 0:
            time.sleep(self.seconds)


# -- one run -------------------------------------------------------------------------


@dataclass
class RunStats:
    label: str
    concurrency: int
    dry_run: bool
    images: int
    wall: float
    cpu: float
    calls: Counter[str]
    bound: Counter[str]
    due: int
    outcomes: Counter[str]
    latency_hits: int
    peak_bytes: int = 0
    retained_bytes: int = 0  # still allocated after the run, result included
    result_bytes: int = 0  # deep size of the result records
    result_freed_bytes: int = 0  # what dropping the result gave back
    left_bytes: int = 0  # still allocated once the result is gone (moto, caches)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def total_bound(self) -> int:
        return sum(self.bound.values())


def pages(items: int) -> int:
    return max(1, math.ceil(items / PAGE_SIZE))


def lower_bound(
    registry_repos: int,
    repos: int,
    images_per_repo: int,
    images_without_summary: int,
    due: int,
    dry_run: bool,
) -> Counter[str]:
    """DescribeRepositories pages + DescribeImages pages + one scan-state read per image
    without a summary + one StartImageScan per due image + one registry-configuration read.
    """
    return Counter(
        {
            "get_registry_scanning_configuration": 1,
            "describe_repositories": pages(registry_repos),
            "describe_images": repos * pages(images_per_repo),
            "describe_image_scan_findings": images_without_summary,
            "start_image_scan": 0 if dry_run else due,
        }
    )


def run_once(
    registry: BenchRegistry,
    *,
    repos: int,
    concurrency: int,
    dry_run: bool,
    latency: float,
    expiry: str,
    trace: bool = False,
) -> RunStats:
    import boto3

    from ecrscan.aws.ecr import EcrGateway
    from ecrscan.core.durations import Duration
    from ecrscan.core.policy import RepositoryFilter
    from ecrscan.engine.rescan import RescanSettings, rescan

    now = datetime.now(UTC)
    registry.reset(now)
    scope = registry.in_scope(repos)
    names = registry.repo_names[:repos]
    session = boto3.Session(region_name=REGION)
    latency_gate = Latency(latency)
    latency_gate.install(session)
    # As the CLI builds it (ecrscan.cli.app.AppContext.gateway).
    gateway = EcrGateway(session, region=REGION, max_pool_connections=max(10, concurrency + 2))
    include = None if repos == len(registry.repo_names) else "^(" + "|".join(names) + ")$"
    settings = RescanSettings(
        expiry=Duration.parse(expiry),
        filter=RepositoryFilter.compile(include),
        dry_run=dry_run,
        concurrency=concurrency,
    )
    gc.collect()
    if trace:
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = rescan(gateway, now, settings)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if trace:
        peak = tracemalloc.get_traced_memory()[1]
        gc.collect()  # so that dropping the result below frees only the result
        current = tracemalloc.get_traced_memory()[0]
    stats = _run_stats(
        result,
        scope,
        gateway.calls,
        latency_gate.count,
        bound_repos=(len(registry.repo_names), len(names)),
        images_per_repo=registry.images_per_repo,
        concurrency=concurrency,
        dry_run=dry_run,
        wall=wall,
        cpu=cpu,
    )
    if trace:
        stats.result_bytes = deep_size(result)
        del result
        gc.collect()
        left = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        stats.peak_bytes = peak - baseline
        stats.retained_bytes = current - baseline
        stats.result_freed_bytes = current - left
        stats.left_bytes = left - baseline
    return stats


def _run_stats(
    result: Any,
    scope: Sequence[Seeded],
    gateway_calls: Counter[str],
    latency_hits: int,
    *,
    bound_repos: tuple[int, int],
    images_per_repo: int,
    concurrency: int,
    dry_run: bool,
    wall: float,
    cpu: float,
) -> RunStats:
    """Check the run saw the seeded registry, and count what it did."""
    from ecrscan.core.model import Decision

    images = result.all_images()
    expected_due = sum(1 for item in scope if item.kind in DUE_KINDS)
    due = sum(1 for r in images if r.verdict.decision is Decision.DUE)
    if len(images) != len(scope) or due != expected_due:
        raise SystemExit(
            f"benchmark broken: {len(images)} images / {due} due seen, "
            f"{len(scope)} / {expected_due} seeded"
        )
    failed = [r for r in result.repositories if r.error is not None]
    if failed:
        raise SystemExit(f"benchmark broken: repository errors {failed[0].error}")
    if latency_hits != sum(gateway_calls.values()):
        raise SystemExit(
            f"benchmark broken: latency applied {latency_hits} times for "
            f"{sum(gateway_calls.values())} calls"
        )
    without_summary = sum(1 for r in images if r.image.summary is None)
    mode = "dry-run" if dry_run else "real"
    return RunStats(
        label=f"{mode} c{concurrency}",
        concurrency=concurrency,
        dry_run=dry_run,
        images=len(images),
        wall=wall,
        cpu=cpu,
        calls=Counter({op: gateway_calls.get(op, 0) for op in OPERATIONS}),
        bound=lower_bound(*bound_repos, images_per_repo, without_summary, due, dry_run),
        due=due,
        outcomes=Counter(r.outcome.value for r in images if r.outcome is not None),
        latency_hits=latency_hits,
    )


# -- memory --------------------------------------------------------------------------


def deep_size(obj: Any) -> int:
    """Bytes held by ``obj`` and everything it references (each object counted once;
    enum members and other shared singletons excluded)."""
    seen: set[int] = set()
    stack = [obj]
    total = 0
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, (bool, enum.Enum, type)) or id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        stack.extend(_children(item))
    return total


def _children(item: Any) -> Iterable[Any]:
    if isinstance(item, datetime):
        return (item.tzinfo,)  # botocore's tzlocal() is one object per timestamp
    if isinstance(item, (str, bytes, int, float)):
        return ()
    if isinstance(item, dict):
        return [*item.keys(), *item.values()]
    if isinstance(item, (list, tuple, set, frozenset)):
        return item
    if dataclasses.is_dataclass(item):
        return [getattr(item, f.name) for f in dataclasses.fields(item)]
    return (vars(item),) if hasattr(item, "__dict__") else ()


# -- report --------------------------------------------------------------------------


def print_run(stats: RunStats) -> None:
    calls = " ".join(f"{_short(op)}={stats.calls[op]}" for op in OPERATIONS)
    bound = " ".join(f"{_short(op)}={stats.bound[op]}" for op in OPERATIONS)
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())) or "-"
    print(f"[{stats.label}] {stats.images} images, {stats.due} due ({outcomes})")
    print(
        f"  wall {stats.wall:7.2f} s   cpu {stats.cpu:6.2f} s "
        f"({1000 * stats.cpu / max(stats.total_calls, 1):.2f} ms/call, "
        f"{stats.cpu / stats.wall:.0%} of wall); latency paid by {stats.latency_hits} requests"
    )
    print(f"  calls {stats.total_calls:5d}: {calls}")
    print(f"  bound {stats.total_bound:5d}: {bound}")
    print(f"  calls/bound {stats.total_calls / stats.total_bound:.4f}", flush=True)


def _short(operation: str) -> str:
    return {
        "get_registry_scanning_configuration": "GetRegistryScanningConfiguration",
        "describe_repositories": "DescribeRepositories",
        "describe_images": "DescribeImages",
        "describe_image_scan_findings": "DescribeImageScanFindings",
        "start_image_scan": "StartImageScan",
    }[operation]


def print_memory(stats: RunStats) -> None:
    n = stats.images
    print(f"[memory {stats.label}] {n} images, tracemalloc")
    for name, value in (
        ("result records (deep size)", stats.result_bytes),
        ("peak during the run", stats.peak_bytes),
        ("retained after the run", stats.retained_bytes),
        ("freed by dropping result", stats.result_freed_bytes),
        ("left (moto, botocore caches)", stats.left_bytes),
    ):
        print(f"  {name:<29}{value / 1e6:7.2f} MB {value / n:7,.0f} B/image")
    print(f"  peak/result {stats.peak_bytes / stats.result_bytes:.2f}", flush=True)


def summary(
    args: argparse.Namespace, runs: Sequence[RunStats], memory: Sequence[RunStats]
) -> list[str]:
    lines = [
        "=" * 78,
        (
            f"SUMMARY  {args.repos} repos x {args.images} images = {args.repos * args.images}"
            f" images, latency {args.latency_ms:g} ms/request, {os.cpu_count()} CPUs, "
            f"Python {sys.version.split()[0]}"
        ),
        f"{'run':<14}{'wall s':>9}{'cpu s':>8}{'calls':>7}{'bound':>7}{'calls/bound':>13}",
    ]
    for s in runs:
        lines.append(
            f"{s.label:<14}{s.wall:>9.2f}{s.cpu:>8.2f}{s.total_calls:>7}"
            f"{s.total_bound:>7}{s.total_calls / s.total_bound:>13.4f}"
        )
    worst = max(s.total_calls / s.total_bound for s in runs)
    lines.append(
        f"calls/bound worst {worst:.4f}  (target <= 1.02: {'met' if worst <= 1.02 else 'NOT met'})"
    )
    by_key = {(s.dry_run, s.concurrency): s for s in runs}
    low = min(s.concurrency for s in runs)
    for dry_run in (True, False):
        base = by_key.get((dry_run, low))
        for s in runs:
            if base is None or s.dry_run != dry_run or s.concurrency == low:
                continue
            ratio = s.wall / base.wall
            target = (
                "  (target <= 0.125: " + ("met" if ratio <= 0.125 else "NOT met") + ")"
                if s.concurrency == 16 and low == 1
                else ""
            )
            lines.append(
                f"wall c{s.concurrency}/c{low} {'dry-run' if dry_run else 'real'}: "
                f"{ratio:.3f} = 1/{1 / ratio:.1f}{target}"
            )
    for s in memory:
        lines.append(
            f"memory {s.images:>6} images: result {s.result_bytes / s.images:,.0f},"
            f" peak {s.peak_bytes / s.images:,.0f},"
            f" left after dropping it {s.left_bytes / s.images:,.0f} B/image;"
            f" peak/result {s.peak_bytes / s.result_bytes:.2f}"
        )
    if len(memory) >= 2:
        a, b = memory[0], memory[-1]
        slope = (b.peak_bytes - a.peak_bytes) / (b.images - a.images)
        result_slope = (b.result_bytes - a.result_bytes) / (b.images - a.images)
        lines.append(
            f"memory growth {a.images}->{b.images} images: peak x"
            f"{b.peak_bytes / a.peak_bytes:.2f} for images x{b.images / a.images:.2f};"
            f" marginal peak {slope:,.0f} B/image vs result {result_slope:,.0f} B/image"
        )
    lines.append("=" * 78)
    return lines


# -- main ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--repos", type=int, default=40, help="repositories to seed")
    parser.add_argument("--images", type=int, default=50, help="images per repository")
    parser.add_argument(
        "--latency-ms", type=float, default=30.0, help="latency added to every AWS request"
    )
    parser.add_argument(
        "--concurrency", default="1,16", help="comma-separated --concurrency values to time"
    )
    parser.add_argument("--modes", default="dry-run,real", help="comma-separated: dry-run, real")
    parser.add_argument(
        "--memory-repos",
        default="half,all",
        help="comma-separated repository counts (or half, all) for the "
        "tracemalloc runs; 'none' skips them",
    )
    parser.add_argument(
        "--memory-latency-ms", type=float, default=0.0, help="latency during the tracemalloc runs"
    )
    parser.add_argument("--expiry", default="7d", help="rescan --expiry")
    args = parser.parse_args(argv)
    try:
        args.concurrency_list = [int(c) for c in args.concurrency.split(",") if c.strip()]
    except ValueError:
        parser.error("--concurrency takes comma-separated integers, e.g. 1,16")
    args.mode_list = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.repos < 1 or args.images < 1:
        parser.error("--repos and --images must be at least 1")
    if not args.concurrency_list or min(args.concurrency_list) < 1:
        parser.error("--concurrency takes one or more values >= 1")
    if not args.mode_list or not set(args.mode_list) <= {"dry-run", "real"}:
        parser.error("--modes takes dry-run and/or real")
    named = {"half": max(1, args.repos // 2), "all": args.repos}
    args.memory_list = []
    if args.memory_repos.strip().lower() != "none":
        items = [r.strip().lower() for r in args.memory_repos.split(",") if r.strip()]
        try:
            args.memory_list = sorted({named[r] if r in named else int(r) for r in items})
        except ValueError:
            parser.error("--memory-repos takes repository counts, half, all or none")
    if any(not 1 <= r <= args.repos for r in args.memory_list):
        parser.error("--memory-repos values must be between 1 and --repos")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    fake_aws_environment()
    from moto import mock_aws

    with mock_aws():
        started = time.perf_counter()
        registry = BenchRegistry(args.repos, args.images)
        print(
            f"seeded {args.repos} repositories x {args.images} images in "
            f"{time.perf_counter() - started:.1f} s; states per {len(CYCLE)} images: "
            + ", ".join(f"{k} {CYCLE.count(k)}" for k in STATES),
            flush=True,
        )
        runs: list[RunStats] = []
        for mode in args.mode_list:
            for concurrency in args.concurrency_list:
                stats = run_once(
                    registry,
                    repos=args.repos,
                    concurrency=concurrency,
                    dry_run=mode == "dry-run",
                    latency=args.latency_ms / 1000,
                    expiry=args.expiry,
                )
                print_run(stats)
                runs.append(stats)
        memory: list[RunStats] = []
        for repos in args.memory_list:
            stats = run_once(
                registry,
                repos=repos,
                concurrency=max(args.concurrency_list),
                dry_run=False,
                latency=args.memory_latency_ms / 1000,
                expiry=args.expiry,
                trace=True,
            )
            print_memory(stats)
            memory.append(stats)
        print("\n".join(summary(args, runs, memory)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
