"""The exit code is decided once, by the result: every command's JSON document carries
``exit_code``, and it is the process's, for every outcome the command can have.  A usage
error (2) and a run that stops before it has a result write no document at all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from ecrscan.aws.throttle import Stop
from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from tests.support.cli_sessions import Sessions
from tests.support.env import REGION
from tests.support.fakes import quick_registry
from tests.support.registry import FakeRegistry

EVENT = Path(__file__).parent.parent / "data" / "ecr-image-scan-complete.json"  # CRITICAL 10


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    """``team/api:v1`` scanned two hours ago with one HIGH finding, ``team/web:v1`` clean,
    ``legacy/app:v1`` never scanned (pushed two days ago: nothing to wait for)."""
    registry = quick_registry(REGION)
    now = datetime.now(UTC)
    for name, counts in (("team/api", {"HIGH": 1}), ("team/web", {}), ("legacy/app", None)):
        registry.create_repo(name)
        digest = registry.push(name, "v1")
        if counts is None:
            registry.set_pushed_at(name, digest, now - timedelta(days=2))
        else:
            registry.set_scan(name, digest, completed_at=now - timedelta(hours=2), counts=counts)
    return registry


def run(args: list[str], app: AppContext | None = None, sessions: Sessions | None = None) -> Result:
    app = app or AppContext(session_factory=sessions or Sessions())
    return CliRunner().invoke(cli, args, obj=app)


def document_code(result: Result) -> int:
    """The JSON document's ``exit_code``, checked against the process's."""
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["exit_code"] == result.exit_code, (document, result.stderr)
    return result.exit_code


def interrupted() -> AppContext:
    """A run that SIGINT stops once it starts reading images."""
    stop, sessions = Stop(), Sessions()
    sessions.hooks.append(("before-call.ecr.DescribeImages", lambda **_: stop.set("SIGINT")))
    return AppContext(session_factory=sessions, stop=stop)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["repos"], 0),
        (["rescan", "--dry-run", "--filter", "^legacy/"], 0),
        (["rescan", "--filter", "^legacy/"], 0),  # its scan started
        (["rescan", "--filter", "^nomatch"], 3),  # an empty scope is not a pass
        (["rescan", "--filter", "^nomatch", "--allow-empty"], 0),
        (["report", "--filter", "^team/web"], 0),
        (["report", "--filter", "^team/"], 1),
        (["report", "--filter", "^team/", "--only-breaches", "--severity", "CRITICAL"], 1),
        (["report"], 3),  # legacy/app never scanned: incomplete, outranks the breach
        (["report", "--filter", "^nomatch"], 3),
        (["report", "--filter", "^nomatch", "--allow-empty"], 0),
        (["report", "--image", "team/web:v1"], 0),
        (["report", "--image", "team/api:v1"], 1),
        (["report", "--image", "team/api:gone"], 3),  # no such image
        (["report", "--event", str(EVENT)], 1),
        (
            [
                "report",
                "--event",
                str(EVENT),
                "--threshold",
                "CRITICAL=10",
                "--threshold",
                "MEDIUM=9",
            ],
            0,
        ),
    ],
)
def test_the_json_exit_code_is_the_processs(
    registry: FakeRegistry, args: list[str], expected: int
) -> None:
    result = run([*args, "--format", "json"])
    assert document_code(result) == expected, result.stderr


def test_a_failed_repository_makes_rescan_and_report_exit_3(registry: FakeRegistry) -> None:
    for command in (["rescan", "--dry-run"], ["report", "--filter", "^team/"]):
        sessions = Sessions()
        sessions.refuse("DescribeImages", "AccessDeniedException", "no", repository="team/web")
        result = run([*command, "--format", "json"], sessions=sessions)
        assert document_code(result) == 3, result.stderr


@pytest.mark.parametrize("command", [["rescan", "--dry-run"], ["report", "--filter", "^team/"]])
def test_an_interrupted_run_writes_exit_code_3(registry: FakeRegistry, command) -> None:
    result = run([*command, "--format", "json"], app=interrupted())
    assert document_code(result) == 3, result.stderr
    document = json.loads(result.stdout)
    assert document["complete"] is False
    assert document["reason"] == "interrupted by SIGINT: a partial record"


def test_a_publish_failure_makes_report_exit_3(registry: FakeRegistry) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:gone"  # never created: SNS refuses
    for command in (["report", "--filter", "^team/web"], ["report", "--event", str(EVENT)]):
        result = run([*command, "--publish-always", "--sns-topic-arn", topic, "--format", "json"])
        assert document_code(result) == 3, result.stderr


def test_a_failed_scan_event_exits_3(registry: FakeRegistry, tmp_path: Path) -> None:
    event = json.loads(EVENT.read_text())
    event["detail"]["scan-status"] = "FAILED"
    failed = tmp_path / "failed.json"
    failed.write_text(json.dumps(event))
    result = run(["report", "--event", str(failed), "--format", "json"])
    assert document_code(result) == 3, result.stderr


@pytest.mark.parametrize(
    ("refs", "expected"), [(["team/web:v1"], 0), (["team/api:v1"], 1), (["team/api:gone"], 3)]
)
def test_scan_json_exit_code(registry: FakeRegistry, refs: list[str], expected: int) -> None:
    result = run(["scan", *refs, "--expiry", "1d", "--timeout", "5", "--format", "json"])
    assert document_code(result) == expected, result.stderr


def test_rescan_via_queue_json_exit_code(registry: FakeRegistry) -> None:
    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="jobs")["QueueUrl"]
    assert document_code(run(["rescan", "--via-queue", url, "--format", "json"])) == 0
    gone = url.rsplit("/", 1)[0] + "/gone"  # SQS refuses every job to a missing queue
    assert document_code(run(["rescan", "--via-queue", gone, "--format", "json"])) == 3


@pytest.mark.parametrize(
    "args",
    [
        ["repos", "--filter", "("],
        ["rescan", "--expiry", "7x"],
        ["rescan", "--dry-run", "--via-queue", "https://sqs.example/q"],
        ["report", "--threshold", "HIGH=x"],
        ["report", "--event", "/nonexistent/event.json"],
        ["scan", "team/api:v1", "--timeout", "30m"],
    ],
)
def test_a_usage_error_exits_2_and_writes_no_document(registry: FakeRegistry, args) -> None:
    result = run([*args, "--format", "json"])
    assert result.exit_code == 2 and result.stdout == "", result.output
