"""Image ids that name no image: found images are still processed, each missing id is a
value ("image not found"), never a failure of the whole repository.

DescribeImages with ``imageIds`` fails the whole call with ImageNotFoundException when
one id names no image (botocore's model lists it among the operation's errors; moto
does the same, checked below), so the gateway falls back to listing the repository.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecrscan.aws.ecr import IMAGE_NOT_FOUND, PAGE_SIZE, EcrGateway
from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.core.durations import Duration
from ecrscan.core.jobs import job_body
from ecrscan.core.model import Decision, Image, ImageLookup, Outcome, Repository
from ecrscan.engine.rescan import RescanSettings, rescan
from ecrscan.lambdas import images, runtime
from tests.support.ecr_items import ACCOUNT, REPO, digest, image_item
from tests.support.env import REGION
from tests.support.fakes import RecordingSession
from tests.support.lambda_events import FakeContext, failures, log_lines, sqs_event
from tests.support.registry import FakeRegistry

GONE = "sha256:" + "f" * 64
NOW = datetime.now(UTC)


# -- what AWS (and moto) answer ------------------------------------------------------


def test_botocore_model_says_describe_images_raises_image_not_found():
    model = boto3.client("ecr", region_name=REGION).meta.service_model
    errors = [e.name for e in model.operation_model("DescribeImages").error_shapes]
    assert "ImageNotFoundException" in errors


def test_moto_fails_the_whole_call_like_aws(registry: FakeRegistry):
    registry.create_repo("app")
    good = registry.push("app", "v1")
    with pytest.raises(registry.client.exceptions.ImageNotFoundException):
        registry.client.describe_images(
            repositoryName="app", imageIds=[{"imageDigest": good}, {"imageDigest": GONE}]
        )


# -- the gateway against moto ----------------------------------------------------------


@pytest.fixture
def app(registry: FakeRegistry) -> dict[str, str]:
    registry.create_repo("app")
    return {tag: registry.push("app", tag) for tag in ("v1", "v2", "v3")}


def gateway() -> EcrGateway:
    return EcrGateway(boto3.Session(), region=REGION)


def repository() -> Repository:
    return Repository(name="app", registry_id=ACCOUNT)


def test_all_ids_present_takes_one_call(app):
    ecr = gateway()
    lookup = ecr.find_images(repository(), [{"imageDigest": app["v1"]}, {"imageTag": "v2"}])
    assert [i.digest for i in lookup.images] == [app["v1"], app["v2"]]
    assert lookup.missing == ()
    assert dict(ecr.calls) == {"describe_images": 1}


def test_one_missing_digest_among_good_ones(app):
    ecr = gateway()
    ids = [
        {"imageDigest": app["v1"]},
        {"imageDigest": GONE},
        {"imageTag": "v3"},
        {"imageTag": "deleted"},
    ]
    lookup = ecr.find_images(repository(), ids)
    assert sorted(i.digest for i in lookup.images) == sorted([app["v1"], app["v3"]])
    assert lookup.missing == (
        Image(repository="app", registry_id=ACCOUNT, digest=GONE),
        Image(repository="app", registry_id=ACCOUNT, digest="", tags=("deleted",)),
    )
    # the failed batch, then the listing it fell back to
    assert ecr.calls["describe_images"] == 2


def test_digest_and_tag_must_name_the_same_image(app):
    lookup = gateway().find_images(
        repository(), [{"imageDigest": app["v1"], "imageTag": "v2"}, {"imageTag": "v2"}]
    )
    assert [i.tags for i in lookup.images] == [("v2",)]
    assert lookup.missing == (
        Image(repository="app", registry_id=ACCOUNT, digest=app["v1"], tags=("v2",)),
    )


def test_images_with_ids_yields_those_that_exist(app):
    images = list(gateway().images(repository(), [{"imageTag": "v2"}, {"imageDigest": GONE}]))
    assert [i.digest for i in images] == [app["v2"]]


def test_repository_errors_still_raise(registry: FakeRegistry):
    with pytest.raises(AwsError) as caught:
        gateway().find_images(Repository(name="ghost", registry_id=ACCOUNT), [{"imageTag": "v1"}])
    assert caught.value.kind is ErrorKind.REPOSITORY_NOT_FOUND


# -- the gateway with Stubber: batches, the listing's pages, duplicates ------------------


@pytest.fixture
def stub() -> Any:
    session = RecordingSession()
    ecr = EcrGateway(session, region=REGION)
    read = next(c for c in session.clients if c.meta.config.retries.get("total_max_attempts") != 1)
    with Stubber(read) as stubber:
        yield ecr, stubber
        stubber.assert_no_pending_responses()


def test_only_a_failing_batch_falls_back_and_the_listing_is_read_once(stub):
    ecr, stubber = stub
    ids = [{"imageDigest": digest(n)} for n in range(1, 251)]  # 3 batches
    gone = {digest(150), digest(240)}
    base = {"repositoryName": REPO.name, "registryId": ACCOUNT}
    stubber.add_response(
        "describe_images",
        {"imageDetails": [image_item(n) for n in range(1, 101)]},
        {**base, "imageIds": ids[:100]},
    )
    stubber.add_client_error(
        "describe_images",
        "ImageNotFoundException",
        "The image requested does not exist",
        400,
        expected_params={**base, "imageIds": ids[100:200]},
    )
    listing = [n for n in range(1, 260) if digest(n) not in gone]
    stubber.add_response(
        "describe_images",
        {"imageDetails": [image_item(n) for n in listing[:200]], "nextToken": "page-2"},
        {**base, "maxResults": PAGE_SIZE},
    )
    stubber.add_response(
        "describe_images",
        {"imageDetails": [image_item(n) for n in listing[200:]]},
        {**base, "maxResults": PAGE_SIZE, "nextToken": "page-2"},
    )
    stubber.add_client_error(
        "describe_images",
        "ImageNotFoundException",
        "The image requested does not exist",
        400,
        expected_params={**base, "imageIds": ids[200:]},
    )
    # the third batch fails too: the listing already read is used, no further call

    lookup = ecr.find_images(REPO, ids + ids[:5])  # repeated ids are asked for once
    assert len(lookup.images) == 248
    assert {i.digest for i in lookup.missing} == gone
    assert ecr.calls["describe_images"] == 5


def test_access_denied_on_the_batch_is_not_swallowed(stub):
    ecr, stubber = stub
    stubber.add_client_error("describe_images", "AccessDeniedException", "no", 400)
    with pytest.raises(AwsError) as caught:
        ecr.find_images(REPO, [{"imageDigest": digest(1)}])
    assert caught.value.kind is ErrorKind.ACCESS_DENIED


def test_an_id_aws_answered_without_raising_but_did_not_return_is_missing(stub):
    ecr, stubber = stub
    stubber.add_response("describe_images", {"imageDetails": [image_item(1)]})
    lookup = ecr.find_images(REPO, [{"imageDigest": digest(1)}, {"imageDigest": digest(2)}])
    assert lookup == ImageLookup(
        images=(lookup.images[0],),
        missing=(Image(repository=REPO.name, registry_id=ACCOUNT, digest=digest(2)),),
    )


# -- the engine and the images function ---------------------------------------------------


def test_rescan_with_a_deleted_image_rescans_the_rest(registry: FakeRegistry, app):
    for tag in ("v1", "v3"):
        registry.set_scan("app", app[tag], completed_at=NOW - timedelta(days=30))
    settings = RescanSettings(
        expiry=Duration.parse("7d"),
        repositories=("app",),
        image_ids=({"imageDigest": app["v1"]}, {"imageDigest": GONE}, {"imageTag": "v3"}),
    )
    result = rescan(gateway(), NOW, settings)
    (repo,) = result.repositories
    assert repo.error is None
    by_digest = {r.image.digest: r for r in repo.images}
    assert by_digest[app["v1"]].outcome is Outcome.STARTED
    assert by_digest[app["v3"]].outcome is Outcome.STARTED
    missing = by_digest[GONE]
    assert (missing.verdict.decision, missing.verdict.reason) == (Decision.SKIPPED, IMAGE_NOT_FOUND)
    assert missing.outcome is Outcome.SKIPPED and missing.state is None
    assert missing.detail == f"no image app@{GONE}"
    assert not result.incomplete


@pytest.fixture
def fresh_clients(monkeypatch):
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(boto3.Session))


def test_images_function_job_with_a_deleted_image_succeeds_for_the_rest(
    registry: FakeRegistry, app, fresh_clients, capsys
):
    """A deleted image is not worth a redelivery: the message succeeds, the image is
    reported in the log line as not found and counted as skipped."""
    for tag in ("v1", "v2"):
        registry.set_scan("app", app[tag], completed_at=NOW - timedelta(days=30))
    job = job_body(
        "app",
        images=[
            {"imageDigest": app["v1"]},
            {"imageDigest": GONE},
            {"imageTag": "v2"},
            {"imageTag": "retagged"},
        ],
    )
    started_at = datetime.today()  # moto's clock for StartImageScan (naive local)
    response = images.handler(sqs_event(job, job_body("ghost")), FakeContext())

    assert failures(response) == ["m1"]  # the unknown repository still fails
    scans = registry.backend.repositories["app"]
    for tag in ("v1", "v2"):
        assert scans._get_image(None, app[tag]).last_scan >= started_at
    (done,) = [line for line in log_lines(capsys) if line.get("messageId") == "m0"]
    assert done["message"] == "job done"
    assert done["counts"]["started"] == 2 and done["counts"]["skipped"] == 2
    assert sorted(done["notFound"]) == ["no image app:retagged", f"no image app@{GONE}"]
