"""Bulk reads on registries with enhanced scanning: the scan state and severity counts
of every selected image from Amazon Inspector, a few calls for the whole registry, put
where the per-image reads would look first (``Image.summary``).

Only images whose state the bulk records settle get one
(:func:`ecrscan.core.inspector.state_of`); every other image is read from ECR as
before.  When Inspector cannot be read (access denied, an error that outlasted the
retries), the run says so once and reads every image from ECR.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ecrscan.core.errors import AwsError, ErrorKind
from ecrscan.core.inspector import BulkIndex, CoveredImage, ImageCounts, build_index, filter_batches
from ecrscan.core.model import Image, ImageLookup, Repository, ScanType
from ecrscan.core.policy import RepositoryFilter
from ecrscan.engine.ports import EcrReads, InspectorReads

DENIED_HINT = (
    "grant inspector2:ListCoverage and inspector2:ListFindingAggregations to read every "
    "image's state in a few calls"
)


def read_bulk(
    gateway: EcrReads,
    scan_type: ScanType,
    repositories: Sequence[Repository],
    whole_registry: bool,
    epss: bool = False,
) -> tuple[BulkIndex | None, list[str]]:
    """The bulk index of the selected repositories' images (``None`` when the registry
    scans BASIC, nothing is selected, or Inspector cannot be read) and the notices;
    ``epss``: with the EPSS score of every finding (:func:`read_epss`)."""
    if scan_type is not ScanType.ENHANCED or not repositories:
        return None, []
    account = repositories[0].registry_id
    names = [r.name for r in repositories]
    inspector = gateway.inspector()
    batches = filter_batches(names, whole_registry)

    def coverage() -> list[CoveredImage]:
        return [c for batch in batches for c in inspector.coverage(account, batch)]

    def image_counts() -> list[ImageCounts]:
        return [c for batch in batches for c in inspector.image_counts(account, batch)]

    scored: tuple[dict[str, float], list[str]] = ({}, [])
    try:
        # the reads page independently: side by side, the wait is the longest one
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="ecrscan-bulk") as pool:
            scoring = pool.submit(read_epss, inspector, account, batches) if epss else None
            counting = pool.submit(image_counts)
            covered = coverage()
            counted = counting.result()
            scored = scoring.result() if scoring is not None else scored
    except AwsError as exc:
        if exc.kind is ErrorKind.INTERRUPTED:
            return None, []
        hint = f"; {DENIED_HINT}" if exc.kind is ErrorKind.ACCESS_DENIED else ""
        return None, [
            f"Amazon Inspector could not be read in bulk ({exc.problem}): each image is "
            f"read from ECR instead{hint}"
        ]
    selected = set(names)
    index = build_index(
        (c for c in covered if c.repository in selected),
        (c for c in counted if c.repository in selected),
    )
    scores, notices = scored
    return dataclasses.replace(index, epss=scores) if scores else index, notices


def read_epss(
    inspector: InspectorReads, account: str, batches: Sequence[tuple[str, ...] | None]
) -> tuple[dict[str, float], list[str]]:
    """The EPSS score of every active finding, by finding ARN (ECR's enhanced findings
    carry none: Inspector's ListFindings does, 100 findings a call); when it cannot be
    read, none and a notice (the findings are judged as before, without it)."""
    try:
        return {
            arn: score for batch in batches for arn, score in inspector.finding_epss(account, batch)
        }, []
    except AwsError as exc:
        if exc.kind is ErrorKind.INTERRUPTED:
            return {}, []
        hint = "; grant inspector2:ListFindings" if exc.kind is ErrorKind.ACCESS_DENIED else ""
        return {}, [f"Amazon Inspector's EPSS scores could not be read ({exc.problem}){hint}"]


def bulk_unless_few(
    gateway: EcrReads,
    scan_type: ScanType,
    repositories: Sequence[Repository],
    whole_registry: bool,
    named_images: int = 0,
) -> tuple[BulkIndex | None, list[str]]:
    """:func:`read_bulk`, unless the run names so few images (``named_images``, 0: the
    repositories' every image) that reading each costs fewer calls: the bulk reads cost
    at least two calls per batch of repositories."""
    batches = len(filter_batches([r.name for r in repositories], whole_registry))
    if named_images and named_images <= 2 * batches:
        return None, []
    return read_bulk(gateway, scan_type, repositories, whole_registry)


def registry_scan_type(gateway: EcrReads) -> ScanType:
    """The registry's scan type; BASIC when it cannot be read (every image is then read
    from ECR, which is right for either type)."""
    try:
        scan_type: ScanType = gateway.scan_type()
    except AwsError:
        return ScanType.BASIC
    return scan_type


def whole(repo_filter: RepositoryFilter, scoped: bool) -> bool:
    """Whether a run selects every repository of the registry (no filter, no scope)."""
    return repo_filter.include is None and not repo_filter.exclude and not scoped


def with_states(lookup: ImageLookup, index: BulkIndex | None) -> ImageLookup:
    """``lookup`` with each image's state from the index, where it has one (a summary
    AWS filled in DescribeImages is kept), and its ``inUseCount``, where given."""
    if index is None:
        return lookup
    return dataclasses.replace(lookup, images=tuple(_indexed(i, index) for i in lookup.images))


def _indexed(image: Image, index: BulkIndex) -> Image:
    key = (image.registry_id, image.repository, image.digest)
    state = index.get(*key) if image.summary is None else None
    in_use = index.in_use.get(key)
    if state is None and in_use is None:
        return image
    return dataclasses.replace(image, summary=state or image.summary, in_use_count=in_use)
