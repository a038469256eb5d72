"""The gateway with botocore's Stubber: pagination, scan states and StartImageScan outcomes.

moto ignores maxResults/nextToken and never returns scan fields from DescribeImages, so
those paths are driven by stubbed responses here.  A Throttle with a fake clock and
sleep means nothing really sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from ecrscan.aws.clients import READ_ATTEMPTS
from ecrscan.aws.ecr import MAX_START_CALLS, PAGE_SIZE, AccountQuotaExceeded, EcrGateway
from ecrscan.aws.errors import DEADLINE_REACHED, AwsError, ErrorKind, classify
from ecrscan.aws.throttle import Deadline
from ecrscan.core.durations import Duration
from ecrscan.core.model import NEVER_SCANNED, Image, Outcome, Repository, ScanStart, ScanType
from ecrscan.core.problem import Problem
from ecrscan.engine.rescan import RescanSettings, rescan
from tests.support.ecr_items import ACCOUNT, PUSHED, REPO, digest, image_item
from tests.support.fakes import (
    FakeTime,
    RecordingSession,
    fake_throttle,
    fresh_session,
    quick_registry,
)

SCANNED = datetime(2026, 2, 20, 8, 30, tzinfo=UTC)
PER_IMAGE = "The scan quota per image has been exceeded. Wait and try again."


def image(n: int = 1, repo: Repository = REPO) -> Image:
    return Image(repository=repo.name, registry_id=repo.registry_id, digest=digest(n))


@dataclass
class Stubbed:
    gateway: EcrGateway
    read: Stubber
    write: Stubber
    time: FakeTime


@pytest.fixture
def stubbed() -> Iterator[Stubbed]:
    fake = FakeTime()
    session = RecordingSession()
    gateway = EcrGateway(
        session,
        region="us-east-1",
        throttle=fake_throttle(fake, max_attempts=4),
        wall_clock=lambda: SENT,
    )
    read, write = _split(session, gateway)
    with Stubber(read) as read_stub, Stubber(write) as write_stub:
        yield Stubbed(gateway, read_stub, write_stub, fake)
        read_stub.assert_no_pending_responses()
        write_stub.assert_no_pending_responses()


def _split(session: RecordingSession, gateway: EcrGateway) -> tuple[Any, Any]:
    """(read client, write client): the write client has botocore retries switched off
    and is built on first use."""
    assert len(session.clients) == 1  # the read client; StartImageScan's comes later
    write = gateway._write
    assert len(session.clients) == 2 and gateway._write is write  # built once
    (read,) = [c for c in session.clients if c is not write]
    return read, write


def test_clients_retry_per_call_kind() -> None:
    session = RecordingSession()
    read, write = _split(session, EcrGateway(session, region="us-east-1"))
    assert read.meta.config.retries["mode"] == "standard"
    assert read.meta.config.retries["total_max_attempts"] == READ_ATTEMPTS == 3  # all in all
    # botocore's standard mode counts LimitExceededException as throttling: StartImageScan
    # must not go through it, or the per-image 24 h quota error would be retried.
    assert write.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert "ecrscan/" in read.meta.config.user_agent_extra


# -- pagination ---------------------------------------------------------------------


def repo_item(name: str) -> dict[str, Any]:
    return {
        "repositoryName": name,
        "registryId": ACCOUNT,
        "repositoryArn": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}",
        "repositoryUri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{name}",
        "createdAt": PUSHED,
        "imageScanningConfiguration": {"scanOnPush": name.endswith("0")},
    }


def test_describe_repositories_every_page(stubbed: Stubbed) -> None:
    pages = [[f"repo-{p}-{i}" for i in range(3)] for p in range(3)]
    for number, names in enumerate(pages):
        expected: dict[str, Any] = {"maxResults": PAGE_SIZE}
        if number:
            expected["nextToken"] = f"token-{number}"
        response: dict[str, Any] = {"repositories": [repo_item(n) for n in names]}
        if number < len(pages) - 1:
            response["nextToken"] = f"token-{number + 1}"
        stubbed.read.add_response("describe_repositories", response, expected)
    repos = list(stubbed.gateway.repositories())
    assert [r.name for r in repos] == [n for names in pages for n in names]
    first = repos[0]
    assert first == Repository(
        name="repo-0-0",
        registry_id=ACCOUNT,
        arn=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/repo-0-0",
        uri=f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/repo-0-0",
        created_at=PUSHED,
        scan_on_push=True,
    )
    assert stubbed.gateway.calls["describe_repositories"] == 3
    assert PAGE_SIZE == 1000


def test_describe_repositories_by_name_and_registry_id() -> None:
    session = RecordingSession()
    gateway = EcrGateway(session, region="us-east-1", registry_id="999999999999")
    read, _ = _split(session, gateway)
    with Stubber(read) as stub:
        stub.add_response(
            "describe_repositories",
            {"repositories": [repo_item("one")]},
            {"registryId": "999999999999", "repositoryNames": ["one"]},  # no maxResults
        )
        assert [r.name for r in gateway.repositories(names=["one"])] == ["one"]
        stub.assert_no_pending_responses()


def test_describe_images_every_page_with_max_results(stubbed: Stubbed) -> None:
    counter = 0
    for number in range(3):
        expected: dict[str, Any] = {
            "repositoryName": REPO.name,
            "registryId": ACCOUNT,
            "maxResults": 1000,
        }
        if number:
            expected["nextToken"] = f"page-{number}"
        items = []
        for _ in range(4):
            counter += 1
            items.append(image_item(counter))
        response: dict[str, Any] = {"imageDetails": items}
        if number < 2:
            response["nextToken"] = f"page-{number + 1}"
        stubbed.read.add_response("describe_images", response, expected)
    images = list(stubbed.gateway.images(REPO))
    assert [i.digest for i in images] == [digest(n) for n in range(1, 13)]
    assert images[0] == Image(
        repository=REPO.name,
        registry_id=ACCOUNT,
        digest=digest(1),
        tags=("v1",),
        pushed_at=PUSHED,
        size_bytes=1001,
        summary=None,  # AWS no longer fills the scan summary
    )
    assert stubbed.gateway.calls["describe_images"] == 3


def test_describe_images_by_id_in_batches_of_100(stubbed: Stubbed) -> None:
    ids = [{"imageDigest": digest(n)} for n in range(150)]
    for batch in (ids[:100], ids[100:]):
        stubbed.read.add_response(
            "describe_images",
            {"imageDetails": [image_item(int(i["imageDigest"][7:], 16)) for i in batch]},
            {"repositoryName": REPO.name, "registryId": ACCOUNT, "imageIds": batch},
        )
    assert len(list(stubbed.gateway.images(REPO, ids))) == 150


def test_describe_images_keeps_the_summary_when_aws_sends_it(stubbed: Stubbed) -> None:
    stubbed.read.add_response(
        "describe_images",
        {
            "imageDetails": [
                image_item(
                    1,
                    imageStatus="ACTIVE",
                    imageScanStatus={"status": "COMPLETE", "description": "done"},
                    imageScanFindingsSummary={
                        "imageScanCompletedAt": SCANNED,
                        "findingSeverityCounts": {"HIGH": 2, "LOW": 1},
                    },
                ),
                # a status without its date cannot decide due-ness: no summary
                image_item(2, imageScanStatus={"status": "COMPLETE"}),
                image_item(3, imageScanStatus={"status": "IN_PROGRESS"}),
            ]
        },
    )
    one, two, three = stubbed.gateway.images(REPO)
    assert one.image_status == "ACTIVE"
    assert one.summary is not None
    assert (one.summary.status, one.summary.completed_at) == ("COMPLETE", SCANNED)
    assert one.summary.counts == {"HIGH": 2, "LOW": 1}
    assert one.summary.description == "done"
    assert one.summary.source == "describe_images"
    assert two.summary is None
    assert three.summary is not None and three.summary.status == "IN_PROGRESS"


# -- scan states --------------------------------------------------------------------


def findings_params(n: int = 1) -> dict[str, Any]:
    return {
        "repositoryName": REPO.name,
        "registryId": ACCOUNT,
        "imageId": {"imageDigest": digest(n)},
        "maxResults": 1,
    }


def test_scan_state_reads_one_finding_only(stubbed: Stubbed) -> None:
    stubbed.read.add_response(
        "describe_image_scan_findings",
        {
            "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed"},
            "imageScanFindings": {
                "imageScanCompletedAt": SCANNED,
                "findingSeverityCounts": {"CRITICAL": 1, "MEDIUM": 4},
                "findings": [{"name": "CVE-2026-0001", "severity": "CRITICAL"}],
            },
            "nextToken": "more",  # never followed: only the summary is needed
        },
        findings_params(),
    )
    state = stubbed.gateway.scan_state(image())
    assert state.status == "COMPLETE"
    assert state.completed_at == SCANNED
    assert state.counts == {"CRITICAL": 1, "MEDIUM": 4}
    assert state.source == "scan_findings"
    assert not state.never_scanned
    assert stubbed.gateway.calls["describe_image_scan_findings"] == 1


def test_scan_not_found_means_never_scanned(stubbed: Stubbed) -> None:
    stubbed.read.add_client_error(
        "describe_image_scan_findings",
        "ScanNotFoundException",
        "Image scan does not exist",
        expected_params=findings_params(),
    )
    assert stubbed.gateway.scan_state(image()) is NEVER_SCANNED


def test_scan_state_in_progress_has_no_date(stubbed: Stubbed) -> None:
    stubbed.read.add_response(
        "describe_image_scan_findings",
        {"imageScanStatus": {"status": "IN_PROGRESS"}},
        findings_params(),
    )
    state = stubbed.gateway.scan_state(image())
    assert (state.status, state.completed_at) == ("IN_PROGRESS", None)


def test_scan_state_read_is_retried_through_the_gate(stubbed: Stubbed) -> None:
    for _ in range(2):
        stubbed.read.add_client_error(
            "describe_image_scan_findings",
            "ThrottlingException",
            "Rate exceeded",
            expected_params=findings_params(),
        )
    stubbed.read.add_client_error(
        "describe_image_scan_findings",
        "ScanNotFoundException",
        "none",
        expected_params=findings_params(),
    )
    assert stubbed.gateway.scan_state(image()) is NEVER_SCANNED
    assert stubbed.gateway.calls["describe_image_scan_findings"] == 3
    assert stubbed.gateway.throttle.stats.throttled == 2
    assert len(stubbed.time.sleeps) == 2


def test_throttled_calls_give_up_at_the_runs_deadline(stubbed: Stubbed) -> None:
    fake = stubbed.time
    deadline = Deadline(fake.now + 2.5, fake.clock)
    stubbed.gateway.throttle = fake_throttle(fake, budget_seconds=1e9, deadline=deadline)
    for _ in range(3):  # throttled: paced at 1 call/s (nothing measured yet), then less
        stubbed.read.add_client_error(
            "describe_image_scan_findings",
            "ThrottlingException",
            "Rate exceeded",
            expected_params=findings_params(),
        )
    with pytest.raises(AwsError) as info:
        stubbed.gateway.scan_state(image())
    assert info.value.kind is ErrorKind.THROTTLED
    assert info.value.problem.code == "ThrottlingException"
    assert "past the run's deadline" in info.value.problem.message
    assert len(fake.sleeps) == 2 and fake.now <= deadline.at  # the third slot is past it
    assert fake.sleeps[0] == pytest.approx(1.0)

    # once the deadline is reached, no request is sent at all
    fake.now = deadline.at
    with pytest.raises(AwsError) as info:
        stubbed.gateway.scan_state(image())
    assert info.value.kind is ErrorKind.THROTTLED
    assert info.value.problem.code == DEADLINE_REACHED
    assert stubbed.gateway.calls["describe_image_scan_findings"] == 3


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("AccessDeniedException", ErrorKind.ACCESS_DENIED),
        ("RepositoryNotFoundException", ErrorKind.REPOSITORY_NOT_FOUND),
        ("ImageNotFoundException", ErrorKind.IMAGE_NOT_FOUND),
    ],
)
def test_scan_state_errors_are_classified(stubbed: Stubbed, code: str, kind: ErrorKind) -> None:
    stubbed.read.add_client_error("describe_image_scan_findings", code, "nope")
    with pytest.raises(AwsError) as info:
        stubbed.gateway.scan_state(image())
    assert info.value.kind is kind
    assert info.value.problem == Problem(code, "nope")
    assert info.value.operation == "describe_image_scan_findings"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ENHANCED", ScanType.ENHANCED), ("BASIC", ScanType.BASIC)],
)
def test_scan_type(stubbed: Stubbed, value: str, expected: ScanType) -> None:
    stubbed.read.add_response(
        "get_registry_scanning_configuration",
        {"registryId": ACCOUNT, "scanningConfiguration": {"scanType": value, "rules": []}},
        {},
    )
    assert stubbed.gateway.scan_type() is expected


def test_scan_type_defaults_to_basic(stubbed: Stubbed) -> None:
    stubbed.read.add_response("get_registry_scanning_configuration", {"registryId": ACCOUNT})
    assert stubbed.gateway.scan_type() is ScanType.BASIC


# -- StartImageScan -----------------------------------------------------------------


def start_params(n: int = 1) -> dict[str, Any]:
    return {
        "repositoryName": REPO.name,
        "registryId": ACCOUNT,
        "imageId": {"imageDigest": digest(n)},
    }


def test_start_scan_started(stubbed: Stubbed) -> None:
    stubbed.write.add_response(
        "start_image_scan",
        {
            "repositoryName": REPO.name,
            "imageId": {"imageDigest": digest(1)},
            "imageScanStatus": {"status": "IN_PROGRESS"},
        },
        start_params(),
    )
    assert stubbed.gateway.start_scan(image()) == ScanStart(Outcome.STARTED, "", "IN_PROGRESS")


def test_per_image_quota_is_already_scanned_and_never_retried(stubbed: Stubbed) -> None:
    stubbed.write.add_client_error(
        "start_image_scan", "LimitExceededException", PER_IMAGE, expected_params=start_params()
    )
    start = stubbed.gateway.start_scan(image())
    assert start == ScanStart(Outcome.ALREADY_SCANNED, "already scanned in the last 24 h")
    assert stubbed.gateway.calls["start_image_scan"] == 1
    assert stubbed.time.sleeps == []
    assert stubbed.gateway.throttle.stats.throttled == 0


def test_other_limit_exceeded_is_the_account_quota(stubbed: Stubbed) -> None:
    message = "You have exceeded the maximum number of image scans for the account."
    stubbed.write.add_client_error("start_image_scan", "LimitExceededException", message)
    with pytest.raises(AccountQuotaExceeded) as info:
        stubbed.gateway.start_scan(image())
    assert info.value.problem == Problem("LimitExceededException", message)
    assert stubbed.gateway.calls["start_image_scan"] == 1


def test_throttling_is_retried_through_the_gate_until_success(stubbed: Stubbed) -> None:
    for _ in range(3):
        stubbed.write.add_client_error(
            "start_image_scan",
            "ThrottlingException",
            "Rate exceeded",
            http_status_code=400,
            expected_params=start_params(),
        )
    stubbed.write.add_response(
        "start_image_scan", {"imageScanStatus": {"status": "IN_PROGRESS"}}, start_params()
    )
    assert stubbed.gateway.start_scan(image()).outcome is Outcome.STARTED
    assert stubbed.gateway.calls["start_image_scan"] == 4
    assert stubbed.gateway.throttle.stats.throttled == 3
    # each retry waits for its operation's next slot: paced at about 1 call/s (nothing
    # had succeeded to measure the granted rate by), cut again by each throttle
    sleeps = stubbed.time.sleeps
    assert len(sleeps) == 3 and all(1.0 <= s < 1.3 for s in sleeps)
    assert sleeps == sorted(sleeps)
    # the gate stays open: another operation is not paced and does not wait
    now = stubbed.time.now
    assert stubbed.gateway.throttle.wait("describe_images") == now
    assert stubbed.gateway.throttle.level == 0 and len(stubbed.time.sleeps) == 3


def test_throttling_until_the_budget_is_spent_is_not_started(stubbed: Stubbed) -> None:
    for _ in range(4):  # the fixture's gate allows 4 attempts
        stubbed.write.add_client_error(
            "start_image_scan",
            "ThrottlingException",
            "Rate exceeded",
            expected_params=start_params(),
        )
    start = stubbed.gateway.start_scan(image())
    assert start.outcome is Outcome.NOT_STARTED
    assert start.detail.startswith("ThrottlingException: Rate exceeded")
    assert "still throttled after 4 attempts" in start.detail
    assert stubbed.gateway.calls["start_image_scan"] == 4


@pytest.mark.parametrize(
    "code", ["ImageNotFoundException", "UnsupportedImageTypeException", "ImageArchivedException"]
)
def test_refused_images_are_skipped_with_the_reason(stubbed: Stubbed, code: str) -> None:
    stubbed.write.add_client_error("start_image_scan", code, "AWS says why")
    start = stubbed.gateway.start_scan(image())
    assert start == ScanStart(Outcome.SKIPPED, f"{code}: AWS says why")
    assert stubbed.gateway.calls["start_image_scan"] == 1


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("AccessDeniedException", ErrorKind.ACCESS_DENIED),
        ("RepositoryNotFoundException", ErrorKind.REPOSITORY_NOT_FOUND),
    ],
)
def test_repository_fatal_errors_are_raised(stubbed: Stubbed, code: str, kind: ErrorKind) -> None:
    message = f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized"
    stubbed.write.add_client_error("start_image_scan", code, message)
    with pytest.raises(AwsError) as info:
        stubbed.gateway.start_scan(image())
    assert info.value.kind is kind
    assert info.value.kind.repository_fatal
    assert info.value.problem == Problem(code, message)


@pytest.mark.parametrize("code", ["InvalidParameterException", "ValidationException"])
def test_other_errors_fail_the_image(stubbed: Stubbed, code: str) -> None:
    stubbed.write.add_client_error("start_image_scan", code, "bad")
    assert stubbed.gateway.start_scan(image()) == ScanStart(Outcome.FAILED, f"{code}: bad")


# -- classification -----------------------------------------------------------------


def client_error(code: str, message: str = "", status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "StartImageScan",
    )


@pytest.mark.parametrize(
    ("code", "message", "status", "kind"),
    [
        ("LimitExceededException", PER_IMAGE, 400, ErrorKind.PER_IMAGE_QUOTA),
        (
            "LimitExceededException",
            "the SCAN QUOTA PER IMAGE was hit",
            400,
            ErrorKind.PER_IMAGE_QUOTA,
        ),
        ("LimitExceededException", "account quota", 400, ErrorKind.ACCOUNT_QUOTA),
        ("LimitExceededException", "", 400, ErrorKind.ACCOUNT_QUOTA),
        ("ThrottlingException", "Rate exceeded", 400, ErrorKind.THROTTLED),
        ("TooManyRequestsException", "", 429, ErrorKind.THROTTLED),
        ("ScanNotFoundException", "", 400, ErrorKind.SCAN_NOT_FOUND),
        ("ImageNotFoundException", "", 400, ErrorKind.IMAGE_NOT_FOUND),
        ("UnsupportedImageTypeException", "", 400, ErrorKind.UNSUPPORTED_IMAGE),
        ("ImageArchivedException", "", 400, ErrorKind.IMAGE_ARCHIVED),
        ("RepositoryNotFoundException", "", 400, ErrorKind.REPOSITORY_NOT_FOUND),
        ("AccessDeniedException", "", 400, ErrorKind.ACCESS_DENIED),
        ("ServerException", "", 500, ErrorKind.SERVER),
        ("SomethingNew", "", 503, ErrorKind.SERVER),
        ("SomethingNew", "", 400, ErrorKind.OTHER),
        ("ValidationException", "", 400, ErrorKind.OTHER),
    ],
)
def test_classify(code: str, message: str, status: int, kind: ErrorKind) -> None:
    assert classify(client_error(code, message, status)) is kind


def test_only_repository_errors_are_repository_fatal() -> None:
    fatal = {k for k in ErrorKind if k.repository_fatal}
    assert fatal == {ErrorKind.ACCESS_DENIED, ErrorKind.REPOSITORY_NOT_FOUND}


# -- the summary saves the scan-state call ------------------------------------------


def test_rescan_uses_the_describe_images_summary_without_reading_findings(
    stubbed: Stubbed,
) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    stubbed.read.add_response(
        "get_registry_scanning_configuration",
        {"registryId": ACCOUNT, "scanningConfiguration": {"scanType": "BASIC", "rules": []}},
    )
    stubbed.read.add_response(
        "describe_repositories", {"repositories": [repo_item(REPO.name)]}, {"maxResults": 1000}
    )
    old, fresh = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC)
    stubbed.read.add_response(
        "describe_images",
        {
            "imageDetails": [
                image_item(
                    n,
                    imageScanStatus={"status": "COMPLETE"},
                    imageScanFindingsSummary={"imageScanCompletedAt": when},
                )
                for n, when in ((1, old), (2, fresh))
            ]
        },
        {"repositoryName": REPO.name, "registryId": ACCOUNT, "maxResults": 1000},
    )
    # the image without a summary is the only DescribeImageScanFindings call
    stubbed.write.add_response(
        "start_image_scan", {"imageScanStatus": {"status": "IN_PROGRESS"}}, start_params(1)
    )
    settings = RescanSettings(expiry=Duration.parse("7d"), concurrency=1)
    result = rescan(stubbed.gateway, now, settings)
    (repo,) = result.repositories
    outcomes = {r.image.digest: (r.verdict.decision.value, r.outcome) for r in repo.images}
    assert outcomes == {digest(1): ("due", Outcome.STARTED), digest(2): ("fresh", None)}
    assert all(r.state is not None and r.state.source == "describe_images" for r in repo.images)
    assert "describe_image_scan_findings" not in stubbed.gateway.calls


# -- real HTTP (moto): botocore itself must not retry StartImageScan ------------------


def test_per_image_quota_is_sent_once_over_http(mocked: None, monkeypatch) -> None:
    registry = quick_registry()
    botocore_sleeps: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=botocore_sleeps.append))
    registry.create_repo("quota")
    sha = registry.push("quota", "v1")
    registry.set_scan("quota", sha, completed_at=datetime.now(UTC))  # scanned today
    gateway = EcrGateway(fresh_session(), region="us-east-1")
    sent: list[str] = []
    for client in (gateway._read, gateway._write):
        client.meta.events.register_first(
            "before-send.ecr.*", lambda request, **_: sent.append(request.url)
        )
    quota_image = Image(repository="quota", registry_id=registry.account, digest=sha)
    start = gateway.start_scan(quota_image)
    assert start.outcome is Outcome.ALREADY_SCANNED
    assert len(sent) == 1
    # negative control: the read client's botocore retries WOULD resend this error
    with pytest.raises(ClientError):
        gateway._read.start_image_scan(repositoryName="quota", imageId={"imageDigest": sha})
    assert len(sent) > 2
    assert botocore_sleeps  # ... after botocore's own backoff, which the write client skips


@pytest.mark.parametrize(
    "error",
    [
        ReadTimeoutError(endpoint_url="https://api.ecr.us-east-1.amazonaws.com/"),
        EndpointConnectionError(endpoint_url="https://api.ecr.us-east-1.amazonaws.com/"),
    ],
    ids=["read-timeout", "refused"],
)
def test_transport_errors_become_network_aws_errors(error: Exception) -> None:
    """A connection or read failure that outlived botocore's retries is classified once,
    here, so the engines record one failed image instead of crashing the run."""
    session = RecordingSession()
    gateway = EcrGateway(session, region="us-east-1")
    read, _ = _split(session, gateway)

    def fail(**_: Any) -> None:
        raise error

    read.meta.events.register_first("before-call.ecr.DescribeImageScanFindings", fail)
    with pytest.raises(AwsError) as caught:
        gateway.scan_state(image(1))
    assert caught.value.kind is ErrorKind.NETWORK
    assert caught.value.problem == Problem(type(error).__name__, str(error))
    assert gateway.calls["describe_image_scan_findings"] == 1


def test_missing_credentials_are_not_a_network_error() -> None:
    session = RecordingSession()
    gateway = EcrGateway(session, region="us-east-1")
    read, _ = _split(session, gateway)

    def fail(**_: Any) -> None:
        raise NoCredentialsError()

    read.meta.events.register_first("before-call.ecr.DescribeImageScanFindings", fail)
    with pytest.raises(NoCredentialsError):
        gateway.scan_state(image(1))


# -- a lost reply to StartImageScan ------------------------------------------------------


def server_error(stubbed: Stubbed) -> None:
    stubbed.write.add_client_error(
        "start_image_scan",
        "ServerException",
        "internal error",
        http_status_code=500,
        expected_params=start_params(),
    )


def scan_state_response(stubbed: Stubbed, status: str, completed: datetime | None) -> None:
    findings: dict[str, Any] = {"findingSeverityCounts": {}}
    if completed is not None:
        findings["imageScanCompletedAt"] = completed
    stubbed.read.add_response(
        "describe_image_scan_findings",
        {"imageScanStatus": {"status": status}, "imageScanFindings": findings},
        findings_params(),
    )


SENT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # the gateway's clock: the call is sent
MEANWHILE = "a scan started meanwhile: this run's call or another run's"


def quota_refusal(stubbed: Stubbed) -> None:
    stubbed.write.add_client_error(
        "start_image_scan", "LimitExceededException", PER_IMAGE, expected_params=start_params()
    )


@pytest.mark.parametrize(
    ("status", "completed"),
    [
        ("IN_PROGRESS", None),
        ("PENDING", None),
        ("COMPLETE", SENT + timedelta(seconds=5)),
        ("COMPLETE", SENT - timedelta(minutes=4)),  # within AWS's signature skew: maybe
    ],
)
def test_a_scan_seen_after_a_lost_reply_is_scanned_meanwhile_never_claimed(
    stubbed: Stubbed, status: str, completed: datetime | None
) -> None:
    """AWS may have carried the call out, or another run started the scan meanwhile:
    nothing in the scan state says which, so it is not claimed as started."""
    server_error(stubbed)
    scan_state_response(stubbed, status, completed)
    start = stubbed.gateway.start_scan(image())
    assert start == ScanStart(
        Outcome.SCANNED_MEANWHILE, f"reply lost (ServerException); {MEANWHILE}", status
    )
    assert stubbed.gateway.calls == {"start_image_scan": 1, "describe_image_scan_findings": 1}
    assert stubbed.time.sleeps == []  # no blind retry, no backoff


def test_an_older_scan_means_the_call_was_not_carried_out(stubbed: Stubbed) -> None:
    server_error(stubbed)
    scan_state_response(stubbed, "COMPLETE", SENT - timedelta(days=9))
    stubbed.write.add_response(
        "start_image_scan", {"imageScanStatus": {"status": "IN_PROGRESS"}}, start_params()
    )
    start = stubbed.gateway.start_scan(image())
    assert (start.outcome, start.detail) == (Outcome.STARTED, "")  # the retry's reply
    assert stubbed.gateway.calls == {"start_image_scan": 2, "describe_image_scan_findings": 1}


def test_a_scan_completed_before_the_call_was_sent_is_someone_elses(stubbed: Stubbed) -> None:
    """Completed after the run began (the old rule claimed it) but more than AWS's
    signature skew before this call was sent: another actor's.  The retry is refused
    by the quota, and the state still shows no newer scan: already scanned."""
    server_error(stubbed)
    earlier = SENT - timedelta(minutes=6)
    scan_state_response(stubbed, "COMPLETE", earlier)
    quota_refusal(stubbed)
    scan_state_response(stubbed, "COMPLETE", earlier)
    start = stubbed.gateway.start_scan(image())
    assert start == ScanStart(Outcome.ALREADY_SCANNED, "already scanned in the last 24 h")
    assert stubbed.gateway.calls == {"start_image_scan": 2, "describe_image_scan_findings": 2}


def test_a_quota_refusal_after_a_lost_reply_reads_the_state_again(stubbed: Stubbed) -> None:
    """The lost call may land after the state was read (a timeout while AWS was still
    working on it): a retry refused by the quota then is no proof of someone else's."""
    server_error(stubbed)
    scan_state_response(stubbed, "COMPLETE", SENT - timedelta(days=9))
    quota_refusal(stubbed)
    scan_state_response(stubbed, "IN_PROGRESS", None)
    start = stubbed.gateway.start_scan(image())
    assert start.outcome is Outcome.SCANNED_MEANWHILE


def test_the_state_is_read_before_every_retry_and_the_calls_are_bounded(
    stubbed: Stubbed,
) -> None:
    order: list[str] = []
    for client in (stubbed.read.client, stubbed.write.client):
        client.meta.events.register_first(
            "before-parameter-build.ecr.*", lambda model, **_: order.append(model.name)
        )
    for _ in range(MAX_START_CALLS):
        server_error(stubbed)
        scan_state_response(stubbed, "COMPLETE", SENT - timedelta(days=9))
    start = stubbed.gateway.start_scan(image())
    assert MAX_START_CALLS == 3
    assert order == ["StartImageScan", "DescribeImageScanFindings"] * 3
    assert start.outcome is Outcome.NOT_STARTED
    assert start.detail == (
        "3 calls, no reply and no scan in the scan state: ServerException: internal error"
    )
    assert stubbed.time.sleeps == []  # StartImageScan's 5xx are never retried blindly


def test_an_unreadable_state_after_a_lost_reply_is_a_failure(stubbed: Stubbed) -> None:
    server_error(stubbed)
    stubbed.read.add_client_error(
        "describe_image_scan_findings",
        "AccessDeniedException",
        "no",
        expected_params=findings_params(),
    )
    start = stubbed.gateway.start_scan(image())
    assert start.outcome is Outcome.FAILED
    assert start.detail.startswith("reply lost (ServerException: internal error)")
    assert "could not read the scan state" in start.detail


def test_server_errors_back_off_alone_and_say_so(stubbed: Stubbed) -> None:
    """A 5xx is no throttle: the gate stays open for the others, and the reason a call
    gives up with says "server errors", not "throttled"."""
    for _ in range(4):  # the fixture's gate allows 4 attempts
        stubbed.read.add_client_error(
            "describe_image_scan_findings",
            "ServerException",
            "internal error",
            http_status_code=500,
            expected_params=findings_params(),
        )
    with pytest.raises(AwsError) as info:
        stubbed.gateway.scan_state(image())
    assert info.value.kind is ErrorKind.SERVER
    assert "still failing with server errors after 4 attempts" in info.value.problem.message
    assert "throttled" not in info.value.problem.message
    assert stubbed.gateway.throttle.stats.throttled == 0 and stubbed.gateway.throttle.level == 0
    assert stubbed.time.sleeps == pytest.approx([0.1875, 0.375, 0.75])  # its own backoff
