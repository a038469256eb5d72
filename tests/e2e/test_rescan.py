"""End to end: the installed `ecrscan` command as a subprocess against moto's server.

The server runs in this process, so the tests seed scan states and check what
StartImageScan did through moto's backend (``last_scan``), not through ecrscan itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.env import REGION, ecrscan_command
from tests.support.registry import FakeRegistry

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out

NOW = datetime.now(UTC)


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ecrscan_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def world(server_registry: FakeRegistry) -> tuple[FakeRegistry, dict[str, str]]:
    registry = server_registry
    for repo in ("team/api", "team/web", "infra/db"):
        registry.create_repo(repo)
    digests = {
        "api-never": registry.push("team/api", "v3"),
        "api-fresh": registry.push("team/api", "v2"),
        "api-stale": registry.push("team/api", "v1"),
        "web-failed": registry.push("team/web", "latest"),
        "web-running": registry.push("team/web", "next"),
        "db-unsupported": registry.push("infra/db", "15"),
        "db-stale": registry.push("infra/db", "14"),
    }
    scans = {
        "api-fresh": ("team/api", "COMPLETE", 2),
        "api-stale": ("team/api", "COMPLETE", 9),
        "web-failed": ("team/web", "FAILED", 3),
        "web-running": ("team/web", "IN_PROGRESS", 1),
        "db-unsupported": ("infra/db", "UNSUPPORTED_IMAGE", 30),
        "db-stale": ("infra/db", "COMPLETE", 40),
    }
    for name, (repo, status, days) in scans.items():
        registry.set_scan(
            repo, digests[name], status=status, completed_at=NOW - timedelta(days=days)
        )
    return registry, digests


DUE = {"api-never", "api-stale", "web-failed", "db-stale"}
REPO_OF = {"api": "team/api", "web": "team/web", "db": "infra/db"}


def last_scans(registry: FakeRegistry, digests: dict[str, str]) -> dict[str, datetime | None]:
    return {
        name: registry._image(REPO_OF[name.split("-")[0]], sha).last_scan
        for name, sha in digests.items()
    }


def test_repos_json(world, server_env: dict[str, str]) -> None:
    proc = run(["repos", "--format", "json"], server_env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["command"] == "repos" and doc["region"] == REGION
    assert [r["name"] for r in doc["repositories"]] == ["infra/db", "team/api", "team/web"]
    proc = run(["repos", "--format", "json", "--filter", "api"], server_env)
    assert [r["name"] for r in json.loads(proc.stdout)["repositories"]] == ["team/api"]


def test_rescan_dry_run_starts_nothing(world, server_env: dict[str, str]) -> None:
    registry, digests = world
    before = last_scans(registry, digests)
    proc = run(["-v", "rescan", "--dry-run", "--format", "json"], server_env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    names = {sha: name for name, sha in digests.items()}
    planned = {names[i["digest"]] for i in doc["images"] if i["outcome"] == "planned"}
    assert planned == DUE
    assert doc["totals"]["started"] == 0
    assert last_scans(registry, digests) == before
    # -v: the AWS calls on stderr, and none of them a StartImageScan
    calls = [line for line in proc.stderr.splitlines() if "AWS calls: " in line]
    assert len(calls) == 1 and "DescribeImages " in calls[0] and "in total)" in calls[0]
    assert "StartImageScan" not in calls[0]


def test_rescan_starts_exactly_the_due_scans(world, server_env: dict[str, str]) -> None:
    registry, digests = world
    before = last_scans(registry, digests)
    started_at = datetime.today()  # moto's clock for StartImageScan (naive local)
    proc = run(["rescan", "--expiry", "7d"], {**server_env, "COLUMNS": "200"})  # every counter
    assert proc.returncode == 0, proc.stderr
    after = last_scans(registry, digests)
    started = {name for name in digests if after[name] != before[name]}
    assert started == DUE
    assert all(after[name] >= started_at for name in DUE)
    total = next(line for line in proc.stdout.splitlines() if "TOTAL" in line)
    cells = [c.strip() for c in total.strip("│ ").split("│")]
    assert cells[:5] == ["TOTAL", "7", "4", "1", "4"]  # images, due, fresh, started
    # A second run the same day: the seeded findings of api-stale, web-failed and db-stale
    # still look due, and moto (like AWS) refuses a second scan of an image within the day
    # -> "already scanned", not an error.  api-never now has moto's fresh default scan.
    again = run(["rescan", "--format", "json"], server_env)
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    names = {sha: name for name, sha in digests.items()}
    already = {names[i["digest"]] for i in doc["images"] if i["outcome"] == "already_scanned"}
    assert already == DUE - {"api-never"}
    assert doc["totals"]["started"] == 0
    assert doc["complete"] is True


def test_bad_expiry_exits_2_without_calling_aws(server_env: dict[str, str]) -> None:
    env = dict(server_env, AWS_ENDPOINT_URL="http://127.0.0.1:9")  # nothing listens there
    proc = run(["rescan", "--expiry", "7days"], env)
    assert proc.returncode == 2
    assert "Invalid value for '--expiry'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run(["rescan"], dict(env, ECR_IMAGES_DURATION_DELTA="1y"))
    assert proc.returncode == 2
    assert "unknown unit 'y'" in proc.stderr


def test_module_entry_point(server_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ecrscan", "--version"],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("ecrscan, version ")
