"""Orchestration: filter repositories → list images → read scan states → decide → act.

The engine is the library the CLI and the Lambda handlers share.  It takes a gateway
(:class:`ecrscan.ecr.EcrGateway` or anything with the same methods), the time ``now``
and the settings, and returns a :class:`~ecrscan.model.RescanResult`.  Failures are
values in that result; progress is reported through a callback that is only ever called
from the calling thread.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from ecrscan.aws import DEADLINE_REACHED, AwsError, ErrorKind
from ecrscan.backoff import Deadline
from ecrscan.ecr import IMAGE_NOT_FOUND, AccountQuotaExceeded
from ecrscan.model import (
    Decision,
    Image,
    ImageResult,
    Outcome,
    Problem,
    Repository,
    RepositoryResult,
    RescanResult,
    ScanType,
    Verdict,
)
from ecrscan.policy import RepositoryFilter, apply_scan_type, decide
from ecrscan.pool import BoundedRunner, window_for
from ecrscan.scope import ImageScope, apply_scope, select_repositories

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64
TIME_BUDGET_SPENT = "time budget spent"  # the reason of images left for lack of time


class Event(enum.Enum):
    """Progress events: ``callback(event, amount)``."""

    REPOSITORIES = "repositories"  # amount = number of repositories in scope
    REPOSITORY_DONE = "repository_done"
    IMAGES_FOUND = "images_found"  # amount = images listed in one repository
    IMAGE_CHECKED = "image_checked"
    SCAN_STARTED = "scan_started"


ProgressCallback = Callable[[Event, int], None]


def _no_progress(event: Event, amount: int) -> None:
    return None


@dataclass(frozen=True)
class RescanSettings:
    expiry: relativedelta
    expiry_text: str = "7d"
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


class FatalError(Exception):
    """The run could not start at all (listing repositories failed)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def list_repositories(gateway: Any, repo_filter: RepositoryFilter) -> list[Repository]:
    """Every repository (all pages) whose name the filter keeps, sorted by name."""
    try:
        repos = [r for r in gateway.repositories() if repo_filter.matches(r.name)]
    except AwsError as exc:
        raise FatalError(exc.problem) from exc
    return sorted(repos, key=lambda r: r.name)


class _RunState:
    """Mutable, lock-protected state shared by the workers of one run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.quota_problem: Problem | None = None
        self.out_of_time = 0  # images not started because the deadline had passed
        self.repo_errors: dict[str, Problem] = {}
        # Repositories whose scan-state reads are refused: no further reads are sent.
        self.unreadable: set[str] = set()

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


def rescan(
    gateway: Any,
    now: datetime,
    settings: RescanSettings,
    progress: ProgressCallback | None = None,
) -> RescanResult:
    """Run one rescan.  ``now`` must be timezone-aware (UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    notify = progress or _no_progress
    concurrency = max(1, min(int(settings.concurrency), MAX_CONCURRENCY))
    notices: list[str] = []

    try:
        scan_type = gateway.scan_type()
    except AwsError as exc:
        scan_type = ScanType.BASIC
        notices.append(
            f"could not read the registry scanning configuration ({exc.problem}); "
            "assuming BASIC scanning"
        )
    if scan_type is ScanType.ENHANCED:
        notices.append(
            "registry scan type is ENHANCED: Amazon Inspector scans continuously and "
            "ECR accepts no manual scans, so no scans were started"
        )

    repo_errors_upfront: dict[str, Problem] = {}
    if settings.repositories:
        repositories, repo_errors_upfront = _named_repositories(gateway, settings)
    else:
        repositories = list_repositories(gateway, settings.filter)
    region = getattr(gateway, "region", None) or ""
    repositories, scopes = select_repositories(
        repositories, settings.scope, settings.filter, region
    )
    notify(Event.REPOSITORIES, len(repositories))

    state = _RunState()
    state.repo_errors.update(repo_errors_upfront)
    results: dict[str, list[ImageResult]] = {r.name: [] for r in repositories}
    open_images: dict[str, int] = {}

    def check_image(image: Image) -> ImageResult:
        return _check_image(gateway, image, now, settings, scan_type, state)

    with (
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ecrscan") as pool,
        BoundedRunner(pool, window_for(concurrency)) as runner,
    ):
        # The runner keeps only a window of calls in the pool and hands them back as
        # they finish (O(1) each); on an error it cancels what has not started.
        for repo in repositories:
            if repo.name in state.repo_errors:
                notify(Event.REPOSITORY_DONE, 1)
                continue
            ids = settings.image_ids if settings.repositories else ()
            runner.submit(("images", repo), _list_images, gateway, repo, ids)
        for (kind, repo), fut in runner.completed():
            if kind == "images":
                try:
                    images, missing = fut.result()
                except AwsError as exc:
                    state.fail_repository(repo.name, exc.problem)
                    notify(Event.REPOSITORY_DONE, 1)
                    continue
                results[repo.name].extend(_not_found(image) for image in missing)
                images, scoped = apply_scope(repo, images, settings.scope, now, region)
                if scoped is not None:
                    scopes.append(scoped)
                notify(Event.IMAGES_FOUND, len(images))
                open_images[repo.name] = len(images)
                if not images:
                    notify(Event.REPOSITORY_DONE, 1)
                for image in images:
                    runner.submit(("image", repo), check_image, image)
                continue
            result = fut.result()  # _check_image returns errors as values
            results[repo.name].append(result)
            notify(Event.IMAGE_CHECKED, 1)
            if result.outcome is Outcome.STARTED:
                notify(Event.SCAN_STARTED, 1)
            open_images[repo.name] -= 1
            if open_images[repo.name] == 0:
                notify(Event.REPOSITORY_DONE, 1)

    if state.quota_problem is not None:
        notices.append(
            f"stopped starting scans: account scan quota exceeded ({state.quota_problem}); "
            "the remaining due images are reported as not started"
        )
    if state.out_of_time:
        notices.append(
            f"stopped at the deadline ({TIME_BUDGET_SPENT}): {state.out_of_time} images "
            "were not checked or their scans not started, reported as not started"
        )

    repo_results = tuple(
        RepositoryResult(
            repository=repo,
            images=tuple(sorted(results[repo.name], key=_image_order)),
            error=state.repo_errors.get(repo.name),
            region=region,
        )
        for repo in repositories
    )
    return RescanResult(
        repositories=repo_results,
        started_at=now,
        expiry=settings.expiry_text,
        dry_run=settings.dry_run,
        scan_type=scan_type,
        notices=tuple(notices),
        region=getattr(gateway, "region", None),
        scopes=tuple(sorted(scopes, key=lambda s: s.repository)),
    )


def _list_images(
    gateway: Any, repo: Repository, ids: tuple[dict[str, str], ...]
) -> tuple[list[Image], tuple[Image, ...]]:
    """Every image of ``repo``, or the images the given ids name and a placeholder for
    each id naming none."""
    if ids:
        lookup = gateway.find_images(repo, ids)
        return list(lookup.images), lookup.missing
    return list(gateway.images(repo)), ()


def _not_found(image: Image) -> ImageResult:
    """A requested image id that names no image (deleted since the job was queued, or a
    tag that moved): skipped, not a failure: a retry could not find it either."""
    wanted = f"@{image.digest}" if image.digest else f":{image.tags[0]}"
    return ImageResult(
        image, None, Verdict(Decision.SKIPPED, IMAGE_NOT_FOUND), Outcome.SKIPPED,
        f"no image {image.repository}{wanted}",
    )


def _named_repositories(
    gateway: Any, settings: RescanSettings
) -> tuple[list[Repository], dict[str, Problem]]:
    """Look repositories up by name; a missing or forbidden one becomes a failed entry."""
    found: list[Repository] = []
    errors: dict[str, Problem] = {}
    for name in settings.repositories:
        try:
            found.extend(gateway.repositories(names=[name]))
        except AwsError as exc:
            if exc.kind in (ErrorKind.REPOSITORY_NOT_FOUND, ErrorKind.ACCESS_DENIED):
                found.append(Repository(name=name, registry_id=gateway.registry_id or ""))
                errors[name] = exc.problem
            else:
                raise FatalError(exc.problem) from exc
    return found, errors


def _check_image(
    gateway: Any,
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
    if image.summary is None and image.repository in state.unreadable:
        return _unreadable(image, str(state.repo_errors[image.repository]))
    if _out_of_time(settings, state):
        return _not_checked(image)
    try:
        scan_state = image.summary or gateway.scan_state(image)
    except AwsError as exc:
        if exc.problem.code == DEADLINE_REACHED:  # the gate admits no call before it
            state.left_for_lack_of_time()
            return _not_checked(image)
        if exc.kind is ErrorKind.IMAGE_NOT_FOUND:
            return ImageResult(
                image, None, Verdict(Decision.SKIPPED, "image deleted during the run"),
                Outcome.SKIPPED, str(exc.problem),
            )
        if exc.kind.repository_fatal:
            state.fail_repository(image.repository, exc.problem, reads=True)
        return _unreadable(image, str(exc.problem))

    verdict = apply_scan_type(decide(image, scan_state, now, settings.expiry), scan_type)
    if verdict.decision is not Decision.DUE:
        return ImageResult(image, scan_state, verdict)
    if settings.dry_run:
        return ImageResult(image, scan_state, verdict, Outcome.PLANNED, "dry run")
    if state.quota_problem is not None:
        return ImageResult(
            image, scan_state, verdict, Outcome.NOT_STARTED,
            f"account scan quota exceeded ({state.quota_problem})",
        )
    repo_error = state.repo_errors.get(image.repository)
    if repo_error is not None:
        return ImageResult(image, scan_state, verdict, Outcome.FAILED, str(repo_error))
    if _out_of_time(settings, state):
        return ImageResult(
            image, scan_state, verdict, Outcome.NOT_STARTED,
            f"{TIME_BUDGET_SPENT}: scan not started before the deadline",
        )
    try:
        start = gateway.start_scan(image)
    except AccountQuotaExceeded as exc:
        state.stop_scans(exc.problem)
        return ImageResult(
            image, scan_state, verdict, Outcome.NOT_STARTED,
            f"account scan quota exceeded ({exc.problem})",
        )
    except AwsError as exc:
        if exc.kind.repository_fatal:
            state.fail_repository(image.repository, exc.problem)
        return ImageResult(image, scan_state, verdict, Outcome.FAILED, str(exc.problem))
    return ImageResult(image, scan_state, verdict, start.outcome, start.detail)


def _not_checked(image: Image) -> ImageResult:
    return ImageResult(
        image, None, Verdict(Decision.SKIPPED, "not checked"), Outcome.NOT_STARTED,
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


def summarize(result: RescanResult) -> dict[str, dict[str, int]]:
    """Per-repository counters (and ``TOTAL``) for tables and JSON."""
    rows: dict[str, dict[str, int]] = {}
    total: dict[str, int] = dict.fromkeys(SUMMARY_COLUMNS, 0)
    for repo in result.repositories:
        row = summary_row(repo)
        rows[repo.repository.name] = row
        for key, value in row.items():
            total[key] += value
    rows_with_total = dict(rows)
    rows_with_total["TOTAL"] = total
    return rows_with_total


SUMMARY_COLUMNS: Sequence[str] = (
    "images",
    "due",
    "fresh",
    "started",
    "planned",
    "already_scanned",
    "not_started",
    "in_progress",
    "skipped",
    "not_rescannable",
    "failed",
)


def summary_row(repo: RepositoryResult) -> dict[str, int]:
    images = repo.images
    return {
        "images": len(images),
        "due": repo.count(Decision.DUE),
        "fresh": repo.count(Decision.FRESH),
        "started": repo.count(Outcome.STARTED),
        "planned": repo.count(Outcome.PLANNED),
        "already_scanned": repo.count(Outcome.ALREADY_SCANNED),
        "not_started": repo.count(Outcome.NOT_STARTED),
        "in_progress": repo.count(Decision.IN_PROGRESS),
        "skipped": sum(
            1
            for r in images
            if r.verdict.decision is Decision.SKIPPED
            and r.outcome not in (Outcome.FAILED, Outcome.NOT_STARTED)
            or r.outcome is Outcome.SKIPPED
        ),
        "not_rescannable": repo.count(Decision.NOT_RESCANNABLE),
        "failed": repo.count(Outcome.FAILED),
    }
