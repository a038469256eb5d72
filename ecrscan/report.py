"""The report engine: which images, their scans and findings, judged against thresholds.

:func:`build_report` takes a gateway factory, the time ``now`` and the settings, and
returns a :class:`~ecrscan.model.ReportResult`; output formats and the exit code are pure
functions of that result.  It reads and never acts: no scan is started here.

* Scope: every image of the repositories the filter keeps (``latest``: the most recently
  pushed one per repository; archived images are left out with a notice), or exactly the
  images named by references (tags resolved to digests by DescribeImages).  An unknown
  repository, tag or digest is an ``ERROR`` entry carrying AWS's message.
* State: the summary DescribeImages returned when present, else DescribeImageScanFindings.
  Counts come from the scan summary; findings (every page) are read only when
  ``details``, ``needs_findings`` or ignore rules ask for them.  Ignored findings are
  subtracted from the counts the thresholds see and stay in the findings, marked.
* Waiting: with ``wait``, images whose scan is IN_PROGRESS or PENDING - and images never
  scanned but pushed less than :data:`NEW_IMAGE_GRACE` ago, whose scan-on-push scan may
  not be registered yet - are polled in rounds with capped exponential backoff until
  their scan ends or ``timeout`` seconds have passed.  ``sleep`` and ``clock`` are
  injected so tests never sleep.
* Failures are values: an AWS error, or a transport error that survived botocore's
  retries (read timeout, connection refused ...), on one image is an ``ERROR`` entry, on
  one repository listing a ``repository_errors`` entry.  Only failing to list the
  repositories at all raises (:class:`~ecrscan.engine.FatalError`).

Workers run in a thread pool fed by a :class:`~ecrscan.pool.BoundedRunner` (a bounded
window of calls, finished ones in completion order); gateways are created, and the
progress callback is called, in the calling thread only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ecrscan.aws import AwsError, ErrorKind
from ecrscan.engine import (
    DEFAULT_CONCURRENCY,
    MAX_CONCURRENCY,
    Event,
    ProgressCallback,
    list_repositories,
)
from ecrscan.findings import count_findings
from ecrscan.ignore import IgnoreRule, apply_ignores, split_expired
from ecrscan.imageref import ImageRef
from ecrscan.model import (
    Finding,
    Image,
    ImageReport,
    ImageStatus,
    Problem,
    ReportResult,
    RepoScope,
    Repository,
    ScanState,
    Severity,
)
from ecrscan.policy import RepositoryFilter
from ecrscan.pool import BoundedRunner, window_for
from ecrscan.scope import ImageScope, apply_scope, select_repositories
from ecrscan.thresholds import Thresholds

DEFAULT_TIMEOUT = 600.0  # seconds --wait polls before giving up
POLL_FIRST = 5.0  # first pause between polls, doubled each round ...
POLL_CAP = 30.0  # ... up to this
# A never-scanned image pushed this recently may be waiting for its scan-on-push scan.
NEW_IMAGE_GRACE = timedelta(minutes=15)

COMPLETE_STATUSES = frozenset({"COMPLETE", "ACTIVE"})  # ACTIVE: enhanced, monitored
WAITING_STATUSES = frozenset({"IN_PROGRESS", "PENDING"})

GatewayFactory = Callable[[str | None, str | None], Any]

@dataclass(frozen=True)
class ReportSettings:
    filter: RepositoryFilter = field(default_factory=RepositoryFilter)
    latest: bool = False
    images: tuple[ImageRef, ...] = ()  # when given: exactly these, no registry walk
    thresholds: Thresholds = field(default_factory=Thresholds)
    ignore_rules: tuple[IgnoreRule, ...] = ()
    details: bool = False
    wait: bool = False
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = DEFAULT_CONCURRENCY
    needs_findings: bool = False  # the output format lists findings
    # Registry reports only: the images in use / pulled recently (applied after
    # listing, before --latest; what it leaves out is counted in ReportResult.scopes).
    scope: ImageScope | None = None

    @property
    def read_findings(self) -> bool:
        return self.details or self.needs_findings or bool(self.ignore_rules)


@dataclass(frozen=True)
class _Target:
    gateway: Any
    image: Image
    order: tuple[Any, ...]
    reference: str = ""


@dataclass(frozen=True)
class _Waiting:
    """An image whose scan has not ended (yet)."""

    target: _Target
    state: ScanState


class _Gateways:
    """``gateway_for`` with a cache; used from the calling thread only."""

    def __init__(self, factory: GatewayFactory) -> None:
        self._factory = factory
        self._cache: dict[tuple[str | None, str | None], Any] = {}
        self._regions: set[str | None] = set()

    def get(self, region: str | None, registry_id: str | None) -> Any:
        key = (region, registry_id)
        if key not in self._cache:
            gateway = self._factory(region, registry_id)
            self._cache[key] = gateway
            self._regions.add(getattr(gateway, "region", region))
        return self._cache[key]

    @property
    def region(self) -> str | None:
        """The one region every gateway works in; None when they span several."""
        return next(iter(self._regions)) if len(self._regions) == 1 else None


def build_report(
    gateway_for: GatewayFactory,
    now: datetime,
    settings: ReportSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    progress: ProgressCallback | None = None,
) -> ReportResult:
    """Run one report.  ``now`` must be timezone-aware (UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    active, expired = split_expired(settings.ignore_rules, now)
    notices = [f"ignore rule {rule.describe()} has expired and was not applied" for rule in expired]
    run = _Run(settings, now, active)
    gateways = _Gateways(gateway_for)
    notify = progress or (lambda event, amount: None)
    concurrency = max(1, min(int(settings.concurrency), MAX_CONCURRENCY))

    with (
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ecrscan") as pool,
        BoundedRunner[Any](pool, window_for(concurrency)) as runner,
    ):
        scopes: list[RepoScope] = []
        if settings.images:
            done, waiting, more = _scan_references(run, gateways, runner, notify)
            repository_errors: list[tuple[str, Problem]] = []
        else:
            done, waiting, more, repository_errors = _scan_registry(
                run, gateways, runner, notify, scopes
            )
        notices.extend(more)
        if waiting:
            done.extend(_wait_for_scans(run, runner, waiting, sleep, clock))

    return ReportResult(
        images=tuple(report for _, report in sorted(done, key=lambda pair: pair[0])),
        thresholds=settings.thresholds,
        generated_at=now,
        region=gateways.region,
        notices=tuple(notices),
        repository_errors=tuple(sorted(repository_errors)),
        details=settings.read_findings,
        scopes=tuple(sorted(scopes, key=lambda s: s.repository)),
    )


Done = list[tuple[tuple[Any, ...], ImageReport]]


def _scan_references(
    run: _Run, gateways: _Gateways, runner: BoundedRunner[Any], notify: ProgressCallback
) -> tuple[Done, list[_Waiting], list[str]]:
    refs = list(dict.fromkeys(run.settings.images))  # drop repeats, keep the order
    for i, ref in enumerate(refs):
        runner.submit(ref, run.resolve, gateways.get(ref.region, ref.registry_id), ref, (i,))
    notify(Event.IMAGES_FOUND, len(refs))
    done: Done = []
    waiting: list[_Waiting] = []
    notices: list[str] = []
    for ref, future in runner.completed():
        order, outcome = future.result()
        notify(Event.IMAGE_CHECKED, 1)
        image = outcome.target.image if isinstance(outcome, _Waiting) else outcome.image
        if ref.tag and ref.digest and ref.tag not in image.tags:
            notices.append(
                f"{ref}: the tag {ref.tag!r} does not point at {ref.digest}; "
                "reporting the digest"
            )
        _collect(order, outcome, done, waiting)
    return done, waiting, sorted(notices)


def _scan_registry(
    run: _Run,
    gateways: _Gateways,
    runner: BoundedRunner[Any],
    notify: ProgressCallback,
    scopes: list[RepoScope],
) -> tuple[Done, list[_Waiting], list[str], list[tuple[str, Problem]]]:
    """Every (kept) image of the filtered repositories; ``scopes`` receives what the
    image scope left out."""
    gateway = gateways.get(None, None)
    region = getattr(gateway, "region", None) or ""
    scope = run.settings.scope
    repositories, missing = select_repositories(
        list_repositories(gateway, run.settings.filter), scope, run.settings.filter, region
    )
    scopes.extend(missing)
    notify(Event.REPOSITORIES, len(repositories))
    # tag: (the repository, the image inspected; None for the repository's listing)
    for repo in repositories:
        runner.submit((repo, None), _list_images, gateway, repo)
    open_images: dict[str, int] = {}
    done: Done = []
    waiting: list[_Waiting] = []
    errors: list[tuple[str, Problem]] = []
    archived = 0
    for (repo, target), future in runner.completed():
        if target is not None:
            _collect(target.order, future.result(), done, waiting)  # errors are values
            notify(Event.IMAGE_CHECKED, 1)
            open_images[repo.name] -= 1
            if open_images[repo.name] == 0:
                notify(Event.REPOSITORY_DONE, 1)
            continue
        try:
            listed: list[Image] = future.result()
        except AwsError as exc:
            errors.append((repo.name, exc.problem))
            notify(Event.REPOSITORY_DONE, 1)
            continue
        images = [i for i in listed if (i.image_status or "").upper() != "ARCHIVED"]
        archived += len(listed) - len(images)
        images, scoped = apply_scope(repo, images, scope, run.now, region)
        if scoped is not None:
            scopes.append(scoped)
        if run.settings.latest:
            images = _latest(images)
        notify(Event.IMAGES_FOUND, len(images))
        open_images[repo.name] = len(images)
        if not images:
            notify(Event.REPOSITORY_DONE, 1)
        for image in images:
            target = _Target(gateway, image, _registry_order(image))
            runner.submit((repo, target), run.inspect, target, True)
    notices = []
    if archived:
        notices.append(
            f"{archived} archived image{'' if archived == 1 else 's'} left out: archived "
            "images cannot be pulled or scanned until restored"
        )
    return done, waiting, notices, errors


def _list_images(gateway: Any, repo: Repository) -> list[Image]:
    return list(gateway.images(repo))


def _wait_for_scans(
    run: _Run,
    runner: BoundedRunner[Any],
    waiting: list[_Waiting],
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Done:
    """Poll the waiting images in rounds until their scans end or the timeout passes;
    whatever is still waiting then is reported as it stands (PENDING or NO_SCAN)."""
    done: Done = []
    deadline = clock() + max(0.0, run.settings.timeout)
    delay = POLL_FIRST
    while waiting:
        remaining = deadline - clock()
        if remaining <= 0:
            break
        sleep(min(delay, remaining))
        delay = min(delay * 2, POLL_CAP)
        for item in waiting:
            runner.submit(item.target, run.inspect, item.target, False)
        waiting = []
        for target, future in runner.completed():
            _collect(target.order, future.result(), done, waiting)
    for item in waiting:
        done.append((item.target.order, run.unfinished(item)))
    return done


def _collect(
    order: tuple[Any, ...], outcome: ImageReport | _Waiting, done: Done, waiting: list[_Waiting]
) -> None:
    if isinstance(outcome, _Waiting):
        waiting.append(outcome)
    else:
        done.append((order, outcome))


def _latest(images: Iterable[Image]) -> list[Image]:
    ordered = sorted(images, key=lambda i: (i.pushed_at is not None, i.pushed_at, i.digest))
    return ordered[-1:]


def _registry_order(image: Image) -> tuple[Any, ...]:
    pushed = image.pushed_at.timestamp() if image.pushed_at else 0.0
    return (image.repository, -pushed, image.digest)


class _Run:
    """Per-image work, safe to call from worker threads (it only reads its fields)."""

    def __init__(self, settings: ReportSettings, now: datetime, rules: tuple[IgnoreRule, ...]):
        self.settings = settings
        self.now = now
        self.rules = rules

    def resolve(
        self, gateway: Any, ref: ImageRef, order: tuple[Any, ...]
    ) -> tuple[tuple[Any, ...], ImageReport | _Waiting]:
        """Look the reference up, then inspect the image it names."""
        try:
            image = gateway.image_by_reference(ref.repository, ref.registry_id, ref.tag, ref.digest)
        except AwsError as exc:
            placeholder = Image(
                repository=ref.repository,
                registry_id=ref.registry_id or getattr(gateway, "registry_id", None) or "",
                digest=ref.digest or "",
                tags=(ref.tag,) if ref.tag else (),
            )
            target = _Target(gateway, placeholder, order, str(ref))
            return order, self._report(target, None, ImageStatus.ERROR, error=exc.problem)
        return order, self.inspect(_Target(gateway, image, order, str(ref)), True)

    def inspect(self, target: _Target, first: bool) -> ImageReport | _Waiting:
        """Read the image's scan state (and findings when asked) and judge it."""
        image = target.image
        findings: tuple[Finding, ...] | None = None
        try:
            state = image.summary if first else None
            if self.settings.read_findings and (state is None or _complete(state)):
                findings, state = target.gateway.findings(image)
            elif state is None:
                state = target.gateway.scan_state(image)
        except AwsError as exc:
            status = ImageStatus.ERROR
            if exc.kind in (ErrorKind.IMAGE_ARCHIVED, ErrorKind.UNSUPPORTED_IMAGE):
                status = ImageStatus.SCAN_FAILED
            return self._report(target, None, status, error=exc.problem)

        if state.never_scanned:
            if self.settings.wait and self._recently_pushed(image):
                return _Waiting(target, state)
            return self._report(target, state, ImageStatus.NO_SCAN)
        if (state.status or "").upper() in WAITING_STATUSES:
            if self.settings.wait:
                return _Waiting(target, state)
            return self._report(target, state, ImageStatus.PENDING)
        if _complete(state):
            return self._judge(target, state, findings)
        return self._report(target, state, ImageStatus.SCAN_FAILED)

    def unfinished(self, item: _Waiting) -> ImageReport:
        status = ImageStatus.NO_SCAN if item.state.never_scanned else ImageStatus.PENDING
        return self._report(item.target, item.state, status)

    def _recently_pushed(self, image: Image) -> bool:
        return image.pushed_at is not None and self.now - image.pushed_at <= NEW_IMAGE_GRACE

    def _judge(
        self, target: _Target, state: ScanState, findings: tuple[Finding, ...] | None
    ) -> ImageReport:
        raw = dict(state.counts)
        counts = raw
        if findings is not None:
            if self.rules:
                findings = apply_ignores(findings, target.image.repository, self.rules)
            if not raw:  # no summary counts: count the listed findings
                raw = count_findings(findings, include_ignored=True)
            counts = _subtract(raw, [f for f in findings if f.ignored is not None])
        breaches = self.settings.thresholds.evaluate(counts)
        status = ImageStatus.BREACH if breaches else ImageStatus.OK
        return self._report(
            target, state, status, counts=counts, raw_counts=raw, findings=findings,
            breaches=breaches,
        )

    def _report(
        self, target: _Target, state: ScanState | None, status: ImageStatus, **fields: Any
    ) -> ImageReport:
        gateway = target.gateway
        return ImageReport(
            image=target.image,
            state=state,
            status=status,
            reference=target.reference,
            account=target.image.registry_id or getattr(gateway, "registry_id", None) or "",
            region=getattr(gateway, "region", "") or "",
            waited=self.settings.wait,
            **fields,
        )


def _complete(state: ScanState) -> bool:
    return (state.status or "").upper() in COMPLETE_STATUSES


def _subtract(counts: dict[str, int], ignored: Iterable[Finding]) -> dict[str, int]:
    """``counts`` less the ignored findings, per severity (never below zero)."""
    result = dict(counts)
    for finding in ignored:
        name = finding.severity.value
        if name in result:
            result[name] = max(0, result[name] - 1)
    return {k: v for k, v in result.items() if v or k not in {s.value for s in Severity}}
