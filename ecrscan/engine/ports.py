"""What the engine needs from AWS, stated as :class:`typing.Protocol`\\ s (pip-audit's
``VulnerabilityService`` idea): the engine imports nothing from :mod:`ecrscan.aws`; the
gateways there (and the tests' fakes) implement these structurally, and the adapters
(:mod:`ecrscan.cli`, :mod:`ecrscan.lambdas`) hand them in.

Every call raises :class:`~ecrscan.core.errors.AwsError` (with an
:class:`~ecrscan.core.errors.ErrorKind`) for what AWS refused; the engine's stop and
deadline values are :mod:`ecrscan.core.control`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from ecrscan.core.artifacts import IndexEntry
from ecrscan.core.imageref import ImageRef
from ecrscan.core.inspector import CoveredImage, ImageCounts
from ecrscan.core.jobs import SendReport
from ecrscan.core.model import (
    Finding,
    Image,
    ImageLookup,
    Repository,
    ScanStart,
    ScanState,
    ScanType,
)
from ecrscan.core.notify import Record
from ecrscan.core.problem import Problem
from ecrscan.core.scancache import CachedScan, ScanKey
from ecrscan.core.targets import Target, TargetFailure, TargetQuery


class InspectorReads(Protocol):
    """Amazon Inspector's bulk reads of one account and region."""

    def coverage(
        self, account: str, repositories: Sequence[str] | None = None
    ) -> Iterator[CoveredImage]: ...

    def image_counts(
        self, account: str, repositories: Sequence[str] | None = None
    ) -> Iterator[ImageCounts]: ...

    def finding_epss(
        self, account: str, repositories: Sequence[str] | None = None
    ) -> Iterator[tuple[str, float]]: ...


class EcrReads(Protocol):
    """The ECR registry of one account and region (``registry_id`` None: the
    credentials' own): what ``report`` and ``scan`` read."""

    @property
    def region(self) -> str: ...

    @property
    def registry_id(self) -> str | None: ...

    def scan_type(self) -> ScanType: ...

    def repositories(self, names: Sequence[str] | None = None) -> Iterator[Repository]: ...

    def images(
        self, repository: Repository, image_ids: Sequence[dict[str, str]] | None = None
    ) -> Iterator[Image]: ...

    def find_images(
        self, repository: Repository, image_ids: Sequence[dict[str, str]]
    ) -> ImageLookup: ...

    def index_entries(
        self, repository: Repository, indexes: Sequence[Image]
    ) -> dict[str, tuple[IndexEntry, ...] | Problem]:
        """The entries of each image index, by digest (BatchGetImage, 100 a call); an
        index that could not be read maps to its :class:`Problem`."""
        ...

    def scan_state(self, image: Image) -> ScanState: ...

    def findings(self, image: Image) -> tuple[tuple[Finding, ...], ScanState]: ...

    def image_by_reference(self, ref: ImageRef) -> Image: ...

    def inspector(self) -> InspectorReads:
        """The Amazon Inspector reads of the same account, region and throttle."""
        ...


class Ecr(EcrReads, Protocol):
    """An ECR registry the engine may also start scans in (``rescan``)."""

    def start_scan(self, image: Image) -> ScanStart: ...


class EcsReads(Protocol):
    """The ECS task definitions and services of one account and region."""

    def active_task_definitions(self) -> Iterator[str]: ...

    def container_images(self, task_definition_arn: str) -> tuple[str, ...]: ...

    def task_images(self, task_definition_arn: str) -> tuple[tuple[str, ...], str]: ...

    def service_task_definitions(self) -> set[str]: ...


# -- flows: job queueing and publishing with change tracking ---------------------------
# (engine/queue.py, engine/publish.py, engine/notify.py)


class JobSender(Protocol):
    """A jobs queue (:class:`ecrscan.aws.sqs.JobQueue`): send job bodies, every one
    accounted for in the report (sent, or failed with the queue's reason)."""

    def send(self, bodies: Iterable[str]) -> SendReport: ...


class Message(Protocol):
    """One notification (:class:`ecrscan.render.sns.SnsMessage`)."""

    @property
    def subject(self) -> str: ...

    @property
    def message(self) -> str: ...


class Publisher(Protocol):
    """A notification topic (:class:`ecrscan.aws.sns.SnsTopic`): publish the messages
    in order and return their ids; a refusal raises (the ones before it were sent)."""

    def publish(self, messages: Iterable[Message]) -> list[str]: ...


class StateStore(Protocol):
    """The notification state table: versioned records, conditional writes (a lost
    condition raises ``AwsError`` of kind ``CONDITION_FAILED``)."""

    def read(self, key: str) -> Record | None: ...

    def read_many(self, keys: Iterable[str]) -> dict[str, Record]: ...

    def put(self, record: Record, expected: int | None) -> None: ...

    def delete(self, key: str, expected: int) -> None: ...


class ScanDateCache(Protocol):
    """The scan-date cache of ``rescan`` (:mod:`ecrscan.core.scancache`): the last
    completed scan of images, remembered between runs (a file store for the CLI, the
    DynamoDB state table for the images function).  Neither call raises: what fails
    (an unreadable file, a refused table) comes back as notices, and the run reads as
    if nothing were cached."""

    @property
    def location(self) -> str:
        """Where the cache is, for people (a directory, a table)."""
        ...

    def recall(self, keys: Sequence[ScanKey]) -> tuple[dict[ScanKey, CachedScan], list[str]]:
        """The remembered scans of ``keys`` that exist, and the notices."""
        ...

    def remember(self, entries: Mapping[ScanKey, CachedScan], now: datetime) -> list[str]:
        """Store ``entries`` (last writer wins); the notices."""
        ...


class Connections(Protocol):
    """The run's way to AWS (:class:`ecrscan.aws.connections.Connections`): the targets
    of a query, and each target's gateways (ECR and ECS of one target share one
    throttle), the calls they made, and the run's concurrency (AWS calls at once per
    target: the one home of ``--concurrency``)."""

    @property
    def concurrency(self) -> int: ...

    def targets(self, query: TargetQuery) -> tuple[list[Target], list[TargetFailure]]: ...

    def ecr(self, target: Target, registry_id: str | None = None) -> Ecr: ...

    def ecs(self, target: Target) -> EcsReads: ...

    def calls(self, target: Target) -> dict[str, int]: ...
