"""The report engine with a fake gateway: transport errors are values, the report's region,
and a bounded number of calls in flight."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import (
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

import ecrscan.engine.runner
from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.core.imageref import ImageRef, parse_image_ref
from ecrscan.core.model import Image, ImageStatus, Repository, ScanState, ScanType
from ecrscan.core.problem import Problem
from ecrscan.core.view import DEFAULT_VIEW, exit_code
from ecrscan.engine.report import ReportSettings, build_report
from ecrscan.engine.runner import Event

NOW = datetime.now(UTC)
DIGEST = "sha256:" + "a" * 64


class FakeGateway:
    """Repositories ``aa`` and ``bb`` with one image each, or ``images`` images in ``aa``;
    ``fail`` maps a method name to the exception it raises for repository ``bb``."""

    registry_id = "123456789012"

    def __init__(
        self, region: str = "us-east-1", fail: dict[str, Exception] | None = None, images: int = 1
    ) -> None:
        self.region = region
        self.fail = fail or {}
        self.count = images

    def _maybe_fail(self, method: str, repository: str) -> None:
        if repository == "bb" and method in self.fail:
            raise self.fail[method]

    def repositories(self, names: Any = None) -> Any:
        yield Repository("aa", self.registry_id)
        if self.count == 1:
            yield Repository("bb", self.registry_id)

    def images(self, repo: Repository, ids: Any = None) -> Any:
        self._maybe_fail("images", repo.name)
        for i in range(self.count):
            yield Image(repo.name, self.registry_id, f"sha256:{repo.name}{i:062d}")

    def image_by_reference(self, ref: ImageRef) -> Image:
        self._maybe_fail("image_by_reference", ref.repository)
        tags = (ref.tag,) if ref.tag else ()
        return Image(ref.repository, self.registry_id, ref.digest or DIGEST, tags)

    def scan_type(self) -> ScanType:
        return ScanType.BASIC

    def scan_state(self, image: Image) -> ScanState:
        self._maybe_fail("scan_state", image.repository)
        return ScanState("COMPLETE", NOW, counts={})

    def findings(self, image: Image) -> Any:
        self._maybe_fail("findings", image.repository)
        return (), ScanState("COMPLETE", NOW, counts={})


def network(exc: Exception) -> AwsError:
    """What the gateway raises for a botocore transport error that survived its retries
    (tests/aws/test_ecr.py checks that conversion on the real gateway)."""
    return AwsError(ErrorKind.NETWORK, Problem(type(exc).__name__, str(exc)), "call")


TIMEOUT = network(ReadTimeoutError(endpoint_url="https://api.ecr.us-east-1.amazonaws.com/"))
REFUSED = network(EndpointConnectionError(endpoint_url="https://api.ecr.us-east-1.amazonaws.com/"))


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        ("scan_state", ReportSettings()),
        ("findings", ReportSettings(details=True)),
        ("scan_state", ReportSettings(images=(parse_image_ref("aa:v1"), parse_image_ref("bb:v1")))),
        (
            "image_by_reference",
            ReportSettings(images=(parse_image_ref("aa:v1"), parse_image_ref("bb:v1"))),
        ),
    ],
)
@pytest.mark.parametrize("error", [TIMEOUT, REFUSED], ids=["read-timeout", "refused"])
def test_a_transport_error_on_one_image_is_an_error_entry(
    method: str, settings: ReportSettings, error: Exception
) -> None:
    gateway = FakeGateway(fail={method: error})
    result = build_report(lambda region, registry: gateway, NOW, settings)
    statuses = {r.image.repository: r.status for r in result.images}
    assert statuses == {"aa": ImageStatus.OK, "bb": ImageStatus.ERROR}
    (failed,) = [r for r in result.images if r.status is ImageStatus.ERROR]
    assert failed.error is not None and failed.error == error.problem
    assert "amazonaws.com" in failed.error.message
    assert exit_code(result, DEFAULT_VIEW) == 3


def test_a_transport_error_listing_one_repository_is_a_repository_error() -> None:
    gateway = FakeGateway(fail={"images": TIMEOUT})
    result = build_report(lambda region, registry: gateway, NOW, ReportSettings())
    ((name, problem),) = result.repository_errors
    assert (name, problem.code) == ("bb", "ReadTimeoutError")
    assert [(r.image.repository, r.status) for r in result.images] == [("aa", ImageStatus.OK)]
    assert exit_code(result, DEFAULT_VIEW) == 3


def test_missing_credentials_still_stop_the_run() -> None:
    """Not a transport error: every call would fail the same way, and the CLI turns it
    into one line naming the fix."""
    gateway = FakeGateway(fail={"image_by_reference": NoCredentialsError()})
    settings = ReportSettings(images=(parse_image_ref("bb:v1"),))
    with pytest.raises(NoCredentialsError):
        build_report(lambda region, registry: gateway, NOW, settings)


def test_region_is_null_when_the_references_span_two_regions() -> None:
    gateways = {"us-east-1": FakeGateway("us-east-1"), "eu-west-1": FakeGateway("eu-west-1")}

    def gateway_for(region: str | None, registry_id: str | None) -> FakeGateway:
        return gateways[region or "us-east-1"]

    account = FakeGateway.registry_id
    two = ReportSettings(
        images=(
            parse_image_ref("aa:v1"),
            parse_image_ref(f"{account}.dkr.ecr.eu-west-1.amazonaws.com/aa:v1"),
        )
    )
    result = build_report(gateway_for, NOW, two)
    assert result.region is None
    assert sorted(r.region for r in result.images) == ["eu-west-1", "us-east-1"]

    one = ReportSettings(
        images=(
            parse_image_ref("aa:v1"),
            parse_image_ref(f"{account}.dkr.ecr.us-east-1.amazonaws.com/aa:v2"),
        )
    )
    assert build_report(gateway_for, NOW, one).region == "us-east-1"


def test_only_a_window_of_image_checks_is_in_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry is not turned into one pool job per image up front: at every finished
    image, the pool holds at most the runner's window of unfinished calls."""
    submitted = [0]

    class CountingPool(ThreadPoolExecutor):
        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            submitted[0] += 1
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(ecrscan.engine.runner, "ThreadPoolExecutor", CountingPool)
    outstanding: list[int] = []
    checked = [0]

    def progress(event: Event, amount: int) -> None:
        if event is Event.IMAGE_CHECKED:
            outstanding.append(submitted[0] - 1 - checked[0])  # minus the listing
            checked[0] += amount

    gateway = FakeGateway(images=500)
    result = build_report(
        lambda region, registry: gateway, NOW, ReportSettings(concurrency=2), progress=progress
    )
    assert len(result.images) == 500 and checked[0] == 500
    assert max(outstanding) <= 4 * 2
