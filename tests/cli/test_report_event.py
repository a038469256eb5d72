"""``ecrscan report --event``: an EventBridge scan event judged exactly as the reporter
Lambda function judges it, with report's outputs and exit codes, and no AWS call unless
``--publish``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ecrscan.aws import sns as aws_sns
from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.lambdas import reporter, runtime
from ecrscan.render.formats import NEEDS_FINDINGS, Format
from tests.support.cli_report import CountingSessions
from tests.support.events import (
    ECR_SAMPLE,
    INSPECTOR_SAMPLE,
    SAMPLES,
    events_dir,
    load_event,
    variant,
)
from tests.support.lambda_events import FakeContext

EXIT_FOR_STATUS = {"ok": 0, "breach": 1, "scan_failed": 3}
THRESHOLD_ENV = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
# Events beyond the samples: failed, untagged without counts, unknown status, only low
# levels, every level at once.
VARIANTS = {
    "failed": variant(ECR_SAMPLE, scan_status="FAILED", finding_severity_counts=None),
    "untagged-clean": variant(ECR_SAMPLE, image_tags=[], finding_severity_counts=None),
    "unknown-status": variant(ECR_SAMPLE, scan_status="SOMETHING_NEW"),
    "informational-only": variant(ECR_SAMPLE, finding_severity_counts={"INFORMATIONAL": 4}),
    "inspector-low": variant(
        INSPECTOR_SAMPLE, image_tags=["v1", "prod"], finding_severity_counts={"LOW": 2, "TOTAL": 2}
    ),
}
# Threshold environments both the function and the command read.
ENVIRONMENTS = {
    "defaults": {},
    "lenient": {"CRITICAL": "10", "HIGH": "100", "MEDIUM": "off", "LOW": "5"},
    "critical-only": {"HIGH": "off", "MEDIUM": "off", "LOW": "off"},
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in ("NOTIFY_ON_SCAN_FAILURE", "ECR_SNS_REPORT_TOPIC_ARN", *THRESHOLD_ENV):
        monkeypatch.delenv(name, raising=False)
    # an event replay has no memory: it publishes what the function does without one
    monkeypatch.setenv("NOTIFY_ON", "always")
    monkeypatch.delenv("NOTIFY_STATE_TABLE", raising=False)


def event_file(tmp_path: Path, event: Any, name: str = "event.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(event) if not isinstance(event, str) else event)
    return path


def run(
    args: list[str],
    *,
    sessions: CountingSessions | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> Any:
    app = AppContext(session_factory=sessions or CountingSessions())
    return CliRunner().invoke(
        cli, ["report", *args], obj=app, input=input, env=env or {}, catch_exceptions=False
    )


# -- the same verdict as the reporter function --------------------------------------------


ALL_EVENTS = {**{name: load_event(name) for name in SAMPLES}, **VARIANTS}


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
@pytest.mark.parametrize("event_name", ALL_EVENTS)
def test_same_verdict_as_the_reporter_function(event_name, env_name, tmp_path, monkeypatch):
    event = ALL_EVENTS[event_name]
    for name, value in ENVIRONMENTS[env_name].items():
        monkeypatch.setenv(name, value)
    # the function publishes breaches: to nowhere here (its messages are compared below)
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(OfflineSession))
    monkeypatch.setenv("ECR_SNS_REPORT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:t")
    monkeypatch.setattr(aws_sns, "publish", lambda client, arn, messages: ["id"])

    by_function = reporter.handler(event, FakeContext())
    sessions = CountingSessions()
    result = run(
        ["--event", str(event_file(tmp_path, event)), "--format", "json"], sessions=sessions
    )

    (image,) = json.loads(result.stdout)["images"]
    assert image["status"] == by_function["status"]
    assert image["breaches"] == by_function["breaches"]
    assert (image["repository"], image["digest"], image["tags"]) == (
        by_function["repository"],
        by_function["digest"],
        by_function["tags"],
    )
    assert image["scan_status"] == by_function["scanStatus"]
    assert result.exit_code == EXIT_FOR_STATUS[by_function["status"]]
    assert sessions.created == 0, "evaluating an event must make no AWS call"


class OfflineSession:
    def client(self, service: str, **kwargs: Any) -> Any:
        return object()  # never used: publishing is replaced


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample(name, tmp_path):
    event = load_event(name)
    result = run(["--event", str(events_dir() / name), "--format", "json"])
    document = json.loads(result.stdout)
    (image,) = document["images"]
    assert image["digest"] == event["detail"]["image-digest"]
    assert image["region"] == event["region"] and image["registry_id"] == event["account"]
    assert "TOTAL" not in image["counts"]
    assert document["region"] == event["region"]
    assert document["exit_code"] == result.exit_code
    assert result.exit_code == 1  # both samples carry CRITICAL findings


def test_ecr_sample_in_detail(tmp_path):
    result = run(["--event", str(events_dir() / ECR_SAMPLE), "--format", "json"])
    assert result.exit_code == 1
    (image,) = json.loads(result.stdout)["images"]
    assert image["repository"] == "my-repository-name" and image["tags"] == []
    assert image["counts"]["CRITICAL"] == 10 and image["counts"]["MEDIUM"] == 9
    assert image["last_scan_at"].startswith("2019-10-29T02:36:48")
    assert [b["severity"] for b in image["breaches"]] == ["CRITICAL", "MEDIUM"]
    assert "1 of 1 image breaches thresholds" in result.stderr


def test_inspector_sample_repository_arn(tmp_path):
    result = run(
        [
            "--event",
            str(events_dir() / INSPECTOR_SAMPLE),
            "--format",
            "json",
            "--threshold",
            "CRITICAL=7",
            "--threshold",
            "HIGH=61",
            "--threshold",
            "MEDIUM=62",
        ]
    )
    assert result.exit_code == 0, result.output
    (image,) = json.loads(result.stdout)["images"]
    assert image["repository"] == "amazon/amazon-ecs-sample"
    assert image["status"] == "ok" and image["tags"] == ["latest"]


def test_fail_on_and_threshold_options_apply(tmp_path):
    path = str(event_file(tmp_path, VARIANTS["inspector-low"]))
    assert run(["--event", path]).exit_code == 1  # LOW 2 > 0
    assert run(["--event", path, "--fail-on", "HIGH"]).exit_code == 0
    assert run(["--event", path, "--threshold", "LOW=2"]).exit_code == 0
    assert run(["--event", path], env={"LOW": "off"}).exit_code == 0
    assert run(["--event", path, "--fail-on", "HIGH", "--threshold", "LOW=1"]).exit_code == 1


# -- stdin, env var, formats, output --------------------------------------------------------


def test_reads_stdin(tmp_path):
    text = (events_dir() / INSPECTOR_SAMPLE).read_text()
    result = run(["--event", "-", "--format", "json"], input=text)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["images"][0]["repository"] == "amazon/amazon-ecs-sample"


def test_env_var_names_the_event(tmp_path):
    path = event_file(tmp_path, VARIANTS["untagged-clean"])
    result = run(["--format", "json"], env={"ECRSCAN_EVENT": str(path)})
    assert result.exit_code == 0
    (image,) = json.loads(result.stdout)["images"]
    assert image["status"] == "ok" and image["tags"] == [] and image["counts"]["CRITICAL"] == 0


@pytest.mark.parametrize("fmt", [f.value for f in Format if f not in NEEDS_FINDINGS])
def test_every_format_that_needs_no_findings(fmt, tmp_path):
    out = tmp_path / f"report.{fmt}"
    result = run(["--event", str(events_dir() / ECR_SAMPLE), "--format", fmt, "-o", str(out)])
    assert result.exit_code == 1
    assert result.stdout == ""
    text = out.read_text()
    assert "my-repository-name" in text
    assert "7f5b2640fe6f" in text


@pytest.mark.parametrize("fmt", sorted(f.value for f in NEEDS_FINDINGS))
def test_formats_that_list_findings_are_refused(fmt, tmp_path):
    sessions = CountingSessions()
    result = run(["--event", str(events_dir() / ECR_SAMPLE), "--format", fmt], sessions=sessions)
    assert result.exit_code == 2
    assert f"--format {fmt} lists findings, which an event does not carry" in result.stderr
    assert sessions.created == 0


# -- FAILED scans and malformed events ------------------------------------------------------


def test_failed_scan_exits_3_and_still_writes_the_report(tmp_path):
    out = tmp_path / "report.json"
    result = run(
        [
            "--event",
            str(event_file(tmp_path, VARIANTS["failed"])),
            "--format",
            "json",
            "-o",
            str(out),
        ]
    )
    assert result.exit_code == 3
    (image,) = json.loads(out.read_text())["images"]
    assert image["status"] == "scan_failed" and image["scan_status"] == "FAILED"
    assert image["error"]["code"] == "FAILED"
    assert "incomplete audit: scan failed: my-repository-name" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not a JSON event"),
        ("[]", "must be a JSON object"),
        (
            json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
            "unsupported event",
        ),
        (json.dumps(variant(ECR_SAMPLE, image_digest=None)), "detail.image-digest is missing"),
        (
            json.dumps(variant(ECR_SAMPLE, finding_severity_counts={"HIGH": -1})),
            "whole number >= 0",
        ),
        (
            json.dumps(variant(INSPECTOR_SAMPLE, repository_name="arn:aws:s3:::bucket")),
            "is not an ECR repository ARN",
        ),
        ("", "is not a JSON event"),
    ],
)
def test_malformed_event_is_a_usage_error(content, message, tmp_path):
    out = tmp_path / "out.json"
    out.write_text("previous report\n")
    sessions = CountingSessions()
    result = run(["--event", str(event_file(tmp_path, content)), "-o", str(out)], sessions=sessions)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "'--event'" in result.stderr
    assert sessions.created == 0
    assert out.read_text() == "previous report\n"


def test_missing_file_and_bad_stdin_are_usage_errors(tmp_path):
    result = run(["--event", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "cannot read" in result.stderr
    result = run(["--event", "-"], input="not json")
    assert result.exit_code == 2 and "stdin is not a JSON event" in result.stderr


# -- options that look images up cannot be combined -----------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--image", "app:v1"], {}, "--image"),
        (["--latest"], {}, "--latest"),
        (["--wait"], {}, "--wait"),
        (["--details"], {}, "--details"),
        (["--ignore-file", "ignore.toml"], {}, "--ignore-file"),
        ([], {"ECRSCAN_WAIT": "1"}, "--wait (set by ECRSCAN_WAIT)"),
        (["--wait", "--latest"], {}, "--latest, --wait"),
    ],
)
def test_image_lookups_cannot_be_combined(args, env, named, tmp_path):
    sessions = CountingSessions()
    result = run(["--event", str(events_dir() / ECR_SAMPLE), *args], sessions=sessions, env=env)
    assert result.exit_code == 2
    assert f"--event cannot be combined with {named}" in result.stderr
    assert sessions.created == 0


@pytest.mark.parametrize("option", ["--in-use", "--pulled-within", "--role-arn", "--region"])
def test_issue_5_scoping_options_cannot_be_combined(option, tmp_path):
    params = {opt: p for p in _report_params() for opt in p.opts}
    if option not in params:
        pytest.skip(f"report has no {option} option (yet)")
    value = {
        "--in-use": "ecs",
        "--pulled-within": "7d",
        "--role-arn": "arn:aws:iam::111111111111:role/x",
        "--region": "eu-west-1",
    }[option]
    result = run(["--event", str(events_dir() / ECR_SAMPLE), option, value])
    assert result.exit_code == 2
    assert f"--event cannot be combined with {option}" in result.stderr


def _report_params() -> list[Any]:
    return cli.commands["report"].params


def test_registry_filters_only_warn(tmp_path):
    result = run(
        [
            "--event",
            str(events_dir() / ECR_SAMPLE),
            "--filter",
            "x",
            "--exclude",
            "y",
            "--timeout",
            "1min",
        ]
    )
    assert result.exit_code == 1
    for option in ("--filter", "--exclude", "--timeout"):
        assert f"ecrscan: {option} does not apply to --event" in result.stderr
    quiet = run(
        ["--event", str(events_dir() / ECR_SAMPLE)], env={"REPOSITORIES_FILTER_REGEXP": "x"}
    )
    assert quiet.exit_code == 1 and "does not apply" not in quiet.stderr


# -- --publish: the reporter's message ---------------------------------------------------------


@pytest.fixture
def topic(mocked) -> tuple[str, Any, str]:
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    arn = sns.create_topic(Name="ecr-report")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="ecr-report")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"}
    )
    return arn, sqs, queue_url


def received(sqs: Any, queue_url: str) -> list[tuple[str, str]]:
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    bodies = [json.loads(m["Body"]) for m in messages]
    return [(b["Subject"], b["Message"]) for b in bodies]


def publish_with_both(
    event: dict[str, Any], topic, monkeypatch, tmp_path, args=(), notify: str = ""
) -> tuple[Any, list, list]:
    arn, sqs, queue_url = topic
    monkeypatch.setenv("ECR_SNS_REPORT_TOPIC_ARN", arn)
    monkeypatch.setenv("NOTIFY_ON_SCAN_FAILURE", notify)
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(boto3.Session))
    reporter.handler(event, FakeContext())
    by_function = received(sqs, queue_url)
    result = run(["--event", str(event_file(tmp_path, event)), "--publish", *args], sessions=None)
    return result, by_function, received(sqs, queue_url)


def test_publish_sends_the_reporter_message(topic, monkeypatch, tmp_path):
    result, by_function, by_command = publish_with_both(
        load_event(ECR_SAMPLE), topic, monkeypatch, tmp_path
    )
    assert result.exit_code == 1
    assert len(by_function) == 1 and by_command == by_function
    subject, message = by_command[0]
    assert "my-repository-name" in subject and "CRITICAL" in message
    assert f"published 1 SNS message to {topic[0]}" in result.stderr


def test_failed_scan_is_published_only_when_asked_as_by_the_reporter(topic, monkeypatch, tmp_path):
    failed = VARIANTS["failed"]
    result, by_function, by_command = publish_with_both(failed, topic, monkeypatch, tmp_path)
    assert result.exit_code == 3 and by_function == [] and by_command == []
    result, by_function, by_command = publish_with_both(
        failed, topic, monkeypatch, tmp_path, notify="true"
    )
    assert result.exit_code == 3
    assert len(by_function) == 1 and by_command == by_function
    assert "not assessed" in by_command[0][0]
    result, _, by_command = publish_with_both(
        failed, topic, monkeypatch, tmp_path, args=["--notify-on-scan-failure"]
    )
    assert len(by_command) == 1


def test_within_thresholds_publishes_only_with_publish_always(topic, monkeypatch, tmp_path):
    clean = VARIANTS["untagged-clean"]
    result, by_function, by_command = publish_with_both(clean, topic, monkeypatch, tmp_path)
    assert result.exit_code == 0 and by_function == [] and by_command == []
    result = run(["--event", str(event_file(tmp_path, clean)), "--publish-always"])
    assert result.exit_code == 0
    ((subject, _),) = received(topic[1], topic[2])
    assert "no breaches" in subject


def test_publish_needs_a_topic_before_anything_else(tmp_path):
    sessions = CountingSessions()
    result = run(["--event", str(events_dir() / ECR_SAMPLE), "--publish"], sessions=sessions)
    assert result.exit_code == 2 and "--publish needs a topic" in result.stderr
    assert sessions.created == 0


def test_publish_to_a_missing_topic_exits_3_after_the_report(mocked, tmp_path):
    out = tmp_path / "r.json"
    result = run(
        [
            "--event",
            str(events_dir() / ECR_SAMPLE),
            "--publish",
            "--format",
            "json",
            "--sns-topic-arn",
            "arn:aws:sns:us-east-1:123456789012:missing",
            "-o",
            str(out),
        ],
        sessions=None,
    )
    assert result.exit_code == 3 and "NotFound" in result.stderr
    assert json.loads(out.read_text())["totals"]["breach"] == 1


# -- the installed command ----------------------------------------------------------------


@pytest.mark.slow
def test_installed_command_needs_no_aws_at_all(tmp_path):
    """No credentials, no region, an endpoint nobody listens on: an event is evaluated
    all the same, so no AWS call can have been made."""
    import os
    import subprocess

    from tests.support.env import ecrscan_command

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECRSCAN_"))}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        HOME=str(tmp_path),
    )
    text = (events_dir() / INSPECTOR_SAMPLE).read_text()
    done = subprocess.run(
        [
            ecrscan_command(),
            "report",
            "--event",
            "-",
            "--format",
            "json",
            "--fail-on",
            "CRITICAL",
            "--threshold",
            "CRITICAL=7",
        ],
        input=text,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    (image,) = json.loads(done.stdout)["images"]
    assert image["status"] == "ok" and image["counts"]["CRITICAL"] == 7
    failed = subprocess.run(
        [ecrscan_command(), "report", "--event", "-"],
        input=json.dumps(VARIANTS["failed"]),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert failed.returncode == 3 and "scan failed" in failed.stderr


# -- issue 18: control characters from an event never reach the terminal raw -------------


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_control_characters_in_the_event_are_escaped_in_human_output(fmt, tmp_path):
    hostile = "app\x1b]0;owned\x07\x1b[2J\rx\x9b"
    event = variant(ECR_SAMPLE, repository_name=hostile, image_tags=["v1\x1b[31m"])
    result = run(["--event", str(event_file(tmp_path, event)), "--format", fmt])
    assert result.exit_code == 1, result.output
    for raw in ("\x1b", "\x07", "\r", "\x9b"):
        assert raw not in result.stdout and raw not in result.stderr
    assert "app\\x1b]0;owned" in result.stdout  # rich drops BEL and CR itself
    assert "\\x9b" in result.stdout and "v1\\x1b[31m" in result.stdout


def test_control_characters_stay_intact_in_json(tmp_path):
    event = variant(ECR_SAMPLE, repository_name="app\x1b[2J")
    result = run(["--event", str(event_file(tmp_path, event)), "--format", "json"])
    (image,) = json.loads(result.stdout)["images"]
    assert image["repository"] == "app\x1b[2J"
    assert "\x1b" not in result.stdout  # the encoder escapes it
