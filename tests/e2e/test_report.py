"""End to end: the installed ``ecrscan report`` gating one --image against moto's server."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from tests.support.env import REGION, ecrscan_command
from tests.support.registry import FakeRegistry

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out

ACCOUNT = "123456789012"


def run_report(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ecrscan_command(), "report", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_gate_a_single_image(server_env: dict[str, str], moto_server: str, tmp_path: Path) -> None:
    registry = FakeRegistry(boto3.client("ecr", endpoint_url=moto_server, region_name=REGION))
    registry.create_repo("team/api")
    digest = registry.push("team/api", "v1")
    registry.set_scan(
        "team/api",
        digest,
        completed_at=datetime.now(UTC) - timedelta(hours=3),
        counts={"HIGH": 2, "MEDIUM": 1},
        findings=[
            {"name": "CVE-2024-0001", "severity": "HIGH"},
            {"name": "CVE-2024-0002", "severity": "HIGH"},
            {"name": "CVE-2024-0003", "severity": "MEDIUM"},
        ],
    )
    registry.create_repo("team/web")  # not named: must not be read
    registry.push("team/web", "v1")
    uri = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/team/api:v1"

    breach = run_report(server_env, "--image", uri, "--format", "json")
    assert breach.returncode == 1, breach.stderr
    (entry,) = json.loads(breach.stdout)["images"]
    assert (entry["repository"], entry["digest"], entry["status"]) == ("team/api", digest, "breach")
    assert "1 of 1 image breaches thresholds" in breach.stderr

    ignore = tmp_path / "ignore.toml"
    ignore.write_text('[[ignore]]\nid = "CVE-2024-0003"\nreason = "not reachable"\n')
    env = {**server_env, "HIGH": "2"}
    out = tmp_path / "report.sarif"
    within = run_report(
        env,
        "--image",
        "team/api:v1",
        "--ignore-file",
        str(ignore),
        "--format",
        "sarif",
        "--output",
        str(out),
    )
    assert within.returncode == 0, within.stderr
    assert within.stdout == ""
    sarif = json.loads(out.read_text())
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {
        "CVE-2024-0001",
        "CVE-2024-0002",
        "CVE-2024-0003",
    }

    missing = run_report(server_env, "--image", "team/api:v2")
    assert missing.returncode == 3
    assert "team/api:v2 [ImageNotFoundException]" in missing.stderr
