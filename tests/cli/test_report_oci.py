"""``ecrscan report`` and ``rescan`` registry-wide, through Click's CliRunner, on a
registry as buildx, cosign, OCI 1.1 referrers and helm fill it (moto + ecr_realism)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import boto3
import pytest

from tests.support.cli_report import NOW, invoke
from tests.support.oci_world import UNSUPPORTED, BuildxTag, OciWorld, ecr_realism
from tests.support.registry import FakeRegistry

OLD = NOW - timedelta(days=10)
REPO = "team/api"


@dataclass
class World:
    registry: FakeRegistry
    refused: list[str]
    tag: BuildxTag
    plain: str
    distroless: str


@pytest.fixture
def world(registry: FakeRegistry) -> Iterator[World]:
    """team/api: a buildx tag v1 (amd64 clean, arm64 per test), its cosign signature and
    an SBOM referrer, a Helm chart, a plain image; team/static: an image ECR cannot
    scan.  Every image scanned 10 days ago."""
    with ecr_realism() as refused:
        registry.create_repo(REPO)
        registry.create_repo("team/static")
        oci = OciWorld(registry.client)
        tag = oci.buildx(REPO, "v1")
        oci.cosign_signature(REPO, tag.index)
        oci.sbom_referrer(REPO, tag.index)
        oci.helm_chart(REPO, "1.2.3")
        plain = oci.image(REPO, "plain")
        distroless = oci.image("team/static", "v1")
        for digest in (*tag.platforms.values(), plain):
            registry.set_scan(REPO, digest, completed_at=OLD, counts={})
        registry.set_scan(
            "team/static",
            distroless,
            status="UNSUPPORTED_IMAGE",
            completed_at=OLD,
            description=UNSUPPORTED,
        )
        yield World(registry, refused, tag, plain, distroless)


def arm64_breaches(world: World) -> None:
    arm64 = world.tag.platforms["linux/arm64"]
    finding = {"name": "CVE-2026-1", "severity": "HIGH", "uri": "https://nvd.example/1"}
    world.registry.set_scan(REPO, arm64, completed_at=OLD, counts={"HIGH": 1}, findings=[finding])


def test_registry_report_exits_1_naming_the_platform_that_breaches(world: World) -> None:
    arm64_breaches(world)
    result = invoke(["report", "--format", "json", "--fail-on", "HIGH"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    rows = {i["digest"]: i for i in doc["images"]}
    arm64 = rows[world.tag.platforms["linux/arm64"]]
    assert arm64["status"] == "breach"
    assert (arm64["platform"], arm64["index_digest"]) == ("linux/arm64", world.tag.index)
    assert rows[world.plain]["platform"] == "" and rows[world.plain]["index_digest"] == ""
    assert world.tag.index not in rows and len(rows) == 4  # 2 platforms, plain, distroless
    assert rows[world.distroless]["status"] == "not_scannable"
    assert rows[world.distroless]["scan_status_description"] == UNSUPPORTED
    assert doc["artifacts"] == {"attestation": 2, "signature": 1, "sbom": 1, "helm-chart": 1}
    assert doc["complete"] is True and doc["exit_code"] == 1
    assert "1 signature, 2 attestations, 1 SBOM, 1 Helm chart: not images" in result.stderr
    table = invoke(["report", "--fail-on", "HIGH"], env={"COLUMNS": "200"})
    assert "team/api:v1 (linux/arm64)" in table.stdout
    assert world.refused == []


def test_registry_report_exits_0_when_no_platform_breaches(world: World) -> None:
    result = invoke(["report", "--fail-on", "HIGH"])
    assert result.exit_code == 0, result.output
    assert "(1 not scannable by ECR)" in result.stderr


def test_strict_makes_an_image_ecr_cannot_scan_exit_3(world: World) -> None:
    result = invoke(["report", "--strict", "--format", "json"])
    assert result.exit_code == 3, result.output
    doc = json.loads(result.stdout)
    assert doc["complete"] is False and doc["exit_code"] == 3
    assert "not scannable by ECR: team/static:v1" in result.stderr
    assert invoke(["report"], env={"ECRSCAN_STRICT": "1"}).exit_code == 3
    assert invoke(["report"], env={"ECRSCAN_STRICT": "0"}).exit_code == 0


def test_an_image_asked_for_explicitly_that_ecr_cannot_scan_exits_3(world: World) -> None:
    result = invoke(["report", "--image", "team/static:v1"])
    assert result.exit_code == 3, result.output
    assert UNSUPPORTED in result.stderr


def test_formats_name_the_platform_image_by_its_label(world: World) -> None:
    arm64_breaches(world)
    label = "team/api:v1 (linux/arm64)"
    for fmt in ("sarif", "junit", "markdown"):
        result = invoke(["report", "--fail-on", "HIGH", "--format", fmt])
        assert result.exit_code == 1, (fmt, result.output)
        assert label in result.stdout, fmt
    csv_out = invoke(["report", "--fail-on", "HIGH", "--format", "csv"]).stdout
    assert f"linux/arm64,{world.tag.index}" in csv_out


def test_rescan_counts_the_artifacts_as_not_images(world: World) -> None:
    result = invoke(["rescan", "--dry-run", "--expiry", "7d", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["artifacts"] == {"attestation": 2, "signature": 1, "sbom": 1, "helm-chart": 1}
    planned = {i["digest"] for i in doc["images"] if i["outcome"] == "planned"}
    assert planned == {*world.tag.platforms.values(), world.plain}
    table = invoke(["rescan", "--dry-run", "--expiry", "7d"], env={"COLUMNS": "200"})
    assert "1 signature, 2 attestations, 1 SBOM, 1 Helm chart: not images" in table.output
    assert "team/api:v1 (linux/amd64)" in table.output
    assert world.refused == []


def test_artifacts_are_summed_over_targets(world: World) -> None:
    other = boto3.client("ecr", region_name="eu-west-1")
    other.create_repository(repositoryName=REPO)
    OciWorld(other).buildx(REPO, "v1")  # the fixture's ecr_realism covers every region
    args = ["--region", "us-east-1", "--region", "eu-west-1", "--format", "json"]
    rescan = json.loads(invoke(["rescan", "--dry-run", *args]).stdout)
    report = json.loads(invoke(["report", *args]).stdout)
    for doc in (rescan, report):
        assert doc["artifacts"] == {"attestation": 4, "signature": 1, "sbom": 1, "helm-chart": 1}
    labels = {(i["region"], i["platform"]) for i in report["images"] if i["platform"]}
    assert labels == {(r, p) for r in ("us-east-1", "eu-west-1") for p in world.tag.platforms}
