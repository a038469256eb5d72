"""Benchmark an organization-wide `report`: 20 accounts x 3 regions, targets one after
another against side by side, on moto's server.

Starts moto's server in its own process, creates an organization (the caller and 19
member accounts) and, in every account and each of three regions, `--repos`
repositories of `--images` images (default 10 x 10: 6,000 images), then runs the report
engine over the organization (``--organization``, three ``--region``) twice through
``Audit`` on a ``boto3.Session``, the CLI's path:

* one after another: ``--max-concurrency`` equal to ``--concurrency`` (one target at a
  time, the fan-out as it was);
* side by side: the default ``--max-concurrency`` (64: 8 targets of 8 calls).

Every request pays ``--latency-ms`` (default 30) in a ``before-send`` handler, counted
per operation.  The calls are compared with the lower bound: per target
DescribeRepositories 1, GetRegistryScanningConfiguration 1, DescribeImages one per
repository, DescribeImageScanFindings one per image; plus GetCallerIdentity 1,
ListAccounts one per 20 accounts and AssumeRole one per member account.  The CPU time of
this process and of the server are printed, because on a small machine they, not the
latency, bound the side-by-side run.  Nothing here asserts timings: it reports them.

Run from the repository root:  python3 benchmarks/org_bench.py   (see --help)
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
ROLE_NAME = "ecrscan-audit"
CALLER = "123456789012"  # moto's default account: the organization's management account


class Latency:
    """Sleeps before every HTTP attempt of every AWS call of every botocore session made
    while installed, and counts the calls per operation."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, event_name: str = "", **_: Any) -> None:
        operation = ".".join(event_name.split(".")[1:3])
        with self._lock:
            self.calls[operation] += 1
        time.sleep(self.seconds)

    def install(self) -> None:
        import botocore.handlers

        botocore.handlers.BUILTIN_HANDLERS.insert(0, ("before-send", self))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            return server, url
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto's server did not start")


def seed(accounts: int, repos: int, images: int) -> list[str]:
    """The organization and its registries; the member account ids."""
    import boto3

    org = boto3.client("organizations", region_name=REGIONS[0])
    org.create_organization(FeatureSet="ALL")
    members = [
        org.create_account(Email=f"m{i}@example.com", AccountName=f"member-{i:02d}")[
            "CreateAccountStatus"
        ]["AccountId"]
        for i in range(accounts - 1)
    ]
    work = [(account, region) for account in (CALLER, *members) for region in REGIONS]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda ar: seed_registry(*ar, repos, images), work))
    return members


def seed_registry(account: str, region: str, repos: int, images: int) -> None:
    import boto3

    from tests.support.registry import manifest

    session = boto3.Session(region_name=region)
    if account != CALLER:
        credentials = session.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{ROLE_NAME}", RoleSessionName="seed"
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=region,
        )
    ecr = session.client("ecr")
    for r in range(repos):
        name = f"team/app-{r:02d}"
        ecr.create_repository(repositoryName=name)
        for i in range(images):
            ecr.put_image(
                repositoryName=name,
                imageManifest=manifest(f"{account}/{region}/{name}:{i}"),
                imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json",
                imageTag=f"v{i}",
            )


@dataclass
class Run:
    label: str
    wall: float
    cpu: float
    server_cpu: float
    calls: Counter[str]
    targets: int
    failed: int
    images: int


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(label: str, latency: Latency, pid: int, concurrency: int, max_concurrency: int) -> Run:
    import boto3

    from ecrscan.aws.connections import Connections
    from ecrscan.core.organization import OrgScope
    from ecrscan.engine.plan import Plan
    from ecrscan.engine.report import ReportSettings
    from ecrscan.engine.targets import Audit

    plan = Plan(
        regions=REGIONS,
        organization=OrgScope(role_name=ROLE_NAME),
        max_concurrency=max_concurrency,
    )
    latency.calls.clear()
    cpu0, server0, wall0 = time.process_time(), server_cpu(pid), time.perf_counter()
    connections = Connections.of(boto3.Session(region_name=REGIONS[0]), concurrency=concurrency)
    result = Audit(connections, plan, datetime.now(UTC)).report(
        ReportSettings(concurrency=concurrency)
    )
    wall = time.perf_counter() - wall0
    coverage = result.coverage
    assert coverage is not None
    return Run(
        label,
        wall,
        time.process_time() - cpu0,
        server_cpu(pid) - server0,
        Counter(latency.calls),
        len(coverage.targets),
        len(coverage.failed_targets),
        len(result.images),
    )


def lower_bound(accounts: int, repos: int, images: int) -> Counter[str]:
    targets = accounts * len(REGIONS)
    return Counter(
        {
            "sts.GetCallerIdentity": 1,
            "organizations.ListAccounts": math.ceil(accounts / 20),
            "sts.AssumeRole": accounts - 1,
            "ecr.DescribeRepositories": targets,
            "ecr.GetRegistryScanningConfiguration": targets,
            "ecr.DescribeImages": targets * repos,
            "ecr.DescribeImageScanFindings": targets * repos * images,
        }
    )


def show(run_: Run, bound: Counter[str]) -> None:
    total, wanted = sum(run_.calls.values()), sum(bound.values())
    print(
        f"\n{run_.label}: {run_.targets} targets ({run_.failed} failed), {run_.images} images, "
        f"{run_.wall:.1f} s wall, {run_.cpu:.1f} s CPU here, {run_.server_cpu:.1f} s CPU "
        f"in the server; {total} calls, bound {wanted}"
    )
    for operation in sorted(set(run_.calls) | set(bound)):
        print(f"  {operation:<40}{run_.calls[operation]:>7}{bound[operation]:>7}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20, help="accounts in all (20)")
    parser.add_argument("--repos", type=int, default=10, help="repositories per target (10)")
    parser.add_argument("--images", type=int, default=10, help="images per repository (10)")
    parser.add_argument("--latency-ms", type=float, default=30, help="per request (30)")
    parser.add_argument("--concurrency", type=int, default=8, help="calls per target (8)")
    parser.add_argument("--max-concurrency", type=int, default=64, help="over the run (64)")
    args = parser.parse_args()

    server, url = start_server()
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGIONS[0],
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    try:
        started = time.perf_counter()
        seed(args.accounts, args.repos, args.images)
        print(
            f"organization: {args.accounts} accounts x {len(REGIONS)} regions x {args.repos} "
            f"repositories x {args.images} images (seeded in "
            f"{time.perf_counter() - started:.0f} s); {args.latency_ms:g} ms per request, "
            f"{os.cpu_count()} CPUs"
        )
        latency = Latency(args.latency_ms / 1000)
        latency.install()
        bound = lower_bound(args.accounts, args.repos, args.images)
        one = run("one after another", latency, server.pid, args.concurrency, args.concurrency)
        side = run("side by side", latency, server.pid, args.concurrency, args.max_concurrency)
        show(one, bound)
        show(side, bound)
        print("\n== summary ==")
        print(
            f"wall: side by side / one after another = {side.wall:.1f} / {one.wall:.1f} s = "
            f"{side.wall / one.wall:.3f} (1/{one.wall / side.wall:.1f})"
        )
        for run_ in (one, side):
            extra = Counter(run_.calls)
            extra.subtract(bound)
            print(
                f"{run_.label}: calls - bound = {sum(extra.values())} "
                f"({', '.join(f'{k} {v:+d}' for k, v in sorted(extra.items()) if v) or 'none'})"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
