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

import pytest

from ecrscan.cli.app import AppContext
from ecrscan.cli.output import emit

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
    assert f"ecrscan: {name}" in capfd.readouterr().err
