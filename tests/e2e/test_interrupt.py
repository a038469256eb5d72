"""SIGINT and SIGTERM leave a true record: the installed command, stopped in the middle of a
slow rescan against moto's server, writes every scan it started (compared with the scans
the server saw) and every image it did not reach, then exits 3; a second signal exits at
once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto.ecr.models import ECRBackend

from tests.conftest import ecrscan_command
from tests.registry import FakeRegistry

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out

REPOSITORIES = ("team/api", "team/web", "infra/db")
IMAGES_PER_REPOSITORY = 15
SCAN_LATENCY = 0.25  # seconds the server takes per StartImageScan


@pytest.fixture
def slow_registry(server_registry: FakeRegistry, monkeypatch) -> Iterator[Any]:
    """45 never-scanned images; the server answers StartImageScan after a delay, and
    applies it only then (so an answered call and a started scan are the same)."""
    registry = server_registry
    for repo in REPOSITORIES:
        registry.create_repo(repo)
        for n in range(IMAGES_PER_REPOSITORY):
            registry.push(repo, f"v{n}")
    real = ECRBackend.start_image_scan
    lock = threading.Lock()
    started: list[str] = []

    def slow_start(self: ECRBackend, *args: Any, **kwargs: Any) -> dict[str, Any]:
        time.sleep(SCAN_LATENCY)
        response = real(self, *args, **kwargs)
        with lock:
            started.append(response["imageId"]["imageDigest"])
        return response

    monkeypatch.setattr(ECRBackend, "start_image_scan", slow_start)
    yield registry, started


def scanned_on_server(registry: FakeRegistry) -> set[str]:
    return {
        image.image_digest
        for repo in REPOSITORIES
        for image in registry.backend.repositories[repo].images
        if image.last_scan is not None
    }


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [ecrscan_command(), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_scans(started: list[str], at_least: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(started) < at_least:
        assert time.monotonic() < deadline, "the rescan never started scanning"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_writes_the_partial_record(
    slow_registry, server_env: dict[str, str], signum: int
) -> None:
    registry, started = slow_registry
    proc = start(["rescan", "--format", "json", "--concurrency", "2"], server_env)
    wait_for_scans(started, 4)
    signalled = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - signalled

    assert proc.returncode == 3, err
    assert took < 10, f"the record took {took:.1f}s after the signal"
    name = signal.Signals(signum).name
    assert f"ecrscan: {name}: starting nothing new" in err
    assert f"interrupted by {name}" in err
    doc = json.loads(out)
    assert doc["complete"] is False and f"interrupted by {name}" in doc["reason"]

    images = doc["images"]
    assert len(images) == len(REPOSITORIES) * IMAGES_PER_REPOSITORY  # every image named
    recorded = {i["digest"] for i in images if i["outcome"] == "started"}
    server = scanned_on_server(registry)
    assert recorded == server == set(started)  # exactly the scans the server saw
    assert 0 < len(recorded) < len(images)
    rest = [i for i in images if i["outcome"] != "started"]
    assert {i["outcome"] for i in rest} == {"not_started"}
    assert all(i["detail"].startswith("interrupted") for i in rest)
    assert doc["totals"]["started"] == len(recorded)
    assert doc["totals"]["not_started"] == len(rest)


def test_a_second_signal_exits_at_once(
    slow_registry, server_env: dict[str, str], monkeypatch
) -> None:
    _, started = slow_registry
    proc = start(["rescan", "--format", "json", "--concurrency", "1"], server_env)
    wait_for_scans(started, 1)
    monkeypatch.setattr(sys.modules[__name__], "SCAN_LATENCY", 4.0)
    time.sleep(0.5)  # the next StartImageScan is now in flight for 4 s
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - signalled < 2
    assert proc.returncode == 130, err
    assert "SIGINT again: exiting now" in err
    assert out == ""


def test_report_wait_stops_polling_and_reports_what_it_has(
    slow_registry, server_env: dict[str, str]
) -> None:
    registry, _ = slow_registry
    digest = registry.push("team/api", "new")
    registry.set_scan("team/api", digest, status="IN_PROGRESS")
    proc = start(
        ["report", "--image", "team/api:new", "--wait", "--timeout", "10min", "--format", "json"],
        server_env,
    )
    time.sleep(2)
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert time.monotonic() - signalled < 5
    doc = json.loads(out)
    assert doc["complete"] is False and "interrupted by SIGTERM" in doc["reason"]
    assert [i["status"] for i in doc["images"]] == ["pending"]
