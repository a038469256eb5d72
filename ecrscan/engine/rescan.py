"""Rescan one registry: filter repositories → list images → read scan states → decide
→ act.

:func:`rescan` takes a gateway (:class:`ecrscan.engine.ports.Ecr`: the ECR gateway of
:mod:`ecrscan.aws.ecr`, or anything with the same methods), the time ``now`` and the
settings, and returns a :class:`~ecrscan.core.model.RescanResult`.  Failures are values
in that result; progress is reported through a callback that is only ever called from
the calling thread.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ecrscan.core.artifacts import Kind
from ecrscan.core.control import DEFAULT_CONCURRENCY, Deadline, Stop
from ecrscan.core.coverage import RepoScope
from ecrscan.core.durations import DEFAULT_EXPIRY, Duration
from ecrscan.core.errors import (
    DEADLINE_REACHED,
    IMAGE_NOT_FOUND,
    INTERRUPTED,
    AccountQuotaExceeded,
    AwsError,
    ErrorKind,
    FatalError,
)
from ecrscan.core.model import (
    Decision,
    Image,
    ImageLookup,
    ImageResult,
    Listed,
    Outcome,
    Repository,
    RepositoryResult,
    RescanResult,
    ScanState,
    ScanType,
    Verdict,
)
from ecrscan.core.policy import RepositoryFilter, apply_scan_type, decide
from ecrscan.core.problem import Problem
from ecrscan.core.scope import ImageScope, apply_scope, select_repositories
from ecrscan.core.words import agree, plural
from ecrscan.engine.bulk import bulk_unless_few, whole, with_states
from ecrscan.engine.listing import list_repository
from ecrscan.engine.ports import Ecr, ScanDateCache
from ecrscan.engine.registry import (
    ImageDone,
    NotReached,
    RepositoryFailed,
    listed_repositories,
    named_repositories,
    walk_registry,
)
from ecrscan.engine.runner import Event, ProgressCallback, bounded_pool, no_progress
from ecrscan.engine.scandates import CacheRun

TIME_BUDGET_SPENT = "time budget spent"  # the reason of images left for lack of time
INTERRUPTED_REASON = "interrupted"  # the reason of images a stopped run did not reach


@dataclass(frozen=True)
class RescanSettings:
    expiry: Duration = DEFAULT_EXPIRY
    filter: RepositoryFilter = field(default_factory=RepositoryFilter)
    dry_run: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    # Restrict the run to these repositories (looked up by name, so a missing one is
    # reported as failed rather than silently absent) ...
    repositories: tuple[str, ...] = ()
    # ... and, for a single repository, to these image ids (Lambda jobs).
    image_ids: tuple[dict[str, str], ...] = ()
    # Only the images in use / pulled recently (applied after listing; what it leaves
    # out is counted per repository in RescanResult.scopes).
    scope: ImageScope | None = None
    # Start no image check and no scan after this (a Lambda invocation's end minus a
    # margin); the images left are NOT_STARTED with TIME_BUDGET_SPENT.  None: no limit.
    deadline: Deadline | None = None
    # Set by a signal: start nothing new; what was not reached is NOT_STARTED with
    # INTERRUPTED_REASON and the result says interrupted.  None: cannot be stopped.
    stop: Stop | None = None
    # The scan-date cache: images it vouches for are not read (engine/scandates.py).
    cache: ScanDateCache | None = None


class _RunState:
    """Mutable, lock-protected state shared by the workers of one run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.quota_problem: Problem | None = None
        self.out_of_time = 0  # images not started because the deadline had passed
        self.repo_errors: dict[str, Problem] = {}
        # Repositories whose scan-state reads are refused: no further reads are sent.
        self.unreadable: set[str] = set()
        self.artifacts: Counter[Kind] = Counter()  # the listings' non-images, by kind
        self.listing_notices: list[str] = []  # image indexes that could not be read
        self.listed_repositories: Listed | None = None  # None: named repositories

    def listed(self, lookup: ImageLookup) -> None:
        """What a repository's listing found besides the images (calling thread)."""
        self.artifacts.update(lookup.artifacts)
        self.listing_notices.extend(lookup.notices)

    def stop_scans(self, problem: Problem) -> None:
        with self.lock:
            if self.quota_problem is None:
                self.quota_problem = problem

    def left_for_lack_of_time(self) -> None:
        with self.lock:
            self.out_of_time += 1

    def fail_repository(self, name: str, problem: Problem, *, reads: bool = False) -> None:
        with self.lock:
            self.repo_errors.setdefault(name, problem)
            if reads:
                self.unreadable.add(name)

    def notices(self) -> list[str]:
        """Why work was left undone for the whole run (a quota, the deadline)."""
        notices = list(self.listing_notices)
        if self.quota_problem is not None:
            notices.append(
                f"stopped starting scans: account scan quota exceeded ({self.quota_problem}); "
                "the remaining due images are reported as not started"
            )
        if self.out_of_time:
            notices.append(
                f"stopped at the deadline ({TIME_BUDGET_SPENT}): "
                f"{plural(self.out_of_time, 'image')} {agree(self.out_of_time, 'was')} not "
                "checked or their scans not started, reported as not started"
            )
        return notices


def rescan(
    gateway: Ecr,
    now: datetime,
    settings: RescanSettings,
    progress: ProgressCallback | None = None,
) -> RescanResult:
    """Run one rescan.  ``now`` must be timezone-aware (UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    notify = progress or no_progress
    scan_type, notices = _scan_type(gateway)
    state = _RunState()
    region = gateway.region or ""
    repositories, scopes = _repositories(gateway, settings, state, region)
    notify(Event.REPOSITORIES, len(repositories))
    results: dict[str, list[ImageResult]] = {r.name: [] for r in repositories}
    for repo in repositories:
        if repo.name in state.repo_errors:
            notify(Event.REPOSITORY_DONE, 1)
    ids = settings.image_ids if settings.repositories else ()
    live = [r for r in repositories if r.name not in state.repo_errors]
    in_use = settings.scope is not None and settings.scope.in_use is not None
    whole_registry = not settings.repositories and whole(settings.filter, in_use)
    index, more = bulk_unless_few(gateway, scan_type, live, whole_registry, len(ids))
    notices.extend(more)
    cached = CacheRun(settings.cache, region, now, settings.expiry.delta, scan_type)

    def narrow(repo: Repository, lookup: ImageLookup) -> list[Image]:
        state.listed(lookup)
        results[repo.name].extend(_not_found(image) for image in lookup.missing)
        images, scoped = apply_scope(repo, lookup.images, settings.scope, now, region)
        if scoped is not None:
            scopes.append(scoped)
        return cached.vouched(images)

    def check(image: Image) -> ImageResult:
        return _check_image(gateway, image, now, settings, scan_type, state)

    def listing(repo: Repository) -> ImageLookup:
        return with_states(list_repository(gateway, repo, ids), index)

    with bounded_pool(settings.concurrency, settings.stop) as runner:
        for item in walk_registry(runner, live, listing, narrow, check, notify):
            _record(item, results, state, notify)

    return RescanResult(
        repositories=tuple(
            RepositoryResult(
                repo,
                tuple(sorted(results[repo.name], key=_image_order)),
                state.repo_errors.get(repo.name),
                region,
            )
            for repo in repositories
        ),
        started_at=now,
        expiry=settings.expiry.text,
        dry_run=settings.dry_run,
        scan_type=scan_type,
        cache=cached.finish(results.values()),  # before notices=: it may add some
        notices=tuple(notices + state.notices() + cached.notices),
        region=gateway.region,
        scopes=tuple(sorted(scopes, key=lambda s: s.repository)),
        interrupted=settings.stop.reason if settings.stop and settings.stop.is_set() else "",
        artifacts=dict(state.artifacts),
        listed=state.listed_repositories,
    )


def _record(
    item: RepositoryFailed | ImageDone[ImageResult] | NotReached,
    results: dict[str, list[ImageResult]],
    state: _RunState,
    notify: ProgressCallback,
) -> None:
    """One item of the registry walk into the run's results."""
    name = item.repository.name
    if isinstance(item, RepositoryFailed):
        state.fail_repository(name, item.problem)
    elif isinstance(item, NotReached):
        if item.image is None:
            state.fail_repository(name, Problem(INTERRUPTED, "not listed: interrupted"))
        else:
            results[name].append(_interrupted(item.image, "not checked"))
    else:
        results[name].append(item.result)
        if item.result.outcome is Outcome.STARTED:
            notify(Event.SCAN_STARTED, 1)


def _repositories(
    gateway: Ecr, settings: RescanSettings, state: _RunState, region: str
) -> tuple[list[Repository], list[RepoScope]]:
    """The repositories to check (the named ones, whose failures go into ``state``, or
    the filtered registry), narrowed by the in-use set, and what the scope left out."""
    if settings.repositories:
        repositories, state.repo_errors = named_repositories(gateway, settings.repositories)
    else:
        repositories, state.listed_repositories = listed_repositories(gateway, settings.filter)
    return select_repositories(repositories, settings.scope, settings.filter, region)


def _scan_type(gateway: Ecr) -> tuple[ScanType, list[str]]:
    """The registry's scan type, and the notices it calls for."""
    try:
        scan_type = gateway.scan_type()
    except AwsError as exc:
        if exc.kind in (ErrorKind.NETWORK, ErrorKind.INTERRUPTED):
            raise FatalError(exc.problem) from exc  # every later call would fail too
        return ScanType.BASIC, [
            f"could not read the registry scanning configuration ({exc.problem}); "
            "assuming BASIC scanning"
        ]
    if scan_type is ScanType.ENHANCED:
        return scan_type, [
            "registry scan type is ENHANCED: Amazon Inspector scans continuously and "
            "ECR accepts no manual scans, so no scans were started"
        ]
    return scan_type, []


def _not_found(image: Image) -> ImageResult:
    """A requested image id that names no image (deleted since the job was queued, or a
    tag that moved): skipped, not a failure: a retry could not find it either."""
    wanted = f"@{image.digest}" if image.digest else f":{image.tags[0]}"
    return ImageResult(
        image,
        None,
        Verdict(Decision.SKIPPED, IMAGE_NOT_FOUND),
        Outcome.SKIPPED,
        f"no image {image.repository}{wanted}",
    )


def _check_image(
    gateway: Ecr,
    image: Image,
    now: datetime,
    settings: RescanSettings,
    scan_type: ScanType,
    state: _RunState,
) -> ImageResult:
    """Read one image's scan state, decide, and start its scan when due.

    Once a repository is known to refuse reads (or scans), its remaining images are not
    sent to AWS again; they get the same outcome the call would have given, so results do
    not depend on which worker saw the refusal first.
    """
    if not image.kind.scannable:  # a job's id naming an artifact: never scanned
        verdict = Verdict(Decision.SKIPPED, f"not an image ({image.kind.value})")
        return ImageResult(image, None, verdict, Outcome.SKIPPED, "not a container image")
    scan_state = _read_state(gateway, image, settings, state)
    if isinstance(scan_state, ImageResult):
        return scan_state
    verdict = apply_scan_type(decide(image, scan_state, now, settings.expiry.delta), scan_type)
    if verdict.decision is not Decision.DUE:
        return ImageResult(image, scan_state, verdict)
    if settings.dry_run:
        return ImageResult(image, scan_state, verdict, Outcome.PLANNED, "dry run")
    outcome, detail = _start_scan(gateway, image, settings, state)
    return ImageResult(image, scan_state, verdict, outcome, detail)


def _read_state(
    gateway: Ecr, image: Image, settings: RescanSettings, state: _RunState
) -> ScanState | ImageResult:
    """The image's last scan (the listing's summary, or one read), or the result of an
    image whose state could not be read."""
    if image.summary is None and image.repository in state.unreadable:
        return _unreadable(image, str(state.repo_errors[image.repository]))
    if settings.stop is not None and settings.stop.is_set():
        return _interrupted(image, "not checked")
    if _out_of_time(settings, state):
        return _not_checked(image)
    try:
        scan_state: ScanState = image.summary or gateway.scan_state(image)
    except AwsError as exc:
        if exc.kind is ErrorKind.INTERRUPTED:
            return _interrupted(image, "not checked")
        if exc.problem.code == DEADLINE_REACHED:  # the gate admits no call before it
            state.left_for_lack_of_time()
            return _not_checked(image)
        if exc.kind is ErrorKind.IMAGE_NOT_FOUND:
            verdict = Verdict(Decision.SKIPPED, "image deleted during the run")
            return ImageResult(image, None, verdict, Outcome.SKIPPED, str(exc.problem))
        if exc.kind.repository_fatal:
            state.fail_repository(image.repository, exc.problem, reads=True)
        return _unreadable(image, str(exc.problem))
    return scan_state


def _start_scan(
    gateway: Ecr, image: Image, settings: RescanSettings, state: _RunState
) -> tuple[Outcome, str]:
    """Start the scan of a due image, unless the run already knows it cannot."""
    if state.quota_problem is not None:
        return Outcome.NOT_STARTED, f"account scan quota exceeded ({state.quota_problem})"
    repo_error = state.repo_errors.get(image.repository)
    if repo_error is not None:
        return Outcome.FAILED, str(repo_error)
    if settings.stop is not None and settings.stop.is_set():
        return Outcome.NOT_STARTED, f"{INTERRUPTED_REASON}: scan not started"
    if _out_of_time(settings, state):
        return Outcome.NOT_STARTED, f"{TIME_BUDGET_SPENT}: scan not started before the deadline"
    try:
        start = gateway.start_scan(image)
    except AccountQuotaExceeded as exc:
        state.stop_scans(exc.problem)
        return Outcome.NOT_STARTED, f"account scan quota exceeded ({exc.problem})"
    except AwsError as exc:
        if exc.kind.repository_fatal:
            state.fail_repository(image.repository, exc.problem)
        return Outcome.FAILED, str(exc.problem)
    return start.outcome, start.detail


def _interrupted(image: Image, what: str) -> ImageResult:
    """An image a stopped run did not get to: not started, reason "interrupted"."""
    verdict = Verdict(Decision.SKIPPED, what)
    return ImageResult(image, None, verdict, Outcome.NOT_STARTED, f"{INTERRUPTED_REASON}: {what}")


def _not_checked(image: Image) -> ImageResult:
    return ImageResult(
        image,
        None,
        Verdict(Decision.SKIPPED, "not checked"),
        Outcome.NOT_STARTED,
        f"{TIME_BUDGET_SPENT}: not checked before the deadline",
    )


def _out_of_time(settings: RescanSettings, state: _RunState) -> bool:
    """The deadline has passed (counted: each image is asked at most once)."""
    if settings.deadline is None or not settings.deadline.passed:
        return False
    state.left_for_lack_of_time()
    return True


def _unreadable(image: Image, detail: str) -> ImageResult:
    return ImageResult(
        image, None, Verdict(Decision.SKIPPED, "scan state unreadable"), Outcome.FAILED, detail
    )


def _image_order(result: ImageResult) -> tuple[float, str]:
    pushed = result.image.pushed_at
    return (-(pushed.timestamp() if pushed else 0.0), result.image.digest)
