"""Benchmark `rescan` under AWS rate limits: wall time against calls / rate, before and
after pacing at the granted rate (issue 21, item 2).

Seeds an in-process moto registry with never-scanned images (every one is due: one
scan-state read and one StartImageScan each), puts token buckets in front of moto
(``tests.support.bucket_server.BucketServer``: a request that finds no token gets a
``ThrottlingException`` and takes none) and runs the rescan engine through
``EcrGateway`` on a ``boto3.Session`` (the CLI's code path) with ``--concurrency``
workers, under two limits:

* ``shared``: one bucket of 2 requests/s for every operation;
* ``per-operation``: StartImageScan 2 requests/s, every other operation 5 requests/s.

Each limit runs twice: ``before`` (the throttle as on main: a throttled call closes
the shared gate for a capped, jittered, exponential delay, and botocore's standard mode
first retries a throttled read on its own schedule) and ``after`` (the operation paced
at the granted rate, ``ecrscan.core.pacing``).  ``before`` is this tree's throttle with
the operation names withheld and botocore's throttle retries left on: the code paths
main runs.

Time is virtual (``tests.support.bucket_server.VirtualTime``): the clock jumps to the
next wake-up whenever every worker sleeps (in the throttle, in the server's
``--latency-ms``, in botocore's retry delay), so a run that would take 25 minutes takes
seconds, and the machine's load does not change the figures.  Per run it prints the
virtual wall time, the bound (calls answered / rate: for per-operation buckets, the
slowest bucket's), wall / bound, the throttled answers and the outcome counts.  It
exits 1 when a run did not start every due scan; nothing here asserts timings.

Run from the repository root:  python3 benchmarks/throttle_bench.py   (see --help)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.env import fake_aws_environment  # noqa: E402

REGION = "us-east-1"
START = "StartImageScan"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=6, help="repositories (default 6)")
    parser.add_argument("--images", type=int, default=50, help="images each (default 50)")
    parser.add_argument("--concurrency", type=int, default=8, help="workers (default 8)")
    parser.add_argument("--latency-ms", type=float, default=30.0, help="per request (30)")
    parser.add_argument(
        "--limits", default="shared,per-operation", help="shared, per-operation or both"
    )
    parser.add_argument("--modes", default="before,after", help="before, after or both")
    return parser.parse_args(argv)


@dataclass
class Run:
    limits: str
    mode: str
    wall: float
    bound: float
    calls: int
    throttled: int
    started: int
    due: int
    real: float


def make_limits(kind: str) -> Any:
    from tests.support.token_bucket import Limits

    if kind == "shared":
        return Limits.shared(2.0)
    return Limits.per_operation({START: 2.0}, others=5.0)


def bound(kind: str, granted: dict[str, int]) -> float:
    """calls / rate: the shortest wall time the buckets allow for the calls answered."""
    if kind == "shared":
        return sum(granted.values()) / 2.0
    others = [n / 5.0 for op, n in granted.items() if op != START]
    return max([granted.get(START, 0) / 2.0, *others])


def legacy(throttle: Any) -> Any:
    """``throttle`` as main's: the calls' operation names withheld, so a throttle closes
    the shared gate (exponential backoff) and nothing is paced."""

    def drop(method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, operation: str | None = None, **kwargs: Any) -> Any:
            kwargs.pop("sent_at", None)
            return method(*args, **kwargs)

        return call

    def drop_positional(method: Callable[..., Any]) -> Callable[..., Any]:
        return lambda operation=None, *_: method()

    throttle.wait = drop_positional(throttle.wait)
    throttle.success = drop_positional(throttle.success)
    throttle.retry_or_raise = drop(throttle.retry_or_raise)
    return throttle


def one_run(args: argparse.Namespace, kind: str, mode: str) -> Run:
    from moto import mock_aws

    from ecrscan.aws import gateway as gateway_module
    from ecrscan.aws.ecr import EcrGateway
    from ecrscan.aws.throttle import Throttle
    from ecrscan.core.durations import Duration
    from ecrscan.core.summary import summarize
    from ecrscan.engine.rescan import RescanSettings, rescan
    from tests.support.bucket_server import BucketServer, VirtualTime, virtual_botocore_sleep
    from tests.support.fakes import fresh_session, quick_registry

    with mock_aws():
        registry = quick_registry(REGION)
        for r in range(args.repos):
            registry.create_repo(f"team/app{r:02d}")
            for i in range(args.images):
                registry.push(f"team/app{r:02d}", f"v{i}")
        limits = make_limits(kind)
        fake = VirtualTime(workers=args.concurrency)
        session = fresh_session(REGION)
        BucketServer(limits, fake, latency=args.latency_ms / 1000).attach(session.events)
        throttle = Throttle(sleep=fake.sleep, clock=fake.clock)
        gateway = EcrGateway(session, region=REGION, throttle=throttle)
        if mode == "before":
            legacy(throttle)
            name = gateway._read.meta.service_model.service_id.hyphenize()
            gateway._read.meta.events.unregister(
                f"needs-retry.{name}", gateway_module._not_when_throttled
            )
        settings = RescanSettings(expiry=Duration.parse("7d"), concurrency=args.concurrency)
        started, real = fake.clock(), time.monotonic()
        try:
            with virtual_botocore_sleep(fake):
                result = rescan(gateway, datetime.now(UTC), settings)
        finally:
            fake.close()
        wall, real = fake.clock() - started, time.monotonic() - real
    totals = summarize(result)["TOTAL"]
    granted = dict(limits.granted)
    return Run(
        limits=kind,
        mode=mode,
        wall=wall,
        bound=bound(kind, granted),
        calls=sum(granted.values()),
        throttled=sum(limits.throttled.values()),
        started=totals["started"],
        due=args.repos * args.images,
        real=real,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    fake_aws_environment()
    images = args.repos * args.images
    print(
        f"rescan of {images} never-scanned images ({args.repos} x {args.images}), "
        f"concurrency {args.concurrency}, {args.latency_ms:g} ms per request, virtual time"
    )
    header = (
        f"{'limits':<14} {'mode':<7} {'wall s':>8} {'bound s':>8} {'wall/bound':>10} "
        f"{'calls':>6} {'throttled':>9} {'thr/calls':>9} {'started':>8} {'real s':>7}"
    )
    print(header)
    runs: list[Run] = []
    broken = False
    for kind in args.limits.split(","):
        for mode in args.modes.split(","):
            run = one_run(args, kind, mode)
            runs.append(run)
            print(
                f"{run.limits:<14} {run.mode:<7} {run.wall:>8.1f} {run.bound:>8.1f} "
                f"{run.wall / run.bound:>10.2f} {run.calls:>6} {run.throttled:>9} "
                f"{run.throttled / run.calls:>9.2f} {run.started:>4}/{run.due:<3} "
                f"{run.real:>7.1f}",
                flush=True,
            )
            broken = broken or run.started != run.due
    print()
    for kind in args.limits.split(","):
        pair = {r.mode: r for r in runs if r.limits == kind}
        if "before" in pair and "after" in pair:
            before, after = pair["before"], pair["after"]
            print(
                f"{kind}: wall/bound {before.wall / before.bound:.2f} -> "
                f"{after.wall / after.bound:.2f} (target <= 1.3); wall after/before "
                f"{after.wall / before.wall:.2f}; throttled answers {before.throttled} -> "
                f"{after.throttled} for {after.calls} calls"
            )
    if broken:
        print("benchmark broken: a run did not start every due scan", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
