"""A reference to a tag naming an image index (``docker buildx build --push``) means
its platform images; a reference naming an artifact is "not an image" (issue 17).

The registry: ``team/api:v1`` a buildx index (linux/amd64 clean, linux/arm64 one HIGH
finding, both scanned 10 days ago; one attestation manifest per platform), its cosign
signature and an OCI 1.1 SBOM referrer, and the Helm chart ``charts/api:1.2.3``.
``ecr_realism`` makes moto refuse StartImageScan of an index or an artifact as ECR does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from tests.support.cli_sessions import Sessions
from tests.support.env import REGION
from tests.support.fakes import quick_registry
from tests.support.oci_world import BuildxTag, OciWorld, ecr_realism

REPO = "team/api"
HIGH = {"HIGH": 1}


class World:
    def __init__(self, registry: Any, refused: list[str]) -> None:
        self.registry = registry
        self.refused = refused
        oci = OciWorld(registry.client)
        registry.create_repo(REPO)
        registry.create_repo("charts/api")
        self.tag: BuildxTag = oci.buildx(REPO, "v1")
        self.signature = oci.cosign_signature(REPO, self.tag.index)
        self.sbom = oci.sbom_referrer(REPO, self.tag.index)
        self.chart = oci.helm_chart("charts/api", "1.2.3")
        scanned = datetime.now(UTC) - timedelta(days=10)
        for platform, counts in (("linux/amd64", {}), ("linux/arm64", HIGH)):
            digest = self.tag.platforms[platform]
            registry.set_scan(REPO, digest, completed_at=scanned, counts=counts)
        self.started: list[dict[str, Any]] = []  # every StartImageScan's imageId

    def run(self, args: list[str]) -> Result:
        sessions = Sessions()

        def record(params: dict[str, Any], **_: Any) -> None:
            self.started.append(json.loads(params.get("body") or b"{}").get("imageId"))

        sessions.hooks.append(("before-call.ecr.StartImageScan", record))
        return CliRunner().invoke(cli, args, obj=AppContext(session_factory=sessions))


@pytest.fixture
def world(mocked: None) -> Iterator[World]:
    with ecr_realism() as refused:
        yield World(quick_registry(REGION), refused)


def rows(result: Result) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = json.loads(result.stdout)["images"]
    return images


def test_report_of_a_multi_platform_tag_judges_each_platform(world: World) -> None:
    result = world.run(["report", "--image", f"{REPO}:v1", "--format", "json"])
    assert result.exit_code == 1, result.stderr
    found = rows(result)
    assert [r["digest"] for r in found] == [
        world.tag.platforms["linux/amd64"],
        world.tag.platforms["linux/arm64"],
    ]
    assert [r["status"] for r in found] == ["ok", "breach"]
    assert world.started == []  # report never scans


def test_report_of_a_multi_platform_tag_in_markdown_names_the_platforms(world: World) -> None:
    result = world.run(["report", "--image", f"{REPO}:v1", "--format", "markdown"])
    assert result.exit_code == 1, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("| `team/api")]
    assert len(lines) == 2, result.stdout
    assert "`team/api:v1 (linux/amd64)`" in lines[0] and lines[0].endswith("ok |")
    assert "`team/api:v1 (linux/arm64)`" in lines[1] and "HIGH 1 > 0" in lines[1]
    assert world.tag.index not in result.stdout  # the index is not a row
    for attestation in world.tag.attestations.values():
        assert attestation not in result.stdout


def test_scan_of_a_multi_platform_tag_scans_and_gates_on_its_platform_images(
    world: World,
) -> None:
    result = world.run(["scan", f"{REPO}:v1", "--timeout", "5", "--format", "json"])
    assert result.exit_code == 1, result.stderr
    assert world.refused == []  # ECR refused nothing
    assert sorted(i["imageDigest"] for i in world.started) == sorted(
        world.tag.platforms.values()
    )  # never the index, the attestations, the signature or the SBOM
    assert f"{REPO}:v1 (linux/amd64): scan started" in result.stderr
    assert f"{REPO}:v1 (linux/arm64): scan started" in result.stderr
    found = rows(result)
    assert [(r["digest"], r["status"]) for r in found] == [
        (world.tag.platforms["linux/amd64"], "ok"),
        (world.tag.platforms["linux/arm64"], "breach"),
    ]


def test_scan_within_the_expiry_starts_nothing_and_still_gates(world: World) -> None:
    result = world.run(["scan", f"{REPO}:v1", "--expiry", "30d", "--timeout", "5"])
    assert result.exit_code == 1, result.stderr
    assert world.started == []
    assert f"{REPO}:v1 (linux/arm64): scanned within the expiry" in result.stderr


def test_a_clean_multi_platform_tag_passes(world: World) -> None:
    arm = world.tag.platforms["linux/arm64"]
    world.registry.set_scan(REPO, arm, completed_at=datetime.now(UTC), counts={})
    result = world.run(["report", "--image", f"{REPO}:v1"])
    assert result.exit_code == 0, result.stderr


def test_the_index_by_digest_means_its_platforms_too(world: World) -> None:
    result = world.run(["report", "--image", f"{REPO}@{world.tag.index}", "--format", "json"])
    assert result.exit_code == 1, result.stderr
    assert [r["digest"] for r in rows(result)] == [
        world.tag.platforms["linux/amd64"],
        world.tag.platforms["linux/arm64"],
    ]


def test_a_platform_digest_is_that_image_alone(world: World) -> None:
    amd = world.tag.platforms["linux/amd64"]
    result = world.run(["report", "--image", f"{REPO}@{amd}", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert [r["digest"] for r in rows(result)] == [amd]


@pytest.mark.parametrize("command", ["report --image", "scan"])
def test_a_helm_chart_is_not_an_image(world: World, command: str) -> None:
    timeout = ["--timeout", "5"] if command == "scan" else []
    result = world.run([*command.split(), "charts/api:1.2.3", *timeout])
    assert result.exit_code == 3, result.stderr
    assert "a Helm chart, not a container image" in result.stderr
    assert "rescan" not in result.stderr
    assert "rescan" not in result.stdout
    assert world.refused == [] and world.started == []


@pytest.mark.parametrize(
    ("what", "words"),
    [
        ("signature", "a signature, not a container image"),
        ("sbom", "an SBOM, not a container image"),
    ],
)
def test_a_signature_or_an_sbom_is_not_an_image(world: World, what: str, words: str) -> None:
    ref = f"{REPO}:{world.signature}" if what == "signature" else f"{REPO}@{world.sbom}"
    result = world.run(["scan", ref, "--timeout", "5", "--format", "json"])
    assert result.exit_code == 3, result.stderr
    assert words in result.stderr
    [row] = rows(result)
    assert row["status"] == "not_an_image"
    assert "rescan" not in result.stderr
    assert world.refused == [] and world.started == []


def test_every_reference_counts_worst_wins(world: World) -> None:
    result = world.run(["report", "--image", f"{REPO}:v1", "--image", "charts/api:1.2.3"])
    assert result.exit_code == 3, result.stderr  # not an image outranks the breach
    assert "a Helm chart, not a container image" in result.stderr


def test_a_tag_that_does_not_name_the_index_digest_is_said_and_not_used(world: World) -> None:
    ref = f"{REPO}:v2@{world.tag.index}"  # v2 names nothing: the digest decides
    result = world.run(["report", "--image", ref, "--format", "markdown"])
    assert result.exit_code == 1, result.stderr
    assert "`team/api:v1 (linux/arm64)`" in result.stdout
    assert "team/api:v2 (" not in result.stdout
    assert f"{ref}: the tag 'v2' does not point at {world.tag.index}" in result.stderr
    assert result.stderr.count("does not point at") == 1  # once, not per platform
