"""What each manifest of a registry is: an image to scan, an index of platform images,
or an artifact that no scanner reads (pure: no I/O).

ECR's ``DescribeImages`` says enough for most manifests: ``imageManifestMediaType``
(an index or an image manifest), ``artifactMediaType`` (the config or artifact type:
an image config, a Helm chart, a signature ...), ``subjectManifestDigest`` (an OCI 1.1
referrer of another manifest) and the tags (cosign's ``sha256-<hex>.sig`` scheme).
buildx's attestation manifests look like images there; only the index that lists them
says what they are (:func:`parse_index`).  Every media type ecrscan knows is named once,
here.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Manifests that list other manifests: scanned through the images they list.
INDEX_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
# The config media types of container images (``artifactMediaType`` of an image).
IMAGE_CONFIG_TYPES = frozenset(
    {
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    }
)
HELM_TYPES = frozenset(
    {
        "application/vnd.cncf.helm.config.v1+json",
        "application/vnd.cncf.helm.chart.config.v1+json",
    }
)
SIGNATURE_TYPES = frozenset(
    {
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "application/vnd.dev.cosign.simplesigning.v1+json",
        "application/vnd.cncf.notary.signature",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
    }
)
ATTESTATION_TYPES = frozenset(
    {
        "application/vnd.dev.cosign.artifact.att.v1+json",
        "application/vnd.in-toto+json",
        "application/vnd.dsse.envelope.v1+json",
    }
)
SBOM_TYPES = frozenset(
    {
        "application/vnd.dev.cosign.artifact.sbom.v1+json",
        "application/spdx+json",
        "text/spdx",
        "text/spdx+json",
        "application/vnd.cyclonedx+json",
        "application/vnd.cyclonedx+xml",
        "application/vnd.syft+json",
    }
)
# buildx marks the attestation manifests of an index with this annotation.
REFERENCE_TYPE = "vnd.docker.reference.type"
ATTESTATION_MANIFEST = "attestation-manifest"
# cosign's tag scheme for what it attaches to sha256:<hex>: sha256-<hex>.sig / .att / .sbom
_COSIGN_TAG = re.compile(r"^sha256-[0-9a-f]{64}\.(sig|att|sbom)$")
MAX_INDEX_BYTES = 4 * 1024 * 1024  # ECR's manifest size limit
MAX_INDEX_ENTRIES = 1000


class Kind(enum.Enum):
    """What one manifest is, for a scanner."""

    IMAGE = "image"  # a container image (single-platform, or one platform of an index)
    INDEX = "index"  # an image index / manifest list: its platform images are scanned
    ATTESTATION = "attestation"  # provenance / in-toto statements (buildx, cosign .att)
    SIGNATURE = "signature"  # cosign / Notation signatures
    SBOM = "sbom"  # a software bill of materials
    HELM_CHART = "helm-chart"
    ARTIFACT = "artifact"  # any other OCI artifact (WASM, a config bundle, ...)

    @property
    def scannable(self) -> bool:
        """Only images are scanned; an index through its platform images."""
        return self is Kind.IMAGE


_IN_WORDS = {
    Kind.IMAGE: "a container image",
    Kind.INDEX: "an image index",
    Kind.ATTESTATION: "an attestation",
    Kind.SIGNATURE: "a signature",
    Kind.SBOM: "an SBOM",
    Kind.HELM_CHART: "a Helm chart",
    Kind.ARTIFACT: "an OCI artifact",
}


def describe(kind: Kind) -> str:
    """One manifest of ``kind`` in words: "a Helm chart", "an SBOM" ..."""
    return _IN_WORDS[kind]


_BY_TYPE: Mapping[str, Kind] = {
    **dict.fromkeys(HELM_TYPES, Kind.HELM_CHART),
    **dict.fromkeys(SIGNATURE_TYPES, Kind.SIGNATURE),
    **dict.fromkeys(ATTESTATION_TYPES, Kind.ATTESTATION),
    **dict.fromkeys(SBOM_TYPES, Kind.SBOM),
}
_BY_SUFFIX = {"sig": Kind.SIGNATURE, "att": Kind.ATTESTATION, "sbom": Kind.SBOM}


def _media(value: object) -> str:
    """A media type compared as ECR and registries do: case-insensitively, trimmed."""
    return value.strip().lower() if isinstance(value, str) else ""


def classify(
    manifest_media_type: object = None,
    artifact_media_type: object = None,
    subject_digest: object = None,
    tags: Iterable[object] = (),
) -> Kind:
    """The kind of a manifest from what ``DescribeImages`` returns (any value may be
    missing or malformed; this never raises).  An untagged image manifest listed as
    an attestation by its index is only known as such through :func:`parse_index`."""
    if _media(manifest_media_type) in INDEX_TYPES:
        return Kind.INDEX
    artifact = _media(artifact_media_type)
    known = _BY_TYPE.get(artifact)
    if known is not None:
        return known
    for tag in tags:
        match = _COSIGN_TAG.match(tag) if isinstance(tag, str) else None
        if match:
            return _BY_SUFFIX[match.group(1)]
    if artifact and artifact not in IMAGE_CONFIG_TYPES:
        return Kind.ARTIFACT
    if isinstance(subject_digest, str) and subject_digest:
        # a referrer whose type ecrscan does not know, with an image config: still
        # something attached to another image, never a runnable image of its own
        return Kind.ARTIFACT
    return Kind.IMAGE


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One manifest an index lists: its digest, its platform (``linux/arm64/v8``;
    ``unknown/unknown`` for buildx attestations) and what it is."""

    digest: str
    platform: str
    kind: Kind
    subject: str = ""  # the platform image an attestation describes


class NotAnIndex(ValueError):
    """An index manifest that cannot be read (its text is not an index)."""


def parse_index(text: str | bytes) -> tuple[IndexEntry, ...]:
    """The entries of an image index / manifest list (the manifest ``BatchGetImage``
    returns), platform images first, in the index's order.  Raises
    :class:`NotAnIndex` when the text is not an index."""
    if len(text) > MAX_INDEX_BYTES:
        raise NotAnIndex(f"the index is larger than {MAX_INDEX_BYTES} bytes")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NotAnIndex(f"the index is not JSON ({exc})") from None
    manifests = document.get("manifests") if isinstance(document, dict) else None
    if not isinstance(manifests, list):
        raise NotAnIndex("the index has no 'manifests' list")
    if len(manifests) > MAX_INDEX_ENTRIES:
        raise NotAnIndex(f"the index lists more than {MAX_INDEX_ENTRIES} manifests")
    entries = [entry for item in manifests if (entry := _entry(item)) is not None]
    return tuple(sorted(entries, key=lambda e: e.kind is not Kind.IMAGE))


def _entry(item: Any) -> IndexEntry | None:
    if not isinstance(item, dict) or not isinstance(item.get("digest"), str):
        return None
    raw = item.get("annotations")
    annotations: dict[str, Any] = raw if isinstance(raw, dict) else {}
    platform = platform_text(item.get("platform"))
    media = _media(item.get("mediaType"))
    if annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
        kind = Kind.ATTESTATION
    elif media in INDEX_TYPES:
        kind = Kind.INDEX
    elif platform == "unknown/unknown":
        kind = Kind.ATTESTATION
    else:
        kind = classify(media, item.get("artifactType"))
    subject = annotations.get("vnd.docker.reference.digest", "")
    return IndexEntry(item["digest"], platform, kind, subject if isinstance(subject, str) else "")


def platform_text(platform: Any) -> str:
    """``os/architecture[/variant]`` of an index entry's platform ("" when absent)."""
    if not isinstance(platform, dict):
        return ""
    parts = [platform.get("os"), platform.get("architecture"), platform.get("variant")]
    words = [p for p in parts if isinstance(p, str) and p]
    return "/".join(words)
