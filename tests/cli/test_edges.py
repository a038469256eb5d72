"""The edges a new user hits: global options after the command, errors that name the
environment variable behind them, a shared format variable, the dry-run plan, tables at
80 columns, output filters, progress lines without a terminal, shell completion."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.cli.progress import WaitLines, span
from ecrscan.core.model import Finding, Image, ScanState
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds
from ecrscan.engine.inspect import ImageInspector, Subject
from ecrscan.engine.wait import WaitUpdate
from ecrscan.render.formats import Format, render
from tests.support.cli_sessions import Sessions, no_aws
from tests.support.env import REGION
from tests.support.fakes import FakeTime, quick_registry
from tests.support.registry import FakeRegistry
from tests.support.report_samples import NOW, digest, sample_result


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    registry = quick_registry(REGION)
    for repo in ("team/api", "team/web"):
        registry.create_repo(repo)
    registry.push("team/api", "v1")  # never scanned: due
    clean = registry.push("team/web", "v1")
    registry.set_scan("team/web", clean, counts={}, completed_at=datetime.now(UTC))
    return registry


def invoke(args: list[str], env: dict[str, str] | None = None, app: AppContext | None = None):
    app = app or AppContext(session_factory=Sessions())
    return CliRunner().invoke(cli, args, obj=app, env=env or {}), app


# -- global options after the command -------------------------------------------------------


def test_global_options_work_after_the_command(registry: FakeRegistry) -> None:
    result, app = invoke(["repos", "--region", "eu-west-1", "-q", "--read-timeout", "7"])
    assert app.region == "eu-west-1" and app.quiet and app.timeouts.read == 7
    result, app = invoke(["report", "-q", "--connect-timeout", "2", "--format", "json"])
    assert result.exit_code == 3 and app.quiet and app.timeouts.connect == 2  # a scan missing
    assert result.stderr.startswith("ecrscan: error: incomplete audit")  # -q: no notices
    result, app = invoke(["rescan", "--profile", "ci", "--dry-run"], app=AppContext(no_aws))
    assert app.profile == "ci"
    result, app = invoke(["-v", "rescan", "-v", "--dry-run"])
    assert app.verbose == 2
    for command in (["repos"], ["scan", "team/api:v1"]):
        twice, _ = invoke([*command, "--region", "eu-west-1", "--region", "us-east-1"])
        assert twice.exit_code == 2 and "give --region once" in twice.stderr
    result, app = invoke(["scan", "team/api:v1", "--region", "eu-west-1", "-q"])
    assert app.region == "eu-west-1" and result.exit_code == 3  # no such image there
    assert "team/api:v1" in result.stderr


def test_an_endpoint_after_the_command_is_checked(registry: FakeRegistry) -> None:
    result, _ = invoke(["repos", "--endpoint-url", "notaurl"], app=AppContext(no_aws))
    assert result.exit_code == 2 and "is not a URL" in result.stderr


# -- errors name the environment variable behind them ---------------------------------------


def run_main(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ECRSCAN_")}
    environment.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_MAX_ATTEMPTS="1")
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "ecrscan", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "args", "variable"),
    [
        ({"ECRSCAN_CONCURRENCY": "999"}, ["rescan"], "ECRSCAN_CONCURRENCY"),
        ({"ECR_IMAGES_DURATION_DELTA": "30x"}, ["rescan"], "ECR_IMAGES_DURATION_DELTA"),
        ({"ECRSCAN_SCAN_TIMEOUT": "30m"}, ["scan", "team/api:v1"], "ECRSCAN_SCAN_TIMEOUT"),
        ({"AWS_ENDPOINT_URL": "notaurl"}, ["repos"], "AWS_ENDPOINT_URL"),
        ({"ECRSCAN_ACCOUNTS": "^prod-"}, ["rescan"], "ECRSCAN_ACCOUNTS"),
    ],
)
def test_an_error_from_a_variable_names_it(env, args, variable) -> None:
    proc = run_main(args, env)
    assert proc.returncode == 2
    assert f"(set by the environment variable {variable})" in proc.stderr


def test_an_error_from_the_command_line_names_no_variable() -> None:
    proc = run_main(["rescan", "--concurrency", "999"], {"ECRSCAN_CONCURRENCY": "4"})
    assert proc.returncode == 2 and "environment variable" not in proc.stderr


def test_a_shared_format_a_command_cannot_write_is_passed_over(registry: FakeRegistry) -> None:
    result, _ = invoke(["rescan", "--dry-run"], env={"ECRSCAN_FORMAT": "markdown"})
    assert result.exit_code == 0, result.stderr
    assert "ECRSCAN_FORMAT=markdown does not apply to rescan (table, json): using table" in (
        result.stderr
    )
    assert "ecrscan dry run" in result.stdout
    quiet, _ = invoke(["rescan", "--dry-run", "-q"], env={"ECRSCAN_FORMAT": "markdown"})
    assert quiet.exit_code == 0 and "does not apply" not in quiet.stderr  # -q: no notices
    own, _ = invoke(["rescan", "--dry-run"], env={"ECRSCAN_RESCAN_FORMAT": "markdown"})
    assert own.exit_code == 2  # the command's own variable must name a format it writes
    report, _ = invoke(["report", "--format", "json"], env={"ECRSCAN_FORMAT": "markdown"})
    assert report.stdout.startswith("{")  # the command line wins over any variable


# -- durations as understood; the dry-run plan ------------------------------------------------


def test_dry_run_lists_the_plan_with_reasons(registry: FakeRegistry) -> None:
    result, _ = invoke(["rescan", "--dry-run", "--expiry", "1mo2w"])
    assert result.exit_code == 0, result.stderr
    assert "expiry 1mo2w (1 month, 2 weeks)" in result.stdout
    assert "would scan 1 image" in result.stdout
    plan = result.stdout.split("would scan 1 image", 1)[1]
    assert "team/api:v1" in plan and "never scanned" in plan and "team/web" not in plan


def test_timeout_in_m_gets_a_hint(registry: FakeRegistry) -> None:
    result, _ = invoke(["report", "--wait", "--timeout", "30m"], app=AppContext(no_aws))
    assert result.exit_code == 2 and "write min for minutes (e.g. 30min)" in result.stderr


# -- tables at 80 columns -------------------------------------------------------------------


def printed(renderable, width: int) -> list[str]:
    console = Console(width=width, file=io.StringIO(), color_system=None, record=True)
    console.print(renderable)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 100, 160])
def test_the_report_table_fits_and_cuts_no_name(width: int) -> None:
    lines = printed(render(Format.TABLE, sample_result()), width)
    table_lines = [line for line in lines if line.startswith(("┃", "│", "┏", "┡", "└", "├"))]
    assert all(len(line) <= width for line in table_lines)
    assert not any("…" in line for line in table_lines)  # nothing cut short
    text = "\n".join(lines)
    for name in ("team/api:1.4.2", "team/web:2.0", "team/worker:stable", "CVE-2024-1111"):
        assert name in text
    assert "breach: CRITICAL 1 > 0, HIGH 2 > 0" in text  # the verdict in full, below


def test_the_rescan_table_fits_80_columns(registry: FakeRegistry) -> None:
    result, _ = invoke(["rescan", "--dry-run"], env={"COLUMNS": "80"})
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    assert "…" not in result.stdout


# -- output filters -------------------------------------------------------------------------


def test_only_breaches_and_severity_change_the_listing_not_the_verdict() -> None:
    from ecrscan.core.severity import Severity
    from ecrscan.core.view import DEFAULT_VIEW, View, exit_code

    full = sample_result()
    listed = View(only_breaches=True, min_severity=Severity.HIGH)
    doc = json.loads(render(Format.JSON, full, listed))
    statuses = {i["status"] for i in doc["images"]}
    assert "ok" not in statuses and {"breach", "no_scan", "error"} <= statuses
    assert doc["totals"]["images"] == 5 and doc["exit_code"] == exit_code(full, DEFAULT_VIEW)
    assert doc["listing"] == {"only_breaches": True, "min_severity": "HIGH", "unlisted_images": 2}
    severities = {f["severity"] for i in doc["images"] for f in i["findings"] or ()}
    assert severities <= {"CRITICAL", "HIGH"}
    assert "2 more within thresholds, not listed (--only-breaches)" in render(
        Format.MARKDOWN, full, listed
    )
    sarif = json.loads(render(Format.SARIF, full, listed))
    assert sarif["runs"][0]["properties"]["unlisted"] == 2
    assert "unlisted" not in json.loads(render(Format.SARIF, full))["runs"][0]["properties"]
    junit = render(Format.JUNIT, full, listed)
    assert '<property name="unlisted (within thresholds)" value="2" />' in junit
    assert junit.count("<testcase ") == 3


def test_ignore_unfixed_takes_unfixed_findings_out_of_the_counts() -> None:

    findings = (
        Finding("CVE-1", Severity.HIGH, fix_available="NO", arn="arn:1"),
        Finding("CVE-2", Severity.HIGH, fix_available="YES", arn="arn:2"),
    )
    state = ScanState("ACTIVE", NOW, counts={"HIGH": 2})

    class Gateway:
        region, registry_id = REGION, "123456789012"

        def findings(self, _: object):
            return findings, state

    image = Image("team/api", "123456789012", digest("api"), ("v1",))
    target = Subject(Gateway(), image, (0,))
    judge = ImageInspector(Thresholds().fail_on(Severity.HIGH), (), NOW, read_findings=True)
    assert judge.inspect(target, first=True).counts == {"HIGH": 2}
    unfixed = ImageInspector(
        Thresholds().fail_on(Severity.HIGH), (), NOW, True, ignore_unfixed=True
    )
    report = unfixed.inspect(target, first=True)
    assert report.counts == {"HIGH": 1} and report.raw_counts == {"HIGH": 2}
    assert [f.ignored for f in report.findings] == ["no fix available (--ignore-unfixed)", None]


# -- progress lines without a terminal ------------------------------------------------------


def test_wait_lines_on_change_and_every_30_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeTime()
    lines = WaitLines(enabled=True, clock=fake.clock)
    for waited, status in (
        (0, "NOT FOUND YET"),
        (5, "IN_PROGRESS"),
        (15, "IN_PROGRESS"),
        (35, "IN_PROGRESS"),
        (36, "IN_PROGRESS"),
    ):
        fake.now = 1000.0 + waited
        lines(WaitUpdate("team/api:v1", status, waited, 900 - waited))
    fake.now = 1070.0
    lines(WaitUpdate("team/api:v1", "COMPLETE", 70, 830, done=True))
    assert capsys.readouterr().err.splitlines() == [
        "ecrscan: team/api:v1 NOT FOUND YET 0s, timeout in 15min",
        "ecrscan: team/api:v1 IN_PROGRESS 5s, timeout in 14min",
        "ecrscan: team/api:v1 IN_PROGRESS 35s, timeout in 14min",
        "ecrscan: team/api:v1 COMPLETE after 1min10s",
    ]


def test_wait_lines_are_silent_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    WaitLines(enabled=False)(WaitUpdate("x:1", "IN_PROGRESS", 0, 10))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (45, "45s"), (70, "1min10s"), (840, "14min"), (3900, "1h5min")]
)
def test_span(seconds: float, text: str) -> None:
    assert span(seconds) == text


# -- shell completion ------------------------------------------------------------------------


@pytest.mark.slow
def test_shell_completion_scripts() -> None:
    for shell in ("bash", "zsh", "fish"):
        proc = subprocess.run(
            [sys.executable, "-m", "ecrscan"],
            env={**os.environ, "_ECRSCAN_COMPLETE": f"{shell}_source"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0 and "_ECRSCAN_COMPLETE" in proc.stdout, shell


def result_lines(result: Result) -> list[str]:
    return result.stdout.splitlines()
