"""The OCI registry fake refuses what ECR refuses, in the shapes of botocore's model."""

from __future__ import annotations

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ecrscan.core.artifacts import Kind, classify, parse_index
from tests.support.oci_world import OciWorld, ecr_realism

REPO = "team/api"


@pytest.fixture
def world():
    with mock_aws(), ecr_realism() as refused:
        client = boto3.client("ecr", region_name="us-east-1")
        client.create_repository(repositoryName=REPO)
        made = OciWorld(client)
        made.refused = refused
        yield made


def details(world):
    return world.client.describe_images(repositoryName=REPO)["imageDetails"]


def test_the_fields_it_adds_are_in_botocores_model():
    model = botocore.session.get_session().get_service_model("ecr")
    assert {"artifactMediaType", "subjectManifestDigest"} <= set(
        model.shape_for("ImageDetail").members
    )
    errors = {e.name for e in model.operation_model("StartImageScan").error_shapes}
    assert "UnsupportedImageTypeException" in errors


def test_a_buildx_tag_a_signature_an_sbom_and_a_chart_classify_as_ecr_reports_them(world):
    tag = world.buildx(REPO, "v1")
    sig = world.cosign_signature(REPO, tag.index)
    sbom = world.sbom_referrer(REPO, tag.index)
    chart = world.helm_chart(REPO, "1.2.3")
    kinds = {
        d["imageDigest"]: classify(
            d.get("imageManifestMediaType"),
            d.get("artifactMediaType"),
            d.get("subjectManifestDigest"),
            d.get("imageTags") or (),
        )
        for d in details(world)
    }
    assert kinds[tag.index] is Kind.INDEX
    assert kinds[sbom] is Kind.SBOM
    assert kinds[chart] is Kind.HELM_CHART
    signature = next(d for d in details(world) if sig in (d.get("imageTags") or ()))
    assert kinds[signature["imageDigest"]] is Kind.SIGNATURE
    # without the index, the platform images and attestations all look like images
    for digest in [*tag.platforms.values(), *tag.attestations.values()]:
        assert kinds[digest] is Kind.IMAGE
    # the index says which are which
    manifest = world.client.batch_get_image(
        repositoryName=REPO, imageIds=[{"imageDigest": tag.index}]
    )["images"][0]["imageManifest"]
    entries = {e.digest: e for e in parse_index(manifest)}
    assert {d for d, e in entries.items() if e.kind is Kind.IMAGE} == set(tag.platforms.values())
    assert {d for d, e in entries.items() if e.kind is Kind.ATTESTATION} == set(
        tag.attestations.values()
    )


def test_ecr_refuses_to_scan_an_index_a_chart_and_an_sbom(world):
    tag = world.buildx(REPO, "v1", attestations=False)
    chart = world.helm_chart(REPO, "1.2.3")
    sbom = world.sbom_referrer(REPO, tag.index)
    for digest in (tag.index, chart, sbom):
        with pytest.raises(ClientError) as caught:
            world.client.start_image_scan(repositoryName=REPO, imageId={"imageDigest": digest})
        assert caught.value.response["Error"]["Code"] == "UnsupportedImageTypeException"
        assert "cannot be scanned" in caught.value.response["Error"]["Message"]
    assert world.refused == [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.cncf.helm.config.v1+json",
        "application/spdx+json",
    ]


def test_an_attestation_scans_to_unsupported_image_and_a_platform_image_scans(world):
    tag = world.buildx(REPO, "v1")
    amd = tag.platforms["linux/amd64"]
    att = tag.attestations["linux/amd64"]
    for digest in (amd, att):
        world.client.start_image_scan(repositoryName=REPO, imageId={"imageDigest": digest})
    status = {
        digest: world.client.describe_image_scan_findings(
            repositoryName=REPO, imageId={"imageDigest": digest}
        )["imageScanStatus"]["status"]
        for digest in (amd, att)
    }
    assert status == {amd: "COMPLETE", att: "UNSUPPORTED_IMAGE"}
    assert world.refused == []
