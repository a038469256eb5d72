"""The report engine: which images, their scans and findings, judged against thresholds.

:func:`build_report` takes a gateway factory, the time ``now`` and the settings, and
returns a :class:`~ecrscan.core.model.ReportResult`; output formats and the exit code are pure
functions of that result.  It reads and never acts: no scan is started here.

* Scope: every image of the repositories the filter keeps (``latest``: the most recently
  pushed one per repository; archived images are left out with a notice), or exactly the
  images named by references (tags resolved to digests by DescribeImages).  An unknown
  repository, tag or digest is an ``ERROR`` entry carrying AWS's message.
* State: the summary DescribeImages returned when present, else DescribeImageScanFindings.
  Counts come from the scan summary; findings (every page) are read only when
  ``details``, ``needs_findings``, ignore rules or the EPSS/KEV catalogues (``facts``)
  ask for them.  Ignored findings are
  subtracted from the counts the thresholds see and stay in the findings, marked.
* Waiting: with ``wait``, images whose scan is IN_PROGRESS or PENDING - and images never
  scanned but pushed less than :data:`NEW_IMAGE_GRACE` ago, whose scan-on-push scan may
  not be registered yet - are polled (:mod:`ecrscan.engine.wait`) until their scan ends
  or ``timeout`` seconds have passed.
* Failures are values: an AWS error, or a transport error that survived botocore's
  retries (read timeout, connection refused ...), on one image is an ``ERROR`` entry, on
  one repository listing a ``repository_errors`` entry.  Only failing to list the
  repositories at all raises (:class:`~ecrscan.engine.registry.FatalError`).

Workers run in a thread pool fed by a :class:`~ecrscan.engine.runner.BoundedRunner` (a
bounded window of calls, finished ones in completion order); registry reports walk the
registry as rescan does (:func:`~ecrscan.engine.registry.walk_registry`); gateways are
created, and the progress callback is called, in the calling thread only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ecrscan.core.artifacts import Kind
from ecrscan.core.control import DEFAULT_CONCURRENCY, Stop
from ecrscan.core.coverage import RepoScope
from ecrscan.core.errors import INTERRUPTED
from ecrscan.core.facts import NO_FACTS, Facts
from ecrscan.core.ignore import IgnoreRule, split_expired
from ecrscan.core.imageref import ImageRef
from ecrscan.core.judge import NO_GATES, Gates, unknown_facts
from ecrscan.core.model import (
    Image,
    ImageLookup,
    ImageReport,
    Listed,
    ReportResult,
    Repository,
)
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.problem import Problem
from ecrscan.core.scope import ImageScope, apply_scope, select_repositories
from ecrscan.core.thresholds import Thresholds
from ecrscan.engine.bulk import read_bulk, registry_scan_type, whole, with_states
from ecrscan.engine.inspect import ImageInspector, Subject, Waiting
from ecrscan.engine.listing import list_repository
from ecrscan.engine.ports import EcrReads
from ecrscan.engine.registry import (
    ImageDone,
    RepositoryFailed,
    listed_repositories,
    walk_registry,
)
from ecrscan.engine.runner import (
    BoundedRunner,
    Event,
    ProgressCallback,
    bounded_pool,
    no_progress,
    not_reached,
)
from ecrscan.engine.wait import Done, Pacing, wait_for_scans

DEFAULT_TIMEOUT = 600.0  # seconds --wait polls before giving up

GatewayFactory = Callable[[str | None, str | None], EcrReads]


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
    ignore_unfixed: bool = False  # findings with no fix available do not count
    expected: frozenset[str] = frozenset()  # digests whose scan is coming: wait for it
    facts: Facts = NO_FACTS  # --epss-file, --kev-file: added to every finding read
    gates: Gates = NO_GATES  # --fail-on-kev, --min-epss, --exploitable
    # Registry reports only: the images in use / pulled recently (applied after
    # listing, before --latest; what it leaves out is counted in ReportResult.scopes).
    scope: ImageScope | None = None
    # Set by a signal: read nothing new; what was not read is an ERROR entry
    # ("Interrupted") and the result says interrupted.  None: cannot be stopped.
    stop: Stop | None = None

    @property
    def read_findings(self) -> bool:
        return (
            self.details
            or self.needs_findings
            or bool(self.ignore_rules)
            or self.ignore_unfixed
            or bool(self.facts)
            or bool(self.gates)
        )

    @property
    def wants_epss(self) -> bool:
        """EPSS is asked for (``--epss-file``, ``--min-epss``): on an enhanced registry,
        Amazon Inspector's scores are read in bulk too (ListFindings, 25 findings an
        answer), which a plain ``--details`` does not pay for."""
        return self.facts.epss is not None or self.gates.min_epss is not None


class _Gateways:
    """``gateway_for`` with a cache; used from the calling thread only."""

    def __init__(self, factory: GatewayFactory) -> None:
        self._factory = factory
        self._cache: dict[tuple[str | None, str | None], EcrReads] = {}
        self._regions: set[str | None] = set()

    def get(self, region: str | None, registry_id: str | None) -> EcrReads:
        key = (region, registry_id)
        if key not in self._cache:
            gateway = self._factory(region, registry_id)
            self._cache[key] = gateway
            self._regions.add(gateway.region)
        return self._cache[key]

    @property
    def region(self) -> str | None:
        """The one region every gateway works in; None when they span several."""
        return next(iter(self._regions)) if len(self._regions) == 1 else None


def expired_rules(
    rules: tuple[IgnoreRule, ...], now: datetime
) -> tuple[tuple[IgnoreRule, ...], list[str]]:
    """The rules active at ``now``, and one notice per expired rule (which is not
    applied): a notice of the run, given once however many targets it covers."""
    active, expired = split_expired(rules, now)
    return active, [f"ignore rule {r.describe()} has expired and was not applied" for r in expired]


def build_report(
    gateway_for: GatewayFactory,
    now: datetime,
    settings: ReportSettings,
    *,
    progress: ProgressCallback | None = None,
    pacing: Pacing | None = None,
) -> ReportResult:
    """Run one report.  ``now`` must be timezone-aware (UTC).  ``pacing``: the clock
    and sleep the ``settings.wait`` polling uses, and who hears after every poll how
    the awaited scans stand."""
    pacing = pacing or Pacing()
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    active, notices = expired_rules(settings.ignore_rules, now)
    run = ImageInspector(
        settings.thresholds,
        active,
        now,
        settings.read_findings,
        settings.wait,
        settings.ignore_unfixed,
        settings.expected,
        settings.facts,
        settings.gates,
    )
    gateways = _Gateways(gateway_for)
    notify = progress or no_progress
    stop = settings.stop

    with bounded_pool(settings.concurrency, stop) as runner:
        scopes: list[RepoScope] = []
        artifacts: Counter[Kind] = Counter()
        listed: list[Listed] = []
        if settings.images:
            done, waiting, more = _scan_references(settings, run, gateways, runner, notify)
            repository_errors: list[tuple[str, Problem]] = []
        else:
            done, waiting, more, repository_errors = _scan_registry(
                settings, run, gateways, runner, notify, (scopes, artifacts, listed)
            )
        notices.extend(more)
        if waiting:
            done.extend(wait_for_scans(run, runner, waiting, settings.timeout, stop, pacing))

    images = tuple(report for _, report in sorted(done, key=lambda pair: pair[0]))
    notices.extend(unknown_facts(settings.gates, (f for r in images for f in r.findings or ())))
    return ReportResult(
        images=images,
        thresholds=settings.thresholds,
        generated_at=now,
        region=gateways.region,
        notices=tuple(notices),
        repository_errors=tuple(sorted(repository_errors)),
        details=settings.read_findings,
        scopes=tuple(sorted(scopes, key=lambda s: s.repository)),
        interrupted=stop.reason if stop is not None and stop.is_set() else "",
        artifacts=dict(artifacts),
        references=bool(settings.images),
        listed=listed[0] if listed else None,
    )


def _scan_references(
    settings: ReportSettings,
    run: ImageInspector,
    gateways: _Gateways,
    runner: BoundedRunner[Any],
    notify: ProgressCallback,
) -> tuple[Done, list[Waiting], list[str]]:
    refs = list(dict.fromkeys(settings.images))  # drop repeats, keep the order
    for i, ref in enumerate(refs):
        runner.submit(ref, run.resolve, gateways.get(ref.region, ref.registry_id), ref, (i,))
    notify(Event.IMAGES_FOUND, len(refs))
    done: Done = []
    waiting: list[Waiting] = []
    notices: list[str] = []
    for ref, future in runner.completed():
        if not_reached(future):
            gateway = gateways.get(ref.region, ref.registry_id)
            order = (refs.index(ref),)
            done.append((order, run.not_reached(run.placeholder(gateway, ref, order))))
            continue
        notify(Event.IMAGE_CHECKED, 1)
        for order, outcome in future.result():
            image = outcome.target.image if isinstance(outcome, Waiting) else outcome.image
            if ref.tag and ref.digest and ref.tag not in (*image.tags, *image.index_tags):
                notices.append(
                    f"{ref}: the tag {ref.tag!r} does not point at {ref.digest}; "
                    "reporting the digest"
                )
            _collect(order, outcome, done, waiting)
    return done, waiting, sorted(set(notices))


def _scan_registry(
    settings: ReportSettings,
    run: ImageInspector,
    gateways: _Gateways,
    runner: BoundedRunner[Any],
    notify: ProgressCallback,
    found: tuple[list[RepoScope], Counter[Kind], list[Listed]],
) -> tuple[Done, list[Waiting], list[str], list[tuple[str, Problem]]]:
    """Every (kept) image of the filtered repositories; ``found`` receives what the
    image scope left out, the artifacts the listings counted and the repositories
    listed."""
    scopes, artifacts, listed = found
    gateway = gateways.get(None, None)
    region = gateway.region or ""
    scope = settings.scope
    kept, counted = listed_repositories(gateway, settings.filter)
    listed.append(counted)
    repositories, missing = select_repositories(kept, scope, settings.filter, region)
    scopes.extend(missing)
    in_use = scope is not None and scope.in_use is not None
    index, notices = read_bulk(
        gateway,
        registry_scan_type(gateway),
        repositories,
        whole(settings.filter, in_use),
        epss=settings.wants_epss,
    )
    scores = index.epss if index is not None else {}
    notify(Event.REPOSITORIES, len(repositories))
    archived = 0

    def narrow(repo: Repository, lookup: ImageLookup) -> list[Image]:
        nonlocal archived
        artifacts.update(lookup.artifacts)
        notices.extend(lookup.notices)
        images = [i for i in lookup.images if (i.image_status or "").upper() != "ARCHIVED"]
        archived += len(lookup.images) - len(images)
        images, scoped = apply_scope(repo, images, scope, run.now, region)
        if scoped is not None:
            scopes.append(scoped)
        return _latest(images) if settings.latest else images

    def inspect(image: Image) -> ImageReport | Waiting:
        return run.inspect(Subject(gateway, image, _registry_order(image), epss=scores), first=True)

    done: Done = []
    waiting: list[Waiting] = []
    errors: list[tuple[str, Problem]] = []
    for item in walk_registry(
        runner,
        repositories,
        lambda repo: with_states(list_repository(gateway, repo), index),
        narrow,
        inspect,
        notify,
    ):
        if isinstance(item, ImageDone):
            _collect(_registry_order(item.image), item.result, done, waiting)
        elif isinstance(item, RepositoryFailed):
            errors.append((item.repository.name, item.problem))
        elif item.image is None:
            errors.append((item.repository.name, Problem(INTERRUPTED, "not listed: interrupted")))
        else:
            target = Subject(gateway, item.image, _registry_order(item.image))
            done.append((target.order, run.not_reached(target)))
    if archived:
        notices.append(
            f"{archived} archived image{'' if archived == 1 else 's'} left out: archived "
            "images cannot be pulled or scanned until restored"
        )
    return done, waiting, notices, errors


def _collect(
    order: tuple[Any, ...], outcome: ImageReport | Waiting, done: Done, waiting: list[Waiting]
) -> None:
    if isinstance(outcome, Waiting):
        waiting.append(outcome)
    else:
        done.append((order, outcome))


def _latest(images: Iterable[Image]) -> list[Image]:
    """The most recently pushed image; when it is a platform image of an index, every
    platform image of that index (the tag pushed last, all its platforms)."""
    ordered = sorted(images, key=lambda i: (i.pushed_at is not None, i.pushed_at, i.digest))
    newest = ordered[-1:]
    if newest and newest[0].index_digest:
        return [i for i in ordered if i.index_digest == newest[0].index_digest]
    return newest


def _registry_order(image: Image) -> tuple[Any, ...]:
    pushed = image.pushed_at.timestamp() if image.pushed_at else 0.0
    return (image.repository, -pushed, image.digest)
