"""The reporter function with NOTIFY_ON=change (the default): a message when a breach is
new or changed, or an image is back within thresholds; nothing for a breach already
notified.  Messages are counted as moto's SNS delivers them to an SQS subscriber."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ecrscan.aws.dynamodb import StateStore
from ecrscan.aws.errors import AwsError, client_error
from ecrscan.core.notify import Record
from ecrscan.lambdas import reporter, runtime
from tests.support.events import ECR_SAMPLE, variant
from tests.support.lambda_events import CountingSession, FakeContext
from tests.support.sqs import drain
from tests.support.state_table import REGION, TABLE, create_state_table, items

DAY1 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
NOTIFY_ENV = (
    "NOTIFY_ON",
    "NOTIFY_STATE_TABLE",
    "NOTIFY_STATE_TTL",
    "NOTIFY_ON_SCAN_FAILURE",
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
)


def event(n: int = 0, tag: str = "v1", **counts: int) -> dict[str, Any]:
    """A scan-complete event for image ``n`` of ``team/app-NNN`` with these counts."""
    return variant(
        ECR_SAMPLE,
        repository_name=f"team/app-{n:03}",
        image_digest=f"sha256:{n + 1:064x}",
        image_tags=[tag],
        finding_severity_counts=counts or None,
    )


@dataclass
class World:
    """The deployed reporter in moto: topic with an SQS subscriber, state table, clock."""

    sqs: Any
    inbox: str
    topic_arn: str
    session: CountingSession
    now: datetime = DAY1
    results: list[dict[str, Any]] = field(default_factory=list)

    def invoke(self, scan_event: dict[str, Any]) -> dict[str, Any]:
        result = reporter.handler(scan_event, FakeContext())
        self.results.append(result)
        return result

    def delivered(self) -> list[dict[str, Any]]:
        """The notifications SNS delivered since the last call (drained)."""
        return [json.loads(body) for body in drain(self.sqs, self.inbox)]

    def record(self, n: int = 0) -> Record | None:
        key = f"123456789012/{REGION}/team/app-{n:03}@sha256:{n + 1:064x}"
        return runtime.connections.state_store(TABLE).read(key)


@pytest.fixture
def world(mocked, monkeypatch) -> World:
    for name in NOTIFY_ENV:
        monkeypatch.delenv(name, raising=False)
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="ecrscan-report")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("ECR_SNS_REPORT_TOPIC_ARN", topic_arn)
    monkeypatch.setenv("NOTIFY_STATE_TABLE", create_state_table())
    counting = CountingSession()
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(lambda: counting))
    state = World(sqs, inbox, topic_arn, counting)
    monkeypatch.setattr(runtime, "clock", lambda: state.now)
    return state


def log_lines(capsys) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


# -- the issue: a day's rescan of unchanged breaches is silent ------------------------------


@pytest.mark.slow
def test_daily_rescan_of_300_unchanged_breaches_sends_0_messages_and_a_change_sends_1(world):
    day = [event(n, HIGH=2, MEDIUM=1) for n in range(300)]

    for scan_event in day:  # day 1: every breach is new
        assert world.invoke(scan_event)["change"] == "new"
    assert len(world.delivered()) == 300
    assert len(items()) == 300

    world.now += timedelta(days=1)  # day 2: the scheduled rescan finds the same
    for scan_event in day:
        result = world.invoke(scan_event)
        assert (result["change"], result["published"]) == ("unchanged", 0)
    assert world.delivered() == []

    world.now += timedelta(days=1)  # day 3: one image has a new HIGH finding
    day[117] = event(117, HIGH=3, MEDIUM=1)
    for scan_event in day:
        world.invoke(scan_event)
    (note,) = world.delivered()
    assert note["Subject"] == (
        "ecrscan: team/app-117:v1 breaches vulnerability thresholds [us-east-1]"
    )
    assert "HIGH 3>0" in note["Message"]
    assert [r["change"] for r in world.results[-300:]].count("changed") == 1
    assert world.record(117).fingerprint.text == "breach;HIGH=3,MEDIUM=1"
    assert world.record(117).version == 2 and world.record(0).version == 1


def test_an_unchanged_breach_is_reminded_once_per_period(world, monkeypatch):
    monkeypatch.setenv("NOTIFY_STATE_TTL", "1w")
    world.invoke(event(HIGH=1))
    assert len(world.delivered()) == 1
    assert world.record().expires_at == DAY1 + timedelta(weeks=1)
    for _ in range(6):
        world.now += timedelta(days=1)
        world.invoke(event(HIGH=1))
    assert world.delivered() == []
    world.now += timedelta(days=1)  # 7 days after the notification: the record expired
    assert world.invoke(event(HIGH=1))["change"] == "new"
    assert len(world.delivered()) == 1
    world.now += timedelta(days=1)
    world.invoke(event(HIGH=1))
    assert world.delivered() == []


def test_back_within_thresholds_is_said_once(world):
    world.invoke(event(HIGH=1))
    world.delivered()
    result = world.invoke(event(LOW=0))  # fixed: no finding left
    assert (result["status"], result["change"], result["published"]) == ("ok", "resolved", 1)
    (note,) = world.delivered()
    assert note["Subject"] == "ecrscan: team/app-000:v1 back within thresholds [us-east-1]"
    assert "back within thresholds" in note["Message"]
    assert world.record() is None  # the table holds breaching images only
    assert world.invoke(event())["change"] == "none"
    assert world.delivered() == []
    assert world.invoke(event(HIGH=1))["change"] == "new"  # breaches again: new again


def test_a_clean_image_writes_no_record(world):
    for n in range(5):
        assert world.invoke(event(n, INFORMATIONAL=3))["change"] == "none"
    assert world.delivered() == [] and items() == {}


def test_a_failed_scan_is_published_as_before_without_state(world, monkeypatch):
    monkeypatch.setenv("NOTIFY_ON_SCAN_FAILURE", "true")
    failed = event(HIGH=1)
    failed["detail"]["scan-status"] = "FAILED"
    for _ in range(2):
        result = world.invoke(failed)
        assert result["status"] == "scan_failed" and result["published"] == 1
        assert "change" not in result
    assert len(world.delivered()) == 2 and items() == {}


def test_notify_on_always_publishes_every_breach_and_uses_no_table(world, monkeypatch):
    monkeypatch.setenv("NOTIFY_ON", "always")
    monkeypatch.delenv("NOTIFY_STATE_TABLE")
    for _ in range(3):
        assert world.invoke(event(HIGH=1))["published"] == 1
    assert world.invoke(event())["published"] == 0
    assert len(world.delivered()) == 3
    assert items() == {} and "dynamodb" not in world.session.built


# -- two invocations for the same change: one message -----------------------------------------


class Interleaved:
    """Invocation A's state store: right before A's first claim, ``meanwhile`` runs
    (invocation B, whole), as if B had won the race."""

    def __init__(self, store: StateStore, meanwhile: Callable[[], Any]) -> None:
        self.store = store
        self.meanwhile: Callable[[], Any] | None = meanwhile

    def _cut_in(self) -> None:
        if self.meanwhile is not None:
            run, self.meanwhile = self.meanwhile, None
            run()

    def read(self, key: str) -> Record | None:
        return self.store.read(key)

    def put(self, record: Record, expected: int | None) -> None:
        self._cut_in()
        self.store.put(record, expected)

    def delete(self, key: str, expected: int) -> None:
        self._cut_in()
        self.store.delete(key, expected)


@pytest.mark.parametrize(
    ("before", "both", "change"),
    [
        (None, event(HIGH=1), "new"),
        (event(HIGH=1), event(HIGH=4), "changed"),
        (event(HIGH=1), event(), "resolved"),
    ],
    ids=["new", "changed", "resolved"],
)
def test_two_concurrent_invocations_for_one_change_send_exactly_one(
    world, monkeypatch, before, both, change
):
    if before is not None:
        world.invoke(before)
        world.delivered()
    real = runtime.connections.state_store(TABLE)
    stores = iter([Interleaved(real, lambda: world.invoke(both))])
    monkeypatch.setattr(runtime.connections, "state_store", lambda table: next(stores, real))

    first = world.invoke(both)  # A: reads, B cuts in and claims, A's claim fails

    second = world.results[-2]  # B finished first
    assert (second["change"], second["published"]) == (change, 1)
    assert first["published"] == 0 and first["change"] in ("unchanged", "none")
    assert "state" not in first  # a lost race is not a problem
    assert len(world.delivered()) == 1
    # A read, lost its claim to B, read again: B's one read and A's two
    assert real.calls["get_item"] == 3 + (before is not None)


# -- the table is a convenience, never a gate ------------------------------------------------


class Refusing:
    """A DynamoDB client that refuses every call (access denied)."""

    def __getattr__(self, name: str) -> Any:
        def refuse(**kwargs: Any) -> Any:
            error = {"Code": "AccessDeniedException", "Message": "not authorized to dynamodb"}
            raise ClientError({"Error": error}, name)

        return refuse


def deny(monkeypatch) -> None:
    real = runtime.connections.state_store

    def refusing(table: str) -> StateStore:
        store = real(table)
        store._read = store._write = Refusing()
        return store

    monkeypatch.setattr(runtime.connections, "state_store", refusing)


@pytest.mark.slow
@pytest.mark.parametrize("trouble", ["missing-table", "access-denied"])
def test_an_unreachable_table_still_publishes_and_warns(world, monkeypatch, capsys, trouble):
    if trouble == "missing-table":
        monkeypatch.setenv("NOTIFY_STATE_TABLE", "no-such-table")
        code = "ResourceNotFoundException"
    else:
        deny(monkeypatch)
        code = "AccessDeniedException"
    for _ in range(2):  # no memory: every breach is published
        result = world.invoke(event(HIGH=1))
        assert result["published"] == 1 and result["change"] == "new"
        assert result["state"].startswith(f"unreachable: {code}")
    assert len(world.delivered()) == 2
    warnings = [line for line in log_lines(capsys) if line["level"] == "WARNING"]
    assert len(warnings) == 2
    assert warnings[0]["message"] == "notification state table not used: notified without it"
    assert warnings[0]["problem"].startswith(code)
    # a clean image cannot be told from a resolved one without the table: nothing sent
    assert world.invoke(event())["published"] == 0


@pytest.mark.slow
def test_a_claim_the_table_refuses_is_published_anyway(world, monkeypatch):
    real = runtime.connections.state_store(TABLE)

    def refuse_writes(record: Record, expected: int | None) -> None:
        error = {"Code": "InternalServerError", "Message": "try again"}
        raise client_error(ClientError({"Error": error}, "PutItem"), "put_item")

    monkeypatch.setattr(real, "put", refuse_writes)
    result = world.invoke(event(HIGH=1))
    assert result["published"] == 1 and result["state"].startswith("unreachable: InternalServer")
    assert len(world.delivered()) == 1


@pytest.mark.parametrize(
    ("before", "after", "kept"),
    [
        (None, event(HIGH=2), None),
        (event(HIGH=1), event(HIGH=2), "breach;HIGH=1"),
        (event(HIGH=1), event(), "breach;HIGH=1"),
    ],
    ids=["new", "changed", "resolved"],
)
def test_a_failed_publish_restores_the_record_and_fails(world, monkeypatch, before, after, kept):
    if before is not None:
        world.invoke(before)
        world.delivered()
    monkeypatch.setenv("ECR_SNS_REPORT_TOPIC_ARN", world.topic_arn + "-gone")
    with pytest.raises(AwsError, match="NotFound"):
        world.invoke(after)
    restored = world.record()
    assert (restored.fingerprint.text if restored else None) == kept
    # EventBridge retries the invocation: the alert is not lost
    monkeypatch.setenv("ECR_SNS_REPORT_TOPIC_ARN", world.topic_arn)
    assert world.invoke(after)["published"] == 1
    assert len(world.delivered()) == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NOTIFY_STATE_TABLE": ""}, "NOTIFY_ON=change needs NOTIFY_STATE_TABLE"),
        ({"NOTIFY_ON": "sometimes"}, "NOTIFY_ON must be change or always"),
        ({"NOTIFY_STATE_TTL": "30x"}, "NOTIFY_STATE_TTL"),
        ({"NOTIFY_ON": "always", "NOTIFY_STATE_TTL": "soon"}, "NOTIFY_STATE_TTL"),
    ],
)
def test_notify_configuration_errors(world, monkeypatch, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(runtime.ConfigurationError, match=message):
        world.invoke(event(HIGH=1))
    assert world.delivered() == []


def test_the_state_store_is_built_once_per_table(world):
    world.invoke(event(HIGH=1))
    world.invoke(event(1, HIGH=1))
    assert world.session.built.count("dynamodb") == 2  # one gateway: read + write clients
    assert world.session.built.count("sns") == 1
