"""ECR responses as model records (pure): repositories, images, scan states.

Timestamps are converted to UTC and only the fields ecrscan uses are kept, so the
engine's memory grows with the number of images, not with the size of AWS's responses.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ecrscan.core.artifacts import classify
from ecrscan.core.model import Image, Repository, ScanState


class ImageIndex:
    """Images by digest and by tag, to look image ids up in."""

    def __init__(self, images: Iterable[Image]) -> None:
        self._by_digest: dict[str, Image] = {}
        self._by_tag: dict[str, Image] = {}
        for image in images:
            self._by_digest.setdefault(image.digest, image)
            for tag in image.tags:
                self._by_tag.setdefault(tag, image)

    def get(self, image_id: dict[str, str]) -> Image | None:
        """The image an id names: by digest (and then it must carry the tag, when one
        is given too, as DescribeImages requires), else by tag."""
        digest, tag = image_id.get("imageDigest"), image_id.get("imageTag")
        if digest:
            image = self._by_digest.get(digest)
            if image is None or (tag and tag not in image.tags):
                return None
            return image
        return self._by_tag.get(tag) if tag else None


def id_key(image_id: dict[str, str]) -> tuple[str, str]:
    return image_id.get("imageDigest", ""), image_id.get("imageTag", "")


def placeholder(repository: Repository, image_id: dict[str, str], registry_id: str | None) -> Image:
    tag = image_id.get("imageTag")
    return Image(
        repository=repository.name,
        registry_id=repository.registry_id or registry_id or "",
        digest=image_id.get("imageDigest", ""),
        tags=(tag,) if tag else (),
    )


def _utc(value: datetime | None) -> datetime | None:
    """An aware timestamp in UTC.  botocore gives every parsed timestamp its own
    ``tzlocal()`` object (about 450 bytes with its timedeltas); UTC is one shared object,
    which halves the memory of an image record (benchmarks/README.md)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC)


def repository_record(item: dict[str, Any]) -> Repository:
    scanning = item.get("imageScanningConfiguration") or {}
    return Repository(
        name=item["repositoryName"],
        registry_id=item.get("registryId", ""),
        arn=item.get("repositoryArn", ""),
        uri=item.get("repositoryUri", ""),
        created_at=_utc(item.get("createdAt")),
        scan_on_push=scanning.get("scanOnPush"),
    )


def image_record(item: dict[str, Any], repository: Repository) -> Image:
    tags = tuple(item.get("imageTags") or ())
    return Image(
        repository=item.get("repositoryName", repository.name),
        registry_id=item.get("registryId", repository.registry_id),
        digest=item["imageDigest"],
        tags=tags,
        pushed_at=_utc(item.get("imagePushedAt")),
        size_bytes=item.get("imageSizeInBytes"),
        image_status=item.get("imageStatus"),
        last_pulled_at=_utc(item.get("lastRecordedPullTime")),
        summary=summary_from_image_detail(item),
        kind=classify(
            item.get("imageManifestMediaType"),
            item.get("artifactMediaType"),
            item.get("subjectManifestDigest"),
            tags,
        ),
    )


def summary_from_image_detail(item: dict[str, Any]) -> ScanState | None:
    """The scan summary DescribeImages used to return; ``None`` when it is absent.

    AWS stopped filling these fields for basic scanning in February 2026; when they are
    there (enhanced scanning, other partitions) they save one call per image.
    """
    status = (item.get("imageScanStatus") or {}).get("status")
    if not status:
        return None
    summary = item.get("imageScanFindingsSummary") or {}
    if status == "COMPLETE" and not summary.get("imageScanCompletedAt"):
        return None  # a status without its date cannot decide due-ness: ask again
    return ScanState(
        status=status,
        completed_at=_utc(summary.get("imageScanCompletedAt")),
        description=(item.get("imageScanStatus") or {}).get("description", ""),
        counts=dict(summary.get("findingSeverityCounts") or {}),
        source="describe_images",
    )


def scan_state_from_findings(response: dict[str, Any]) -> ScanState:
    status_block = response.get("imageScanStatus") or {}
    findings = response.get("imageScanFindings") or {}
    return ScanState(
        status=status_block.get("status") or "COMPLETE",
        completed_at=_utc(findings.get("imageScanCompletedAt")),
        description=status_block.get("description", ""),
        counts=dict(findings.get("findingSeverityCounts") or {}),
        source="scan_findings",
    )
