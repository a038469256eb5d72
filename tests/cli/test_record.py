"""Every run leaves a true record: an empty scope is never written down as a pass, and
the output file is checked before any AWS call and written whole or not at all."""

from __future__ import annotations

import json
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
