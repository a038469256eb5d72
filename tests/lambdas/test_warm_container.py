"""A warm container keeps its connections across invocations; each invocation (each job)
works through a view carrying its own deadline.  So an invocation that starts after an
earlier one's deadline still reads Amazon Inspector in bulk on an ENHANCED registry,
and the gateways of one (account, region) share one throttle in the functions too."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from ecrscan.core.control import Deadline
from ecrscan.core.jobs import job_body
from ecrscan.core.targets import Target
from ecrscan.lambdas import images, repositories, runtime
from tests.support.inspector_fake import FakeInspector
from tests.support.registry import FakeRegistry

REGION = "us-east-1"
ACCOUNT = "123456789012"
REMAINING_MS = 60_000  # each invocation: a minute left, so a deadline 50 s away


class Context:
    function_name = "ecrscan-images"
    aws_request_id = "request"

    def get_remaining_time_in_millis(self) -> int:
        return REMAINING_MS


class Monotonic:
    """The container's monotonic clock; tests move it on."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def sqs_event(body: str) -> dict[str, Any]:
    return {"Records": [{"messageId": "m1", "body": body, "eventSource": "aws:sqs"}]}


@pytest.fixture
def container(monkeypatch: pytest.MonkeyPatch, mocked: None) -> tuple[Monotonic, list[str]]:
    """A fresh warm container on an injected monotonic clock; yields the clock and the
    per-image reads (DescribeImageScanFindings) its session made."""
    clock = Monotonic()
    monkeypatch.setattr(runtime, "monotonic", clock)
    monkeypatch.setattr(runtime, "sleep", clock.sleep)
    per_image: list[str] = []
    session = boto3.Session(region_name=REGION)
    session.events.register(
        "before-parameter-build.ecr.DescribeImageScanFindings",
        lambda **kwargs: per_image.append(kwargs["params"]["repositoryName"]),
    )
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(lambda: session))
    return clock, per_image


def enhanced_registry() -> None:
    registry = FakeRegistry(boto3.client("ecr", region_name=REGION), REGION)
    registry.set_scan_type("ENHANCED")
    registry.create_repo("app")
    completed = datetime.now(UTC) - timedelta(hours=2)
    for tag, counts in (("v1", {"HIGH": 1}), ("v2", {}), ("v3", {"LOW": 2})):
        digest = registry.push("app", tag)
        registry.set_scan("app", digest, "ACTIVE", completed_at=completed, counts=counts)


def invoke(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """One invocation of the images function for the repository ``app``; its job's log
    line."""
    failed = images.handler(sqs_event(job_body("app", ACCOUNT)), Context())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    [job] = [line for line in lines if line.get("messageId") == "m1"]
    assert failed == {"batchItemFailures": []}, job
    return job


def test_a_later_invocation_past_the_first_ones_deadline_still_reads_inspector_in_bulk(
    container: tuple[Monotonic, list[str]],
    inspector: FakeInspector,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock, per_image = container
    enhanced_registry()

    first = invoke(capsys)
    assert first["message"] == "job done"
    assert [n for n in first["notices"] if "Inspector could not be read" in n] == []
    bulk_reads = inspector.calls("ListCoverage"), inspector.calls("ListFindingAggregations")
    assert bulk_reads[0] >= 1 and bulk_reads[1] >= 1
    assert per_image == []  # every state came from the bulk reads

    clock.now += 3_600.0  # an hour later, the same warm container: far past the first deadline
    second = invoke(capsys)
    assert second["message"] == "job done", second
    assert second["notices"] == first["notices"]  # no "could not be read in bulk" notice
    assert "DeadlineReached" not in json.dumps(second)
    assert inspector.calls("ListCoverage") > bulk_reads[0]
    assert inspector.calls("ListFindingAggregations") > bulk_reads[1]
    assert per_image == []  # no fallback to per-image reads
    assert second["counts"] == first["counts"]


def test_a_jobs_gateway_is_a_view_under_its_deadline_over_the_shared_gateway(
    container: tuple[Monotonic, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The images function: the job's ECR gateway (and its Inspector gateway) carry the
    job's deadline; the container's shared gateway and throttle keep none, and the job's
    throttle is a view of the same gate."""
    clock, _ = container
    enhanced_registry()
    used: list[Any] = []

    def capture(gateway: Any, now: datetime, settings: Any) -> Any:
        used.append((gateway, settings.deadline))
        return real(gateway, now, settings)

    real = images.rescan
    monkeypatch.setattr(images, "rescan", capture)
    images.handler(sqs_event(job_body("app", ACCOUNT)), Context())
    [(gateway, deadline)] = used
    assert deadline is not None and deadline.at == pytest.approx(clock.now + 50.0)

    connections = runtime.connections
    shared = connections.ecr(connections.home(), ACCOUNT)
    assert gateway is not shared
    assert gateway.throttle.deadline is deadline
    assert gateway.inspector().throttle.deadline is deadline
    assert shared.throttle.deadline is None and shared.inspector().throttle.deadline is None
    assert shared.throttle is connections.ecs(connections.home()).throttle
    gateway.throttle.throttled()  # a throttle the job sees slows the whole container down
    assert shared.throttle.level == 1


def test_one_throttle_per_account_and_region_for_ecr_ecs_and_inspector(
    container: tuple[Monotonic, list[str]],
) -> None:
    connections = runtime.connections
    home = connections.home()
    ecr, ecs = connections.ecr(home), connections.ecs(home)
    assert ecr.throttle is ecs.throttle is ecr.inspector().throttle
    assert connections.ecr(home, ACCOUNT).throttle is ecr.throttle
    other = Target(ACCOUNT, "eu-west-1", home.session)
    assert connections.ecr(other).throttle is not ecr.throttle

    deadline = Deadline.after(30.0, runtime.monotonic)
    view = connections.view(deadline)
    job_ecr, job_ecs = view.ecr(home), view.ecs(home)
    assert job_ecr.throttle.deadline is job_ecs.throttle.deadline is deadline
    assert job_ecr.inspector().throttle.deadline is deadline
    assert ecr.throttle.deadline is None  # the shared one is unchanged
    assert connections.ecr(home) is ecr and connections.ecs(home) is ecs
    job_ecs.throttle.throttled()
    assert ecr.throttle.level == job_ecr.throttle.level == 1  # one gate


def test_the_repositories_function_gives_each_target_one_throttle(
    container: tuple[Monotonic, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-use discovery: each target's ECR and ECS gateways share one throttle."""
    seen: list[tuple[Any, Any]] = []

    def plan(targets: Any, gateways_for: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend(gateways_for(target) for target in targets)
        return "planned"

    monkeypatch.setattr(repositories, "plan_in_use_jobs", plan)
    assert repositories._plan_in_use(repositories.RepositoryFilter(), None, (), "s-1") == "planned"
    [(ecr, ecs)] = seen
    assert ecr.throttle is ecs.throttle is ecr.inspector().throttle
