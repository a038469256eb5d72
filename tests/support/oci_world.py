"""Registries as today's tools fill them, on moto: buildx image indexes with platform
images and attestation manifests, cosign signatures, OCI 1.1 referrers (SBOMs), Helm
charts; and ECR's refusals, which moto does not model.

moto stores any manifest but (as of 5.x) neither reports ``artifactMediaType`` and
``subjectManifestDigest`` in DescribeImages nor refuses a scan: :func:`ecr_realism`
patches its backend so that

* DescribeImages reports both fields, derived from the stored manifest as ECR does
  (``artifactType``, else the config media type; the ``subject`` digest);
* StartImageScan of an index or of a non-image artifact (Helm chart, SBOM, any config
  that is not an image config) raises ``UnsupportedImageTypeException`` with ECR's
  message, and spends no scan;
* a scan of an attestation or a signature manifest completes as ``UNSUPPORTED_IMAGE``
  (as ECR's basic scanner answers for manifests with no OS packages).

Every manifest is pushed with its real digest (the SHA-256 of its bytes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from moto.core.exceptions import JsonRESTError
from moto.ecr.models import ECRBackend, Image

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
IMAGE_CONFIGS = {OCI_CONFIG, "application/vnd.docker.container.image.v1+json"}
INDEXES = {OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json"}
NO_OS_LAYERS = {"application/vnd.in-toto+json", "application/vnd.dev.cosign.simplesigning.v1+json"}


UNSUPPORTED = (
    "UnsupportedImageError: The operating system and/or package manager are not supported."
)


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _descriptor(media_type: str, seed: str, size: int = 1000) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha(seed), "size": size}


def manifest(
    seed: str,
    *,
    config: str = OCI_CONFIG,
    layer: str = OCI_LAYER,
    artifact_type: str | None = None,
    subject: str | None = None,
) -> str:
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": _descriptor(config, f"config:{seed}"),
        "layers": [_descriptor(layer, f"layer:{seed}")],
    }
    if artifact_type:
        document["artifactType"] = artifact_type
    if subject:
        document["subject"] = {"mediaType": OCI_MANIFEST, "digest": subject, "size": 1000}
    return json.dumps(document)


@dataclass
class BuildxTag:
    """What one ``docker buildx build --platform ... --push -t repo:tag`` left."""

    index: str
    platforms: dict[str, str]  # "linux/arm64" -> platform image digest
    attestations: dict[str, str] = field(default_factory=dict)  # platform -> digest


class OciWorld:
    """Pushes real manifests through a moto ECR client (``client.put_image``)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def put(self, repo: str, text: str, tag: str | None = None, media: str = OCI_MANIFEST) -> str:
        params: dict[str, Any] = {
            "repositoryName": repo,
            "imageManifest": text,
            "imageManifestMediaType": media,
            "imageDigest": sha(text),
        }
        if tag:
            params["imageTag"] = tag
        return str(self.client.put_image(**params)["image"]["imageId"]["imageDigest"])

    def image(self, repo: str, tag: str | None, seed: str | None = None) -> str:
        """A plain single-platform image."""
        return self.put(repo, manifest(seed or f"{repo}:{tag}"), tag)

    def buildx(
        self,
        repo: str,
        tag: str,
        platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64"),
        *,
        attestations: bool = True,
        seed: str = "",
    ) -> BuildxTag:
        """An index under ``tag``, one untagged image per platform and (by default) one
        untagged attestation manifest per platform, as buildx >= 0.10 pushes them."""
        entries, made = [], BuildxTag(index="", platforms={})
        for platform in platforms:
            os_, arch, *variant = platform.split("/")
            digest = self.put(repo, manifest(f"{seed}{repo}:{tag}:{platform}"))
            made.platforms[platform] = digest
            plat: dict[str, str] = {"architecture": arch, "os": os_}
            if variant:
                plat["variant"] = variant[0]
            entries.append(
                {"mediaType": OCI_MANIFEST, "digest": digest, "size": 1000, "platform": plat}
            )
        for platform, digest in made.platforms.items() if attestations else ():
            att = self.put(
                repo, manifest(f"att:{seed}{digest}", layer="application/vnd.in-toto+json")
            )
            made.attestations[platform] = att
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": att,
                    "size": 1000,
                    "annotations": {
                        "vnd.docker.reference.digest": digest,
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                    "platform": {"architecture": "unknown", "os": "unknown"},
                }
            )
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        made.index = self.put(repo, index, tag, media=OCI_INDEX)
        return made

    def cosign_signature(self, repo: str, subject: str) -> str:
        """cosign's tag scheme: ``sha256-<hex>.sig`` next to the signed manifest."""
        tag = subject.replace(":", "-") + ".sig"
        text = manifest(f"sig:{subject}", layer="application/vnd.dev.cosign.simplesigning.v1+json")
        self.put(repo, text, tag)
        return tag

    def sbom_referrer(self, repo: str, subject: str) -> str:
        """An OCI 1.1 referrer (``cosign attach sbom --registry-referrers-mode oci-1-1``,
        ``oras attach``): artifactType SPDX, the subject the image it describes."""
        text = manifest(
            f"sbom:{subject}",
            config=OCI_EMPTY,
            layer="application/spdx+json",
            artifact_type="application/spdx+json",
            subject=subject,
        )
        return self.put(repo, text)

    def helm_chart(self, repo: str, version: str) -> str:
        text = manifest(
            f"chart:{repo}:{version}",
            config=HELM_CONFIG,
            layer="application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        )
        return self.put(repo, text, version)


class UnsupportedImageTypeException(JsonRESTError):
    code = 400

    def __init__(self, media_type: str) -> None:
        super().__init__(
            "UnsupportedImageTypeException",
            f"An artifact with media type '{media_type}' cannot be scanned",
        )


def _parsed(image: Image) -> Mapping[str, Any]:
    try:
        document = json.loads(image.image_manifest)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def artifact_type(image: Image) -> str | None:
    """What ECR reports as ``artifactMediaType``: the artifactType, else the config's."""
    document = _parsed(image)
    if image.image_manifest_media_type in INDEXES:
        return document.get("artifactType")
    return document.get("artifactType") or (document.get("config") or {}).get("mediaType")


def _layers(image: Image) -> set[str]:
    return {layer.get("mediaType") for layer in _parsed(image).get("layers") or ()}


@contextmanager
def ecr_realism() -> Iterator[list[str]]:
    """Patch moto's ECR as the module docstring says; yields the list of media types
    whose StartImageScan was refused (one entry per refusal)."""
    refused: list[str] = []
    original_scan = ECRBackend.start_image_scan
    original_describe = ECRBackend.describe_images

    def start_image_scan(
        self: ECRBackend, registry_id: str, repository_name: str, image_id: dict[str, str]
    ) -> dict[str, Any]:
        repo = self._get_repository(repository_name, registry_id)
        image = repo._get_image(image_id.get("imageTag"), image_id.get("imageDigest"))
        media = image.image_manifest_media_type or ""
        kind = artifact_type(image) or ""
        if media in INDEXES or (kind and kind not in IMAGE_CONFIGS):
            refused.append(media if media in INDEXES else kind)
            raise UnsupportedImageTypeException(media if media in INDEXES else kind)
        answer = original_scan(self, registry_id, repository_name, image_id)
        if _layers(image) & NO_OS_LAYERS:
            digest = image.image_digest
            image.scan_finding_results[json.dumps({"imageDigest": digest})] = {
                "registryId": repo.registry_id,
                "repositoryName": repository_name,
                "imageId": {"imageDigest": digest},
                "imageScanStatus": {"status": "UNSUPPORTED_IMAGE", "description": UNSUPPORTED},
                "imageScanFindings": {"findingSeverityCounts": {}},
            }
        return answer

    def describe_images(self: ECRBackend, *args: Any, **kwargs: Any) -> Any:
        images = original_describe(self, *args, **kwargs)
        for image in images:
            image.artifact_media_type = artifact_type(image)
            subject = _parsed(image).get("subject") or {}
            image.subject_manifest_digest = subject.get("digest")
        return images

    with (
        mock.patch.object(ECRBackend, "start_image_scan", start_image_scan),
        mock.patch.object(ECRBackend, "describe_images", describe_images),
    ):
        yield refused
