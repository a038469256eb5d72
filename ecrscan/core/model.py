"""The data model: frozen values that flow from the gateway through the engine to renderers.

Nothing in here performs I/O.  AWS responses are converted to these records as soon as
they arrive, so the engine's memory is proportional to the number of images, not to the
size of the raw responses.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ecrscan.core.artifacts import Kind
from ecrscan.core.coverage import Coverage, RepoScope
from ecrscan.core.feeds import KevEntry
from ecrscan.core.problem import Problem
from ecrscan.core.severity import Breach, Severity
from ecrscan.core.thresholds import Thresholds


class ScanType(enum.Enum):
    BASIC = "BASIC"
    ENHANCED = "ENHANCED"


class Decision(enum.Enum):
    """What the policy says about one image, before any action."""

    DUE = "due"  # never scanned, failed, or last scan older than the expiry
    FRESH = "fresh"  # scanned within the expiry
    IN_PROGRESS = "in_progress"  # a scan is running or queued
    SKIPPED = "skipped"  # cannot be scanned (unsupported, too large, archived, gone)
    NOT_RESCANNABLE = "not_rescannable"  # enhanced (continuous) scanning owns this image


class Outcome(enum.Enum):
    """What happened when the engine acted (or chose not to act) on a due image."""

    STARTED = "started"
    PLANNED = "planned"  # --dry-run: would have started
    ALREADY_SCANNED = "already_scanned"  # per-image 24 h quota: AWS scanned it already
    # the reply was lost and a scan started meanwhile: this run's call or another actor's
    SCANNED_MEANWHILE = "scanned_meanwhile"
    NOT_STARTED = "not_started"  # account quota exhausted, or throttling budget spent
    SKIPPED = "skipped"  # AWS refused the image (gone, unsupported type, archived)
    FAILED = "failed"  # an error we could not classify as benign


@dataclass(frozen=True, slots=True)
class Repository:
    name: str
    registry_id: str
    arn: str = ""
    uri: str = ""
    created_at: datetime | None = None
    scan_on_push: bool | None = None


@dataclass(frozen=True, slots=True)
class ScanState:
    """The last known scan of an image.

    ``status`` is AWS's ``ScanStatus`` string, or ``None`` when the image was never
    scanned (``ScanNotFoundException``).  ``counts`` maps severity names to numbers.
    ``source`` tells where the state came from: ``describe_images`` (the summary, when
    AWS still fills it) or ``scan_findings`` (DescribeImageScanFindings).
    """

    status: str | None
    completed_at: datetime | None = None
    description: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    source: str = "scan_findings"

    @property
    def never_scanned(self) -> bool:
        return self.status is None


NEVER_SCANNED = ScanState(status=None, source="scan_findings")


@dataclass(frozen=True, slots=True)
class Image:
    repository: str
    registry_id: str
    digest: str
    tags: tuple[str, ...] = ()
    pushed_at: datetime | None = None
    size_bytes: int | None = None
    image_status: str | None = None  # ACTIVE, ARCHIVED, ACTIVATING (None: not reported)
    last_pulled_at: datetime | None = None
    # The summary from DescribeImages, when AWS filled it; otherwise None.
    summary: ScanState | None = None
    kind: Kind = Kind.IMAGE  # what the manifest is (core.artifacts.classify)
    # A platform image reached through an image index: its platform (linux/arm64), the
    # index's digest and the index's tags (the tags a user knows the image by).
    platform: str = ""
    index_digest: str = ""
    index_tags: tuple[str, ...] = ()
    in_use_count: int | None = None  # Amazon Inspector's inUseCount, where it gave one

    @property
    def label(self) -> str:
        """``repo:tag`` (its first tag), ``repo@sha256:0123456789ab`` when untagged; a
        platform image of an index: ``repo:tag (linux/arm64)``, by the index's tag."""
        if self.platform:
            tags = self.tags or self.index_tags
            name = f"{self.repository}:{tags[0]}" if tags else self._by_digest()
            return f"{name} ({self.platform})"
        if self.tags:
            return f"{self.repository}:{self.tags[0]}"
        return self._by_digest()

    def _by_digest(self) -> str:
        return f"{self.repository}@{self.digest[:19]}" if self.digest else self.repository


@dataclass(frozen=True, slots=True)
class CacheUse:
    """The scan-state reads the scan-date cache saved, and where it is (core/scancache)."""

    reads_saved: int
    location: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The policy's answer for one image."""

    decision: Decision
    reason: str


@dataclass(frozen=True, slots=True)
class ImageResult:
    image: Image
    state: ScanState | None
    verdict: Verdict
    outcome: Outcome | None = None
    detail: str = ""  # why the outcome happened (AWS's message, quota note …)


@dataclass(frozen=True, slots=True)
class ScanStart:
    """The outcome of one StartImageScan."""

    outcome: Outcome
    detail: str = ""
    status: str | None = None  # the scan status AWS returned on success


@dataclass(frozen=True, slots=True)
class ImageLookup:
    """Images looked up by id: the images found (one per digest, in the order of the
    ids), and for each id that names no image a placeholder ``Image`` holding the
    repository, the registry id and the digest and/or tag asked for (``digest`` is ""
    for an id given by tag alone)."""

    images: tuple[Image, ...]
    missing: tuple[Image, ...] = ()
    # A repository's listing (engine/listing.py): its artifacts, counted by kind and
    # left out of ``images``, and a notice per image index that could not be read.
    artifacts: Mapping[Kind, int] = field(default_factory=dict)
    notices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RepositoryListing:
    """What ``repos`` found: the repositories the filters kept, in one region."""

    repositories: tuple[Repository, ...]
    region: str | None = None


@dataclass(frozen=True, slots=True)
class QueuedJobs:
    """What ``rescan --via-queue`` did: one job per repository sent to a queue.
    ``failed`` holds ``(repository, code, message)`` for each job SQS refused."""

    queue_url: str
    region: str | None
    expiry: str | None  # None: the consumer's default
    repositories: int
    sent: int
    retried: int = 0
    failed: tuple[tuple[str, str, str], ...] = ()
    # (account/region, code, message) of each target whose repositories were not listed
    failed_targets: tuple[tuple[str, str, str], ...] = ()

    @property
    def empty(self) -> bool:
        """No repository in scope and no target failed: nothing was there to queue."""
        return self.repositories == 0 and not self.failed_targets


@dataclass(frozen=True, slots=True)
class RepositoryResult:
    repository: Repository
    images: tuple[ImageResult, ...] = ()
    error: Problem | None = None
    region: str = ""  # the region the repository lives in ("" when not recorded)

    def count(self, what: Decision | Outcome) -> int:
        if isinstance(what, Decision):
            return sum(1 for r in self.images if r.verdict.decision is what)
        return sum(1 for r in self.images if r.outcome is what)


@dataclass(frozen=True, slots=True)
class Listed:
    """A registry walk's repositories: ``repositories`` in the registry, ``kept`` by
    the repository filter (before any image scope); summed over targets."""

    repositories: int = 0
    kept: int = 0

    def __add__(self, other: Listed) -> Listed:
        return Listed(self.repositories + other.repositories, self.kept + other.kept)


@dataclass(frozen=True, slots=True)
class RescanResult:
    """Everything one rescan run produced, in repository order."""

    repositories: tuple[RepositoryResult, ...]
    started_at: datetime
    expiry: str
    dry_run: bool
    scan_type: ScanType
    notices: tuple[str, ...] = ()
    region: str | None = None
    scopes: tuple[RepoScope, ...] = ()  # what an image scope left out, per repository
    coverage: Coverage | None = None  # targets and in-use discovery (multi-target runs)
    interrupted: str = ""  # the signal that stopped the run early ("" when none did)
    # manifests that are not images (signatures, SBOMs, charts...) by kind: never scanned
    artifacts: Mapping[Kind, int] = field(default_factory=dict)
    listed: Listed | None = None  # the repositories listed (None: named, not listed)
    cache: CacheUse | None = None  # the scan-date cache's reads saved (None: no cache)

    @property
    def incomplete(self) -> bool:
        """True when part of the work was left undone by an error, a quota or a signal."""
        if self.interrupted or (self.coverage is not None and self.coverage.incomplete):
            return True
        for repo in self.repositories:
            if repo.error is not None:
                return True
            for r in repo.images:
                if r.outcome in (Outcome.FAILED, Outcome.NOT_STARTED):
                    return True
        return False

    def all_images(self) -> list[ImageResult]:
        return [r for repo in self.repositories for r in repo.images]

    @property
    def nothing_checked(self) -> bool:
        """No image to check and no error either: the filters (or the image scope)
        matched no image, which must not pass as "done"."""
        return not any(repo.images for repo in self.repositories) and not self.incomplete

    @property
    def account(self) -> str:
        """The registry the run audited, read off its repositories ("" if none)."""
        return next(
            (r.repository.registry_id for r in self.repositories if r.repository.registry_id),
            "",
        )


# -- report (findings against thresholds) -------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerability finding of one image, basic or enhanced.

    ``id`` is the vulnerability id (a CVE for basic scans, the vulnerability id of an
    enhanced finding); ``arn`` is the enhanced finding's ARN ("" for basic scans).
    ``ignored`` holds the ignore rule's reason when an ignore-file entry applies.
    The exploit facts (``exploit_available``, ``epss``, ``kev``) come from the scanner
    (enhanced) or from the catalogues the user gave (:mod:`ecrscan.core.facts`); an
    empty value means nobody said.
    """

    id: str
    severity: Severity
    package: str = ""
    version: str = ""  # the installed version
    fixed_in: str = ""  # the fixed version, where the scanner names one
    score: float | None = None
    fix_available: str = ""  # enhanced: YES, NO, PARTIAL; "" when unknown
    title: str = ""
    url: str = ""
    description: str = ""
    arn: str = ""
    ignored: str | None = None
    exploit_available: str = ""  # enhanced: YES or NO; "" when unknown
    epss: float | None = None  # EPSS probability, 0 to 1
    epss_percentile: float | None = None
    kev: KevEntry | None = None  # listed in CISA's KEV catalogue
    remediation: str = ""  # the scanner's advice (enhanced), as it words it


class ImageStatus(enum.Enum):
    """The verdict of ``report`` for one image."""

    OK = "ok"  # within thresholds
    BREACH = "breach"  # above at least one threshold
    NO_SCAN = "no_scan"  # never scanned: run `ecrscan rescan` or use --wait
    PENDING = "pending"  # scan IN_PROGRESS/PENDING (and --wait timed out or not given)
    SCAN_FAILED = "scan_failed"  # last scan FAILED / unsupported
    ERROR = "error"  # AWS error reading it
    # An image ECR cannot scan (its last scan UNSUPPORTED_IMAGE: no package manager, as
    # scratch or distroless images): not judged; a registry report accepts it.
    NOT_SCANNABLE = "not_scannable"
    NOT_AN_IMAGE = "not_an_image"  # asked for by reference: a Helm chart, signature, SBOM ...


@dataclass(frozen=True, slots=True)
class ImageReport:
    image: Image
    state: ScanState | None
    status: ImageStatus
    counts: dict[str, int] = field(default_factory=dict)  # what thresholds saw
    raw_counts: dict[str, int] = field(default_factory=dict)  # before ignore rules
    findings: tuple[Finding, ...] | None = None  # None: findings were not read
    breaches: tuple[Breach, ...] = ()
    reference: str = ""  # the --image reference the user gave, if any
    # Why it breaches, one rule a reason ("HIGH 3 > 0", "KEV: CVE-2025-0002, due
    # 2026-12-11"): core.judge; empty when within limits (or judged by counts elsewhere)
    reasons: tuple[str, ...] = ()
    error: Problem | None = None
    account: str = ""
    region: str = ""
    waited: bool = False  # made with --wait: a missing scan is not helped by waiting


@dataclass(frozen=True, slots=True)
class ReportResult:
    """Everything one ``report`` (or ``scan``) run produced.  Output formats are pure
    functions of it and of the options that show it (:class:`ecrscan.core.view.View`)."""

    images: tuple[ImageReport, ...]
    thresholds: Thresholds
    generated_at: datetime
    region: str | None = None
    notices: tuple[str, ...] = ()
    repository_errors: tuple[tuple[str, Problem], ...] = ()
    details: bool = False  # findings were read (--details, an ignore file, a listing format)
    scopes: tuple[RepoScope, ...] = ()  # what an image scope left out, per repository
    coverage: Coverage | None = None  # targets and in-use discovery (registry reports)
    # --publish: why SNS refused the message (the report itself is whole); None if sent
    publish_error: Problem | None = None
    interrupted: str = ""  # the signal that stopped the run early ("" when none did)
    # The manifests that are not images, counted by kind (registry reports): out of
    # scope, never a failure.
    artifacts: Mapping[Kind, int] = field(default_factory=dict)
    listed: Listed | None = None  # the repositories listed (None: named, not listed)
    # Made from references the user asked for (--image, scan), not a registry walk: an
    # image asked for explicitly that cannot be judged leaves the audit incomplete.
    references: bool = False

    @property
    def account(self) -> str:
        """The registry the run audited, read off its images ("" if none)."""
        return next((i.account for i in self.images if i.account), "")

    @property
    def breached(self) -> tuple[ImageReport, ...]:
        return tuple(r for r in self.images if r.status is ImageStatus.BREACH)

    @property
    def incomplete(self) -> bool:
        """An error, a missing or failed scan, a scan still pending, or a signal: the
        audit is not whole, whatever the thresholds say."""
        if self.interrupted or self.repository_errors:
            return True
        if self.coverage is not None and self.coverage.incomplete:
            return True
        settled = {ImageStatus.OK, ImageStatus.BREACH}
        if not self.references:  # a registry holds images ECR cannot scan: accepted
            settled.add(ImageStatus.NOT_SCANNABLE)
        return any(r.status not in settled for r in self.images)

    @property
    def unjudged(self) -> tuple[ImageReport, ...]:
        """The images not judged against the thresholds, whatever the reason."""
        judged = (ImageStatus.OK, ImageStatus.BREACH)
        return tuple(r for r in self.images if r.status not in judged)

    @property
    def nothing_reported(self) -> bool:
        """No image to judge and no error either: the filters (or the image scope) matched
        no image, which must not pass a CI gate as "all within thresholds"."""
        return not self.images and not self.incomplete
