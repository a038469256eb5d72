"""The registry walk (rescan, registry-wide report) on a registry as buildx, cosign,
OCI 1.1 referrers and helm fill it (moto + tests.support.oci_world + ecr_realism)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from ecrscan.aws.ecr import EcrGateway
from ecrscan.core.artifacts import Kind
from ecrscan.core.model import ImageStatus, Outcome
from ecrscan.core.problem import Problem
from ecrscan.core.thresholds import Thresholds
from ecrscan.engine.report import ReportSettings, build_report
from ecrscan.engine.rescan import RescanSettings, rescan
from tests.support.env import REGION
from tests.support.oci_world import BuildxTag, OciWorld, ecr_realism
from tests.support.registry import FakeRegistry

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=10)
REPO = "team/api"
PLAIN_REPO = "team/plain"


@dataclass
class World:
    oci: OciWorld
    registry: FakeRegistry
    refused: list[str]
    tag: BuildxTag
    plain: str


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws(), ecr_realism() as refused:
        client = boto3.client("ecr", region_name=REGION)
        for name in (REPO, PLAIN_REPO):
            client.create_repository(repositoryName=name)
        oci = OciWorld(client)
        tag = oci.buildx(REPO, "v1")
        oci.cosign_signature(REPO, tag.index)
        oci.sbom_referrer(REPO, tag.index)
        oci.helm_chart(REPO, "1.2.3")
        plain = oci.image(REPO, "plain")
        oci.image(PLAIN_REPO, "latest")
        yield World(oci, FakeRegistry(client, REGION), refused, tag, plain)


def gateway() -> EcrGateway:
    return EcrGateway(boto3.Session(region_name=REGION), region=REGION)


def test_rescan_starts_scans_only_on_images_and_counts_the_artifacts(world: World) -> None:
    gw = gateway()
    result = rescan(gw, NOW, RescanSettings())
    started = {r.image.digest for r in result.all_images() if r.outcome is Outcome.STARTED}
    other = {r.image.digest for r in result.repositories[1].images}
    assert len(other) == 1
    assert started == {*world.tag.platforms.values(), world.plain, *other}
    assert world.refused == []
    assert dict(result.artifacts) == {
        Kind.SIGNATURE: 1,
        Kind.ATTESTATION: 2,
        Kind.SBOM: 1,
        Kind.HELM_CHART: 1,
    }
    assert not result.incomplete
    labels = {r.image.label for r in result.all_images() if r.image.platform}
    assert labels == {"team/api:v1 (linux/amd64)", "team/api:v1 (linux/arm64)"}
    # one BatchGetImage for the repository with an index, none for the other
    assert gw.calls["batch_get_image"] == 1


def test_rescan_leaves_recent_platform_images_alone(world: World) -> None:
    amd64, arm64 = world.tag.platforms["linux/amd64"], world.tag.platforms["linux/arm64"]
    world.registry.set_scan(REPO, amd64, completed_at=NOW - timedelta(hours=1))
    world.registry.set_scan(REPO, arm64, completed_at=OLD)
    result = rescan(gateway(), NOW, RescanSettings(dry_run=True))
    planned = {r.image.digest for r in result.all_images() if r.outcome is Outcome.PLANNED}
    assert arm64 in planned and amd64 not in planned
    assert world.refused == []


def test_a_job_id_naming_an_index_means_its_platform_images(world: World) -> None:
    settings = RescanSettings(
        repositories=(REPO,), image_ids=({"imageTag": "v1"}, {"imageTag": "1.2.3"})
    )
    result = rescan(gateway(), NOW, settings)
    by_digest = {r.image.digest: r for r in result.all_images()}
    for digest in world.tag.platforms.values():
        assert by_digest[digest].outcome is Outcome.STARTED
    assert world.tag.index not in by_digest
    chart = [r for r in result.all_images() if r.image.kind is Kind.HELM_CHART]
    assert len(chart) == 1 and chart[0].outcome is Outcome.SKIPPED
    assert "not an image" in chart[0].verdict.reason
    assert world.refused == []


def test_registry_report_judges_platform_images_under_their_tag(world: World) -> None:
    amd64, arm64 = world.tag.platforms["linux/amd64"], world.tag.platforms["linux/arm64"]
    world.registry.set_scan(REPO, amd64, completed_at=OLD, counts={})
    world.registry.set_scan(REPO, arm64, completed_at=OLD, counts={"HIGH": 1})
    world.registry.set_scan(REPO, world.plain, completed_at=OLD, counts={})
    repo2 = next(iter(world.registry.client.list_images(repositoryName=PLAIN_REPO)["imageIds"]))
    world.registry.set_scan(PLAIN_REPO, repo2["imageDigest"], completed_at=OLD, counts={})
    gw = gateway()
    settings = ReportSettings(thresholds=Thresholds().with_overrides(["high=0"]))
    result = build_report(lambda region, registry: gw, NOW, settings)
    assert [r.image.label for r in result.breached] == ["team/api:v1 (linux/arm64)"]
    assert {r.status for r in result.images} == {ImageStatus.OK, ImageStatus.BREACH}
    assert len(result.images) == 4
    assert not result.incomplete
    assert result.artifacts[Kind.ATTESTATION] == 2
    assert gw.calls["batch_get_image"] == 1


def test_report_latest_keeps_the_whole_newest_index(world: World) -> None:
    for digest in world.tag.platforms.values():
        world.registry.set_pushed_at(REPO, digest, NOW - timedelta(minutes=1))
    world.registry.set_pushed_at(REPO, world.plain, NOW - timedelta(days=1))
    gw = gateway()
    result = build_report(lambda region, registry: gw, NOW, ReportSettings(latest=True))
    mine = sorted(r.image.label for r in result.images if r.image.repository == REPO)
    assert mine == ["team/api:v1 (linux/amd64)", "team/api:v1 (linux/arm64)"]


def test_an_unreadable_index_is_a_notice_and_its_images_stay(world: World) -> None:
    class Refusing(EcrGateway):
        def index_entries(self, repository, indexes):  # type: ignore[no-untyped-def]
            return {i.digest: Problem("ImageNotFound", "gone") for i in indexes}

    gw = Refusing(boto3.Session(region_name=REGION), region=REGION)
    result = rescan(gw, NOW, RescanSettings(dry_run=True))
    digests = {r.image.digest for r in result.repositories[0].images}
    assert set(world.tag.platforms.values()) <= digests  # in scope, unlabelled
    assert not any(r.image.platform for r in result.all_images())
    assert any("could not read the image index team/api:v1" in n for n in result.notices)
    assert not result.incomplete


def test_one_batch_get_image_per_repository_holding_indexes(world: World) -> None:
    world.registry.create_repo("team/web")
    for n in range(3):
        world.oci.buildx("team/web", f"v{n}", seed=str(n))
    gw = gateway()
    result = build_report(lambda region, registry: gw, NOW, ReportSettings())
    assert gw.calls["batch_get_image"] == 2  # team/api and team/web; none for team/plain
    assert result.artifacts[Kind.ATTESTATION] == 2 + 6
    web = [r.image for r in result.images if r.image.repository == "team/web"]
    assert len(web) == 6 and all(i.platform and i.index_tags for i in web)
