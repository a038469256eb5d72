"""``report --publish --only-changed --state-table T`` (and ``scan``), in-process against
moto: only what changed since the last notification is published, the exit codes stay
what the verdict says, and misuse is a usage error before any AWS call."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecrscan.cli.app import AppContext
from ecrscan.lambdas import reporter, runtime
from tests.support.cli_report import NOW, CountingSessions, image, invoke
from tests.support.events import ECR_SAMPLE, variant
from tests.support.lambda_events import FakeContext
from tests.support.registry import FakeRegistry
from tests.support.state_table import REGION, TABLE, create_state_table, items

TOPIC = "arn:aws:sns:us-east-1:123456789012:ecr-report"
ONLY_CHANGED = ["--publish", "--only-changed", "--state-table", TABLE, "--sns-topic-arn", TOPIC]


@pytest.fixture
def inbox(registry: FakeRegistry) -> Any:
    """The report topic with an SQS subscriber, and the state table; returns a function
    that drains what SNS delivered."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    assert sns.create_topic(Name="ecr-report")["TopicArn"] == TOPIC
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=TOPIC, Protocol="sqs", Endpoint=arn)
    create_state_table()

    def delivered() -> list[dict[str, Any]]:
        found = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return found
            for message in got:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return delivered


def rescan(registry: FakeRegistry, repo: str, digest: str, counts: dict[str, int]) -> None:
    registry.set_scan(repo, digest, completed_at=NOW - timedelta(minutes=5), counts=counts)


@pytest.mark.slow
def test_only_changes_are_published_run_after_run(registry: FakeRegistry, inbox) -> None:
    api = image(registry, "team/api", "v1", {"HIGH": 1})
    image(registry, "team/api", "v2", {})
    web = image(registry, "team/web", "v1", {"CRITICAL": 2})

    first = invoke(["report", *ONLY_CHANGED])
    assert first.exit_code == 1, first.output
    (note,) = inbox()
    assert note["Subject"] == "ecrscan: 2 new or changed breaches [us-east-1]"
    assert "team/api:v1" in note["Message"] and "team/web:v1" in note["Message"]
    assert "--only-changed: 2 new, 0 changed, 0 back within thresholds" in first.stderr
    assert "published 1 SNS message" in first.stderr
    assert len(items()) == 2  # breaching images only

    second = invoke(["report", *ONLY_CHANGED, "--format", "json"])
    assert second.exit_code == 1  # the verdict is the same; only the publishing is quieter
    assert json.loads(second.stdout)["exit_code"] == 1
    assert inbox() == []
    assert "2 unchanged (not published)" in second.stderr
    assert "published" not in second.stderr.replace("(not published)", "")

    rescan(registry, "team/api", api, {})  # fixed
    rescan(registry, "team/web", web, {"CRITICAL": 3})  # worse
    third = invoke(["report", *ONLY_CHANGED])
    assert third.exit_code == 1
    (note,) = inbox()
    assert note["Subject"] == "ecrscan: 1 new or changed, 1 back within thresholds [us-east-1]"
    assert "team/web:v1" in note["Message"] and "CRITICAL 3>0" in note["Message"]
    assert "Back within thresholds:\n- team/api:v1" in note["Message"]
    assert list(items()) == [next(k for k in items() if "team/web" in k)]

    rescan(registry, "team/web", web, {})
    fourth = invoke(["report", *ONLY_CHANGED])
    assert fourth.exit_code == 0
    (note,) = inbox()
    assert note["Subject"] == "ecrscan: team/web:v1 back within thresholds [us-east-1]"
    assert items() == {}
    assert invoke(["report", *ONLY_CHANGED]).exit_code == 0 and inbox() == []


@pytest.mark.slow
def test_the_options_come_from_the_environment(registry: FakeRegistry, inbox) -> None:
    image(registry, "team/api", "v1", {"HIGH": 1})
    env = {
        "ECRSCAN_PUBLISH": "1",
        "ECRSCAN_ONLY_CHANGED": "true",
        "ECRSCAN_STATE_TABLE": TABLE,
        "ECRSCAN_STATE_TTL": "2w",
        "ECR_SNS_REPORT_TOPIC_ARN": TOPIC,
    }
    assert invoke(["report"], env=env).exit_code == 1
    assert len(inbox()) == 1
    assert invoke(["report"], env=env).exit_code == 1
    assert inbox() == []
    (item,) = items().values()
    notified = json.loads(json.dumps(item))["expiresAt"]["N"]
    assert int(notified) > int((NOW + timedelta(days=13)).timestamp())


@pytest.mark.slow
def test_publish_always_says_when_nothing_changed(registry: FakeRegistry, inbox) -> None:
    image(registry, "team/api", "v1", {"HIGH": 1})
    invoke(["report", *ONLY_CHANGED])
    inbox()
    result = invoke(["report", *ONLY_CHANGED, "--publish-always"])
    assert result.exit_code == 1
    (note,) = inbox()
    assert note["Subject"] == "ecrscan: no changes, 1 image checked [us-east-1]"


@pytest.mark.slow
def test_an_unreadable_table_publishes_every_breach_with_a_warning(
    registry: FakeRegistry, inbox
) -> None:
    image(registry, "team/api", "v1", {"HIGH": 1})
    image(registry, "team/web", "v1", {"HIGH": 1})
    args = ["report", "-q", *ONLY_CHANGED[:-3], "missing-table", "--sns-topic-arn", TOPIC]
    for _ in range(2):
        result = invoke(args)
        assert result.exit_code == 1  # not 3: every alert went out
        assert "ecrscan: warning: the state table missing-table could not be read" in (
            result.stderr
        )
        assert "ResourceNotFoundException" in result.stderr
        (note,) = inbox()
        assert note["Subject"] == "ecrscan: 2 images breach vulnerability thresholds [us-east-1]"


@pytest.mark.slow
def test_a_failed_publish_puts_the_claims_back(registry: FakeRegistry, inbox, tmp_path: Path):
    image(registry, "team/api", "v1", {"HIGH": 1})
    missing = TOPIC + "-gone"
    out = tmp_path / "r.json"
    args = ["report", *ONLY_CHANGED[:-1], missing, "--format", "json", "-o", str(out)]
    result = invoke(args)
    assert result.exit_code == 3
    assert [line for line in result.stderr.splitlines() if "publish" in line] == [
        f"ecrscan: error: the report was not published to {missing}: "
        "NotFound: Endpoint does not exist"
    ]
    assert json.loads(out.read_text())["publish_error"]["code"] == "NotFound"
    assert items() == {}  # not recorded as notified: the next run publishes it
    assert invoke(["report", *ONLY_CHANGED]).exit_code == 1
    assert len(inbox()) == 1


@pytest.mark.slow
def test_scan_takes_the_same_options(registry: FakeRegistry, inbox) -> None:
    image(registry, "team/api", "v1", {"HIGH": 1})
    args = ["scan", "team/api:v1", "--expiry", "1d", *ONLY_CHANGED]
    assert invoke(args).exit_code == 1
    assert len(inbox()) == 1
    again = invoke(args)
    assert again.exit_code == 1 and inbox() == []
    assert "1 unchanged (not published)" in again.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--only-changed", "--state-table", TABLE], {}, "add --publish"),
        ([], {"ECRSCAN_ONLY_CHANGED": "1", "ECRSCAN_STATE_TABLE": TABLE}, "add --publish"),
        (["--publish", "--sns-topic-arn", TOPIC, "--only-changed"], {}, "needs a state table"),
        (
            ["--publish", "--sns-topic-arn", TOPIC, "--state-table", TABLE],
            {},
            "--state-table is used only with --only-changed",
        ),
        (
            ["--publish", "--sns-topic-arn", TOPIC, "--only-changed", "--state-table", "x"],
            {},
            "not a DynamoDB table name",
        ),
        ([*ONLY_CHANGED, "--state-ttl", "30x"], {}, "invalid duration"),
        ([*ONLY_CHANGED], {"NOTIFY_STATE_TTL": "soon"}, "--state-ttl': invalid duration"),
        (["--only-changed"], {}, "add --publish"),
    ],
)
@pytest.mark.parametrize("command", [["report"], ["scan", "team/api:v1"]])
def test_usage_errors_make_no_aws_call(
    command: list[str], args: list[str], env: dict[str, str], message: str
) -> None:
    sessions = CountingSessions()
    result = invoke([*command, *args], env=env, app=AppContext(session_factory=sessions))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert sessions.created == 0


def test_event_replays_cannot_only_change(tmp_path: Path) -> None:
    source = tmp_path / "event.json"
    source.write_text(json.dumps({"source": "aws.ecr"}))
    sessions = CountingSessions()
    result = invoke(
        ["report", "--event", str(source), *ONLY_CHANGED],
        app=AppContext(session_factory=sessions),
    )
    assert result.exit_code == 2
    assert "--event cannot be combined with --only-changed" in result.stderr
    assert sessions.created == 0


def test_help_explains_the_options() -> None:
    text = " ".join(invoke(["report", "--help"]).stdout.split())
    assert "--only-changed" in text and "Env: ECRSCAN_ONLY_CHANGED." in text
    assert (
        "--state-table TABLE" in text
        and "(name or ARN)" in text
        and "Env: ECRSCAN_STATE_TABLE." in text
    )
    assert "Env: ECRSCAN_STATE_TTL, else NOTIFY_STATE_TTL." in text


def test_event_replays_ignore_the_state_table(tmp_path: Path) -> None:
    source = tmp_path / "event.json"
    source.write_text(json.dumps(variant(ECR_SAMPLE, finding_severity_counts=None)))
    sessions = CountingSessions()
    app = AppContext(session_factory=sessions)
    result = invoke(["report", "--event", str(source), "--state-table", TABLE], app=app)
    assert result.exit_code == 0
    assert "--state-table does not apply to --event" in result.stderr
    quiet = invoke(["report", "--event", str(source)], env={"ECRSCAN_STATE_TABLE": TABLE}, app=app)
    assert quiet.exit_code == 0 and "state-table" not in quiet.stderr
    assert sessions.created == 0


@pytest.mark.slow
def test_the_reporter_function_and_the_command_share_the_table(
    registry: FakeRegistry, inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = image(registry, "team/api", "v1", {"HIGH": 1})
    scan_event = variant(
        ECR_SAMPLE,
        repository_name="team/api",
        image_digest=digest,
        image_tags=["v1"],
        finding_severity_counts={"HIGH": 1},
    )
    for name, value in {
        "ECR_SNS_REPORT_TOPIC_ARN": TOPIC,
        "NOTIFY_STATE_TABLE": TABLE,
        "NOTIFY_ON": "change",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(boto3.Session))
    assert reporter.handler(scan_event, FakeContext())["change"] == "new"
    assert len(inbox()) == 1
    (key,) = items()
    assert key == f"123456789012/us-east-1/team/api@{digest}"

    result = invoke(["report", *ONLY_CHANGED])  # the nightly report knows it was notified
    assert result.exit_code == 1 and inbox() == []
    assert "1 unchanged (not published)" in result.stderr
    registry.set_scan("team/api", digest, completed_at=NOW, counts={})
    assert invoke(["report", *ONLY_CHANGED]).exit_code == 0
    assert len(inbox()) == 1 and items() == {}
    clean = {**scan_event, "detail": {**scan_event["detail"], "finding-severity-counts": {}}}
    resolved_again = reporter.handler(clean, FakeContext())
    assert (resolved_again["change"], resolved_again["published"]) == ("none", 0)
