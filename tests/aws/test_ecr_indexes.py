"""The ECR gateway on registries as buildx, cosign and helm fill them (moto + OCI world)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ecrscan.aws.ecr import EcrGateway
from ecrscan.core.artifacts import Kind
from ecrscan.core.manifests import indexes_of, resolve
from ecrscan.core.model import Repository
from ecrscan.core.problem import Problem
from tests.support.oci_world import OciWorld, ecr_realism

REGION = "us-east-1"
REPO = "team/api"


@pytest.fixture
def world() -> Iterator[OciWorld]:
    with mock_aws(), ecr_realism():
        client = boto3.client("ecr", region_name=REGION)
        client.create_repository(repositoryName=REPO)
        yield OciWorld(client)


def gateway() -> EcrGateway:
    return EcrGateway(boto3.Session(region_name=REGION), region=REGION)


def repository() -> Repository:
    return Repository(REPO, "123456789012")


def test_images_know_their_kind_from_describe_images(world: OciWorld) -> None:
    tag = world.buildx(REPO, "v1")
    world.cosign_signature(REPO, tag.index)
    sbom = world.sbom_referrer(REPO, tag.index)
    chart = world.helm_chart(REPO, "1.2.3")
    plain = world.image(REPO, "plain")
    kinds = {i.digest: i.kind for i in gateway().images(repository())}
    assert kinds[tag.index] is Kind.INDEX
    assert kinds[sbom] is Kind.SBOM
    assert kinds[chart] is Kind.HELM_CHART
    assert kinds[plain] is Kind.IMAGE
    assert sorted(k.value for k in kinds.values()).count("signature") == 1


def test_index_entries_in_one_call_per_100_indexes(world: OciWorld) -> None:
    tags = [world.buildx(REPO, f"v{n}", seed=str(n)) for n in range(3)]
    gw = gateway()
    images = list(gw.images(repository()))
    entries = gw.index_entries(repository(), indexes_of(images))
    assert gw.calls["batch_get_image"] == 1
    assert set(entries) == {t.index for t in tags}
    resolved = resolve(images, entries)
    assert sorted(i.label for i in resolved.images) == sorted(
        f"{REPO}:v{n} ({p})" for n in range(3) for p in ("linux/amd64", "linux/arm64")
    )
    assert resolved.artifacts == {Kind.ATTESTATION: 6}


def test_an_index_that_is_gone_is_a_problem_not_an_error(world: OciWorld) -> None:
    tag = world.buildx(REPO, "v1")
    gw = gateway()
    index = next(i for i in gw.images(repository()) if i.digest == tag.index)
    world.client.batch_delete_image(repositoryName=REPO, imageIds=[{"imageDigest": tag.index}])
    entries = gw.index_entries(repository(), [index])
    assert isinstance(entries[tag.index], Problem)
