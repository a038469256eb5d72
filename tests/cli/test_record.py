"""Every run leaves a true record: an empty scope is never written down as a pass, and
the output file is checked before any AWS call and written whole or not at all."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.cli.output import write_atomically
from tests.support.cli_sessions import Sessions, no_aws
from tests.support.env import REGION
from tests.support.fakes import quick_registry
from tests.support.registry import FakeRegistry


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    registry = quick_registry(REGION)
    registry.create_repo("team/api")
    digest = registry.push("team/api", "v1")
    registry.set_scan("team/api", digest, counts={})
    return registry


def invoke(args: list[str], obj: AppContext | None = None) -> Result:
    return CliRunner().invoke(cli, args, obj=obj or AppContext(session_factory=Sessions()))


# -- an empty scope is not a pass -----------------------------------------------------------


def test_report_with_an_empty_scope_says_so_in_every_format(registry: FakeRegistry) -> None:
    base = ["report", "--filter", "^nomatch"]
    result = invoke([*base, "--format", "json"])
    assert result.exit_code == 3
    assert "nothing to report" in result.stderr and "--allow-empty" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["complete"] is False and doc["exit_code"] == 3
    assert "nothing to report" in doc["reason"] and "not a pass" in doc["reason"]

    sarif = json.loads(invoke([*base, "--format", "sarif"]).stdout)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert any(
        "nothing to report" in n["message"]["text"]
        for n in invocation["toolExecutionNotifications"]
    )

    junit = ET.fromstring(invoke([*base, "--format", "junit"]).stdout)
    assert junit.get("errors") == "1" and junit.get("tests") == "1"
    error = junit.find("./testsuite/testcase/error")
    assert error is not None and "nothing to report" in (error.get("message") or "")

    markdown = invoke([*base, "--format", "markdown"]).stdout.splitlines()[0]
    assert markdown.startswith("## ⚠️") and "not a pass" in markdown
    table = " ".join(invoke([*base, "--format", "table"]).stdout.split())
    assert "nothing to report" in table and "not a pass" in table and "within" not in table


def test_report_pulled_within_leaving_nothing_is_not_a_pass(registry: FakeRegistry) -> None:
    result = invoke(["report", "--pulled-within", "1d", "--format", "json"])  # never pulled
    assert result.exit_code == 3
    assert json.loads(result.stdout)["complete"] is False


def test_allow_empty_accepts_an_empty_report(registry: FakeRegistry) -> None:
    result = invoke(["report", "--filter", "^nomatch", "--allow-empty", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["complete"] is True and doc["reason"] is None and doc["exit_code"] == 0
    table = invoke(["report", "--filter", "^nomatch", "--allow-empty"])
    assert table.exit_code == 0 and "accepted with --allow-empty" in " ".join(table.stdout.split())


def test_rescan_with_an_empty_scope_exits_3(registry: FakeRegistry) -> None:
    result = invoke(["rescan", "--filter", "nomatch", "--format", "json"])
    assert result.exit_code == 3
    assert "nothing to rescan" in result.stderr and "--allow-empty" in result.stderr
    doc = json.loads(result.stdout)
    assert doc["complete"] is False and "nothing to rescan" in doc["reason"]
    table = invoke(["rescan", "--filter", "nomatch"])
    assert table.exit_code == 3 and "not a pass" in table.stdout


def test_rescan_allow_empty_exits_0(registry: FakeRegistry) -> None:
    result = invoke(["rescan", "--filter", "nomatch", "--allow-empty", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["complete"] is True
    env = invoke(["rescan", "--filter", "nomatch"], AppContext(session_factory=Sessions()))
    assert env.exit_code == 3


def test_rescan_of_a_non_empty_scope_is_complete(registry: FakeRegistry) -> None:
    result = invoke(["rescan", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["complete"] is True and doc["reason"] is None


# -- the output file --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("", "empty path"),
        (" ", "empty path"),
        ("{tmp}", "is a directory"),
        ("/proc/ecrscan.json", "cannot write in '/proc'"),
        ("{tmp}/missing/out.json", "does not exist"),
    ],
)
@pytest.mark.parametrize("command", ["rescan", "report", "repos"])
def test_the_output_is_checked_before_any_aws_call(
    command: str, output: str, message: str, tmp_path: Path
) -> None:
    result = invoke(
        [command, "--output", output.format(tmp=tmp_path)], AppContext(session_factory=no_aws)
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "--output" in result.stderr
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


def test_dash_means_stdout(registry: FakeRegistry, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["repos", "--format", "json", "-o", "-"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["count"] == 1
    assert list(tmp_path.iterdir()) == []  # no file named "-"


def test_a_failed_run_leaves_the_old_file(registry: FakeRegistry, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("previous report\n")
    result = invoke(["report", "--filter", "^nomatch", "--format", "json", "-o", str(out)])
    assert result.exit_code == 3
    # the empty report is the new record (written whole), never half of one
    assert json.loads(out.read_text())["complete"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old\n")
    out.chmod(0o640)

    class Broken:
        def __rich_console__(self, console: Any, options: Any) -> Any:
            raise RuntimeError("renderer broke half way")

    with pytest.raises(RuntimeError):
        write_atomically(out, Broken())
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary left over

    write_atomically(out, "new\n")
    assert out.read_text() == "new\n"
    assert out.stat().st_mode & 0o777 == 0o640  # the file keeps its permissions


# -- output nodes, links and names (issue 18) --------------------------------------------------


def _read_in_background(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as stream:  # blocks until the writer opens the FIFO
            received.append(stream.read())

    reader = threading.Thread(target=read, daemon=True)  # a replaced FIFO never opens
    reader.start()
    return reader, received


@pytest.mark.parametrize("via_link", [False, True], ids=["fifo", "link-to-fifo"])
def test_a_fifo_output_is_written_through_not_replaced(
    registry: FakeRegistry, tmp_path: Path, via_link: bool
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    out = fifo
    if via_link:  # as /dev/stdout is a link to the process's pipe
        out = tmp_path / "stdout"
        out.symlink_to(fifo)
    reader, received = _read_in_background(fifo)
    result = invoke(["repos", "--format", "json", "-o", str(out)])
    reader.join(timeout=10)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO, not a regular file
    assert not via_link or out.is_symlink()
    assert json.loads(received[0])["count"] == 1  # the whole document went through
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({fifo.name, out.name})


def test_a_symlink_output_writes_its_target_and_stays_a_link(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    (tmp_path / "records").mkdir()
    target = tmp_path / "records" / "report.json"
    target.write_text("previous report\n")
    target.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to("records/report.json")
    result = invoke(["repos", "--format", "json", "-o", str(link)])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == "records/report.json"
    assert json.loads(target.read_text())["count"] == 1  # the target holds the new record
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temporary left


def test_a_dangling_symlink_output_creates_its_target(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    link = tmp_path / "latest.json"
    link.symlink_to("report.json")
    result = invoke(["repos", "--format", "json", "-o", str(link)])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert json.loads((tmp_path / "report.json").read_text())["count"] == 1


def test_a_socket_output_is_refused_before_any_aws_call(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a short relative name: AF_UNIX paths are limited
    with socket.socket(socket.AF_UNIX) as server:
        server.bind("ecrscan.sock")
        result = invoke(["repos", "-o", "ecrscan.sock"], AppContext(session_factory=no_aws))
        assert result.exit_code == 2, result.output
        assert "is a socket" in result.stderr and "--output" in result.stderr
        assert stat.S_ISSOCK(os.lstat("ecrscan.sock").st_mode)


@pytest.mark.parametrize("length", [246, 250, 255])
def test_a_long_output_name_that_fits_is_written(
    registry: FakeRegistry, tmp_path: Path, length: int
) -> None:
    out = tmp_path / ("r" * (length - 5) + ".json")
    result = invoke(["repos", "--format", "json", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert json.loads(out.read_text())["count"] == 1
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


@pytest.mark.parametrize(
    ("name", "message"),
    [("r" * 256, "name too long"), ("é" * 128, "name too long")],  # 256 bytes in UTF-8
    ids=["256-chars", "256-bytes"],
)
def test_an_output_name_over_the_limit_is_a_usage_error(
    tmp_path: Path, name: str, message: str
) -> None:
    result = invoke(["repos", "-o", str(tmp_path / name)], AppContext(session_factory=no_aws))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "255" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_output_name_over_the_limit_is_one_line_from_the_command(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ECRSCAN_")}
    environment.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_MAX_ATTEMPTS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "ecrscan", "rescan", "-o", str(tmp_path / ("r" * 300))],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr  # not an internal error (3)
    assert proc.stderr.startswith("ecrscan: usage error: ") and "name too long" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_an_output_under_a_directory_that_cannot_be_entered_is_a_usage_error(
    tmp_path: Path,
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root can enter any directory")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o600)  # readable and writable, not searchable
    try:
        result = invoke(
            ["repos", "-o", str(locked / "out.json")], AppContext(session_factory=no_aws)
        )
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2, result.output
    assert "permission denied" in result.stderr.lower() and "--output" in result.stderr
    assert list(locked.iterdir()) == []


def test_a_path_the_system_refuses_to_look_at_is_a_usage_error(tmp_path: Path, monkeypatch) -> None:
    # what a user who cannot enter a directory meets (root can: simulate the refusal)
    def refuse(path: Any, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "stat", refuse)
    result = invoke(
        ["repos", "-o", str(tmp_path / "locked" / "out.json")],
        AppContext(session_factory=no_aws),
    )
    monkeypatch.undo()
    assert result.exit_code == 2, result.output
    assert "Permission denied" in result.stderr and "--output" in result.stderr


def test_a_pipe_behind_a_proc_link_is_written_through(registry: FakeRegistry) -> None:
    # /dev/stdout in a pipeline: a link to /proc/self/fd/1, whose target "pipe:[N]" is no path
    read_end, write_end = os.pipe()
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(os.fdopen(read_end, "rb").read()))
    reader.start()
    try:
        result = invoke(["repos", "--format", "json", "-o", f"/proc/self/fd/{write_end}"])
    finally:
        os.close(write_end)
        reader.join(timeout=10)
    assert result.exit_code == 0, result.stderr
    assert json.loads(received[0])["count"] == 1
