"""End to end: the installed command's scan-date cache (``--cache-dir``) against moto's
server: the second run reads only what the cache cannot vouch for and decides the same."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.env import ecrscan_command
from tests.support.registry import FakeRegistry
from tests.support.scan_dates import seed

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ecrscan_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_the_second_run_reads_less_and_decides_the_same(
    server_registry: FakeRegistry, server_env: dict[str, str], tmp_path: Path
) -> None:
    seed(server_registry, datetime.now(UTC), per_repo=4)  # 12 images, 6 scanned days ago
    cache = tmp_path / "scan-cache"
    args = ["rescan", "--dry-run", "--format", "json", "--cache-dir", str(cache)]

    first = run(args, server_env)
    second = run(["-v", *args], server_env)
    without = run([*args, "--no-cache"], server_env)

    documents = [json.loads(r.stdout) for r in (first, second, without)]
    assert [r.returncode for r in (first, second, without)] == [0, 0, 0], first.stderr
    assert [d["cache"] for d in documents] == [
        {"reads_saved": 0, "path": str(cache)},
        {"reads_saved": 6, "path": str(cache)},
        None,
    ]
    assert f"scan-date cache {cache}: 6 scan-state reads saved" in second.stderr
    assert "DescribeImageScanFindings 6," in second.stderr  # 12 images, 6 vouched for
    plans = [[(i["digest"], i["decision"], i["outcome"]) for i in d["images"]] for d in documents]
    assert plans[0] == plans[1] == plans[2]
    (written,) = cache.glob("scan-dates-*.json")
    assert (
        json.loads(written.read_text(encoding="utf-8"))["endpoint"]
        == server_env["AWS_ENDPOINT_URL"]
    )
