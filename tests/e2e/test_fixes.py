"""End to end: the installed ``ecrscan fixes`` against moto's server (issue 20's done-when:
the package breaching alone in N images and with another in M more clears N of N+M)."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.env import ecrscan_command
from tests.support.fix_world import ALONE, TOGETHER, seed
from tests.support.registry import FakeRegistry

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out


def test_the_installed_command_ranks_the_upgrades(
    server_env: dict[str, str], server_registry: FakeRegistry
) -> None:
    seed(server_registry)
    run = subprocess.run(
        [ecrscan_command(), "fixes", "--fail-on", "HIGH", "--format", "json"],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr  # breaches, but a plan is not a gate
    document = json.loads(run.stdout)
    assert document["exit_code"] == 0 and document["complete"] is True
    assert [
        (r["package"], r["breaches_cleared"], r["images_affected"]) for r in document["fixes"]
    ] == [
        ("openssl", ALONE, ALONE + TOGETHER),
        ("bash", 0, ALONE + TOGETHER),
        ("zlib", 0, TOGETHER),
    ]
    assert f"{ALONE} of {ALONE + TOGETHER} breaching images cleared by one upgrade" in run.stderr

    table = subprocess.run(
        [ecrscan_command(), "fixes", "--fail-on", "HIGH"],
        env={**server_env, "COLUMNS": "80"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), table.stdout
    assert any("openssl" in line and "3.0.2" in line for line in lines), table.stdout
