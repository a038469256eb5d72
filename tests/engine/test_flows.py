"""The engine's flows on their own, against fakes of their ports: queueing jobs
(:mod:`ecrscan.engine.queue`) and publishing with change tracking
(:mod:`ecrscan.engine.publish`), which ``rescan --via-queue`` / the repositories
function and ``report --publish`` / the reporter function share."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta

from ecrscan.core.jobs import FailedJob, SendReport, job_body, parse_job
from ecrscan.core.model import Image, ImageReport, ImageStatus, Repository
from ecrscan.core.notify import Change, report_key
from ecrscan.core.problem import Problem
from ecrscan.core.targets import TargetFailure
from ecrscan.engine import ports
from ecrscan.engine.notify import Batch, Settled
from ecrscan.engine.publish import publish_all, publish_change, publish_changes
from ecrscan.engine.queue import JobPlan, queue_jobs
from tests.support.memory_store import MemoryStore

NOW = datetime(2026, 3, 1, tzinfo=UTC)
TTL = relativedelta(days=14)
ENGINE = Path(__file__).resolve().parents[2] / "ecrscan" / "engine"


# -- fakes -----------------------------------------------------------------------------


@dataclass
class FakeQueue:
    """A jobs queue that refuses the bodies naming a repository in ``refuse``."""

    refuse: frozenset[str] = frozenset()
    received: list[str] = field(default_factory=list)

    def send(self, bodies: Iterable[str]) -> SendReport:
        sent, failed = 0, []
        for body in bodies:
            if parse_job(body).repository_name in self.refuse:
                failed.append(FailedJob(body, "AccessDenied", "no", sender_fault=True))
            else:
                self.received.append(body)
                sent += 1
        return SendReport(sent, tuple(failed))


@dataclass(frozen=True)
class Note:
    subject: str
    message: str


@dataclass
class FakeTopic:
    """A topic that records what it was given; ``down`` makes it refuse."""

    down: bool = False
    published: list[list[ports.Message]] = field(default_factory=list)

    def publish(self, messages: Iterable[ports.Message]) -> list[str]:
        if self.down:
            raise RuntimeError("SNS is down")
        batch = list(messages)
        self.published.append(batch)
        return [f"id-{len(self.published)}-{i}" for i in range(len(batch))]


def judged() -> ImageReport:
    image = Image("team/api", "123456789012", "sha256:" + "1" * 64, ("v1",))
    return ImageReport(image, None, ImageStatus.BREACH, counts={"HIGH": 1}, region="us-east-1")


def repos(*names: str) -> list[Repository]:
    return [Repository(name, "123456789012", f"arn:{name}", f"uri/{name}") for name in names]


# -- queueing --------------------------------------------------------------------------


def test_queue_jobs_sends_every_job_and_accounts_for_each() -> None:
    failure = TargetFailure("210987654321", "eu-west-1", Problem("AccessDenied", "role"))
    jobs = JobPlan(tuple(job_body(n) for n in ("a", "b", "c")), 3, failures=(failure,), accounts=1)
    queue = FakeQueue(refuse=frozenset({"b"}))
    run = queue_jobs(jobs, queue)
    assert [parse_job(b).repository_name for b in queue.received] == ["a", "c"]
    assert run.report.sent == 2 and run.jobs is jobs
    assert run.not_queued() == (("b", "AccessDenied", "no"),)
    assert run.not_listed() == (("210987654321/eu-west-1", "AccessDenied", "role"),)
    assert run.incomplete
    queued = run.queued_jobs("https://queue", "us-east-1", "1d")
    assert (queued.queue_url, queued.region, queued.expiry) == ("https://queue", "us-east-1", "1d")
    assert (queued.repositories, queued.sent) == (3, 2)
    assert queued.failed == run.not_queued() and queued.failed_targets == run.not_listed()


def test_queue_jobs_all_sent_is_complete() -> None:
    run = queue_jobs(JobPlan.of_repositories(repos("a", "b"), "2d"), FakeQueue())
    assert not run.incomplete
    assert run.report.sent == 2 and run.not_queued() == () and run.not_listed() == ()


def test_a_plan_of_repositories_is_one_job_each_with_the_expiry() -> None:
    plan = JobPlan.of_repositories(repos("team/api", "team/web"), "2d")
    assert plan.repositories == 2 and plan.failures == ()
    assert [json.loads(b) for b in plan.bodies] == [
        {"repositoryName": "team/api", "registryId": "123456789012", "expiry": "2d"},
        {"repositoryName": "team/web", "registryId": "123456789012", "expiry": "2d"},
    ]


# -- publishing --------------------------------------------------------------------------


def changes(batch: Batch) -> list[ports.Message]:
    """One message per image that changed (none when nothing did)."""
    return [Note(s.change.value, s.key) for s in batch.to_publish]


def test_publish_changes_claims_then_publishes_what_compose_makes() -> None:
    store, topic = MemoryStore(), FakeTopic()
    published = publish_changes(
        [judged()],
        "us-east-1",
        store=store,
        publisher=topic,
        now=NOW,
        state_ttl=TTL,
        compose=changes,
    )
    key = report_key(judged(), "us-east-1")
    assert published.message_ids == ("id-1-0",)
    assert [(n.subject, n.message) for n in topic.published[0]] == [("new", key)]
    assert [s.change for s in published.batch.settled] == [Change.NEW]
    assert store.records[key].expires_at == NOW + TTL  # counts for state_ttl


def test_publish_changes_with_nothing_changed_publishes_nothing() -> None:
    store, topic = MemoryStore(), FakeTopic()
    kwargs = {"store": store, "publisher": topic, "now": NOW, "state_ttl": TTL}
    publish_changes([judged()], "us-east-1", compose=changes, **kwargs)
    again = publish_changes([judged()], "us-east-1", compose=changes, **kwargs)
    assert again.message_ids == ()
    assert [s.change for s in again.batch.settled] == [Change.UNCHANGED]
    assert len(topic.published) == 1  # only the first run published


def test_publish_changes_puts_the_claims_back_when_publishing_fails() -> None:
    store = MemoryStore()
    with pytest.raises(RuntimeError, match="SNS is down"):
        publish_changes(
            [judged()],
            "us-east-1",
            store=store,
            publisher=FakeTopic(down=True),
            now=NOW,
            state_ttl=TTL,
            compose=changes,
        )
    assert store.records == {}  # the claim was undone: the next run publishes again


def test_publish_change_composes_only_what_is_worth_a_message() -> None:
    store, topic = MemoryStore(), FakeTopic()
    composed: list[Settled] = []

    def compose(settled: Settled) -> list[ports.Message]:
        composed.append(settled)
        return [Note("s", settled.change.value)]

    kwargs = {"store": store, "publisher": topic, "now": NOW, "state_ttl": TTL}
    first = publish_change(judged(), "us-east-1", compose=compose, **kwargs)
    second = publish_change(judged(), "us-east-1", compose=compose, **kwargs)
    assert first.settled.change is Change.NEW and first.message_ids == ("id-1-0",)
    assert second.settled.change is Change.UNCHANGED and second.message_ids is None
    assert [s.change for s in composed] == [Change.NEW]
    assert store.records[first.settled.key].expires_at == NOW + TTL


def test_publish_all_makes_no_call_for_no_messages() -> None:
    topic = FakeTopic(down=True)  # would raise if called
    assert publish_all(topic, []) == ()
    assert publish_all(FakeTopic(), [Note("a", "b"), Note("c", "d")]) == ("id-1-0", "id-1-1")


@pytest.mark.parametrize("module", ["ports.py", "publish.py"])
def test_the_flow_modules_import_nothing_from_aws(module: str) -> None:
    tree = ast.parse((ENGINE / module).read_text(encoding="utf-8"))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert imported and not [m for m in imported if m.startswith("ecrscan.aws")]
