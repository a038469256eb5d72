"""Benchmark `report` on an enhanced registry: Amazon Inspector bulk reads against one
DescribeImageScanFindings per image.

Seeds an in-process moto registry with enhanced scanning (default 40 repositories x 50
images = 2,000) whose images have explicitly set enhanced scan states, answers Inspector's
ListCoverage and ListFindingAggregations from the same images with the test suite's fake
(``tests.support.inspector_fake``: every request and response checked against botocore's
inspector2 model), adds a fixed latency to every AWS request, and runs the report engine
through ``EcrGateway`` on a ``boto3.Session`` twice:

* per image: the engine as it was before bulk reads (no scan-type read, no Inspector
  call): DescribeRepositories, DescribeImages, one DescribeImageScanFindings per image;
* bulk: the engine as it is.

It prints the calls by operation, the wall time and the verdicts of both, and a summary
with the ratios; it exits non-zero if the verdicts differ.  With ``--details`` it also
runs both with every finding read.  Nothing here asserts timings: it reports them.

Run from the repository root:  python3 benchmarks/bulk_bench.py   (see --help)
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REGION = "us-east-1"
# One cycle of 100 images: (enhanced scan status, severity counts), repeated.  Most
# images are monitored (ACTIVE) with findings of every level, some clean; a few pending,
# expired, unsupported; one in a hundred in a state Inspector's coverage cannot settle
# (read per image in both modes).
CYCLE: list[tuple[str, dict[str, int]]] = (
    [("ACTIVE", {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 7, "LOW": 12, "INFORMATIONAL": 4})] * 20
    + [("ACTIVE", {"HIGH": 1, "MEDIUM": 2, "LOW": 5})] * 20
    + [("ACTIVE", {"MEDIUM": 1, "LOW": 9, "UNTRIAGED": 2})] * 15
    + [("ACTIVE", {"LOW": 3, "INFORMATIONAL": 1})] * 15
    + [("ACTIVE", {})] * 20
    + [("PENDING", {})] * 3
    + [("SCAN_ELIGIBILITY_EXPIRED", {"HIGH": 2})] * 3
    + [("UNSUPPORTED_IMAGE", {})] * 3
    + [("FINDINGS_UNAVAILABLE", {})] * 1
)


@dataclass
class Run:
    label: str
    calls: Counter[str]
    wall: float
    verdicts: dict[tuple[str, str], tuple[str, tuple[tuple[str, int], ...]]]
    exit_code: int
    latency_hits: int

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class Latency:
    """Sleeps before every HTTP attempt of every call (registered first on
    ``before-send``, so before moto or the Inspector fake answer)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.count = 0
        self._lock = threading.Lock()

    def install(self, session: Any) -> None:
        for service in ("ecr", "inspector2"):
            session.events.register_first(f"before-send.{service}", self._delay)

    def _delay(self, **_: Any) -> None:
        with self._lock:
            self.count += 1
        time.sleep(self.seconds)


def seed(repos: int, images: int, now: datetime) -> int:
    import boto3

    from tests.support.registry import FakeRegistry

    registry = FakeRegistry(boto3.client("ecr", region_name=REGION), REGION)
    registry.set_scan_type("ENHANCED")
    n = 0
    for r in range(repos):
        name = f"bench/app-{r:03d}"
        registry.create_repo(name)
        for i in range(images):
            status, counts = CYCLE[n % len(CYCLE)]
            digest = registry.push(name, tag=f"v{i}", seed=f"{name}:{i}")
            completed = now - timedelta(hours=1 + n % 72) if status == "ACTIVE" else None
            registry.set_scan(name, digest, status, completed_at=completed, counts=counts)
            n += 1
    return n


def run(label: str, now: datetime, latency_ms: float, concurrency: int, details: bool) -> Run:
    import boto3

    from ecrscan.aws.ecr import EcrGateway
    from ecrscan.core.model import ScanType
    from ecrscan.engine.report import ReportSettings, build_report

    latency = Latency(latency_ms / 1000)
    made: list[EcrGateway] = []

    def gateway_for(region: str | None, registry_id: str | None) -> EcrGateway:
        session = boto3.Session(region_name=REGION)
        latency.install(session)
        gateway = EcrGateway(session, region=REGION, registry_id=registry_id)
        made.append(gateway)
        return gateway

    settings = ReportSettings(concurrency=concurrency, details=details)
    with ExitStack() as stack:
        if label == "per image":  # the engine before bulk reads
            stack.enter_context(
                mock.patch("ecrscan.engine.report.registry_scan_type", lambda g: ScanType.BASIC)
            )
        started = time.perf_counter()
        result = build_report(gateway_for, now, settings)
        wall = time.perf_counter() - started
    calls: Counter[str] = Counter()
    for gateway in made:
        calls.update(gateway.calls)
    verdicts = {
        (r.image.repository, r.image.digest): (r.status.value, tuple(sorted(r.counts.items())))
        for r in result.images
    }
    return Run(label, calls, wall, verdicts, result.exit_code, latency.count)


def show(run_: Run) -> None:
    print(f"\n{run_.label}: {run_.total} calls, {run_.wall:.2f} s wall, exit {run_.exit_code}")
    for operation, n in sorted(run_.calls.items()):
        print(f"  {operation:<38}{n:>6}")
    statuses = Counter(status for status, _ in run_.verdicts.values())
    print("  verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    if run_.latency_hits != run_.total:
        raise SystemExit(f"latency paid {run_.latency_hits} times for {run_.total} calls")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=40, help="repositories (default 40)")
    parser.add_argument("--images", type=int, default=50, help="images each (default 50)")
    parser.add_argument("--latency-ms", type=float, default=30, help="per request (30)")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel calls (8)")
    parser.add_argument("--details", action="store_true", help="also read every finding")
    args = parser.parse_args()

    from moto import mock_aws

    from tests.support.inspector_fake import FakeInspector

    now = datetime.now(UTC)
    with mock_aws(), FakeInspector().installed():
        images = seed(args.repos, args.images, now)
        print(
            f"enhanced registry: {args.repos} repositories, {images} images; "
            f"{args.latency_ms:g} ms per request; concurrency {args.concurrency}"
        )
        pairs = [(False, "report")] + ([(True, "report --details")] if args.details else [])
        failed = False
        summary = []
        for details, name in pairs:
            before = run("per image", now, args.latency_ms, args.concurrency, details)
            after = run("bulk", now, args.latency_ms, args.concurrency, details)
            print(f"\n== {name} ==")
            show(before)
            show(after)
            same = before.verdicts == after.verdicts and before.exit_code == after.exit_code
            failed |= not same
            summary.append(
                f"{name}: calls {after.total}/{before.total} = 1/{before.total / after.total:.1f}"
                f", wall {after.wall:.2f}/{before.wall:.2f} s = {after.wall / before.wall:.3f}"
                f", verdicts identical: {'yes' if same else 'NO'}"
                f" ({len(after.verdicts)} images)"
            )
        print("\n== summary ==")
        print("\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
