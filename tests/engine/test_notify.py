"""The notify-on-change protocol against an in-memory store: the edges that moto does not
reach (a race lost every time, a restore the table refuses, one digest named twice)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from dateutil.relativedelta import relativedelta

from ecrscan.aws.dynamodb import StateStore
from ecrscan.aws.errors import ErrorKind
from ecrscan.core.model import Image, ImageReport, ImageStatus
from ecrscan.core.notify import Change, Record, report_key
from ecrscan.engine.notify import CONTENDED, Batch, ChangeNotifier, Settled
from tests.support.memory_store import MemoryStore, failure

NOW = datetime(2026, 3, 1, tzinfo=UTC)
MONTH = relativedelta(months=1)


def judged(status: ImageStatus = ImageStatus.BREACH, tag: str = "v1", **counts: int) -> ImageReport:
    image = Image("team/api", "123456789012", "sha256:" + "1" * 64, (tag,))
    return ImageReport(image, None, status, counts=counts or {"HIGH": 1}, region="us-east-1")


def notifier(store: MemoryStore) -> ChangeNotifier:
    return ChangeNotifier(cast(StateStore, store), NOW, MONTH)


def test_a_race_lost_every_time_still_publishes_and_says_so():
    store = MemoryStore()
    notifier(store).one(judged(), "", lambda s: None)  # a record to fight over
    store.steal = True
    sent: list[Settled] = []
    settled, _ = notifier(store).one(judged(HIGH=5), "", sent.append)
    assert settled.change is Change.CHANGED and settled.claim is None
    assert settled.problem is not None and settled.problem.code == CONTENDED
    assert sent == [settled]  # never lose an alert


def test_a_restore_the_table_refuses_is_noted_on_the_error():
    store = MemoryStore(refuse=failure(ErrorKind.ACCESS_DENIED, "AccessDenied"), writes_ok=1)

    def explode(settled: Settled) -> None:
        raise RuntimeError("SNS is down")

    with pytest.raises(RuntimeError, match="SNS is down") as raised:
        notifier(store).one(judged(), "", explode)
    (note,) = raised.value.__notes__
    assert "not restored: AccessDenied" in note
    assert report_key(judged()) in store.records  # the claim stayed: the note says so


def test_a_restore_after_another_claim_leaves_that_claim_alone():
    store = MemoryStore()

    def somebody_else_claims(settled: Settled) -> None:
        assert settled.claim is not None and settled.claim.written is not None
        store.records[settled.key] = replace(settled.claim.written, version=7)
        raise RuntimeError("publish failed")

    with pytest.raises(RuntimeError) as raised:
        notifier(store).one(judged(), "", somebody_else_claims)
    assert not getattr(raised.value, "__notes__", None)
    assert store.records[report_key(judged())].version == 7


def test_many_judges_each_digest_once_and_publishes_once():
    store = MemoryStore()
    calls: list[Batch] = []
    reports = [judged(tag="v1"), judged(tag="latest"), judged(ImageStatus.NO_SCAN)]
    batch, _ = notifier(store).many(reports, "us-east-1", calls.append)
    assert [s.change for s in batch.settled] == [Change.NEW]
    assert calls == [batch] and store.writes == 1
    again, _ = notifier(store).many(reports, "us-east-1", calls.append)
    assert [s.change for s in again.settled] == [Change.UNCHANGED]
    assert len(calls) == 2 and again.to_publish == ()  # called: --publish-always decides


def test_many_without_a_readable_table_settles_every_breach_as_new():
    class Unreadable(MemoryStore):
        def read_many(self, keys: Iterable[str]) -> dict[str, Record]:
            raise failure(ErrorKind.THROTTLED, "ProvisionedThroughputExceededException")

    store = Unreadable()
    ok = replace(judged(ImageStatus.OK), image=replace(judged().image, digest="sha256:" + "2" * 64))
    batch, _ = notifier(store).many([judged(), ok], "", lambda b: None)
    assert batch.everything and batch.problem is not None
    assert [s.change for s in batch.settled] == [Change.NEW, Change.NONE]
    assert store.writes == 0 and batch.problems == (batch.problem,)


def test_claim_failures_other_than_a_lost_race_publish_without_a_claim():
    store = MemoryStore(refuse=failure(ErrorKind.NETWORK, "ReadTimeoutError"), writes_ok=0)
    published: list[Any] = []
    batch, _ = notifier(store).many([judged()], "", published.append)
    (settled,) = batch.settled
    assert settled.change is Change.NEW and settled.claim is None
    assert settled.problem is not None and settled.problem.code == "ReadTimeoutError"
    assert batch.to_publish == (settled,) and not batch.everything
