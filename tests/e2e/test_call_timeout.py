"""An endpoint that drips its answer one byte at a time (restarting the read timeout with
each byte) fails the run within ``--call-timeout`` (or ``ECRSCAN_CALL_TIMEOUT``), with one
line naming the endpoint and the bound, exit 3 (issue 18).  The in-process end of it:
tests/aws/test_call_timeout.py."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import ecrscan_command, isolated_env
from tests.support.listener import Dripping

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out

CALL = 2.0  # the bound given to the command
SLACK = 8.0  # the interpreter's start-up, a second call in parallel, and the write


@pytest.fixture
def drip() -> Iterator[Dripping]:
    server = Dripping(interval=0.2)  # well inside the 1 s read timeout: it never fires
    yield server
    server.close()


def run(
    args: list[str], tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [ecrscan_command(), "--connect-timeout", "1", "--read-timeout", "1", *args],
        env=isolated_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, time.monotonic() - started


@pytest.mark.parametrize("command", [["repos"], ["rescan"], ["report"]])
def test_a_dripping_endpoint_fails_the_run_within_the_call_timeout(
    command: list[str], drip: Dripping, tmp_path: Path
) -> None:
    proc, took = run(["--call-timeout", str(CALL), *command], tmp_path, AWS_ENDPOINT_URL=drip.url)
    assert proc.returncode == 3, proc.stderr
    assert drip.requests >= 1
    assert took < CALL + SLACK, f"{took:.1f}s"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ecrscan: error: ") and drip.url in lines[0]
    assert "call timeout of 2 s" in lines[0]


def test_the_environment_variable_sets_the_bound(drip: Dripping, tmp_path: Path) -> None:
    proc, took = run(["repos"], tmp_path, AWS_ENDPOINT_URL=drip.url, ECRSCAN_CALL_TIMEOUT=str(CALL))
    assert proc.returncode == 3, proc.stderr
    assert took < CALL + SLACK, f"{took:.1f}s"
    assert "call timeout of 2 s" in proc.stderr


def test_the_bound_after_the_command_counts_too(drip: Dripping, tmp_path: Path) -> None:
    proc, took = run(["repos", "--call-timeout", str(CALL)], tmp_path, AWS_ENDPOINT_URL=drip.url)
    assert proc.returncode == 3, proc.stderr
    assert took < CALL + SLACK, f"{took:.1f}s"
    assert "call timeout of 2 s" in proc.stderr
