"""Scan the images a CI pipeline just pushed: start, wait, judge.

:func:`scan` first starts a basic scan of each referenced image, unless its last
completed scan is newer than the expiry (the default is to always scan now), a scan is
already running, or the registry scans continuously (enhanced scanning: ECR accepts no
manual scan, Amazon Inspector's findings are awaited instead).  A scan the per-image
24 h quota refuses means the image was scanned lately: that scan is used; so is a scan
that started meanwhile after a lost reply (this run's or another's: "scanned meanwhile").
Then it waits for every scan it expects and judges the images exactly as ``report --wait`` does
(:func:`~ecrscan.engine.report.build_report`), so thresholds, ignore rules, formats and
exit codes are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from dateutil.relativedelta import relativedelta

from ecrscan.core.durations import Duration
from ecrscan.core.errors import INTERRUPTED, AwsError
from ecrscan.core.imageref import ImageRef
from ecrscan.core.model import Image, ImageReport, Outcome, ReportResult, ScanState, ScanType
from ecrscan.engine.inspect import ImageInspector, Subject, Waiting
from ecrscan.engine.ports import Ecr, EcrReads
from ecrscan.engine.references import images_of
from ecrscan.engine.report import ReportSettings, build_report, expired_rules
from ecrscan.engine.runner import ProgressCallback, bounded_pool, not_reached
from ecrscan.engine.wait import Pacing

RUNNING = frozenset({"IN_PROGRESS", "PENDING"})
STARTED_HERE = "started by this run"

# the ECR gateway of (region, registry id) a scan starts scans in
EcrFactory = Callable[[str | None, str | None], Ecr]


@dataclass(frozen=True)
class ScanSettings:
    """``report``: how the images are judged (its ``images`` are the references and it
    always waits); ``expiry``: start no scan when the last completed one is newer
    (``None``: always scan now)."""

    report: ReportSettings
    expiry: Duration | None = None


@dataclass(frozen=True, slots=True)
class Start:
    """What :func:`scan` did about one image before waiting for it."""

    reference: str
    digest: str
    action: str  # "started", "running", "fresh", "continuous", "recent", or what failed
    expected: bool  # a scan is coming: wait for it even before it is registered
    # What the run knows, kept for a record the stop leaves unread: the reference asked
    # for, the image it names and its scan state (the state read, or the status that
    # StartImageScan answered; None: none read).
    asked: ImageRef | None = None
    image: Image | None = None
    state: ScanState | None = None

    @property
    def notice(self) -> str:
        return f"{self.reference}: {self.action}"


def scan(
    gateway_for: EcrFactory,
    now: datetime,
    settings: ScanSettings,
    *,
    progress: ProgressCallback | None = None,
    pacing: Pacing | None = None,
    started: Callable[[Start], None] | None = None,
) -> ReportResult:
    """Start the scans, wait for them, judge the images.  ``now`` must be aware.
    ``started`` hears what was done about each image as soon as it is done (the
    result's notices begin with the same, in the order ``started`` heard them)."""
    gateways = _Cached(gateway_for)
    starts = start_scans(gateways, now, settings, started)
    expected = frozenset(s.digest for s in starts if s.expected)
    report = replace(settings.report, wait=True, expected=expected)
    result = build_report(gateways, now, report, progress=progress, pacing=pacing)
    if result.interrupted:
        result = kept_starts(result, starts, _inspector(report, now), gateways)
    notices = tuple(s.notice for s in starts)
    return replace(result, notices=(*notices, *result.notices))


def start_scans(
    gateways: EcrFactory,
    now: datetime,
    settings: ScanSettings,
    started: Callable[[Start], None] | None = None,
) -> list[Start]:
    """Start the scan of each referenced image that needs one, in parallel; images that
    cannot be looked up are left to the report, which names their error."""
    refs = list(dict.fromkeys(settings.report.images))
    types: dict[int, ScanType] = {}
    for ref in refs:
        gateway = gateways(ref.region, ref.registry_id)
        if id(gateway) not in types:
            types[id(gateway)] = _scan_type(gateway)
    starts: list[Start] = []
    with bounded_pool(settings.report.concurrency, settings.report.stop) as runner:
        for ref in refs:
            gateway = gateways(ref.region, ref.registry_id)
            expiry = settings.expiry.delta if settings.expiry else None
            runner.submit(ref, _start_ref, gateway, ref, types[id(gateway)], now, expiry)
        for ref, future in runner.completed():
            for start in () if not_reached(future) else future.result():
                start = replace(start, asked=ref)
                starts.append(start)
                if started is not None:
                    started(start)
    return starts


def _start_ref(
    gateway: Ecr,
    ref: ImageRef,
    scan_type: ScanType,
    now: datetime,
    expiry: relativedelta | None,
) -> list[Start]:
    """Start the scan of each image ``ref`` names: the image, or each platform image of
    the index it names (never the index, its attestations, or an artifact)."""
    try:
        images = images_of(gateway, ref)
    except AwsError:
        return []  # the report looks it up again and names the error
    starts = []
    for image in images:
        if image.kind.scannable:
            name = image.label if image.platform else str(ref)
            start = _start_one(gateway, image, name, scan_type, now, expiry)
            if start is not None:
                starts.append(start)
    return starts


def _start_one(
    gateway: Ecr,
    image: Image,
    name: str,
    scan_type: ScanType,
    now: datetime,
    expiry: relativedelta | None,
) -> Start | None:
    def start(action: str, expected: bool, state: ScanState | None) -> Start:
        return Start(name, image.digest, action, expected, image=image, state=state)

    try:
        if scan_type is ScanType.ENHANCED:
            return start("enhanced scanning: awaiting its findings", True, None)
        state = gateway.scan_state(image)
        status = (state.status or "").upper()
        if status in RUNNING:
            return start(f"a scan is already {status}", True, state)
        if (
            expiry is not None
            and status == "COMPLETE"
            and state.completed_at is not None
            and state.completed_at >= now - expiry
        ):
            return start("scanned within the expiry: not scanned again", False, state)
        started = gateway.start_scan(image)
    except AwsError:
        return None  # the report reads it again and names the error
    if started.outcome is Outcome.STARTED:
        running = ScanState(started.status or "IN_PROGRESS", description=STARTED_HERE)
        return start("scan started" + _detail(started.detail), True, running)
    if started.outcome is Outcome.ALREADY_SCANNED:
        return start("scanned in the last 24 h: that scan is used", True, state)
    if started.outcome is Outcome.SCANNED_MEANWHILE:
        meanwhile = ScanState(started.status or "IN_PROGRESS")  # whose scan: unknown
        return start(f"scanned meanwhile: {started.detail}", True, meanwhile)
    return start(f"scan not started: {started.detail}", False, state)


def kept_starts(
    result: ReportResult, starts: list[Start], inspector: ImageInspector, gateways: EcrFactory
) -> ReportResult:
    """An interrupted run's record with what the starts knew: each reference the stop
    left unread ("not read: interrupted") becomes the images its start looked up, judged
    on the state the run read (a scan it started is pending).  Reads nothing."""
    known: dict[str, list[tuple[ImageRef, Image, ScanState | None]]] = {}
    for start in starts:
        if start.asked is not None and start.image is not None:
            known.setdefault(str(start.asked), []).append((start.asked, start.image, start.state))
    images: list[ImageReport] = []
    for report in result.images:
        unread = report.error is not None and report.error.code == INTERRUPTED
        mine = [
            k
            for k in known.get(report.reference, [])
            if unread and (not report.image.digest or k[1].digest == report.image.digest)
        ]
        if not mine:
            images.append(report)
        for ref, image, state in mine:
            gateway = gateways(ref.region, ref.registry_id)  # the one that started it
            images.append(_as_it_stands(image, state, report, inspector, gateway))
    return replace(result, images=tuple(images))


def _as_it_stands(
    image: Image,
    state: ScanState | None,
    unread: ImageReport,
    inspector: ImageInspector,
    gateway: Ecr,
) -> ImageReport:
    """The report of a started image from the state the run read; ``unread`` (its
    "not read" entry) naming the image when it read none."""
    if state is None:
        return replace(unread, image=image)
    subject = Subject(gateway, replace(image, summary=state), (), unread.reference)
    judged = inspector.inspect(subject, first=True)
    if isinstance(judged, Waiting):  # not with wait=False; for the type checker
        judged = inspector.unfinished(judged)
    return replace(judged, waited=True)


def _inspector(settings: ReportSettings, now: datetime) -> ImageInspector:
    """The judge of ``build_report``, without waiting: a scan still running is pending."""
    active, _ = expired_rules(settings.ignore_rules, now)
    return ImageInspector(
        settings.thresholds,
        active,
        now,
        settings.read_findings,
        False,
        settings.ignore_unfixed,
        facts=settings.facts,
        gates=settings.gates,
    )


def _detail(detail: str) -> str:
    return f" ({detail})" if detail else ""


def _scan_type(gateway: EcrReads) -> ScanType:
    try:
        scan_type: ScanType = gateway.scan_type()
        return scan_type
    except AwsError:
        return ScanType.BASIC  # unreadable configuration: a manual scan is tried


class _Cached:
    """``gateway_for`` with a cache, so starting and judging share the gateways."""

    def __init__(self, factory: EcrFactory) -> None:
        self._factory = factory
        self._cache: dict[tuple[str | None, str | None], Ecr] = {}

    def __call__(self, region: str | None, registry_id: str | None) -> Ecr:
        key = (region, registry_id)
        if key not in self._cache:
            self._cache[key] = self._factory(region, registry_id)
        return self._cache[key]
