"""A signal while the record is being written never cuts it.

With an unbuffered stdout (PYTHONUNBUFFERED=1, the container's setting) a pipe write that
a signal interrupts returns after the bytes the pipe took (64 KiB): the text layer used to
drop the rest, so a SIGINT near the end of a run left 65,536 bytes of the record and exit
0.  These tests stand in for the pipe with a raw stream that takes at most 64 KiB a call
and delivers the signal during the first one."""

from __future__ import annotations

import importlib
import io
import json
import os
import signal
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from ecrscan.aws.throttle import Stop
from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.cli.output import emit
from tests.support.cli_sessions import Sessions
from tests.support.registry import FakeRegistry

MAIN = importlib.import_module("ecrscan.cli.main")
PIPE_BUFFER = 65536


class InterruptedPipe(io.RawIOBase):
    """A pipe's write end as a blocked write sees it when a signal arrives: each call
    takes at most 64 KiB; the first one also delivers ``signum`` to this process."""

    def __init__(self, signum: int | None = None) -> None:
        self.received = bytearray()
        self.signum = signum
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.calls += 1
        if self.calls == 1 and self.signum is not None:
            os.kill(os.getpid(), self.signum)
        taken = bytes(data[:PIPE_BUFFER])
        self.received += taken
        return len(taken)


def unbuffered_stdout(pipe: InterruptedPipe) -> io.TextIOWrapper:
    """sys.stdout as Python sets it up with PYTHONUNBUFFERED=1: text straight onto the
    raw stream."""
    return io.TextIOWrapper(pipe, encoding="utf-8", write_through=True)  # type: ignore[arg-type]


def big_record() -> str:
    images = [{"repository": "team/api", "digest": f"sha256:{n:064x}"} for n in range(3000)]
    return json.dumps({"images": images, "exit_code": 0}, indent=2) + "\n"


def test_a_record_larger_than_the_pipe_is_written_whole(monkeypatch) -> None:
    pipe = InterruptedPipe()
    monkeypatch.setattr(sys, "stdout", unbuffered_stdout(pipe))
    record = big_record()
    assert len(record) > 3 * PIPE_BUFFER
    emit(None, record)
    assert len(pipe.received) == len(record)
    assert pipe.received.decode() == record


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_during_the_write_does_not_cut_the_record(
    monkeypatch, capfd, signum: int
) -> None:
    pipe = InterruptedPipe(signum)
    monkeypatch.setattr(sys, "stdout", unbuffered_stdout(pipe))
    record = big_record()
    app = AppContext()
    with MAIN._stop_on_signals(app):
        emit(None, record)
    assert app.stop.is_set()  # the handler ran, during the write
    assert len(pipe.received) == len(record)
    assert pipe.received.decode() == record
    assert json.loads(pipe.received)["exit_code"] == 0
    name = signal.Signals(signum).name
    said = f"ecrscan: {name}: the record is being written: it is finished first"
    assert said in capfd.readouterr().err


# -- an interrupted scan keeps what it did ----------------------------------------------

REPOSITORIES = ("team/api", "team/web", "team/db", "team/mq")


def test_an_interrupted_scan_records_every_scan_it_started(registry: FakeRegistry) -> None:
    """SIGINT once the third scan is started: those three images are in the record with
    their digests, pending (the scan this run started), and the fourth, which the run
    never reached, is the only one "not read: interrupted"."""
    digests = {}
    for name in REPOSITORIES:
        registry.create_repo(name)
        digests[name] = registry.push(name, "v1")
    stop, sessions = Stop(), Sessions()
    sent: list[str] = []

    def on_start(params: dict[str, Any], **_: Any) -> None:
        sent.append(params["imageId"]["imageDigest"])
        if len(sent) == 3:
            stop.set("SIGINT")

    sessions.hooks.append(("provide-client-params.ecr.StartImageScan", on_start))
    app = AppContext(session_factory=sessions, stop=stop)
    refs = [f"{name}:v1" for name in REPOSITORIES]
    result = CliRunner().invoke(
        cli, ["scan", *refs, "--concurrency", "1", "--format", "json"], obj=app
    )

    document = json.loads(result.stdout)
    assert result.exit_code == document["exit_code"] == 3, result.stderr
    assert document["reason"] == "interrupted by SIGINT: a partial record"
    images = {i["reference"]: i for i in document["images"]}
    assert sorted(images) == sorted(refs)
    started = {r: i for r, i in images.items() if i["status"] == "pending"}
    assert len(started) == 3
    for reference, image in started.items():
        assert image["digest"] == digests[reference.split(":")[0]]
        assert image["scan_status"] == "IN_PROGRESS"
        assert image["error"] is None
    assert {i["digest"] for i in started.values()} == set(sent)
    [rest] = [i for r, i in images.items() if r not in started]
    assert rest["status"] == "error"
    assert rest["error"] == {"code": "Interrupted", "message": "not read: interrupted"}
    scanned = {
        image.image_digest
        for name in REPOSITORIES
        for image in registry.backend.repositories[name].images
        if image.last_scan is not None
    }
    assert scanned == set(sent)  # the record names exactly the scans the server saw


def test_an_interrupted_scan_keeps_the_state_it_read(registry: FakeRegistry) -> None:
    """With --expiry, an image scanned an hour ago is not scanned again: the state read
    (one HIGH finding) is judged in the record even though the stop came before the
    report could read anything; the interrupt still makes the run exit 3."""
    registry.create_repo("team/api")
    fresh = registry.push("team/api", "v1")
    registry.set_scan(
        "team/api", fresh, completed_at=datetime.now(UTC) - timedelta(hours=1), counts={"HIGH": 1}
    )
    registry.create_repo("team/web")
    started = registry.push("team/web", "v1")
    stop, sessions = Stop(), Sessions()
    sessions.hooks.append(
        ("provide-client-params.ecr.StartImageScan", lambda **_: stop.set("SIGTERM"))
    )
    app = AppContext(session_factory=sessions, stop=stop)
    refs = ["team/api:v1", "team/web:v1"]
    args = ["scan", *refs, "--expiry", "7d", "--concurrency", "1", "--format", "json"]
    result = CliRunner().invoke(cli, args, obj=app)

    document = json.loads(result.stdout)
    assert result.exit_code == document["exit_code"] == 3, result.stderr
    images = {i["reference"]: i for i in document["images"]}
    assert images["team/api:v1"]["digest"] == fresh
    assert images["team/api:v1"]["status"] == "breach"
    assert images["team/api:v1"]["counts"]["HIGH"] == 1
    assert images["team/api:v1"]["scan_status"] == "COMPLETE"
    assert images["team/web:v1"]["digest"] == started
    assert images["team/web:v1"]["status"] == "pending"
