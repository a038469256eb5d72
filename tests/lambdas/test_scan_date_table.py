"""The images function's scan-date cache in the DynamoDB state table (moto): day 2 of an
unchanged repository reads only what the cache cannot vouch for, the items are TTL'd,
and a table that cannot be read makes the job read everything (one notice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from ecrscan.core.jobs import job_body
from ecrscan.lambdas import images, runtime
from tests.support.env import REGION
from tests.support.fakes import quick_registry
from tests.support.lambda_events import CountingSession, FakeContext, failures, log_lines, sqs_event
from tests.support.scan_dates import seed
from tests.support.state_table import create_state_table, items

DAY1 = datetime.now(UTC)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Any:
    with mock_aws():
        registry = quick_registry(REGION)
        registry.seeded = seed(registry, DAY1, per_repo=10)
        monkeypatch.setattr(runtime, "connections", runtime.new_connections(CountingSession))
        monkeypatch.setenv("SCAN_DATE_TABLE", create_state_table())
        monkeypatch.delenv("ECR_IMAGES_DURATION_DELTA", raising=False)
        yield registry


def run_day(monkeypatch: pytest.MonkeyPatch, now: datetime, capsys: Any) -> dict[str, Any]:
    monkeypatch.setattr(runtime, "clock", lambda: now)
    response = images.handler(sqs_event(job_body("alpha"), job_body("beta")), FakeContext())
    assert failures(response) == []
    done = [line for line in log_lines(capsys) if line.get("message") == "job done"]
    assert len(done) == 2
    return {line["repository"]: line for line in done}


def test_day_two_reads_what_the_table_cannot_vouch_for(
    world: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    day1 = run_day(monkeypatch, DAY1, capsys)
    assert [day1[r]["cacheReadsSaved"] for r in ("alpha", "beta")] == [0, 0]
    assert all(d["counts"]["started"] == 2 for d in day1.values())
    stored = {k: v for k, v in items().items() if k.startswith("scan-date/aws/")}
    assert len(stored) == 18  # 9 completed scans per repository; none this run started
    some = next(iter(stored.values()))
    completed = datetime.fromisoformat(some["completedAt"]["S"])
    assert int(some["expiresAt"]["N"]) == int((completed + timedelta(days=7)).timestamp())
    for repo in ("alpha", "beta"):  # the scans day 1 started (never scanned, 30 days) end
        for name in (f"{repo}-0", f"{repo}-1"):
            world.set_scan(repo, world.seeded[name][1], completed_at=DAY1 + timedelta(hours=1))

    day2 = run_day(monkeypatch, DAY1 + timedelta(days=1), capsys)

    # read: the two scans day 1 started; vouched for: the 8 scanned 1 to 3 days ago
    assert [day2[r]["cacheReadsSaved"] for r in ("alpha", "beta")] == [8, 8]
    assert all(d["counts"]["started"] == 0 for d in day2.values())  # day 1 started them


def test_a_table_that_cannot_be_read_means_every_image_is_read(
    world: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("SCAN_DATE_TABLE", "no-such-table")
    done = run_day(monkeypatch, DAY1, capsys)
    assert done["alpha"]["cacheReadsSaved"] == 0
    notices = [n for n in done["alpha"]["notices"] if "scan-date cache" in n]
    assert len(notices) == 2  # read and write each refused once, the job still done
    assert "dynamodb:no-such-table" in notices[0]
