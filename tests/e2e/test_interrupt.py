"""SIGINT and SIGTERM leave a true record: the installed command, stopped in the middle of a
slow rescan against moto's server, writes every scan it started (compared with the scans
the server saw) and every image it did not reach, then exits 3; a second signal exits at
once.  Each signal is sent once the run is where the test means to stop it: the server
has seen the calls, or the command has written the line that says so on stderr."""

from __future__ import annotations

import array
import fcntl
import json
import re
import signal
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.ecr.models import ECRBackend

from tests.support.env import ecrscan_command, isolated_env
from tests.support.registry import FakeRegistry

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out

REPOSITORIES = ("team/api", "team/web", "infra/db")
IMAGES_PER_REPOSITORY = 15
SCAN_LATENCY = 0.25  # seconds the server takes per StartImageScan


@pytest.fixture
def slow_registry(server_registry: FakeRegistry, monkeypatch) -> Iterator[Any]:
    """45 never-scanned images; the server answers StartImageScan after a delay, and
    applies it only then (so an answered call and a started scan are the same).  Yields
    the registry, the digests whose scans started and the delay of each call received."""
    registry = server_registry
    for repo in REPOSITORIES:
        registry.create_repo(repo)
        for n in range(IMAGES_PER_REPOSITORY):
            registry.push(repo, f"v{n}")
    real = ECRBackend.start_image_scan
    lock = threading.Lock()
    started: list[str] = []
    received: list[float] = []

    def slow_start(self: ECRBackend, *args: Any, **kwargs: Any) -> dict[str, Any]:
        latency = SCAN_LATENCY
        received.append(latency)
        time.sleep(latency)
        response = real(self, *args, **kwargs)
        with lock:
            started.append(response["imageId"]["imageDigest"])
        return response

    monkeypatch.setattr(ECRBackend, "start_image_scan", slow_start)
    yield registry, started, received


def scanned_on_server(registry: FakeRegistry) -> set[str]:
    return {
        image.image_digest
        for repo in REPOSITORIES
        for image in registry.backend.repositories[repo].images
        if image.last_scan is not None
    }


class Running:
    """The installed command in the background, its output read as it comes, so that a
    test can wait for the stderr line that shows where the run is."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [ecrscan_command(), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._err_closed = False
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, pipe: Any, lines: list[str]) -> None:
        for line in pipe:
            with self._changed:
                lines.append(line)
                self._changed.notify_all()
        if lines is self.err:
            with self._changed:
                self._err_closed = True
                self._changed.notify_all()

    def wait_for_line(self, text: str, timeout: float = 30) -> None:
        """Until a line on stderr contains ``text``; fails after ``timeout`` seconds or
        when stderr closes without it."""

        def seen() -> bool:
            return any(text in line for line in self.err)

        with self._changed:
            self._changed.wait_for(lambda: seen() or self._err_closed, timeout)
            assert seen(), f"no {text!r} on stderr within {timeout:g} s:\n" + "".join(self.err)

    def finish(self, timeout: float) -> tuple[str, str]:
        """Wait for the exit (killing the command if it outlives ``timeout``); stdout and
        stderr."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for reader in self._readers:
            reader.join(timeout=10)
        return "".join(self.out), "".join(self.err)


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"{what} within {timeout:g} s"
        time.sleep(0.05)


def wait_for_scans(started: list[str], at_least: int, timeout: float = 30) -> None:
    wait_until(lambda: len(started) >= at_least, "the rescan never started scanning", timeout)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_writes_the_partial_record(
    slow_registry, server_env: dict[str, str], signum: int
) -> None:
    registry, started, _ = slow_registry
    run = Running(["rescan", "--format", "json", "--concurrency", "2"], server_env)
    wait_for_scans(started, 4)
    signalled = time.monotonic()
    run.proc.send_signal(signum)
    out, err = run.finish(timeout=60)
    took = time.monotonic() - signalled

    assert run.proc.returncode == 3, err
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
    assert_the_line_counts_the_record(err, doc, name)


def assert_the_line_counts_the_record(err: str, doc: dict[str, Any], name: str) -> None:
    """The stderr line of an interrupted rescan gives the record's own counts, in its
    own words: started, due but not started, not checked (a missing part is 0)."""
    line = next(
        x for x in err.splitlines() if x.startswith(f"ecrscan: error: interrupted by {name}")
    )
    images = doc["images"]
    left = [i for i in images if i["outcome"] == "not_started"]
    record = {
        "started": sum(1 for i in images if i["outcome"] == "started"),
        "due but not started": sum(1 for i in left if i["decision"] == "due"),
        "not checked": sum(1 for i in left if i["decision"] != "due"),
    }
    said = {}
    for words in record:
        found = re.search(rf"(\d+) (?:scans?|images?) {words}\b", line)
        said[words] = int(found.group(1)) if found else 0
    assert said == record, line
    assert record["not checked"] > 0 or record["due but not started"] > 0


def test_a_second_signal_exits_at_once(
    slow_registry, server_env: dict[str, str], monkeypatch
) -> None:
    _, started, received = slow_registry
    run = Running(["rescan", "--format", "json", "--concurrency", "1"], server_env)
    wait_for_scans(started, 1)
    monkeypatch.setattr(sys.modules[__name__], "SCAN_LATENCY", 4.0)
    wait_until(lambda: 4.0 in received, "no StartImageScan in flight for 4 s")
    run.proc.send_signal(signal.SIGINT)
    run.wait_for_line("ecrscan: SIGINT: starting nothing new")
    signalled = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    out, err = run.finish(timeout=30)
    assert time.monotonic() - signalled < 2
    assert run.proc.returncode == 130, err
    assert "SIGINT again: exiting now" in err
    assert out == ""


def test_report_wait_stops_polling_and_reports_what_it_has(
    slow_registry, server_env: dict[str, str]
) -> None:
    registry, _, _ = slow_registry
    digest = registry.push("team/api", "new")
    registry.set_scan("team/api", digest, status="IN_PROGRESS")
    run = Running(
        ["report", "--image", "team/api:new", "--wait", "--timeout", "10min", "--format", "json"],
        server_env,
    )
    run.wait_for_line("ecrscan: team/api:new IN_PROGRESS")  # waiting for the scan
    signalled = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    out, err = run.finish(timeout=30)
    assert run.proc.returncode == 3, err
    assert time.monotonic() - signalled < 5
    doc = json.loads(out)
    assert doc["complete"] is False and "interrupted by SIGTERM" in doc["reason"]
    assert [i["status"] for i in doc["images"]] == ["pending"]


def test_a_signal_during_the_final_write_leaves_the_whole_record(
    server_registry: FakeRegistry, server_env: dict[str, str]
) -> None:
    """The record (~150 KB) fills the pipe, the reader waits until the command is blocked
    writing, then SIGINT: the record still arrives whole, and the exit code is its own."""
    for repo in range(6):
        server_registry.create_repo(f"team/service-{repo}")
        for n in range(50):
            server_registry.push(f"team/service-{repo}", f"v{n}")
    env = {**server_env, "PYTHONUNBUFFERED": "1"}  # the container's setting
    proc = subprocess.Popen(
        [ecrscan_command(), "rescan", "--dry-run", "--format", "json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None

    def pipe_full() -> bool:
        waiting = array.array("i", [0])
        fcntl.ioctl(proc.stdout, termios.FIONREAD, waiting)
        return waiting[0] >= 65536 or proc.poll() is not None

    wait_until(pipe_full, "the record never filled the pipe", timeout=60)
    assert proc.poll() is None, "the command finished before the test could signal it"
    time.sleep(0.2)  # blocked in the write
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    doc = json.loads(out)
    assert len(doc["images"]) == 300
    assert proc.returncode == doc["exit_code"], err.decode()
    assert b"ecrscan: SIGINT: the record is being written: it is finished first" in err


def caught_signals(pid: int) -> int:
    """The mask of signals ``pid`` has handlers for (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16)
    except FileNotFoundError:
        pass
    return 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_start_up_exits_with_one_line(tmp_path, signum: int) -> None:
    """Sent as soon as the command handles SIGTERM (its first act), while it is still
    importing: one line on stderr, no traceback, exit 128 + the signal, nothing written."""
    proc = subprocess.Popen(
        [ecrscan_command(), "repos", "--format", "json"],
        env=isolated_env(tmp_path, AWS_ENDPOINT_URL="http://127.0.0.1:9"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sigterm = 1 << (signal.SIGTERM - 1)
    wait_until(
        lambda: bool(caught_signals(proc.pid) & sigterm) or proc.poll() is not None,
        "the command never handled SIGTERM",
        timeout=10,
    )
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    name = signal.Signals(signum).name
    assert err == f"ecrscan: {name} before the run started: exiting, nothing was done\n"
    assert proc.returncode == 128 + signum
    assert out == ""
