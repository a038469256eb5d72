"""Benchmark a registry-wide `report` on a registry as buildx, cosign and helm fill it.

Seeds an in-process moto registry (``mock_aws`` with ``tests.support.oci_world.ecr_realism``,
so DescribeImages reports ``artifactMediaType`` / ``subjectManifestDigest`` as ECR does) of
``--repos`` repositories, each with ``--tags`` buildx tags (an OCI index, two platform
images, two attestation manifests), a cosign signature per tag and ``--plain``
single-platform images; every image gets a COMPLETE scan.  It adds a fixed latency to
every AWS request and runs the registry-wide report the way the CLI does (``Audit`` over
``ecrscan.aws.connections.Connections``), then prints the calls by operation, the lower
bound and calls/bound:

  DescribeRepositories pages + DescribeImages pages + ceil(indexes/100) BatchGetImage per
  repository holding indexes + one DescribeImageScanFindings per image to judge (platform
  and plain images: moto's DescribeImages carries no scan summary) + one
  GetRegistryScanningConfiguration.

Nothing here asserts timings or the bound: it reports them.  It stops with "benchmark
broken" only when the run did not see the seeded registry (a repository error, fewer
judged images than seeded, latency not paid by every call).

Run from the repository root:  python3 benchmarks/oci_bench.py   (see --help)
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.env import fake_aws_environment  # noqa: E402

REGION = "us-east-1"
PAGE_SIZE = 1000  # DescribeRepositories / DescribeImages maxResults the gateway asks for
INDEX_BATCH = 100  # image ids per BatchGetImage
PLATFORMS = ("linux/amd64", "linux/arm64")
OPERATIONS = (
    "GetRegistryScanningConfiguration",
    "DescribeRepositories",
    "DescribeImages",
    "BatchGetImage",
    "DescribeImageScanFindings",
    "StartImageScan",
)


@dataclass
class Seeded:
    """What was pushed, per repository."""

    repos: int = 0
    manifests: Counter[str] = field(default_factory=Counter)  # repo -> manifests
    indexes: Counter[str] = field(default_factory=Counter)  # repo -> indexes
    images: Counter[str] = field(default_factory=Counter)  # repo -> platform + plain images
    artifacts: Counter[str] = field(default_factory=Counter)  # Kind.value -> count


def seed(repos: int, tags: int, plain: int, now: datetime) -> Seeded:
    import boto3

    from tests.support.oci_world import OciWorld
    from tests.support.registry import FakeRegistry

    registry = FakeRegistry(boto3.client("ecr", region_name=REGION), REGION)
    world = OciWorld(registry.client)
    made = Seeded(repos=repos)
    n = 0
    for r in range(repos):
        repo = f"bench/app-{r:03d}"
        registry.create_repo(repo)
        digests: list[str] = []
        for t in range(tags):
            tag = world.buildx(repo, f"v{t}", PLATFORMS, seed=f"{r}:{t}:")
            world.cosign_signature(repo, tag.index)
            digests.extend(tag.platforms.values())
            made.indexes[repo] += 1
            made.manifests[repo] += 1 + 2 * len(PLATFORMS) + 1
            made.artifacts["attestation"] += len(tag.attestations)
            made.artifacts["signature"] += 1
        for p in range(plain):
            digests.append(world.image(repo, f"plain-{p}", seed=f"plain:{r}:{p}"))
            made.manifests[repo] += 1
        made.images[repo] = len(digests)
        for digest in digests:
            counts = {"HIGH": 1} if n % 10 == 0 else {"LOW": n % 3}
            registry.set_scan(
                repo, digest, completed_at=now - timedelta(hours=1 + n % 48), counts=counts
            )
            n += 1
    return made


class Meter:
    """Counts every ECR call by operation (``before-call``, once per call) and sleeps
    ``seconds`` before every HTTP attempt (``before-send``, registered first: before moto
    answers, like a network round trip)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls: Counter[str] = Counter()
        self.sends = 0
        self._lock = threading.Lock()

    def install(self, session: Any) -> None:
        session.events.register_first("before-send.ecr", self._delay)
        session.events.register("before-call.ecr", self._count)

    def _count(self, event_name: str = "", **_: Any) -> None:
        with self._lock:
            self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def _delay(self, **_: Any) -> None:
        with self._lock:
            self.sends += 1
        if self.seconds > 0:
            time.sleep(self.seconds)


def pages(items: int) -> int:
    return max(1, math.ceil(items / PAGE_SIZE))


def lower_bound(made: Seeded) -> Counter[str]:
    """The calls no registry-wide report of this registry can do without."""
    return Counter(
        {
            "GetRegistryScanningConfiguration": 1,
            "DescribeRepositories": pages(made.repos),
            "DescribeImages": sum(pages(n) for n in made.manifests.values()),
            "BatchGetImage": sum(math.ceil(n / INDEX_BATCH) for n in made.indexes.values()),
            "DescribeImageScanFindings": sum(made.images.values()),
        }
    )


def report(latency_ms: float, concurrency: int) -> tuple[Any, Meter, float]:
    import boto3

    from ecrscan.aws.connections import Connections
    from ecrscan.engine.plan import Plan
    from ecrscan.engine.report import ReportSettings
    from ecrscan.engine.targets import Audit

    session = boto3.Session(region_name=REGION)
    meter = Meter(latency_ms / 1000)
    meter.install(session)
    # As the CLI runs a registry-wide report (ecrscan.cli.report._build).
    connections = Connections.of(session, region=REGION, concurrency=concurrency)
    started = time.perf_counter()
    result = Audit(connections, Plan(), datetime.now(UTC)).report(
        ReportSettings(concurrency=concurrency)
    )
    return result, meter, time.perf_counter() - started


def check(result: Any, meter: Meter, made: Seeded) -> None:
    """Stop when the run did not see the seeded registry."""
    errors = list(result.repository_errors)
    if errors:
        raise SystemExit(f"benchmark broken: repository error {errors[0]}")
    if len(result.images) < sum(made.images.values()):
        raise SystemExit(
            f"benchmark broken: {len(result.images)} images judged, "
            f"{sum(made.images.values())} seeded"
        )
    if meter.sends != sum(meter.calls.values()):
        raise SystemExit(
            f"benchmark broken: latency paid {meter.sends} times for "
            f"{sum(meter.calls.values())} calls"
        )


def show(result: Any, meter: Meter, made: Seeded, wall: float) -> list[str]:
    from ecrscan.core.view import DEFAULT_VIEW, exit_code

    bound = lower_bound(made)
    code = exit_code(result, DEFAULT_VIEW)
    total, wanted = sum(meter.calls.values()), sum(bound.values())
    artifacts = {getattr(k, "value", k): v for k, v in getattr(result, "artifacts", {}).items()}
    statuses = Counter(r.status.value for r in result.images)
    lines = [
        f"{'operation':<36}{'calls':>8}{'bound':>8}",
        *(f"{op:<36}{meter.calls[op]:>8}{bound[op]:>8}" for op in OPERATIONS),
        *(f"{op:<36}{n:>8}{0:>8}" for op, n in sorted(meter.calls.items()) if op not in OPERATIONS),
        f"{'total':<36}{total:>8}{wanted:>8}",
        f"calls/bound {total / wanted:.4f}; wall {wall:.2f} s; exit {code}",
        f"judged {len(result.images)} images ({sum(made.images.values())} platform and plain "
        "images seeded): " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
        "artifacts counted apart: "
        + (", ".join(f"{k} {v}" for k, v in sorted(artifacts.items())) or "none")
        + "; seeded: "
        + ", ".join(f"{k} {v}" for k, v in sorted(made.artifacts.items())),
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=20, help="repositories (20)")
    parser.add_argument("--tags", type=int, default=10, help="buildx tags per repository (10)")
    parser.add_argument("--plain", type=int, default=3, help="plain images per repository (3)")
    parser.add_argument("--latency-ms", type=float, default=30, help="per request (30)")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel calls (8)")
    args = parser.parse_args(argv)
    if min(args.repos, args.tags) < 1 or args.plain < 0 or args.concurrency < 1:
        parser.error("--repos, --tags and --concurrency take 1 or more, --plain 0 or more")
    fake_aws_environment()

    from moto import mock_aws

    from tests.support.oci_world import ecr_realism

    with mock_aws(), ecr_realism() as refused:
        started = time.perf_counter()
        made = seed(args.repos, args.tags, args.plain, datetime.now(UTC))
        print(
            f"seeded {args.repos} repositories x ({args.tags} buildx tags of "
            f"{len(PLATFORMS)} platforms + attestations + a signature each, {args.plain} plain "
            f"images) = {sum(made.manifests.values())} manifests in "
            f"{time.perf_counter() - started:.1f} s; {args.latency_ms:g} ms per request, "
            f"concurrency {args.concurrency}",
            flush=True,
        )
        result, meter, wall = report(args.latency_ms, args.concurrency)
        check(result, meter, made)
        print("\n".join(show(result, meter, made, wall)))
        if refused:
            print(f"StartImageScan refused {len(refused)} times (a report starts no scan)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
