"""The reporter names an untagged platform image of a tagged image index by the
index's tag and its platform (``team/api:v1 (linux/arm64)``), with one DescribeImages
listing and at most one BatchGetImage per event, cached per warm container; else by
its digest, as before (issue 17)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from ecrscan.lambdas import reporter, runtime
from tests.support.env import REGION
from tests.support.events import ECR_SAMPLE, variant
from tests.support.lambda_events import FakeContext
from tests.support.oci_world import BuildxTag, OciWorld, ecr_realism
from tests.support.sqs import drain

REPO = "team/api"


class Calls:
    """A boto3 session whose clients count every API call by operation name."""

    def __init__(self) -> None:
        self.session = boto3.session.Session()
        self.made: Counter[str] = Counter()
        self.session.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.made[model.name] += 1

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session.client(service, **kwargs)

    @property
    def region_name(self) -> str | None:
        return self.session.region_name


@pytest.fixture
def world(mocked: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BuildxTag, Any]]:
    with ecr_realism():
        ecr = boto3.client("ecr", region_name=REGION)
        ecr.create_repository(repositoryName=REPO)
        tag = OciWorld(ecr).buildx(REPO, "v1")
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        arn = sns.create_topic(Name="ecrscan-report")["TopicArn"]
        url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue["Attributes"]["QueueArn"])
        monkeypatch.setenv("ECR_SNS_REPORT_TOPIC_ARN", arn)
        monkeypatch.setenv("NOTIFY_ON", "always")
        yield tag, lambda: [json.loads(body)["Message"] for body in drain(sqs, url)]


def event(digest: str, repository: str = REPO) -> dict[str, Any]:
    return variant(ECR_SAMPLE, repository_name=repository, image_digest=digest)  # a breach


def connect(monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls()
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(lambda: calls))
    return calls


def test_an_untagged_platform_image_is_named_by_its_index_tag_and_platform(
    world: tuple[BuildxTag, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag, published = world
    calls = connect(monkeypatch)
    arm = tag.platforms["linux/arm64"]
    result = reporter.handler(event(arm), FakeContext())
    assert result["published"] == 1
    (message,) = published()
    assert "team/api:v1 (linux/arm64)" in message
    assert calls.made["DescribeImages"] >= 1 and calls.made["BatchGetImage"] == 1
    assert "StartImageScan" not in calls.made


def test_the_warm_container_reuses_what_it_read(
    world: tuple[BuildxTag, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag, published = world
    calls = connect(monkeypatch)
    reporter.handler(event(tag.platforms["linux/arm64"]), FakeContext())
    before = dict(calls.made)
    reporter.handler(event(tag.platforms["linux/amd64"]), FakeContext())
    assert calls.made["DescribeImages"] == before["DescribeImages"]  # cached
    assert calls.made["BatchGetImage"] == before["BatchGetImage"] == 1
    messages = published()
    assert "team/api:v1 (linux/arm64)" in messages[0]
    assert "team/api:v1 (linux/amd64)" in messages[1]


def test_an_image_of_no_index_is_named_by_its_digest(
    world: tuple[BuildxTag, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag, published = world
    calls = connect(monkeypatch)
    attestation = tag.attestations["linux/arm64"]  # listed by the index, not a platform
    reporter.handler(event(attestation), FakeContext())
    assert calls.made["BatchGetImage"] == 1  # at most one per event
    (message,) = published()
    assert attestation[:19] in message and "(linux/" not in message


def test_a_repository_it_cannot_read_leaves_the_digest(
    world: tuple[BuildxTag, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tag, published = world
    calls = connect(monkeypatch)
    arm = tag.platforms["linux/arm64"]
    result = reporter.handler(event(arm, repository="gone/away"), FakeContext())
    assert result["published"] == 1
    assert "BatchGetImage" not in calls.made
    (message,) = published()
    assert arm[:19] in message
