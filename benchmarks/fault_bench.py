"""Benchmark the record of `rescan` against a faulty registry: 5xx and lost replies on
StartImageScan, one run alone and two runs at once on the same registry.

Seeds an in-process moto registry with never-scanned images (every one due), puts a
faulty network in front of moto (``tests.support.faults.FaultyServer``: a share of
StartImageScan requests get a 503 and are not carried out, a share are carried out and
their reply lost, half as a 500, half as a dropped connection) and keeps the server's
own log of which run started each scan (each run's requests carry a header the server
reads).  Then it runs the rescan engine through ``EcrGateway`` on a ``boto3.Session``
(the CLI's code path): once alone, then twice at once in two threads on a fresh
registry.  Per run it prints the scans the server says that run started, the record's
``started`` / ``scanned_meanwhile`` / ``already_scanned`` / ``not_started`` / ``failed``
counts, the StartImageScan requests sent, and whether the record matches the server:
every ``started`` in the record is a scan the server started for that run, and every
scan the server started for that run is ``started`` or ``scanned_meanwhile`` in its
record.  It exits 1 when a record does not match (nothing here asserts timings).

Run from the repository root:  python3 benchmarks/fault_bench.py   (see --help)
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.env import fake_aws_environment  # noqa: E402

REGION = "us-east-1"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=4, help="repositories (default 4)")
    parser.add_argument("--images", type=int, default=100, help="images each (default 100)")
    parser.add_argument(
        "--server-errors", type=float, default=0.3, help="share of 503s, not carried out"
    )
    parser.add_argument(
        "--lost", type=float, default=0.3, help="share carried out with the reply lost"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="workers per run")
    parser.add_argument("--latency-ms", type=float, default=10.0, help="per request")
    parser.add_argument("--seed", type=int, default=18, help="the faults' random seed")
    return parser.parse_args(argv)


@dataclass
class RunRecord:
    name: str
    result: Any  # RescanResult
    server_started: set[str]
    sent: int
    seconds: float

    def count(self, outcome: Any) -> int:
        return sum(1 for r in self.result.all_images() if r.outcome is outcome)


def seed(repos: int, images: int) -> int:
    from tests.support.fakes import quick_registry

    registry = quick_registry(REGION)
    for r in range(repos):
        name = f"team/app-{r:02d}"
        registry.create_repo(name)
        for i in range(images):
            registry.push(name, f"v{i}", seed=f"{name}:{i}")
    return repos * images


def gateway(server: Any, run: str, concurrency: int, latency: float) -> Any:
    from ecrscan.aws.clients import new_session, pool_size
    from ecrscan.aws.ecr import EcrGateway

    made = EcrGateway(new_session(region=REGION), max_pool_connections=pool_size(concurrency))

    def delay(**_: Any) -> None:
        time.sleep(latency)

    for client in (made._read, made._write):
        server.attach(client, run)
        if latency:
            client.meta.events.register_first("before-send.ecr.*", delay)
    return made


def rescan_runs(args: argparse.Namespace, names: Sequence[str]) -> list[RunRecord]:
    """A fresh registry, and a rescan per name, all at once (one thread each)."""
    from moto import mock_aws

    from ecrscan.core.durations import Duration
    from ecrscan.engine.rescan import RescanSettings, rescan
    from tests.support.faults import FaultyServer, random_faults

    with mock_aws():
        seed(args.repos, args.images)
        faults = random_faults(args.seed, args.server_errors, args.lost)
        server = FaultyServer(choose=faults)
        latency = args.latency_ms / 1000
        gateways = {n: gateway(server, n, args.concurrency, latency) for n in names}
        settings = RescanSettings(expiry=Duration.parse("7d"), concurrency=args.concurrency)
        results: dict[str, tuple[Any, float]] = {}

        def one(name: str) -> None:
            started = time.perf_counter()
            result = rescan(gateways[name], datetime.now(UTC), settings)
            results[name] = (result, time.perf_counter() - started)

        threads = [threading.Thread(target=one, args=(n,)) for n in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [
            RunRecord(n, results[n][0], set(server.started[n]), server.sent[n], results[n][1])
            for n in names
        ]


def print_runs(title: str, runs: list[RunRecord], others: dict[str, set[str]]) -> bool:
    """One row per run; True when every record matches the server."""
    from ecrscan.core.model import Outcome
    from tests.support.faults import mismatches

    print(f"\n{title}")
    header = (
        f"{'run':<4} {'server':>7} {'started':>8} {'meanwhile':>10} {'(other)':>8} "
        f"{'already':>8} {'not st.':>8} {'failed':>7} {'sent':>6} {'wall s':>7}  record == server"
    )
    print(header)
    print("-" * len(header))
    good = True
    for run in runs:
        wrong = mismatches(run.result, run.server_started)
        good = good and not wrong
        meanwhile = {
            r.image.digest
            for r in run.result.all_images()
            if r.outcome is Outcome.SCANNED_MEANWHILE
        }
        print(
            f"{run.name:<4} {len(run.server_started):>7} {run.count(Outcome.STARTED):>8} "
            f"{len(meanwhile):>10} {len(meanwhile & others.get(run.name, set())):>8} "
            f"{run.count(Outcome.ALREADY_SCANNED):>8} {run.count(Outcome.NOT_STARTED):>8} "
            f"{run.count(Outcome.FAILED):>7} {run.sent:>6} {run.seconds:>7.2f}  "
            + ("yes" if not wrong else f"NO: {len(wrong)} ({', '.join(wrong[:3])} ...)")
        )
    return good


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    fake_aws_environment()
    images = args.repos * args.images
    print(
        f"{images} never-scanned images ({args.repos} x {args.images}); StartImageScan: "
        f"{args.server_errors:.0%} 503 not carried out, {args.lost:.0%} carried out with "
        f"the reply lost (500 or dropped connection); {args.latency_ms:g} ms a request, "
        f"concurrency {args.concurrency}, seed {args.seed}"
    )
    alone = rescan_runs(args, ["A"])
    good = print_runs("one run alone", alone, {})
    both = rescan_runs(args, ["A", "B"])
    others = {"A": both[1].server_started, "B": both[0].server_started}
    good = print_runs("two runs at once", both, others) and good
    print(
        "\nserver: scans the server started for that run; meanwhile: scanned_meanwhile, "
        "(other): of which the server says the other run started; sent: StartImageScan "
        "requests of that run"
    )
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
