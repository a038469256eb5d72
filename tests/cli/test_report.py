"""``ecrscan report`` through Click's CliRunner, against moto in-process."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecrscan.cli.app import AppContext
from ecrscan.core.durations import parse_timeout
from ecrscan.render.formats import Format
from tests.support.cli_report import NOW, CountingSessions, image, invoke
from tests.support.registry import FakeRegistry

REGION = "us-east-1"


def finding(cve: str, severity: str) -> dict[str, Any]:
    return {
        "name": cve,
        "severity": severity,
        "uri": f"https://nvd.example/{cve}",
        "attributes": [
            {"key": "package_name", "value": "openssl"},
            {"key": "package_version", "value": "1.0"},
        ],
    }


# -- exit codes --------------------------------------------------------------------------


def test_exit_0_within_thresholds(registry: FakeRegistry) -> None:
    image(registry, "app", "v1", {"INFORMATIONAL": 3})
    result = invoke(["report", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["command"] == "report" and document["exit_code"] == 0
    assert [i["status"] for i in document["images"]] == ["ok"]
    assert "the 1 image is within thresholds" in result.stderr


def test_exit_1_on_breach(registry: FakeRegistry) -> None:
    image(registry, "app", "v1", {"HIGH": 1})
    image(registry, "app", "v2", {})
    result = invoke(["report", "--image", "app:v1", "--format", "json"])
    assert result.exit_code == 1
    (entry,) = json.loads(result.stdout)["images"]
    assert (entry["reference"], entry["status"], entry["tags"]) == ("app:v1", "breach", ["v1"])
    assert "1 of 1 image breaches thresholds" in result.stderr
    assert invoke(["report", "--image", "app:v2"]).exit_code == 0
    assert invoke(["report", "--image", "app:v1", "--threshold", "HIGH=1"]).exit_code == 0
    assert invoke(["report", "--image", "app:v1", "--fail-on", "CRITICAL"]).exit_code == 0
    assert (
        invoke(
            ["report", "--image", "app:v1", "--fail-on", "critical", "--threshold", "HIGH=0"]
        ).exit_code
        == 1
    )


def test_exit_3_names_images_never_scanned_and_pending(registry: FakeRegistry) -> None:
    old = image(registry, "app", "old", None)
    registry.set_pushed_at("app", old, NOW - timedelta(days=2))  # no scan-on-push wait
    image(registry, "app", "busy", {}, status="IN_PROGRESS")
    result = invoke(["report", "--timeout", "0", "--wait"])
    assert result.exit_code == 3
    assert "incomplete audit" in result.stderr
    assert "scan still pending after --timeout: app:busy" in result.stderr
    # --wait was given: the hint does not suggest it again
    assert "never scanned (run `ecrscan rescan`): app:old" in result.stderr
    assert "use --wait" not in result.stderr


def test_error_outranks_breach(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", {"CRITICAL": 1})
    out = tmp_path / "report.json"
    result = invoke(
        ["report", "--image", "app:v1", "--image", "app:gone", "--format", "json", "-o", str(out)]
    )
    assert result.exit_code == 3
    # the report was built, so it is written: it says what is missing
    assert [i["status"] for i in json.loads(out.read_text())["images"]] == ["breach", "error"]
    assert "could not be read: app:gone [ImageNotFoundException]" in result.stderr
    assert "1 image breaches thresholds" in result.stderr


def test_fatal_aws_error_exits_3_and_writes_no_output(tmp_path: Path) -> None:
    class DeniedSession:
        def __init__(self, **kwargs: Any) -> None:
            self.session = boto3.Session(**kwargs)

        def client(self, service: str, **kwargs: Any) -> Any:
            client = self.session.client(service, **kwargs)
            stub = Stubber(client)
            stub.add_client_error(
                "describe_repositories",
                "AccessDeniedException",
                "not allowed: ecr:DescribeRepositories",
            )
            stub.activate()
            return client

    out = tmp_path / "report.json"
    result = invoke(
        ["report", "--format", "json", "--output", str(out)],
        app=AppContext(session_factory=DeniedSession),
    )
    assert result.exit_code == 3
    assert "AccessDeniedException: not allowed: ecr:DescribeRepositories" in result.stderr
    assert not out.exists()


# -- usage errors: exit 2, no AWS call ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--threshold", "HIGH=lots"], {}, "expected a whole number"),
        (["--threshold", "SEVERE=1"], {}, "unknown severity"),
        (["--threshold", "HIGH"], {}, "expected LEVEL=N"),
        (["--threshold", "HIGH=-1"], {}, "must be >= 0"),
        ([], {"CRITICAL": "zero"}, "CRITICAL environment variable"),
        (["--fail-on", "SEVERE"], {}, "'SEVERE' is not one of"),
        (["--image", "App:v1"], {}, "lowercase"),
        (["--image", "localhost:5000/app"], {}, "has a port"),
        ([], {"ECRSCAN_IMAGE": "ok:v1 bad@sha256:1"}, "64 lowercase hex"),
        (["--timeout", "5x"], {}, "invalid timeout"),
        (["--timeout", "25h"], {}, "at most 24h"),
        (["--ignore-file", "/nonexistent/ignore.toml"], {}, "cannot read it"),
        (["--publish"], {}, "--publish needs a topic"),
        (["--publish-always", "--sns-topic-arn", "topic"], {}, "not a standard SNS topic ARN"),
        (
            ["--publish", "--sns-topic-arn", "arn:aws:sns:us-east-1:123456789012:alerts.fifo"],
            {},
            "FIFO",
        ),
        (["--filter", "("], {}, "invalid --filter regular expression"),
        (["--concurrency", "0"], {}, "0"),
        (["--format", "xml"], {}, "'xml' is not one of"),
    ],
)
def test_usage_errors_make_no_aws_call(
    args: list[str], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    sessions = CountingSessions()
    out = tmp_path / "out.txt"
    out.write_text("previous report\n")
    result = invoke(
        ["report", *args, "--output", str(out)], env=env, app=AppContext(session_factory=sessions)
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert sessions.created == 0
    assert out.read_text() == "previous report\n"


def test_invalid_ignore_file_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "ignore.toml"
    path.write_text('[[ignore]]\nid = "CVE-1"\nreason = "x"\nuntill = 2026-01-01\n')
    sessions = CountingSessions()
    result = invoke(
        ["report", "--ignore-file", str(path)], app=AppContext(session_factory=sessions)
    )
    assert result.exit_code == 2
    assert "unknown key 'untill'" in result.stderr and "did you mean 'until'" in result.stderr
    assert sessions.created == 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("10min", 600),
        ("1h", 3600),
        ("1h30min", 5400),
        ("2min30s", 150),
        ("45", 45),
        ("0", 0),
        (" 10min ", 600),
        ("24h", 86400),
    ],
)
def test_parse_timeout(text: str, seconds: float) -> None:
    assert parse_timeout(text) == seconds


@pytest.mark.parametrize(
    "text", ["m", "10d", "1m1h", "1h1h", "1.5h", "-5s", "10 min", "1h30", "10m", "10M"]
)
def test_parse_timeout_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid timeout"):
        parse_timeout(text)


# -- output ---------------------------------------------------------------------------------


def test_output_file_written_after_success(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", {"HIGH": 2})
    out = tmp_path / "report.json"
    result = invoke(["report", "--format", "json", "-o", str(out)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert json.loads(out.read_text())["totals"]["breach"] == 1


@pytest.mark.parametrize("fmt", [f.value for f in Format])
def test_every_format_is_wired(fmt: str, registry: FakeRegistry) -> None:
    image(registry, "app", "v1", {"HIGH": 1}, findings=[finding("CVE-2024-1", "HIGH")])
    result = invoke(["report", "--format", fmt])
    assert result.exit_code == 1, result.output
    out = result.stdout
    if fmt == "json":
        assert json.loads(out)["images"][0]["status"] == "breach"
    elif fmt == "sarif":  # lists findings: the engine read them without --details
        sarif = json.loads(out)
        assert sarif["version"] == "2.1.0"
        assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["CVE-2024-1"]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert len(rows) == 1 and "CVE-2024-1" in rows[0].values()
    elif fmt == "junit":
        assert "<testsuite" in out and "<failure" in out
    elif fmt == "markdown":
        assert "app:v1" in out and "|" in out
    elif fmt == "html":  # lists findings too
        assert out.startswith("<!DOCTYPE html>") and ">CVE-2024-1</a>" in out
    else:
        assert "app" in out and "breach" in out


def test_details_and_ignore_file(registry: FakeRegistry, tmp_path: Path) -> None:
    image(
        registry,
        "app",
        "v1",
        {"HIGH": 2},
        findings=[finding("CVE-1", "HIGH"), finding("CVE-2", "HIGH")],
    )
    ignore = tmp_path / "ignore.toml"
    ignore.write_text(
        '[[ignore]]\nid = "CVE-1"\nreason = "not reachable"\n\n'
        '[[ignore]]\nid = "CVE-2"\nreason = "waiver ran out"\nuntil = 2020-01-01\n'
    )
    result = invoke(["report", "--format", "json", "--ignore-file", str(ignore)])
    assert result.exit_code == 1  # CVE-2's waiver expired
    assert "expired and was not applied" in result.stderr
    (entry,) = json.loads(result.stdout)["images"]
    assert entry["counts"]["HIGH"] == 1 and entry["raw_counts"]["HIGH"] == 2
    assert {f["id"]: f["ignored"] for f in entry["findings"]} == {
        "CVE-1": "not reachable",
        "CVE-2": None,
    }

    ignore.write_text(
        '[[ignore]]\nid = "CVE-1"\nreason = "a"\n[[ignore]]\nid = "CVE-2"\n'
        'reason = "b"\nrepository = "^app$"\n'
    )
    result = invoke(["report", "--details", "--ignore-file", str(ignore)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output


def test_an_ignore_file_lists_the_findings_of_breaching_images(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    """As --help and the docs say: with --ignore-file (and no --details) the table lists
    the findings of each breaching image, where the ignored ones show with their reason."""
    image(
        registry,
        "app",
        "v1",
        {"HIGH": 2},
        findings=[finding("CVE-1", "HIGH"), finding("CVE-2", "HIGH")],
    )
    ignore = tmp_path / "ignore.toml"
    ignore.write_text('[[ignore]]\nid = "CVE-1"\nreason = "not reachable"\n')
    plain = invoke(["report"], env={"COLUMNS": "120"})
    assert plain.exit_code == 1 and "CVE-2" not in plain.stdout
    result = invoke(["report", "--ignore-file", str(ignore)], env={"COLUMNS": "120"})
    assert result.exit_code == 1, result.output
    assert "CVE-2" in result.stdout
    assert "CVE-1" in result.stdout and "not reachable" in result.stdout


def test_env_vars_configure_the_report(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", {"HIGH": 3, "LOW": 9})
    image(registry, "other", "v1", {"CRITICAL": 1})
    env = {
        "ECRSCAN_IMAGE": "app:v1",
        "HIGH": "3",
        "ECRSCAN_THRESHOLD": "LOW=off",
        "ECRSCAN_REPORT_FORMAT": "json",
        "ECRSCAN_REPORT_OUTPUT": str(tmp_path / "r.json"),
    }
    result = invoke(["report"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["thresholds"]["HIGH"] == 3
    assert invoke(["report"], env={**env, "HIGH": "2"}).exit_code == 1
    assert (
        invoke(
            ["report"], env={"REPOSITORIES_FILTER_REGEXP": "^app$", "HIGH": "3", "LOW": "off"}
        ).exit_code
        == 0
    )
    assert invoke(["report"], env={"HIGH": "3", "LOW": "off"}).exit_code == 1  # other


def test_image_with_registry_filters_warns(registry: FakeRegistry) -> None:
    image(registry, "app", "v1", {})
    result = invoke(["report", "--image", "app:v1", "--latest", "--filter", "zzz"])
    assert result.exit_code == 0
    assert "do not apply to --image" in result.stderr


def test_quiet_keeps_stderr_for_errors_only(registry: FakeRegistry) -> None:
    image(registry, "app", "v1", {})
    image(registry, "app", "v2", {"HIGH": 1})
    assert invoke(["-q", "report", "--image", "app:v1"]).stderr == ""
    result = invoke(["-q", "report", "--image", "app:v1", "--image", "app:nope"])
    assert result.exit_code == 3 and result.stderr.startswith("ecrscan: error: incomplete")


# -- publish to SNS ------------------------------------------------------------------------


@pytest.fixture
def subscribed_queue(mocked: None) -> tuple[str, Any, str]:
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="ecr-report")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="ecr-report")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, sqs, queue_url


def received(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
    ).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_publish_sends_breaches_to_sns(registry: FakeRegistry, subscribed_queue) -> None:
    topic, sqs, queue_url = subscribed_queue
    digest = image(registry, "app", "v1", {"CRITICAL": 2, "LOW": 1})
    image(registry, "app", "v2", {})
    result = invoke(
        ["report", "--publish", "--format", "json"], env={"ECR_SNS_REPORT_TOPIC_ARN": topic}
    )
    assert result.exit_code == 1
    assert f"published 1 SNS message to {topic}" in result.stderr
    (notification,) = received(sqs, queue_url)
    assert notification["TopicArn"] == topic
    subject = notification["Subject"]
    assert len(subject) < 100 and "\n" not in subject and "1" in subject
    text = notification["Message"]  # SQS subscribers get the "default" text
    assert "app:v1" in text and digest.split(":")[1][:12] in text
    assert "CRITICAL" in text and "app:v2" not in text


def test_publish_only_when_breached_unless_always(registry: FakeRegistry, subscribed_queue) -> None:
    topic, sqs, queue_url = subscribed_queue
    image(registry, "app", "v1", {})
    result = invoke(["report", "--publish", "--sns-topic-arn", topic])
    assert result.exit_code == 0 and received(sqs, queue_url) == []
    result = invoke(["report", "--publish-always", "--sns-topic-arn", topic])
    assert result.exit_code == 0
    (notification,) = received(sqs, queue_url)
    assert notification["Subject"]


def test_publish_failure_exits_3_after_writing_the_report(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    image(registry, "app", "v1", {"HIGH": 1})
    out = tmp_path / "r.json"
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    result = invoke(
        ["report", "--publish", "--sns-topic-arn", missing, "-o", str(out), "--format", "json"]
    )
    assert result.exit_code == 3
    assert "NotFound" in result.stderr
    assert json.loads(out.read_text())["totals"]["breach"] == 1
