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
from ecrscan.core.errors import AwsError
from ecrscan.core.imageref import ImageRef
from ecrscan.core.model import Image, Outcome, ReportResult, ScanType
from ecrscan.engine.ports import Ecr, EcrReads
from ecrscan.engine.references import images_of
from ecrscan.engine.report import ReportSettings, build_report
from ecrscan.engine.runner import ProgressCallback, bounded_pool, not_reached
from ecrscan.engine.wait import Pacing

RUNNING = frozenset({"IN_PROGRESS", "PENDING"})

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
        for _, future in runner.completed():
            for start in () if not_reached(future) else future.result():
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
    try:
        if scan_type is ScanType.ENHANCED:
            return Start(name, image.digest, "enhanced scanning: awaiting its findings", True)
        state = gateway.scan_state(image)
        status = (state.status or "").upper()
        if status in RUNNING:
            return Start(name, image.digest, f"a scan is already {status}", True)
        if (
            expiry is not None
            and status == "COMPLETE"
            and state.completed_at is not None
            and state.completed_at >= now - expiry
        ):
            return Start(name, image.digest, "scanned within the expiry: not scanned again", False)
        started = gateway.start_scan(image)
    except AwsError:
        return None  # the report reads it again and names the error
    if started.outcome is Outcome.STARTED:
        return Start(name, image.digest, "scan started" + _detail(started.detail), True)
    if started.outcome is Outcome.ALREADY_SCANNED:
        return Start(name, image.digest, "scanned in the last 24 h: that scan is used", True)
    if started.outcome is Outcome.SCANNED_MEANWHILE:
        return Start(name, image.digest, f"scanned meanwhile: {started.detail}", True)
    return Start(name, image.digest, f"scan not started: {started.detail}", False)


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
