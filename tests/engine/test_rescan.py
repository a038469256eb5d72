"""The rescan engine over moto, with scan states set explicitly by FakeRegistry.

Errors are injected at botocore's ``before-call`` hook of the session the gateway uses,
so they travel through the real gateway (classification, the throttle gate) like AWS's.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from dateutil.relativedelta import relativedelta
from moto import mock_aws

from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.throttle import Deadline
from ecrscan.core.durations import Duration
from ecrscan.core.model import Decision, Outcome, RescanResult, ScanType
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.problem import Problem
from ecrscan.core.summary import summarize
from ecrscan.engine.rescan import TIME_BUDGET_SPENT, RescanSettings, rescan
from ecrscan.engine.runner import Event
from tests.support.env import REGION
from tests.support.fakes import FakeTime, fake_throttle, fresh_session, quick_registry
from tests.support.registry import FakeRegistry

NOW = datetime.now(UTC)  # moto's per-image quota compares today's calendar date
WEEK = relativedelta(days=7)
WEEKLY = Duration(WEEK, "7d")
DENIED = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:{op}"


# -- a registry with every kind of image ---------------------------------------------

# name -> (repository, how the image's last scan looks)
MIXED: dict[str, tuple[str, dict[str, Any] | None]] = {
    "a-never": ("alpha", None),
    "a-old": ("alpha", {"status": "COMPLETE", "completed_at": NOW - timedelta(days=30)}),
    "a-fresh": ("alpha", {"status": "COMPLETE", "completed_at": NOW - timedelta(days=1)}),
    "a-edge": ("alpha", {"status": "COMPLETE", "completed_at": NOW - WEEK + timedelta(minutes=5)}),
    "a-failed": ("alpha", {"status": "FAILED", "completed_at": NOW - timedelta(days=3)}),
    "a-running": ("alpha", {"status": "IN_PROGRESS", "completed_at": NOW - timedelta(days=2)}),
    "b-old": ("beta", {"status": "COMPLETE", "completed_at": NOW - timedelta(days=8)}),
    "b-pending": ("beta", {"status": "PENDING", "completed_at": NOW - timedelta(days=2)}),
    "b-unsupported": (
        "beta",
        {"status": "UNSUPPORTED_IMAGE", "completed_at": NOW - timedelta(days=40)},
    ),
    "b-archived": ("beta", {"status": "IMAGE_ARCHIVED", "completed_at": NOW - timedelta(days=40)}),
    "b-never": ("beta", None),
}
DUE = {"a-never", "a-old", "a-failed", "b-old", "b-never"}
EXPECTED_DECISIONS = {
    "a-never": Decision.DUE,
    "a-old": Decision.DUE,
    "a-fresh": Decision.FRESH,
    "a-edge": Decision.FRESH,
    "a-failed": Decision.DUE,
    "a-running": Decision.IN_PROGRESS,
    "b-old": Decision.DUE,
    "b-pending": Decision.IN_PROGRESS,
    "b-unsupported": Decision.SKIPPED,
    "b-archived": Decision.SKIPPED,
    "b-never": Decision.DUE,
}


@dataclass
class Seeded:
    registry: FakeRegistry
    digests: dict[str, str]  # image name -> digest
    session: Any

    @property
    def names(self) -> dict[str, str]:
        return {d: n for n, d in self.digests.items()}

    def last_scans(self) -> dict[str, datetime | None]:
        out = {}
        for name, sha in self.digests.items():
            repo = MIXED[name][0] if name in MIXED else name.split(":")[0]
            out[name] = self.registry._image(repo, sha).last_scan
        return out

    def gateway(self, **kwargs: Any) -> EcrGateway:
        return EcrGateway(
            self.session,
            region=REGION,
            throttle=kwargs.pop("throttle", fake_throttle(FakeTime())),
            **kwargs,
        )

    def refuse(
        self,
        operation: str,
        code: str,
        message: str,
        when: Callable[[dict[str, Any]], bool] = lambda body: True,
    ) -> list[dict]:
        """Make ``operation`` fail with an AWS error for requests ``when`` selects;
        returns the list of refused request bodies."""
        refused: list[dict[str, Any]] = []

        def handler(params: dict[str, Any], **_: Any) -> Any:
            body = json.loads(params.get("body") or b"{}")
            if not when(body):
                return None
            refused.append(body)
            error = {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            return SimpleNamespace(status_code=400, headers={}), error

        self.session.events.register_first(f"before-call.ecr.{operation}", handler)
        return refused

    def count(self, operation: str) -> Counter[str]:
        """Count requests of ``operation`` by repository name (refused or not)."""
        counts: Counter[str] = Counter()

        def handler(params: dict[str, Any], **_: Any) -> None:
            counts[json.loads(params.get("body") or b"{}").get("repositoryName", "")] += 1

        self.session.events.register_first(f"before-call.ecr.{operation}", handler)
        return counts


@pytest.fixture
def registry(mocked: None) -> FakeRegistry:
    """conftest's registry on a session that shares the model loader (faster)."""
    return quick_registry(REGION)


def seed(registry: FakeRegistry) -> Seeded:
    digests: dict[str, str] = {}
    for repo in ("alpha", "beta", "gamma"):
        registry.create_repo(repo)
    for number, (name, (repo, scan)) in enumerate(MIXED.items()):
        sha = registry.push(repo, name)
        registry.set_pushed_at(repo, sha, NOW - timedelta(days=100 - number))
        if scan is not None:
            registry.set_scan(repo, sha, **scan)
        digests[name] = sha
    return Seeded(registry, digests, fresh_session(REGION))


@pytest.fixture
def seeded(registry: FakeRegistry) -> Seeded:
    return seed(registry)


def outcomes(result: RescanResult, seeded: Seeded) -> dict[str, tuple[str, Outcome | None]]:
    names = seeded.names
    return {
        names[r.image.digest]: (r.verdict.decision.value, r.outcome) for r in result.all_images()
    }


def run(seeded: Seeded, gateway: EcrGateway | None = None, **settings: Any) -> RescanResult:
    settings.setdefault("expiry", WEEKLY)
    settings.setdefault("concurrency", 4)
    return rescan(gateway or seeded.gateway(), NOW, RescanSettings(**settings))


# -- the main paths ------------------------------------------------------------------


def test_mixed_registry_starts_exactly_the_due_images(seeded: Seeded) -> None:
    before = seeded.last_scans()
    gateway = seeded.gateway()
    started_at = datetime.today()  # moto's clock for StartImageScan (naive local)
    result = run(seeded, gateway)
    assert [r.repository.name for r in result.repositories] == ["alpha", "beta", "gamma"]
    got = outcomes(result, seeded)
    assert {n: Decision(d) for n, (d, _) in got.items()} == EXPECTED_DECISIONS
    assert {n for n, (_, o) in got.items() if o is Outcome.STARTED} == DUE
    assert {n for n, (_, o) in got.items() if o is not None} == DUE
    # moto's record of StartImageScan: this run, on exactly the due images, untouched elsewhere
    after = seeded.last_scans()
    changed = {n for n in before if after[n] != before[n]}
    assert changed == DUE
    assert all(after[n] >= started_at for n in DUE)
    assert gateway.calls["start_image_scan"] == len(DUE)
    assert gateway.calls["describe_image_scan_findings"] == len(MIXED)  # one read each
    assert gateway.calls["get_registry_scanning_configuration"] == 1
    assert not result.incomplete
    assert result.notices == ()
    assert result.scan_type is ScanType.BASIC
    assert result.region == REGION


def test_verdicts_carry_states_and_reasons(seeded: Seeded) -> None:
    result = run(seeded, dry_run=True)
    by_name = {seeded.names[r.image.digest]: r for r in result.all_images()}
    assert by_name["a-never"].state is not None and by_name["a-never"].state.never_scanned
    assert by_name["a-never"].verdict.reason == "never scanned"
    assert by_name["a-old"].verdict.reason == "last scan older than expiry (30d ago)"
    assert by_name["a-failed"].verdict.reason == "last scan failed"
    assert by_name["b-unsupported"].verdict.reason == "image type not supported by scanning"
    assert by_name["b-archived"].verdict.reason == "image is archived"
    completed = by_name["a-old"].state.completed_at
    assert abs(completed - (NOW - timedelta(days=30))) < timedelta(seconds=1)
    assert by_name["a-old"].image.tags == ("a-old",)


def test_summary_counts(seeded: Seeded) -> None:
    summary = summarize(run(seeded))
    assert summary["alpha"] == {
        "images": 6,
        "due": 3,
        "fresh": 2,
        "started": 3,
        "planned": 0,
        "already_scanned": 0,
        "scanned_meanwhile": 0,
        "not_started": 0,
        "in_progress": 1,
        "skipped": 0,
        "not_rescannable": 0,
        "failed": 0,
    }
    assert summary["beta"]["images"] == 5
    assert summary["beta"]["skipped"] == 2
    assert summary["gamma"] == dict.fromkeys(summary["gamma"], 0)
    assert summary["TOTAL"]["started"] == len(DUE)
    assert summary["TOTAL"]["images"] == len(MIXED)


def test_dry_run_starts_nothing(seeded: Seeded) -> None:
    before = seeded.last_scans()
    gateway = seeded.gateway()
    result = run(seeded, gateway, dry_run=True)
    got = outcomes(result, seeded)
    assert {n for n, (_, o) in got.items() if o is Outcome.PLANNED} == DUE
    assert {o for _, o in got.values()} == {Outcome.PLANNED, None}
    assert seeded.last_scans() == before
    assert "start_image_scan" not in gateway.calls
    assert result.dry_run
    assert not result.incomplete


def test_filter_limits_the_repositories(seeded: Seeded) -> None:
    result = run(seeded, filter=RepositoryFilter.compile("a", ["^gamma$"]))
    assert [r.repository.name for r in result.repositories] == ["alpha", "beta"]
    result = run(seeded, filter=RepositoryFilter.compile("^alpha$"), dry_run=True)
    assert [r.repository.name for r in result.repositories] == ["alpha"]


def test_already_scanned_today(registry: FakeRegistry) -> None:
    registry.create_repo("today")
    sha = registry.push("today", "v1")
    # FAILED earlier today: due, but AWS allows one scan per image per day
    registry.set_scan("today", sha, status="FAILED")
    seeded = Seeded(registry, {"today:v1": sha}, fresh_session(REGION))
    gateway = seeded.gateway()
    result = run(seeded, gateway)
    (image,) = result.all_images()
    assert image.verdict.decision is Decision.DUE
    assert image.outcome is Outcome.ALREADY_SCANNED
    assert image.detail == "already scanned in the last 24 h"
    assert gateway.calls["start_image_scan"] == 1  # never retried
    assert not result.incomplete
    assert summarize(result)["TOTAL"]["already_scanned"] == 1


def test_enhanced_registry_starts_no_scans(seeded: Seeded) -> None:
    seeded.registry.set_scan_type("ENHANCED")
    before = seeded.last_scans()
    gateway = seeded.gateway()
    result = run(seeded, gateway)
    assert result.scan_type is ScanType.ENHANCED
    assert len(result.notices) == 1
    assert "ENHANCED" in result.notices[0] and "no scans were started" in result.notices[0]
    assert "start_image_scan" not in gateway.calls
    assert seeded.last_scans() == before
    got = outcomes(result, seeded)
    assert {n for n, (d, _) in got.items() if d == "not_rescannable"} == DUE
    assert all(o is None for _, o in got.values())
    assert not result.incomplete


def test_unreadable_scanning_configuration_assumes_basic(seeded: Seeded) -> None:
    seeded.refuse("GetRegistryScanningConfiguration", "AccessDeniedException", "no")
    result = run(seeded, dry_run=True)
    assert result.scan_type is ScanType.BASIC
    assert result.notices == (
        "could not read the registry scanning configuration (AccessDeniedException: no); "
        "assuming BASIC scanning",
    )


def test_archived_image_status_is_skipped_without_a_scan(seeded: Seeded) -> None:
    gateway = seeded.gateway()
    archived = seeded.digests["a-never"]
    listing = gateway.images

    def images(repo: Any, ids: Any = None) -> Iterator[Any]:
        for image in listing(repo, ids):
            yield replace(image, image_status="ARCHIVED") if image.digest == archived else image

    gateway.images = images  # type: ignore[method-assign]
    result = run(seeded, gateway)
    got = outcomes(result, seeded)
    assert got["a-never"] == ("skipped", None)
    assert {n for n, (_, o) in got.items() if o is Outcome.STARTED} == DUE - {"a-never"}


# -- quotas and failures -------------------------------------------------------------


def test_account_quota_stops_starting_scans(seeded: Seeded) -> None:
    calls = seeded.count("StartImageScan")
    seen: list[int] = []
    seeded.refuse(
        "StartImageScan",
        "LimitExceededException",
        "The maximum number of image scans for this account has been exceeded.",
        when=lambda body: seen.append(1) or len(seen) >= 2,  # the second call on
    )
    before = seeded.last_scans()
    result = run(seeded, concurrency=1)
    got = outcomes(result, seeded)
    started = {n for n, (_, o) in got.items() if o is Outcome.STARTED}
    not_started = {n for n, (_, o) in got.items() if o is Outcome.NOT_STARTED}
    assert len(started) == 1
    assert started | not_started == DUE
    assert sum(calls.values()) == 2  # nothing more was tried after the quota
    changed = {n for n in before if seeded.last_scans()[n] != before[n]}
    assert changed == started
    assert result.incomplete
    assert len(result.notices) == 1 and "account scan quota exceeded" in result.notices[0]
    details = {r.detail for r in result.all_images() if r.outcome is Outcome.NOT_STARTED}
    assert all(
        d.startswith("account scan quota exceeded (LimitExceededException: ") for d in details
    )


def test_account_quota_with_many_workers(seeded: Seeded) -> None:
    calls = seeded.count("StartImageScan")
    seeded.refuse("StartImageScan", "LimitExceededException", "account quota")
    result = run(seeded, concurrency=8)
    got = outcomes(result, seeded)
    assert {n for n, (_, o) in got.items() if o is Outcome.NOT_STARTED} == DUE
    assert 1 <= sum(calls.values()) <= len(DUE)
    assert result.incomplete


@pytest.mark.parametrize("concurrency", [1, 8])
def test_access_denied_listing_one_repository(seeded: Seeded, concurrency: int) -> None:
    message = DENIED.format(op="DescribeImages")
    seeded.refuse(
        "DescribeImages",
        "AccessDeniedException",
        message,
        when=lambda body: body["repositoryName"] == "beta",
    )
    result = run(seeded, concurrency=concurrency)
    alpha, beta, gamma = result.repositories
    assert beta.error == Problem("AccessDeniedException", message)
    assert beta.images == ()
    assert alpha.error is None and gamma.error is None
    assert {seeded.names[r.image.digest] for r in alpha.images if r.outcome is Outcome.STARTED} == {
        n for n in DUE if n.startswith("a-")
    }
    assert result.incomplete


@pytest.mark.parametrize("concurrency", [1, 8])
def test_access_denied_starting_scans_in_one_repository(seeded: Seeded, concurrency: int) -> None:
    message = DENIED.format(op="StartImageScan")
    seeded.refuse(
        "StartImageScan",
        "AccessDeniedException",
        message,
        when=lambda body: body["repositoryName"] == "beta",
    )
    result = run(seeded, concurrency=concurrency)
    got = outcomes(result, seeded)
    beta = result.repositories[1]
    assert beta.error == Problem("AccessDeniedException", message)
    # every due image of beta failed with AWS's message; its other images keep their verdict
    for name, (decision, outcome) in got.items():
        if not name.startswith("b-"):
            continue
        if name in DUE:
            assert outcome is Outcome.FAILED
        else:
            assert (Decision(decision), outcome) == (EXPECTED_DECISIONS[name], None)
    assert {r.detail for r in beta.images if r.outcome is Outcome.FAILED} == {
        f"AccessDeniedException: {message}"
    }
    assert {n for n, (_, o) in got.items() if o is Outcome.STARTED} == {
        n for n in DUE if n.startswith("a-")
    }
    assert result.incomplete


def test_access_denied_reading_scan_states_stops_reading_that_repository(seeded: Seeded) -> None:
    reads = seeded.count("DescribeImageScanFindings")
    message = DENIED.format(op="DescribeImageScanFindings")
    seeded.refuse(
        "DescribeImageScanFindings",
        "AccessDeniedException",
        message,
        when=lambda body: body["repositoryName"] == "beta",
    )
    result = run(seeded, concurrency=1)
    beta = result.repositories[1]
    assert beta.error == Problem("AccessDeniedException", message)
    assert [r.outcome for r in beta.images] == [Outcome.FAILED] * 5
    assert {r.verdict.reason for r in beta.images} == {"scan state unreadable"}
    assert reads["beta"] == 1  # the refusal is not asked again for every image
    assert reads["alpha"] == 6
    assert result.repositories[0].error is None


def test_repository_deleted_during_the_run(seeded: Seeded) -> None:
    message = "The repository with name 'gamma' does not exist"
    seeded.refuse(
        "DescribeImages",
        "RepositoryNotFoundException",
        message,
        when=lambda body: body["repositoryName"] == "gamma",
    )
    result = run(seeded)
    assert result.repositories[2].error == Problem("RepositoryNotFoundException", message)
    assert result.incomplete


def test_throttled_scan_starts_are_retried(seeded: Seeded) -> None:
    fake = FakeTime()
    throttled: list[int] = []
    seeded.refuse(
        "StartImageScan",
        "ThrottlingException",
        "Rate exceeded",
        when=lambda body: len(throttled) < 3 and not throttled.append(1),
    )
    gateway = seeded.gateway(throttle=fake_throttle(fake))
    result = run(seeded, gateway, concurrency=2)
    got = outcomes(result, seeded)
    assert {n for n, (_, o) in got.items() if o is Outcome.STARTED} == DUE
    assert gateway.throttle.stats.throttled == 3
    assert len(fake.sleeps) >= 3  # the gate slowed the workers (fake sleep, no waiting)
    assert gateway.calls["start_image_scan"] == len(DUE) + 3


def test_throttling_budget_spent_is_not_started(seeded: Seeded) -> None:
    seeded.refuse(
        "StartImageScan",
        "ThrottlingException",
        "Rate exceeded",
        when=lambda body: body["repositoryName"] == "alpha",
    )
    gateway = seeded.gateway(throttle=fake_throttle(FakeTime(), max_attempts=3))
    result = run(seeded, gateway)
    alpha = result.repositories[0]
    assert {r.outcome for r in alpha.images if r.verdict.decision is Decision.DUE} == {
        Outcome.NOT_STARTED
    }
    assert alpha.error is None
    assert result.incomplete


def test_past_the_deadline_no_image_check_starts(seeded: Seeded) -> None:
    """The deadline passes during the second scan-state read: no further read or scan is
    sent, and every image left is NOT_STARTED with the reason, as a value."""
    fake = FakeTime()
    deadline = Deadline(fake.now + 60.0, fake.clock)
    reads = seeded.count("DescribeImageScanFindings")
    starts = seeded.count("StartImageScan")

    def time_passes(params: dict[str, Any], **_: Any) -> None:
        if sum(reads.values()) == 2:
            fake.now = deadline.at + 1

    seeded.session.events.register("before-call.ecr.DescribeImageScanFindings", time_passes)
    gateway = seeded.gateway(throttle=fake_throttle(fake, deadline=deadline))
    result = run(seeded, gateway, concurrency=1, deadline=deadline)

    images = list(result.all_images())
    assert len(images) == len(MIXED) and sum(reads.values()) == 2
    assert sum(starts.values()) <= 1  # at most the first image's, before the deadline
    late = [r for r in images if r.outcome is Outcome.NOT_STARTED]
    not_checked = [r for r in late if r.state is None]
    assert len(not_checked) == len(MIXED) - 2
    assert all(r.detail.startswith(f"{TIME_BUDGET_SPENT}: ") for r in late)
    assert {r.verdict.reason for r in not_checked} == {"not checked"}
    assert result.incomplete
    assert any(
        f"stopped at the deadline ({TIME_BUDGET_SPENT}): {len(late)} images" in n
        for n in result.notices
    )
    total = summarize(result)["TOTAL"]
    assert total["not_started"] == len(late) and total["images"] == len(MIXED)
    assert total["skipped"] == 0  # not-checked images are not counted twice


def test_without_a_deadline_nothing_is_left_for_lack_of_time(seeded: Seeded) -> None:
    fake = FakeTime()
    fake.now += 1e9  # however late it is
    result = run(seeded, seeded.gateway(throttle=fake_throttle(fake)), concurrency=1)
    assert not any(r.outcome is Outcome.NOT_STARTED for r in result.all_images())
    assert not result.incomplete


def test_transport_error_fails_one_image_only(seeded: Seeded) -> None:
    victim = seeded.digests["a-old"]

    def timeout(params: dict[str, Any], **_: Any) -> None:
        if json.loads(params["body"])["imageId"]["imageDigest"] == victim:
            raise ReadTimeoutError(endpoint_url="https://api.ecr.us-east-1.amazonaws.com")

    seeded.session.events.register_first("before-call.ecr.DescribeImageScanFindings", timeout)
    result = run(seeded)
    got = outcomes(result, seeded)
    assert got["a-old"] == ("skipped", Outcome.FAILED)
    failed = [r for r in result.all_images() if r.outcome is Outcome.FAILED]
    assert failed[0].detail.startswith("ReadTimeoutError: Read timeout")
    assert {n for n, (_, o) in got.items() if o is Outcome.STARTED} == DUE - {"a-old"}
    assert result.incomplete


def test_an_unexpected_error_cancels_the_queued_work(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one worker must not leave the pool running every queued AWS call."""
    gateway = seeded.gateway()
    calls: list[str] = []
    release = threading.Event()

    def broken(image: Any) -> Any:
        calls.append(image.digest)
        if len(calls) == 1:
            raise RuntimeError("bug")
        release.wait()  # hold the worker until the engine has reacted to the error
        raise RuntimeError("bug")

    # The pool's shutdown (the end of the engine's `with`) runs after the engine's
    # error handling; only then let the in-flight task finish.
    original_shutdown = ThreadPoolExecutor.shutdown

    def shutdown(self: ThreadPoolExecutor, *args: Any, **kwargs: Any) -> None:
        release.set()
        original_shutdown(self, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "shutdown", shutdown)
    gateway.scan_state = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="bug"):
        run(seeded, gateway, concurrency=1)
    assert len(calls) <= 2  # the failing task and at most the one already running


def test_named_repositories_report_a_missing_one(seeded: Seeded) -> None:
    events: list[tuple[Event, int]] = []
    result = rescan(
        seeded.gateway(),
        NOW,
        RescanSettings(expiry=WEEKLY, repositories=("alpha", "missing"), dry_run=True),
        progress=lambda e, n: events.append((e, n)),
    )
    alpha, missing = result.repositories
    assert missing.repository.name == "missing"
    assert missing.error is not None and missing.error.code == "RepositoryNotFoundException"
    assert len(alpha.images) == 6
    assert sum(n for e, n in events if e is Event.REPOSITORY_DONE) == 2


def test_now_must_be_aware(seeded: Seeded) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        rescan(seeded.gateway(), datetime.now(), RescanSettings(expiry=WEEKLY))


# -- progress and determinism --------------------------------------------------------


def test_progress_events_are_consistent_and_from_the_calling_thread(seeded: Seeded) -> None:
    events: list[tuple[Event, int, int]] = []
    result = rescan(
        seeded.gateway(),
        NOW,
        RescanSettings(expiry=WEEKLY, concurrency=8),
        progress=lambda e, n: events.append((e, n, threading.get_ident())),
    )
    assert {t for _, _, t in events} == {threading.get_ident()}
    assert events[0][:2] == (Event.REPOSITORIES, 3)
    total = Counter()
    for event, amount, _ in events:
        total[event] += amount
    assert total[Event.REPOSITORIES] == 3
    assert total[Event.REPOSITORY_DONE] == 3
    assert total[Event.IMAGES_FOUND] == len(MIXED)
    assert total[Event.IMAGE_CHECKED] == len(MIXED)
    assert total[Event.SCAN_STARTED] == summarize(result)["TOTAL"]["started"] == len(DUE)
    # a repository is done only after its images were checked
    checked = 0
    for event, amount, _ in events:
        checked += amount if event is Event.IMAGE_CHECKED else 0
        if event is Event.SCAN_STARTED:
            assert checked > 0


def comparable(result: RescanResult) -> list[Any]:
    return [
        (
            repo.repository.name,
            repo.error,
            [(r.image.digest, r.verdict, r.outcome, r.detail) for r in repo.images],
        )
        for repo in result.repositories
    ]


@pytest.mark.parametrize("dry_run", [True, False])
def test_concurrency_does_not_change_results(dry_run: bool) -> None:
    runs = []
    for concurrency in (1, 8):
        with mock_aws():
            registry = quick_registry(REGION)
            seeded = seed(registry)
            seeded.refuse(
                "StartImageScan",
                "AccessDeniedException",
                "denied",
                when=lambda body: body["repositoryName"] == "beta",
            )
            runs.append(comparable(run(seeded, concurrency=concurrency, dry_run=dry_run)))
    assert runs[0] == runs[1]
    assert sum(len(images) for _, _, images in runs[0]) == len(MIXED)
