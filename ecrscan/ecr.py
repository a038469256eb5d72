"""The gateway: every ECR call ecrscan makes, with pagination, retries and error classes.

Callers get model values (``Repository``, ``Image``, ``ScanState``) or a
:class:`ScanStart` outcome, and AWS errors arrive as :class:`~ecrscan.aws.AwsError` with an
:class:`~ecrscan.aws.ErrorKind`, classified once in :mod:`ecrscan.aws`.

Retries are configured per call kind:

* reads (Describe*, Get*) are idempotent: botocore's ``standard`` retry mode retries
  throttling, 5xx and connection errors a few times, and whatever throttling survives that
  goes through the shared :class:`~ecrscan.backoff.Throttle` gate;
* ``StartImageScan`` goes through a client with botocore retries switched off, because
  botocore's standard mode counts ``LimitExceededException`` as throttling and would retry
  the per-image 24 h quota error, which never succeeds.  Its ``ThrottlingException`` and
  5xx errors are retried through the shared gate only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecrscan.aws import AwsError, ErrorKind, Gateway
from ecrscan.backoff import Throttle
from ecrscan.findings import findings_from_page
from ecrscan.model import (
    NEVER_SCANNED,
    Finding,
    Image,
    Outcome,
    Problem,
    Repository,
    ScanState,
    ScanType,
)

PAGE_SIZE = 1000  # the maximum maxResults for DescribeRepositories / DescribeImages
DESCRIBE_IDS_BATCH = 100  # DescribeImages takes at most 100 imageIds a call
IMAGE_NOT_FOUND = "image not found"  # the reason a requested image id is skipped


@dataclass(frozen=True, slots=True)
class ScanStart:
    """The outcome of one StartImageScan."""

    outcome: Outcome
    detail: str = ""
    status: str | None = None  # the scan status AWS returned on success


@dataclass(frozen=True, slots=True)
class ImageLookup:
    """:meth:`EcrGateway.find_images`: the images found (one per digest, in the order
    of the ids), and for each id that names no image a placeholder ``Image`` holding
    the repository, the registry id and the digest and/or tag asked for (``digest`` is
    "" for an id given by tag alone)."""

    images: tuple[Image, ...]
    missing: tuple[Image, ...] = ()


class AccountQuotaExceeded(Exception):
    """StartImageScan hit an account-level quota: stop starting scans."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class EcrGateway(Gateway):
    """Owns the ECR clients of one region (and optionally one registry id).

    ``session`` is a ``boto3.Session`` (or anything with a compatible ``client``
    method).  Clients are created here, once, and shared by worker threads (boto3
    clients are thread-safe; creating them is not).
    """

    def __init__(
        self,
        session: Any,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        registry_id: str | None = None,
        throttle: Throttle | None = None,
        max_pool_connections: int = 16,
        read_attempts: int = 4,
    ) -> None:
        super().__init__(throttle)
        self.registry_id = registry_id
        common: dict[str, Any] = dict(
            region=region, endpoint_url=endpoint_url, max_pool_connections=max_pool_connections
        )
        self._read = self._client(
            session, "ecr", retries={"mode": "standard", "max_attempts": read_attempts}, **common
        )
        self._write = self._client(
            session, "ecr", retries={"mode": "standard", "total_max_attempts": 1}, **common
        )
        self.region: str = self._read.meta.region_name

    # -- plumbing -------------------------------------------------------------------

    def _registry(self, registry_id: str | None = None) -> dict[str, str]:
        rid = registry_id or self.registry_id
        return {"registryId": rid} if rid else {}

    # -- reads ----------------------------------------------------------------------

    def scan_type(self) -> ScanType:
        """The registry's scan type (GetRegistryScanningConfiguration)."""
        response = self._call(self._read, "get_registry_scanning_configuration")
        value = response.get("scanningConfiguration", {}).get("scanType", "BASIC")
        try:
            return ScanType(value)
        except ValueError:
            return ScanType.BASIC

    def repositories(self, names: Sequence[str] | None = None) -> Iterator[Repository]:
        """All repositories (every page), or the named ones."""
        params: dict[str, Any] = self._registry()
        if names:
            params["repositoryNames"] = list(names)
        else:
            params["maxResults"] = PAGE_SIZE
        for page in self._pages(self._read, "describe_repositories", **params):
            for item in page.get("repositories", []):
                yield _repository(item)

    def images(
        self, repository: Repository, image_ids: Sequence[dict[str, str]] | None = None
    ) -> Iterator[Image]:
        """Every image of ``repository`` (DescribeImages, 1000 a page, all pages); with
        ``image_ids``, those of the ids that name an image (see :meth:`find_images`,
        which also says which ids name none)."""
        if image_ids:
            yield from self.find_images(repository, image_ids).images
            return
        params: dict[str, Any] = {
            "repositoryName": repository.name,
            "maxResults": PAGE_SIZE,
            **self._registry(repository.registry_id),
        }
        for page in self._pages(self._read, "describe_images", **params):
            for item in page.get("imageDetails", []):
                yield _image(item, repository)

    def find_images(
        self, repository: Repository, image_ids: Sequence[dict[str, str]]
    ) -> ImageLookup:
        """The images the ids name (DescribeImages with ``imageIds``, 100 ids a call),
        and a placeholder for each id that names no image.

        DescribeImages fails the whole call with ``ImageNotFoundException`` when one of
        its ids names no image (deleted since the ids were collected, or a tag that
        moved).  Then the repository is listed once (every page) and the ids are looked
        up in that listing, so the images that exist are still found and each missing
        id becomes a value in :attr:`ImageLookup.missing` instead of an error for the
        whole repository.  Other errors (repository gone, access denied) raise
        :class:`AwsError` as usual.
        """
        ids = list({_id_key(i): dict(i) for i in image_ids}.values())
        params: dict[str, Any] = {
            "repositoryName": repository.name,
            **self._registry(repository.registry_id),
        }
        found: dict[str, Image] = {}
        missing: list[Image] = []
        listing: _ImageIndex | None = None
        for start in range(0, len(ids), DESCRIBE_IDS_BATCH):
            chunk = ids[start : start + DESCRIBE_IDS_BATCH]
            try:
                page = self._call(self._read, "describe_images", **params, imageIds=chunk)
                index = _ImageIndex(_image(i, repository) for i in page.get("imageDetails", []))
            except AwsError as exc:
                if exc.kind is not ErrorKind.IMAGE_NOT_FOUND:
                    raise
                if listing is None:
                    listing = _ImageIndex(self.images(repository))
                index = listing
            for image_id in chunk:
                image = index.get(image_id)
                if image is None:
                    missing.append(_placeholder(repository, image_id, self.registry_id))
                else:
                    found.setdefault(image.digest, image)
        return ImageLookup(tuple(found.values()), tuple(missing))

    def scan_state(self, image: Image) -> ScanState:
        """The image's last scan (DescribeImageScanFindings, ``maxResults=1``).

        ``ScanNotFoundException`` means never scanned and returns ``NEVER_SCANNED``.
        """
        try:
            response = self._call(
                self._read,
                "describe_image_scan_findings",
                repositoryName=image.repository,
                imageId={"imageDigest": image.digest},
                maxResults=1,
                **self._registry(image.registry_id),
            )
        except AwsError as exc:
            if exc.kind is ErrorKind.SCAN_NOT_FOUND:
                return NEVER_SCANNED
            raise
        return scan_state_from_findings(response)

    # -- actions --------------------------------------------------------------------

    def start_scan(self, image: Image) -> ScanStart:
        """StartImageScan by digest, with every outcome classified.

        Raises :class:`AccountQuotaExceeded` for an account-level quota, and
        :class:`AwsError` for repository-fatal errors (access denied, repository gone).
        """
        try:
            response = self._call(
                self._write,
                "start_image_scan",
                repositoryName=image.repository,
                imageId={"imageDigest": image.digest},
                **self._registry(image.registry_id),
            )
        except AwsError as exc:
            kind = exc.kind
            if kind is ErrorKind.PER_IMAGE_QUOTA:
                return ScanStart(Outcome.ALREADY_SCANNED, "already scanned in the last 24 h")
            if kind is ErrorKind.ACCOUNT_QUOTA:
                raise AccountQuotaExceeded(exc.problem) from exc
            if kind in (ErrorKind.THROTTLED, ErrorKind.SERVER):
                return ScanStart(Outcome.NOT_STARTED, str(exc.problem))
            if kind in (
                ErrorKind.IMAGE_NOT_FOUND,
                ErrorKind.UNSUPPORTED_IMAGE,
                ErrorKind.IMAGE_ARCHIVED,
            ):
                return ScanStart(Outcome.SKIPPED, str(exc.problem))
            if kind.repository_fatal:
                raise
            return ScanStart(Outcome.FAILED, str(exc.problem))
        status = response.get("imageScanStatus", {}).get("status")
        return ScanStart(Outcome.STARTED, "", status)

    # -- report reads: every finding, images by reference ---------------------------

    def findings(self, image: Image) -> tuple[tuple[Finding, ...], ScanState]:
        """Every finding of the image's last scan and the scan state.

        DescribeImageScanFindings, all pages, ``maxResults=1000`` (enhanced findings come
        100 a page whatever is asked).  The state comes from the first page.  Never
        scanned (``ScanNotFoundException``): no findings and ``NEVER_SCANNED``.
        """
        params: dict[str, Any] = {
            "repositoryName": image.repository,
            "imageId": {"imageDigest": image.digest},
            "maxResults": PAGE_SIZE,
            **self._registry(image.registry_id),
        }
        found: list[Finding] = []
        state: ScanState | None = None
        try:
            for page in self._pages(self._read, "describe_image_scan_findings", **params):
                if state is None:
                    state = scan_state_from_findings(page)
                found.extend(findings_from_page(page))
        except AwsError as exc:
            if exc.kind is ErrorKind.SCAN_NOT_FOUND and state is None:
                return (), NEVER_SCANNED
            raise
        assert state is not None  # _pages yields at least one page or raises
        return tuple(found), state

    def image_by_reference(
        self,
        repository: str,
        registry_id: str | None = None,
        tag: str | None = None,
        digest: str | None = None,
    ) -> Image:
        """One image by digest (when given) or tag: DescribeImages with ``imageIds``.

        Raises :class:`AwsError` (``IMAGE_NOT_FOUND``, ``REPOSITORY_NOT_FOUND`` …) with
        AWS's message when the repository, tag or digest does not exist.
        """
        if not (tag or digest):
            raise ValueError("image_by_reference needs a tag or a digest")
        image_id = {"imageDigest": digest} if digest else {"imageTag": tag}
        page = self._call(
            self._read,
            "describe_images",
            repositoryName=repository,
            imageIds=[image_id],
            **self._registry(registry_id),
        )
        details = page.get("imageDetails") or []
        if not details:
            wanted = f"@{digest}" if digest else f":{tag}"
            raise AwsError(
                ErrorKind.IMAGE_NOT_FOUND,
                Problem("ImageNotFoundException", f"no image {repository}{wanted}"),
                "describe_images",
            )
        owner = registry_id or self.registry_id or ""
        return _image(details[0], Repository(name=repository, registry_id=owner))


# -- conversions (pure) -----------------------------------------------------------


class _ImageIndex:
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


def _id_key(image_id: dict[str, str]) -> tuple[str, str]:
    return image_id.get("imageDigest", ""), image_id.get("imageTag", "")


def _placeholder(
    repository: Repository, image_id: dict[str, str], registry_id: str | None
) -> Image:
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


def _repository(item: dict[str, Any]) -> Repository:
    scanning = item.get("imageScanningConfiguration") or {}
    return Repository(
        name=item["repositoryName"],
        registry_id=item.get("registryId", ""),
        arn=item.get("repositoryArn", ""),
        uri=item.get("repositoryUri", ""),
        created_at=_utc(item.get("createdAt")),
        scan_on_push=scanning.get("scanOnPush"),
    )


def _image(item: dict[str, Any], repository: Repository) -> Image:
    return Image(
        repository=item.get("repositoryName", repository.name),
        registry_id=item.get("registryId", repository.registry_id),
        digest=item["imageDigest"],
        tags=tuple(item.get("imageTags") or ()),
        pushed_at=_utc(item.get("imagePushedAt")),
        size_bytes=item.get("imageSizeInBytes"),
        image_status=item.get("imageStatus"),
        last_pulled_at=_utc(item.get("lastRecordedPullTime")),
        summary=summary_from_image_detail(item),
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
