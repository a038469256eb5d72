"""An answer that is not the service's (a proxy's ``{}`` or HTML page) is an error of its
own kind, ``PROTOCOL``, raised once by the gateway's call loop and never retried; never an
empty result (issue 18).  The listener end of it: tests/e2e/test_not_aws.py."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.parsers import ResponseParserError
from botocore.stub import Stubber

from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.errors import ALWAYS_ANSWERED, AwsError, ErrorKind, not_aws
from ecrscan.core.errors import NOT_AWS
from ecrscan.core.model import Image
from tests.support.ecr_items import REPO, digest
from tests.support.fakes import FakeTime, RecordingSession, fake_throttle

ECR = SimpleNamespace(service_name="ecr", protocol="json")
EC2 = SimpleNamespace(service_name="ec2", protocol="ec2")
HTML = {"ResponseMetadata": {"HTTPHeaders": {"content-type": "text/html; charset=utf-8"}}}


@pytest.fixture
def gateway() -> EcrGateway:
    fake = FakeTime()
    return EcrGateway(
        RecordingSession(), region="us-east-1", throttle=fake_throttle(fake, max_attempts=4)
    )


@pytest.fixture
def read(gateway: EcrGateway) -> Iterator[Stubber]:
    with Stubber(gateway._read) as stub:
        yield stub
        stub.assert_no_pending_responses()


def _protocol_error(exc: pytest.ExceptionInfo[AwsError], said: str) -> None:
    assert exc.value.kind is ErrorKind.PROTOCOL
    assert exc.value.problem.code == NOT_AWS
    assert exc.value.problem.message == f"the endpoint did not answer like AWS: {said}"


def test_describe_repositories_without_repositories_is_not_an_empty_registry(
    gateway: EcrGateway, read: Stubber
) -> None:
    read.add_response("describe_repositories", {})
    with pytest.raises(AwsError) as exc:
        list(gateway.repositories())
    _protocol_error(exc, "no 'repositories' in the answer")
    assert gateway.calls["describe_repositories"] == 1  # not retried


def test_a_later_page_without_image_details_fails_too(gateway: EcrGateway, read: Stubber) -> None:
    read.add_response("describe_images", {"imageDetails": [], "nextToken": "t1"})
    read.add_response("describe_images", {"nextToken": "t2"})
    with pytest.raises(AwsError) as exc:
        list(gateway.images(REPO))
    _protocol_error(exc, "no 'imageDetails' in the answer")


def test_findings_without_a_scan_status(gateway: EcrGateway, read: Stubber) -> None:
    read.add_response("describe_image_scan_findings", {"imageScanFindings": {"findings": []}})
    image = Image(repository=REPO.name, registry_id=REPO.registry_id, digest=digest(1))
    with pytest.raises(AwsError) as exc:
        gateway.findings(image)
    _protocol_error(exc, "no 'imageScanStatus' in the answer")


def test_a_parser_error_is_a_protocol_error(
    gateway: EcrGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unparsable(**_: Any) -> dict[str, Any]:
        raise ResponseParserError("Unable to parse response (syntax error), invalid XML")

    monkeypatch.setattr(gateway._read, "describe_repositories", unparsable)
    with pytest.raises(AwsError) as exc:
        list(gateway.repositories())
    _protocol_error(exc, "Unable to parse response (syntax error), invalid XML")
    assert gateway.calls["describe_repositories"] == 1


def test_a_json_service_answering_html_names_the_content_type() -> None:
    error = not_aws(ECR, "describe_repositories", {**HTML, "repositories": []})
    assert error is not None and error.kind is ErrorKind.PROTOCOL
    assert error.problem.message == "the endpoint did not answer like AWS: text/html"


@pytest.mark.parametrize(
    ("service", "operation", "response"),
    [
        (ECR, "describe_repositories", {"repositories": []}),  # an empty registry
        (EC2, "describe_regions", {"Regions": [], **HTML}),  # XML: botocore parsed it
        (EC2, "describe_images", {"Images": []}),  # ECR's name, another service: trusted
        (ECR, "list_images", {"imageIds": []}),  # no key named: trusted as it is
    ],
)
def test_a_good_answer_passes(service: Any, operation: str, response: dict[str, Any]) -> None:
    assert not_aws(service, operation, response) is None


def test_every_always_answered_key_is_in_its_operation_output() -> None:
    session = boto3.Session(region_name="us-east-1")
    by_name: dict[tuple[str, str], Any] = {}
    for service in ("ecr", "inspector2", "ecs", "organizations", "ec2"):
        model = session.client(service).meta.service_model  # type: ignore[call-overload]
        by_name.update(
            {(service, xform_name(n)): model.operation_model(n) for n in model.operation_names}
        )
    for operation, key in ALWAYS_ANSWERED.items():
        assert key in by_name[operation].output_shape.members, (operation, key)
