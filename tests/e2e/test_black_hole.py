"""An endpoint that accepts connections and never answers fails the run in bounded time,
with one line naming the endpoint (the bound with the default timeouts is documented:
3 x (5 s + 30 s) plus backoff; here the timeouts are shortened to keep the test fast)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecrscan.aws.clients import DEFAULT_TIMEOUTS, READ_ATTEMPTS, Timeouts
from tests.support.env import ecrscan_command, isolated_env
from tests.support.listener import Listener

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out


@pytest.fixture
def black_hole() -> Iterator[Listener]:
    hole = Listener(hold=True)
    yield hole
    hole.close()


def run(
    args: list[str], url: str, tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = isolated_env(tmp_path, AWS_ENDPOINT_URL=url)
    started = time.monotonic()
    proc = subprocess.run(
        [ecrscan_command(), "--connect-timeout", "1", "--read-timeout", "1", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc, time.monotonic() - started


@pytest.mark.parametrize("command", [["repos"], ["rescan"], ["report"]])
def test_a_black_hole_fails_in_bounded_time_naming_the_endpoint(
    command: list[str], black_hole: Listener, tmp_path: Path
) -> None:
    proc, took = run(command, black_hole.url, tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert black_hole.connections == READ_ATTEMPTS  # the first call, each attempt, no more
    bound = Timeouts(connect=1, read=1).bound()  # 3 attempts of 1 + 1 s, and backoff
    assert took < bound + 5, f"{took:.1f}s"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ecrscan: error: ") and black_hole.url in lines[0]
    assert "timeout" in lines[0].lower()


def test_the_documented_bound_of_the_defaults() -> None:
    assert READ_ATTEMPTS == 3
    assert Timeouts(connect=5.0, read=30.0) == DEFAULT_TIMEOUTS
    assert DEFAULT_TIMEOUTS.bound() == 3 * 35 + 1 + 2 == 108  # under two minutes
