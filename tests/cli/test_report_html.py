"""``report --format html`` and ``scan --format html`` through Click's CliRunner: the
page lists the findings (read without --details), goes to a file or a pipe, and is
refused on a terminal before any AWS call."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecrscan.cli import output
from ecrscan.cli.app import AppContext
from tests.support.cli_report import CountingSessions, image, invoke
from tests.support.registry import FakeRegistry


def finding(cve: str, severity: str) -> dict[str, object]:
    return {
        "name": cve,
        "severity": severity,
        "uri": f"https://nvd.example/{cve}",
        "attributes": [
            {"key": "package_name", "value": "openssl"},
            {"key": "package_version", "value": "1.0"},
        ],
    }


def test_html_to_a_file_lists_the_findings(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", {"HIGH": 1}, findings=[finding("CVE-2024-1", "HIGH")])
    page = tmp_path / "r.html"
    result = invoke(["report", "--format", "html", "-o", str(page)])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.endswith("</html>\n")
    # the findings were read without --details, and link to their own URI
    assert '<a href="https://nvd.example/CVE-2024-1" rel="noopener noreferrer">' in text
    assert "1 of 1 image breaches thresholds" in text


def test_html_from_the_environment_to_a_pipe(registry: FakeRegistry) -> None:
    image(registry, "app", "v1", {}, findings=[])
    result = invoke(["report"], env={"ECRSCAN_REPORT_FORMAT": "html"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>")  # CliRunner's stdout is no terminal


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["report", "--format", "html"], {}),
        (["report"], {"ECRSCAN_REPORT_FORMAT": "html"}),
        (["report", "--format", "html", "-o", "-"], {}),
        (["scan", "app:v1", "--format", "html"], {}),
    ],
)
def test_html_on_a_terminal_is_a_usage_error_before_any_call(
    args: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    sessions = CountingSessions()
    result = invoke(args, env=env, app=AppContext(session_factory=sessions))
    assert result.exit_code == 2, result.output
    assert "--format html writes a page for a browser, not for a terminal" in result.stderr
    assert "-o FILE" in result.stderr
    assert sessions.created == 0


def test_html_with_a_file_on_a_terminal_is_fine(
    registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    image(registry, "app", "v1", {}, findings=[])
    page = tmp_path / "r.html"
    result = invoke(["report", "--format", "html", "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert "<svg" in page.read_text()


def test_other_formats_on_a_terminal_are_untouched(
    registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    image(registry, "app", "v1", {}, findings=[])
    assert invoke(["report", "--format", "csv"]).exit_code == 0


def test_event_refuses_html_as_it_lists_findings(tmp_path: Path) -> None:
    sessions = CountingSessions()
    event = tmp_path / "event.json"
    event.write_text("{}")
    result = invoke(
        ["report", "--event", str(event), "--format", "html"],
        app=AppContext(session_factory=sessions),
    )
    assert result.exit_code == 2, result.output
    assert "--format html lists findings, which an event does not carry" in result.stderr
    assert sessions.created == 0


@pytest.mark.parametrize("command", ["report", "scan"])
def test_help_lists_html_on_the_format_line(command: str) -> None:
    lines = invoke([command, "--help"], env={"COLUMNS": "80"}).output.splitlines()
    line = next(line for line in lines if line.lstrip().startswith("--format FORMAT"))
    assert line.endswith("|csv|html.") and len(line) <= 80
