"""Issue 17 end to end: the installed ``ecrscan`` against moto's server holding a registry
as today's tools fill it (buildx indexes with platform images and attestations, a cosign
signature, an OCI 1.1 SBOM referrer, a Helm chart, a plain image, an image ECR cannot scan).

moto's server runs in this process, so ``ecr_realism()`` (ECR's refusals and its
``artifactMediaType`` / ``subjectManifestDigest``) applies to what the command sees, and
every StartImageScan the server receives is recorded here.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from moto.ecr.models import ECRBackend

from tests.support.env import ecrscan_command
from tests.support.oci_world import OCI_INDEX, UNSUPPORTED, BuildxTag, OciWorld, ecr_realism
from tests.support.registry import FakeRegistry

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out

NOW = datetime.now(UTC)
TEN_DAYS_AGO = NOW - timedelta(days=10)
ARM64_FINDING = {"name": "CVE-2026-1700", "severity": "HIGH", "uri": "https://example.test/1"}


@dataclass
class Oci:
    """The seeded registry, the StartImageScan calls the server received (digest or tag)
    and the media types ``ecr_realism`` refused."""

    registry: FakeRegistry
    v1: BuildxTag
    v2: BuildxTag
    signature_tag: str
    sbom: str
    chart: str
    plain: str
    unsupported: str
    started: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def scan(self, repo: str, digest: str, when: datetime, **counts: int) -> None:
        self.registry.set_scan(
            repo,
            digest,
            completed_at=when,
            counts=dict(counts),
            findings=[ARM64_FINDING] * counts.get("HIGH", 0),
        )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ecrscan_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def oci(server_registry: FakeRegistry) -> Iterator[Oci]:
    with ecr_realism() as refused:
        started: list[str] = []
        realistic = ECRBackend.start_image_scan

        def start(self: ECRBackend, *args: Any, **kwargs: Any) -> Any:
            image_id = kwargs.get("image_id", args[-1] if args else {})
            started.append(image_id.get("imageDigest") or image_id.get("imageTag"))
            return realistic(self, *args, **kwargs)

        with mock.patch.object(ECRBackend, "start_image_scan", start):
            yield _seed(server_registry, started, refused)


def _seed(registry: FakeRegistry, started: list[str], refused: list[str]) -> Oci:
    for repo in ("team/api", "team/web", "team/distroless", "charts/api"):
        registry.create_repo(repo)
    world = OciWorld(registry.client)
    v1 = world.buildx("team/api", "v1")
    made = Oci(
        registry=registry,
        v1=v1,
        v2=world.buildx("team/api", "v2", seed="v2"),
        signature_tag=world.cosign_signature("team/api", v1.index),
        sbom=world.sbom_referrer("team/api", v1.index),
        chart=world.helm_chart("charts/api", "1.2.3"),
        plain=world.image("team/web", "v1"),
        unsupported=world.image("team/distroless", "v1"),
        started=started,
        refused=refused,
    )
    made.scan("team/api", v1.platforms["linux/amd64"], TEN_DAYS_AGO)
    made.scan("team/api", v1.platforms["linux/arm64"], TEN_DAYS_AGO, HIGH=1)
    made.scan("team/web", made.plain, TEN_DAYS_AGO)
    registry.set_scan(
        "team/distroless",
        made.unsupported,
        status="UNSUPPORTED_IMAGE",
        completed_at=NOW - timedelta(days=3),
        description=UNSUPPORTED,
    )
    return made


def rows_by_digest(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["digest"]: row for row in doc["images"]}


ARTIFACTS = {"signature": 1, "attestation": 4, "sbom": 1, "helm-chart": 1}


def test_the_server_holds_the_registry_as_ecr_describes_it(oci: Oci) -> None:
    """The seeding and the server hookup, checked through the server's DescribeImages
    (this holds before the behaviour exists: the failures below are the behaviour's)."""
    client = oci.registry.client
    api = client.describe_images(repositoryName="team/api")["imageDetails"]
    by_digest = {d["imageDigest"]: d for d in api}
    assert len(api) == 2 * (1 + 2 + 2) + 2  # two buildx tags, a signature, an SBOM
    assert by_digest[oci.v1.index]["imageManifestMediaType"] == OCI_INDEX
    assert by_digest[oci.v1.index]["imageTags"] == ["v1"]
    assert by_digest[oci.sbom]["subjectManifestDigest"] == oci.v1.index
    assert by_digest[oci.sbom]["artifactMediaType"] == "application/spdx+json"
    assert any(oci.signature_tag in d.get("imageTags", []) for d in api)
    [chart] = client.describe_images(repositoryName="charts/api")["imageDetails"]
    assert chart["artifactMediaType"] == "application/vnd.cncf.helm.config.v1+json"
    arm64 = {
        "repositoryName": "team/api",
        "imageId": {"imageDigest": oci.v1.platforms["linux/arm64"]},
    }
    scan = client.describe_image_scan_findings(**arm64)
    assert scan["imageScanFindings"]["findingSeverityCounts"] == {"HIGH": 1}
    assert oci.started == [] and oci.refused == []


def test_rescan_starts_exactly_the_due_platform_and_plain_images(
    oci: Oci, server_env: dict[str, str]
) -> None:
    proc = run(["rescan", "--expiry", "7d", "--format", "json"], server_env)
    assert proc.returncode == 0, proc.stderr
    due = {*oci.v1.platforms.values(), *oci.v2.platforms.values(), oci.plain}
    assert sorted(oci.started) == sorted(due)  # each once; no index, attestation, artifact
    assert oci.refused == []
    doc = json.loads(proc.stdout)
    assert doc["artifacts"] == ARTIFACTS
    rows = rows_by_digest(doc)
    assert set(rows) == due | {oci.unsupported}  # the images, and only them
    assert {d for d, row in rows.items() if row["outcome"] == "started"} == due
    for tag in (oci.v1, oci.v2):
        for platform, digest in tag.platforms.items():
            assert (rows[digest]["platform"], rows[digest]["index_digest"]) == (platform, tag.index)
    assert (rows[oci.plain]["platform"], rows[oci.plain]["index_digest"]) == ("", "")
    assert doc["complete"] is True


def test_registry_wide_report_gates_on_platform_images_and_counts_artifacts(
    oci: Oci, server_env: dict[str, str]
) -> None:
    for digest in oci.v2.platforms.values():
        oci.scan("team/api", digest, NOW - timedelta(hours=1))
    proc = run(["report", "--format", "json"], server_env)
    assert proc.returncode == 1, proc.stderr  # the arm64 HIGH, and the unsupported image no 3
    doc = json.loads(proc.stdout)
    assert doc["artifacts"] == ARTIFACTS
    rows = rows_by_digest(doc)
    judged = {*oci.v1.platforms.values(), *oci.v2.platforms.values(), oci.plain, oci.unsupported}
    assert set(rows) == judged
    statuses = {digest: row["status"] for digest, row in rows.items()}
    assert statuses == {
        **dict.fromkeys(judged, "ok"),
        oci.v1.platforms["linux/arm64"]: "breach",
        oci.unsupported: "not_scannable",
    }
    arm64 = rows[oci.v1.platforms["linux/arm64"]]
    assert (arm64["platform"], arm64["index_digest"]) == ("linux/arm64", oci.v1.index)
    assert oci.started == [] and oci.refused == []

    table = run(["report"], {**server_env, "COLUMNS": "200"})  # room for each label whole
    assert table.returncode == 1, table.stderr
    assert "team/api:v1 (linux/arm64)" in table.stdout
    assert "team/api:v1 (linux/amd64)" in table.stdout
    assert "4 attestations" in table.stdout + table.stderr
    assert "not images" in table.stdout + table.stderr


def test_registry_wide_report_exits_0_without_a_breach_and_3_when_strict(
    oci: Oci, server_env: dict[str, str]
) -> None:
    for digest in [*oci.v1.platforms.values(), *oci.v2.platforms.values()]:
        oci.scan("team/api", digest, NOW - timedelta(hours=1))  # all clean
    proc = run(["report", "--format", "json"], server_env)
    assert proc.returncode == 0, proc.stderr
    assert rows_by_digest(json.loads(proc.stdout))[oci.unsupported]["status"] == "not_scannable"
    strict = run(["report", "--strict"], server_env)
    assert strict.returncode == 3, strict.stderr
    assert run(["report"], {**server_env, "ECRSCAN_STRICT": "1"}).returncode == 3


def test_scan_of_a_multi_platform_tag_gates_on_its_platform_images(
    oci: Oci, server_env: dict[str, str]
) -> None:
    # scanned minutes ago: the server's daily quota refuses a new scan, that scan is used
    oci.scan("team/api", oci.v1.platforms["linux/amd64"], NOW - timedelta(minutes=5))
    oci.scan("team/api", oci.v1.platforms["linux/arm64"], NOW - timedelta(minutes=5), HIGH=1)
    proc = run(["scan", "team/api:v1", "--format", "json", "--timeout", "30s"], server_env)
    assert proc.returncode == 1, proc.stderr
    assert sorted(oci.started) == sorted(oci.v1.platforms.values())
    assert oci.refused == []
    rows = rows_by_digest(json.loads(proc.stdout))
    assert {d: (r["platform"], r["index_digest"], r["status"]) for d, r in rows.items()} == {
        oci.v1.platforms["linux/amd64"]: ("linux/amd64", oci.v1.index, "ok"),
        oci.v1.platforms["linux/arm64"]: ("linux/arm64", oci.v1.index, "breach"),
    }
    assert "team/api:v1 (linux/arm64)" in proc.stderr


def test_scan_starts_and_awaits_the_platform_scans_of_a_never_scanned_tag(
    oci: Oci, server_env: dict[str, str]
) -> None:
    proc = run(["scan", "team/api:v2", "--format", "json", "--timeout", "30s"], server_env)
    assert proc.returncode == 1, proc.stderr  # moto's finished scan: one fake HIGH finding
    assert sorted(oci.started) == sorted(oci.v2.platforms.values())
    assert oci.refused == []
    rows = rows_by_digest(json.loads(proc.stdout))
    assert set(rows) == set(oci.v2.platforms.values())
    assert {r["platform"] for r in rows.values()} == {"linux/amd64", "linux/arm64"}
    assert "team/api:v2 (linux/amd64): scan started" in proc.stderr


def test_scan_with_expiry_starts_nothing_and_gates(oci: Oci, server_env: dict[str, str]) -> None:
    proc = run(["scan", "team/api:v1", "--expiry", "30d", "--timeout", "30s"], server_env)
    assert proc.returncode == 1, proc.stderr
    assert oci.started == [] and oci.refused == []
    assert "team/api:v1 (linux/arm64)" in proc.stderr + proc.stdout


def test_an_explicit_helm_chart_is_not_an_image(oci: Oci, server_env: dict[str, str]) -> None:
    proc = run(["report", "--image", "charts/api:1.2.3"], server_env)
    assert proc.returncode == 3, proc.stderr
    said = [
        line for line in proc.stderr.splitlines() if "Helm chart, not a container image" in line
    ]
    assert len(said) == 1, proc.stderr
    assert "rescan" not in proc.stderr + proc.stdout
    doc = run(["report", "--image", "charts/api:1.2.3", "--format", "json"], server_env)
    assert doc.returncode == 3, doc.stderr
    [row] = json.loads(doc.stdout)["images"]
    assert row["status"] == "not_an_image"
    assert row["error"] == {"code": "NotAnImage", "message": "a Helm chart, not a container image"}
    scan = run(["scan", "charts/api:1.2.3", "--timeout", "30s"], server_env)
    assert scan.returncode == 3, scan.stderr
    assert "Helm chart, not a container image" in scan.stderr
    assert "rescan" not in scan.stderr + scan.stdout
    assert oci.started == [] and oci.refused == []
