"""Benchmark the AWS calls of `ecrscan fixes` against `ecrscan report --details` on the
same scope (issue 20: `fixes` must cost no more calls).

Seeds an in-process moto registry (default 10 repositories x 10 images), every image
with findings in a few packages (openssl alone, openssl with zlib, bash, or none),
basic scanning and then enhanced scanning (Amazon Inspector's ListCoverage and
ListFindingAggregations answered by the test suite's fake, ``tests.support.
inspector_fake``).  On each registry it runs both commands in-process, as the CLI runs
them, counting every AWS call by operation (botocore's ``before-call`` event), and
prints the counts and the ratio fixes/report.  It exits non-zero when `fixes` costs more.

Run from the repository root:  python3 benchmarks/fixes_bench.py   (see --help)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REGION = "us-east-1"
# (package, installed version, CVE, severity) per finding; one cycle of image contents
PACKAGES = {
    "openssl": ("3.0.2", "CVE-2026-1001", "HIGH"),
    "zlib": ("1.2.11", "CVE-2026-2002", "HIGH"),
    "bash": ("5.1", "CVE-2026-3003", "LOW"),
}
CYCLE = (("openssl", "bash"), ("openssl", "zlib", "bash"), ("bash",), ())


def finding(package: str) -> tuple[str, str, str, str]:
    """(CVE, severity, package, version): the arguments of the finding builders."""
    version, cve, severity = PACKAGES[package]
    return cve, severity, package, version


def seed(repos: int, images: int, scan_type: str) -> int:
    import boto3

    from tests.support.fix_world import basic, enhanced
    from tests.support.registry import FakeRegistry

    registry = FakeRegistry(boto3.client("ecr", region_name=REGION), REGION)
    registry.set_scan_type(scan_type)
    now = datetime.now(UTC)
    n = 0
    for r in range(repos):
        name = f"bench/app-{r:03d}"
        registry.create_repo(name)
        for i in range(images):
            packages = CYCLE[n % len(CYCLE)]
            counts = dict(Counter(PACKAGES[p][2] for p in packages))
            digest = registry.push(name, tag=f"v{i}", seed=f"{name}:{i}")
            when = now - timedelta(hours=1)
            if scan_type == "ENHANCED":
                found = [enhanced(*finding(p), n) for p in packages]
                registry.set_scan(
                    name, digest, "ACTIVE", completed_at=when, counts=counts,
                    enhanced_findings=found,
                )  # fmt: skip
            else:
                found = [basic(*finding(p)) for p in packages]
                registry.set_scan(name, digest, completed_at=when, counts=counts, findings=found)
            n += 1
    return n


def run(args: list[str]) -> tuple[Counter[str], dict[str, Any], int]:
    from click.testing import CliRunner

    from ecrscan.cli import cli
    from ecrscan.cli.app import AppContext
    from tests.support.calls import CallCounter

    calls = CallCounter()
    result = CliRunner().invoke(
        cli,
        [*args, "--format", "json"],
        obj=AppContext(session_factory=calls),
        env={"AWS_REGION": REGION},
    )
    return calls.calls, json.loads(result.stdout), result.exit_code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=10, help="repositories (default 10)")
    parser.add_argument("--images", type=int, default=10, help="images each (default 10)")
    parser.add_argument("--fail-on", default="HIGH", help="the thresholds (default HIGH)")
    args = parser.parse_args()

    from moto import mock_aws

    from tests.support.inspector_fake import FakeInspector

    scope = ["--fail-on", args.fail_on]
    worse = False
    summary = []
    for scan_type in ("BASIC", "ENHANCED"):
        with mock_aws(), FakeInspector().installed():
            images = seed(args.repos, args.images, scan_type)
            report_calls, report_doc, report_code = run(["report", "--details", *scope])
            fixes_calls, fixes_doc, fixes_code = run(["fixes", *scope])
        print(f"\n== {scan_type.lower()} registry: {args.repos} repositories, {images} images ==")
        for label, calls, code in (
            ("report --details", report_calls, report_code),
            ("fixes", fixes_calls, fixes_code),
        ):
            by_op = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
            print(f"{label:<17} exit {code}: {sum(calls.values())} calls ({by_op})")
        top = fixes_doc["fixes"][0] if fixes_doc["fixes"] else {}
        print(
            f"breaching images: {report_doc['totals']['breach']}; top fix: "
            f"{top.get('package')} {top.get('installed_version')} clears "
            f"{top.get('breaches_cleared')} of {top.get('images_affected')} images"
        )
        ratio = sum(fixes_calls.values()) / max(1, sum(report_calls.values()))
        worse |= ratio > 1
        summary.append(
            f"{scan_type.lower()}: fixes {sum(fixes_calls.values())} calls / report --details "
            f"{sum(report_calls.values())} calls = {ratio:.3f}"
        )
    print("\n== summary ==")
    print("\n".join(summary))
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
