"""The ECR gateway: every ECR call ecrscan makes, with pagination, retries and error
classes.

Callers get model values (``Repository``, ``Image``, ``ScanState``) or a
:class:`~ecrscan.core.model.ScanStart` outcome, and AWS errors arrive as
:class:`~ecrscan.aws.errors.AwsError` with an :class:`~ecrscan.aws.errors.ErrorKind`.

Retries are configured per call kind (:mod:`ecrscan.aws.clients`): reads go through a
client with botocore's ``standard`` retries for server and connection errors, and their
throttling through the shared :class:`~ecrscan.aws.throttle.Throttle` (which paces it);
``StartImageScan`` goes
through a client with botocore retries switched off (the per-image 24 h quota error is a
``LimitExceededException``, which botocore would retry in vain, and a 5xx may come after
AWS carried the call out), so only its throttling is retried, through the shared gate;
after a 5xx or a lost connection the scan state is read first
(:mod:`ecrscan.aws.scan_start`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from ecrscan.aws import scan_start
from ecrscan.aws.clients import NO_RETRIES
from ecrscan.aws.ecr_records import (
    ImageIndex,
    id_key,
    image_record,
    placeholder,
    repository_record,
    scan_state_from_findings,
)
from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.aws.gateway import THROTTLING_ONLY, Gateway
from ecrscan.aws.inspector2 import InspectorGateway
from ecrscan.aws.scan_start import MAX_START_CALLS
from ecrscan.aws.throttle import Throttle
from ecrscan.core.artifacts import INDEX_TYPES, IndexEntry, NotAnIndex, parse_index
from ecrscan.core.errors import IMAGE_NOT_FOUND, AccountQuotaExceeded
from ecrscan.core.findings import findings_from_page
from ecrscan.core.imageref import ImageRef
from ecrscan.core.model import (
    NEVER_SCANNED,
    Finding,
    Image,
    ImageLookup,
    Outcome,
    Repository,
    ScanStart,
    ScanState,
    ScanType,
)
from ecrscan.core.problem import Problem

__all__ = [
    "DESCRIBE_IDS_BATCH",
    "IMAGE_NOT_FOUND",
    "MAX_START_CALLS",
    "PAGE_SIZE",
    "AccountQuotaExceeded",
    "EcrGateway",
]

PAGE_SIZE = 1000  # the maximum maxResults for DescribeRepositories / DescribeImages
DESCRIBE_IDS_BATCH = 100  # DescribeImages and BatchGetImage take at most 100 imageIds a call


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EcrGateway(Gateway):
    """Owns the ECR clients of one region (and optionally one registry id): one for
    reads, one with botocore's retries off for StartImageScan."""

    SERVICE = "ecr"

    def __init__(
        self,
        session: Any,
        *,
        registry_id: str | None = None,
        wall_clock: Callable[[], datetime] = _utc_now,
        **options: Any,
    ) -> None:
        super().__init__(session, **options)
        self.registry_id = registry_id
        self._wall_clock = wall_clock  # when a StartImageScan is sent (scan_start)
        self._session = session
        self._writer: Any = None
        self._writer_lock = threading.Lock()
        self._inspector: InspectorGateway | None = None
        self._origin: EcrGateway | None = None  # the gateway a view was made of

    def under(self, throttle: Throttle) -> EcrGateway:
        """This gateway under another throttle; its clients (and its Amazon Inspector
        gateway's) are the original's, built once."""
        view = super().under(throttle)
        view._origin = self._origin or self
        view._inspector = None
        return view

    @property
    def _write(self) -> Any:
        """The client for StartImageScan (botocore retries off), built on first use:
        reports and dry runs never need it, and a client costs ~50 ms of CPU."""
        if self._origin is not None:
            return self._origin._write
        with self._writer_lock:
            if self._writer is None:
                self._writer = self._client(self._session, NO_RETRIES)
            return self._writer

    def inspector(self) -> InspectorGateway:
        """The Amazon Inspector gateway of the same session, region and throttle (built
        on first use, in the calling thread; its calls count with this gateway's)."""
        if self._inspector is None:
            if self._origin is not None:
                self._inspector = self._origin.inspector().under(self.throttle)
            else:
                self._inspector = self.companion(InspectorGateway, self._session)
        return self._inspector

    # -- plumbing -------------------------------------------------------------------

    def _registry(self, registry_id: str | None = None) -> dict[str, Any]:
        rid = registry_id or self.registry_id
        return {"registryId": rid} if rid else {}

    def _image(self, image: Image) -> dict[str, Any]:
        """The parameters that name one image, by digest."""
        return {
            "repositoryName": image.repository,
            "imageId": {"imageDigest": image.digest},
            **self._registry(image.registry_id),
        }

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
                yield repository_record(item)

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
                yield image_record(item, repository)

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
        ids = list({id_key(i): dict(i) for i in image_ids}.values())
        params: dict[str, Any] = {
            "repositoryName": repository.name,
            **self._registry(repository.registry_id),
        }
        found: dict[str, Image] = {}
        missing: list[Image] = []
        listing: ImageIndex | None = None
        for start in range(0, len(ids), DESCRIBE_IDS_BATCH):
            chunk = ids[start : start + DESCRIBE_IDS_BATCH]
            try:
                page = self._call(self._read, "describe_images", **params, imageIds=chunk)
                index = ImageIndex(
                    image_record(i, repository) for i in page.get("imageDetails", [])
                )
            except AwsError as exc:
                if exc.kind is not ErrorKind.IMAGE_NOT_FOUND:
                    raise
                if listing is None:
                    listing = ImageIndex(self.images(repository))
                index = listing
            for image_id in chunk:
                image = index.get(image_id)
                if image is None:
                    missing.append(placeholder(repository, image_id, self.registry_id))
                else:
                    found.setdefault(image.digest, image)
        return ImageLookup(tuple(found.values()), tuple(missing))

    def scan_state(self, image: Image) -> ScanState:
        """The image's last scan (DescribeImageScanFindings, ``maxResults=1``).

        ``ScanNotFoundException`` means never scanned and returns ``NEVER_SCANNED``.
        """
        try:
            response = self._call(
                self._read, "describe_image_scan_findings", maxResults=1, **self._image(image)
            )
        except AwsError as exc:
            if exc.kind is ErrorKind.SCAN_NOT_FOUND:
                return NEVER_SCANNED
            raise
        return scan_state_from_findings(response)

    # -- actions --------------------------------------------------------------------

    def start_scan(self, image: Image) -> ScanStart:
        """StartImageScan by digest, with every outcome classified.

        Retried through the shared gate on throttling only.  A server error, timeout or
        dropped connection leaves the outcome unknown (AWS may have carried the call
        out): the image's scan state is read before every retry, and a scan it shows
        since the call was sent is "scanned meanwhile", never claimed
        (:mod:`ecrscan.aws.scan_start`).

        Raises :class:`AccountQuotaExceeded` for an account-level quota, and
        :class:`AwsError` for repository-fatal errors (access denied, repository gone).
        """
        params = self._image(image)
        return scan_start.start_scan(
            lambda: self._call(self._write, "start_image_scan", retry=THROTTLING_ONLY, **params),
            lambda: self.scan_state(image),
            self._refused,
            self._wall_clock(),
        )

    @staticmethod
    def _refused(exc: AwsError) -> ScanStart:
        """The outcome of a StartImageScan AWS refused (repository-fatal errors and the
        account quota are raised)."""
        kind = exc.kind
        if kind is ErrorKind.PER_IMAGE_QUOTA:
            return ScanStart(Outcome.ALREADY_SCANNED, "already scanned in the last 24 h")
        if kind is ErrorKind.ACCOUNT_QUOTA:
            raise AccountQuotaExceeded(exc.problem) from exc
        if kind in (ErrorKind.THROTTLED, ErrorKind.SERVER, ErrorKind.INTERRUPTED):
            return ScanStart(Outcome.NOT_STARTED, str(exc.problem))
        if kind in (
            ErrorKind.IMAGE_NOT_FOUND,
            ErrorKind.UNSUPPORTED_IMAGE,
            ErrorKind.IMAGE_ARCHIVED,
        ):
            return ScanStart(Outcome.SKIPPED, str(exc.problem))
        if kind.repository_fatal:
            raise exc
        return ScanStart(Outcome.FAILED, str(exc.problem))

    # -- report reads: every finding, images by reference ---------------------------

    def findings(self, image: Image) -> tuple[tuple[Finding, ...], ScanState]:
        """Every finding of the image's last scan and the scan state.

        DescribeImageScanFindings, all pages, ``maxResults=1000`` (enhanced findings come
        100 a page whatever is asked).  The state comes from the first page.  Never
        scanned (``ScanNotFoundException``): no findings and ``NEVER_SCANNED``.
        """
        params = {**self._image(image), "maxResults": PAGE_SIZE}
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

    def image_by_reference(self, ref: ImageRef) -> Image:
        """The image a reference names, by digest (when given) or tag: DescribeImages
        with ``imageIds``, in the reference's registry (else the gateway's).

        Raises :class:`AwsError` (``IMAGE_NOT_FOUND``, ``REPOSITORY_NOT_FOUND`` …) with
        AWS's message when the repository, tag or digest does not exist.
        """
        repository, registry_id, tag, digest = ref.repository, ref.registry_id, ref.tag, ref.digest
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
        return image_record(details[0], Repository(name=repository, registry_id=owner))

    def index_entries(
        self, repository: Repository, indexes: Sequence[Image]
    ) -> dict[str, tuple[IndexEntry, ...] | Problem]:
        """The entries of each image index (by digest): BatchGetImage, 100 ids a call,
        asking for the index media types.  An index that could not be read (a failure
        of BatchGetImage, a manifest that is not an index) maps to its :class:`Problem`;
        errors of the whole call (access denied ...) raise :class:`AwsError`."""
        params: dict[str, Any] = {
            "repositoryName": repository.name,
            "acceptedMediaTypes": sorted(INDEX_TYPES),
            **self._registry(repository.registry_id),
        }
        digests = list(dict.fromkeys(image.digest for image in indexes))
        read: dict[str, tuple[IndexEntry, ...] | Problem] = {}
        for start in range(0, len(digests), DESCRIBE_IDS_BATCH):
            chunk = digests[start : start + DESCRIBE_IDS_BATCH]
            ids = [{"imageDigest": digest} for digest in chunk]
            page = self._call(self._read, "batch_get_image", **params, imageIds=ids)
            for item in page.get("images") or ():
                digest = (item.get("imageId") or {}).get("imageDigest", "")
                read[digest] = _entries(item.get("imageManifest") or "")
            for failure in page.get("failures") or ():
                digest = (failure.get("imageId") or {}).get("imageDigest", "")
                code = failure.get("failureCode") or "BatchGetImageFailure"
                read.setdefault(digest, Problem(code, failure.get("failureReason") or code))
        for digest in digests:
            read.setdefault(digest, Problem("NotReturned", "BatchGetImage did not return it"))
        return read


def _entries(manifest: str) -> tuple[IndexEntry, ...] | Problem:
    try:
        return parse_index(manifest)
    except NotAnIndex as exc:
        return Problem("NotAnIndex", str(exc))
