"""Amazon Inspector's bulk view of ECR images (pure): the records of ListCoverage and
ListFindingAggregations, and the scan state they establish for one image.

On a registry with enhanced scanning, Inspector answers for up to 200 images a call
(coverage: scan status and last scan date) and 100 images a call (per-image severity
counts), where ECR answers for one.  The state is taken from the bulk records only where
it is unambiguous; everywhere else (a coverage reason with no ECR equivalent, counts
that cannot be split by severity, an image Inspector does not list) ``state_of`` gives
``None`` and the image is read from ECR as before.

Severity counts: current botocore models ``SeverityCounts`` with ``all``, ``critical``,
``high``, ``medium``, ``low``, ``informational`` and ``untriaged``; older models (and
older answers) have only the first four.  When the last three are missing, their sum is
``all`` minus the others: zero means all three are zero; more cannot be split, so the
image is read from ECR.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ecrscan.core.model import ScanState

SOURCE = "inspector2"  # ScanState.source of a state read in bulk

# Coverage scanStatus.reason -> the ECR scan status an image read alone reports.
# SUCCESSFUL counts only with statusCode ACTIVE; reasons not listed: read per image.
REASON_STATUS: Mapping[str, str] = {
    "SUCCESSFUL": "ACTIVE",
    "PENDING_INITIAL_SCAN": "PENDING",
    "SCAN_IN_PROGRESS": "IN_PROGRESS",
    "SCAN_ELIGIBILITY_EXPIRED": "SCAN_ELIGIBILITY_EXPIRED",
    "UNSUPPORTED_OS": "UNSUPPORTED_IMAGE",
    "UNSUPPORTED_MEDIA_TYPE": "UNSUPPORTED_IMAGE",
    "IMAGE_ARCHIVED": "IMAGE_ARCHIVED",
}
SPLIT = ("CRITICAL", "HIGH", "MEDIUM")  # always in SeverityCounts
REST = ("LOW", "INFORMATIONAL", "UNTRIAGED")  # in current models only
# The APIs take at most this many values in one filter (StringFilterList, max 10).
FILTER_VALUES = 10


@dataclass(frozen=True, slots=True)
class CoveredImage:
    """One image of ListCoverage (resourceType ``AWS_ECR_CONTAINER_IMAGE``)."""

    account: str
    repository: str
    digest: str
    status_code: str  # ACTIVE or INACTIVE
    reason: str  # SUCCESSFUL, PENDING_INITIAL_SCAN, SCAN_ELIGIBILITY_EXPIRED, ...
    last_scanned_at: datetime | None = None
    last_in_use_at: datetime | None = None
    in_use_count: int | None = None


@dataclass(frozen=True, slots=True)
class ImageCounts:
    """One image of ListFindingAggregations (aggregationType ``AWS_ECR_CONTAINER``):
    ``counts`` by upper-case severity, as the answer gave them; ``total`` is ``all``."""

    account: str
    repository: str
    digest: str
    counts: Mapping[str, int] = field(default_factory=dict)
    total: int | None = None


ImageKey = tuple[str, str, str]  # (account, repository, digest)


def image_key(account: str, repository: str, digest: str) -> ImageKey:
    return account, repository, digest


def parse_resource_id(resource_id: str) -> tuple[str, str] | None:
    """``(repository, digest)`` of an image ARN
    ``arn:aws:ecr:REGION:ACCOUNT:repository/NAME/sha256:HEX``; ``None`` for anything else."""
    _, found, rest = resource_id.partition(":repository/")
    repository, slash, digest = rest.rpartition("/")
    if not found or not slash or not repository or not digest.startswith("sha256:"):
        return None
    return repository, digest


def severity_counts(record: ImageCounts | None) -> dict[str, int] | None:
    """Counts by severity as ECR reports them (levels with no finding left out), or
    ``None`` when the record cannot be split by severity.  No record: no finding."""
    if record is None:
        return {}
    counts = {k: int(v) for k, v in record.counts.items() if k in (*SPLIT, *REST)}
    if not all(level in counts for level in REST):
        rest = (record.total or 0) - sum(counts.get(level, 0) for level in SPLIT)
        if record.total is None or rest != 0:
            return None  # LOW, INFORMATIONAL and UNTRIAGED together: not split
        counts.update(dict.fromkeys(REST, 0))
    return {level: n for level, n in counts.items() if n}


def state_of(covered: CoveredImage, counts: ImageCounts | None) -> ScanState | None:
    """The scan state the bulk records establish for one image, or ``None`` when they
    do not (the image is read from ECR then)."""
    status = REASON_STATUS.get(covered.reason)
    if status is None or (status == "ACTIVE" and covered.status_code != "ACTIVE"):
        return None
    description = f"Amazon Inspector: {covered.status_code} ({covered.reason})"
    if status != "ACTIVE":
        return ScanState(status, covered.last_scanned_at, description, {}, SOURCE)
    split = severity_counts(counts)
    if split is None or covered.last_scanned_at is None:
        return None
    return ScanState(status, covered.last_scanned_at, description, split, SOURCE)


@dataclass(frozen=True)
class BulkIndex:
    """The states the bulk reads established, by (account, repository, digest), and
    how many covered images they could not settle."""

    states: Mapping[ImageKey, ScanState]
    unsettled: int = 0
    # finding ARN -> EPSS score (ListFindings), read only when findings are read
    epss: Mapping[str, float] = field(default_factory=dict)
    # ListCoverage's inUseCount (how many running containers use the image), where given
    in_use: Mapping[ImageKey, int] = field(default_factory=dict)

    def get(self, account: str, repository: str, digest: str) -> ScanState | None:
        return self.states.get(image_key(account, repository, digest))


def build_index(covered: Iterable[CoveredImage], counted: Iterable[ImageCounts]) -> BulkIndex:
    """Join the coverage and the counts of the same images."""
    counts = {image_key(c.account, c.repository, c.digest): c for c in counted}
    states: dict[ImageKey, ScanState] = {}
    in_use: dict[ImageKey, int] = {}
    unsettled = 0
    for image in covered:
        key = image_key(image.account, image.repository, image.digest)
        if image.in_use_count is not None:
            in_use[key] = image.in_use_count
        state = state_of(image, counts.get(key))
        if state is None:
            unsettled += 1
        else:
            states[key] = state
    return BulkIndex(states, unsettled, in_use=in_use)


def filter_batches(selected: Iterable[str], whole_registry: bool) -> list[tuple[str, ...] | None]:
    """How to ask for the selected repositories: ``[None]`` (no repository filter) when
    every repository is selected, else the names in batches the APIs take in one filter;
    ``[]`` when nothing is selected."""
    names = tuple(dict.fromkeys(selected))
    if not names:
        return []
    if whole_registry:
        return [None]
    return [names[i : i + FILTER_VALUES] for i in range(0, len(names), FILTER_VALUES)]
