"""Runs over targets: every (account, region) of one run, with ECS in-use discovery first.

:func:`rescan_targets` and :func:`report_targets` are what the CLI calls, and what the
Lambda functions can call.  They

1. resolve the targets (:func:`plan_targets`): the caller's credentials and each
   ``--role-arn``, times each region.  STS is asked (``GetCallerIdentity``, and
   ``AssumeRole`` per role) only when a role, ``--in-use`` or several regions need the
   account; a plain one-region run makes no STS call;
2. with ``--in-use``, discover in every target the images ECS uses and merge the sets,
   since a task definition in one account may run an image of another
   (:func:`ecrscan.discovery.discover_targets`, which the Lambda functions use too);
3. run the engine once per target with that target's
   :class:`~ecrscan.scope.ImageScope` (the engine knows nothing of ECS or STS);
4. merge the per-target results into one result whose ``coverage``
   (:class:`~ecrscan.model.Coverage`) names every target, every failure and what
   discovery skipped.

A failing target (credentials, discovery or audit) never stops the others: its error is
a value in the coverage and makes the result incomplete (exit 3).  Each target has its
own :class:`~ecrscan.backoff.Throttle`, shared by its ECR and ECS gateways, because AWS
rate limits are per account and region.
"""

from __future__ import annotations

import enum
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import NoRegionError
from dateutil.relativedelta import relativedelta

from ecrscan.backoff import Throttle
from ecrscan.discovery import InUseSet, ScopeHints, SkippedImage, discover_targets
from ecrscan.ecr import EcrGateway
from ecrscan.ecs import EcsGateway
from ecrscan.engine import (
    DEFAULT_CONCURRENCY,
    Event,
    ProgressCallback,
    RescanSettings,
    rescan,
)
from ecrscan.model import (
    Coverage,
    Problem,
    ReferenceNote,
    ReportResult,
    RepoScope,
    RescanResult,
    ScanType,
    TargetOutcome,
)
from ecrscan.report import ReportSettings, build_report
from ecrscan.scope import ImageScope
from ecrscan.targets import (
    Target,
    TargetFailure,
    default_session_name,
    resolve_targets,
    run_per_target,
)

log = logging.getLogger("ecrscan")

MAX_NAMED = 5  # references named per notice; the JSON lists them all
CLI_SCOPE_HINTS = ScopeHints(
    account="give --role-arn for a role in that account to audit it",
    region="add --region {region}",
)


class InUseMode(str, enum.Enum):
    """``--in-use``: which task definitions count."""

    ECS = "ecs"  # every ACTIVE task definition revision
    ECS_SERVICES = "ecs-services"  # those of services running or wanting tasks


@dataclass(frozen=True)
class Plan:
    """What one run covers, already checked (no AWS call is needed to build it)."""

    regions: tuple[str, ...] = ()  # empty: the session's region
    role_arns: tuple[str, ...] = ()
    in_use: InUseMode | None = None
    pulled_within: relativedelta | None = None
    pulled_within_text: str = ""
    endpoint_url: str | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    session_name: str | None = None  # default: ecrscan-<version>-<the run's now, UTC>
    # What the reason of an out-of-scope image advises (default: the CLI's options).
    scope_hints: ScopeHints = CLI_SCOPE_HINTS

    @property
    def needs_identity(self) -> bool:
        """Whether the caller's account must be known: to assume roles, to tell "our"
        images from other accounts' (``--in-use``), or to name the account of each of
        several regions."""
        return bool(self.role_arns or self.in_use is not None or len(self.regions) > 1)


Key = tuple[str, str, str]  # (account, region, role ARN)


def _key(item: Target | TargetFailure) -> Key:
    return item.account, item.region, item.role_arn


class TargetGateways:
    """Builds each target's gateways: one throttle per target, shared by its ECR and ECS
    gateways, and one ECR gateway per (target, registry id).  Tests may pass their own."""

    def __init__(self, endpoint_url: str | None = None, concurrency: int = DEFAULT_CONCURRENCY):
        self.endpoint_url = endpoint_url
        self.pool = max(10, concurrency + 2)
        self._throttles: dict[Key, Throttle] = {}
        self._built: dict[Key, list[Any]] = {}
        self._ecr: dict[tuple[Key, str | None], Any] = {}

    def throttle(self, target: Target) -> Throttle:
        return self._throttles.setdefault(_key(target), Throttle())

    def ecr(self, target: Target, registry_id: str | None = None) -> Any:
        cache_key = (_key(target), registry_id)
        if cache_key not in self._ecr:
            self._ecr[cache_key] = self._keep(target, EcrGateway(
                target.session, region=target.region or None, endpoint_url=self.endpoint_url,
                registry_id=registry_id, throttle=self.throttle(target),
                max_pool_connections=self.pool,
            ))
        return self._ecr[cache_key]

    def ecs(self, target: Target) -> Any:
        return self._keep(target, EcsGateway(
            target.session, region=target.region or None, endpoint_url=self.endpoint_url,
            throttle=self.throttle(target), max_pool_connections=self.pool,
        ))

    def calls(self, target: Target) -> dict[str, int]:
        """AWS calls per operation the target's gateways made."""
        total: Counter[str] = Counter()
        for gateway in self._built.get(_key(target), []):
            total.update(getattr(gateway, "calls", {}))
        return dict(total)

    def _keep(self, target: Target, gateway: Any) -> Any:
        self._built.setdefault(_key(target), []).append(gateway)
        return gateway


def plan_targets(
    base_session: Any, plan: Plan, now: datetime
) -> tuple[list[Target], list[TargetFailure]]:
    """The targets of the plan and the ones that could not be reached.  Without a need
    for the account (:attr:`Plan.needs_identity`) the single target's account is ""
    and no STS call is made (its account and region are read off the results).  Roles
    are assumed with :attr:`Plan.session_name`, by default one naming ecrscan and
    ``now``.  Raises ``NoRegionError`` when no region is known."""
    if plan.needs_identity:
        return resolve_targets(
            base_session, plan.regions, plan.role_arns,
            session_name=plan.session_name or default_session_name(now),
            endpoint_url=plan.endpoint_url,
        )
    # A session-like object without ``region_name`` leaves the region to its clients.
    region = plan.regions[0] if plan.regions else getattr(base_session, "region_name", "")
    if region is None:
        raise NoRegionError()
    return [Target("", region, base_session)], []


@dataclass
class _Prepared:
    targets: list[Target]
    failures: list[tuple[Key, str, Problem]] = field(default_factory=list)
    in_use: InUseSet | None = None


def _prepare(
    base_session: Any, plan: Plan, gateways: TargetGateways, now: datetime
) -> _Prepared:
    targets, unreachable = plan_targets(base_session, plan, now)
    prepared = _Prepared(targets, [(_key(f), "credentials", f.problem) for f in unreachable])
    if plan.in_use is None:
        return prepared
    found = discover_targets(
        targets,
        gateways.ecs,
        services_only=plan.in_use is InUseMode.ECS_SERVICES,
        unreachable=unreachable,
        hints=plan.scope_hints,
        concurrency=plan.concurrency,
    )
    prepared.in_use = found.in_use
    prepared.failures += [(_key(f), "discovery", f.problem) for f in found.failures]
    return prepared


def scope_for(target: Target, plan: Plan, in_use: InUseSet | None) -> ImageScope | None:
    """The image scope of one target: its part of the (merged) in-use set and the
    pull-recency window; ``None`` when the run has neither."""
    if in_use is None and plan.pulled_within is None:
        return None
    return ImageScope(
        in_use=in_use.for_target(target.account, target.region) if in_use else None,
        pulled_within=plan.pulled_within,
        account=target.account,
    )


class _Cumulative:
    """Progress over several targets: repository totals add up instead of replacing."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._repositories = 0

    def __call__(self, event: Event, amount: int) -> None:
        if self._callback is None:
            return
        if event is Event.REPOSITORIES:
            self._repositories += amount
            amount = self._repositories
        self._callback(event, amount)


# -- the two commands ------------------------------------------------------------------


def rescan_targets(
    base_session: Any,
    now: datetime,
    settings: RescanSettings,
    plan: Plan,
    *,
    gateways: TargetGateways | None = None,
    progress: ProgressCallback | None = None,
) -> RescanResult:
    """``rescan`` over every target of ``plan``; one merged result."""
    gateways = gateways or TargetGateways(plan.endpoint_url, plan.concurrency)
    prepared = _prepare(base_session, plan, gateways, now)
    notify = _Cumulative(progress)

    def work(target: Target) -> RescanResult:
        scoped = replace(settings, scope=scope_for(target, plan, prepared.in_use))
        return rescan(gateways.ecr(target), now, scoped, progress=notify)

    runs, failed = run_per_target(prepared.targets, work)
    _log_calls(prepared.targets, gateways)
    coverage = _coverage(plan, prepared, runs, failed, _rescan_account)
    results = [result for _, result in runs]
    scan_types = {r.scan_type for r in results}
    scopes = tuple(s for r in results for s in r.scopes)
    return RescanResult(
        repositories=tuple(repo for r in results for repo in r.repositories),
        started_at=now,
        expiry=settings.expiry_text,
        dry_run=settings.dry_run,
        scan_type=ScanType.ENHANCED if scan_types == {ScanType.ENHANCED} else ScanType.BASIC,
        notices=_notices(runs, coverage, scopes),
        region=_single_region(coverage),
        scopes=scopes,
        coverage=coverage,
    )


def report_targets(
    base_session: Any,
    now: datetime,
    settings: ReportSettings,
    plan: Plan,
    *,
    gateways: TargetGateways | None = None,
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ReportResult:
    """A registry ``report`` over every target of ``plan``; one merged result.  The
    ``--wait`` timeout is one deadline for the whole run, not one per target."""
    gateways = gateways or TargetGateways(plan.endpoint_url, plan.concurrency)
    prepared = _prepare(base_session, plan, gateways, now)
    notify = _Cumulative(progress)
    deadline = clock() + max(0.0, settings.timeout)

    def work(target: Target) -> ReportResult:
        scoped = replace(
            settings,
            scope=scope_for(target, plan, prepared.in_use),
            timeout=max(0.0, deadline - clock()),
        )
        return build_report(
            lambda region, registry_id: gateways.ecr(target, registry_id),
            now, scoped, sleep=sleep, clock=clock, progress=notify,
        )

    runs, failed = run_per_target(prepared.targets, work)
    _log_calls(prepared.targets, gateways)
    coverage = _coverage(plan, prepared, runs, failed, _report_account)
    multi = len(coverage.targets) > 1
    results = [result for _, result in runs]
    scopes = tuple(s for r in results for s in r.scopes)
    return ReportResult(
        images=tuple(image for r in results for image in r.images),
        thresholds=settings.thresholds,
        generated_at=now,
        region=_single_region(coverage),
        notices=_notices(runs, coverage, scopes),
        repository_errors=tuple(
            (f"{name} ({_label(target)})" if multi else name, problem)
            for target, r in runs
            for name, problem in r.repository_errors
        ),
        details=settings.read_findings,
        scopes=scopes,
        coverage=coverage,
    )


def nothing_covered(coverage: Coverage) -> bool:
    """Every target failed to be audited (credentials or ECR refused): there is no
    result worth printing.  A target whose discovery alone failed was still audited."""
    return all(
        any(stage in ("credentials", "audit") for stage, _ in target.errors)
        for target in coverage.targets
    )


# -- merging ---------------------------------------------------------------------------


def _coverage(
    plan: Plan,
    prepared: _Prepared,
    runs: Sequence[tuple[Target, Any]],
    failed: Sequence[TargetFailure],
    account_of: Callable[[Any], str],
) -> Coverage:
    # A plain run's target has no account (no STS call): its registry id says it.
    found = {_key(t): (account_of(result), result.region or "") for t, result in runs}
    errors: dict[Key, list[tuple[str, Problem]]] = {_key(t): [] for t in prepared.targets}
    for key, stage, problem in prepared.failures:
        errors.setdefault(key, []).append((stage, problem))
    for failure in failed:
        errors.setdefault(_key(failure), []).append(("audit", failure.problem))
    in_use = prepared.in_use
    return Coverage(
        targets=tuple(
            TargetOutcome(
                account or found.get((account, region, role), ("", ""))[0],
                region or found.get((account, region, role), ("", ""))[1],
                role,
                tuple(problems),
            )
            for (account, region, role), problems in errors.items()
        ),
        in_use=plan.in_use.value if plan.in_use is not None else None,
        pulled_within=plan.pulled_within_text or None,
        task_definitions=in_use.task_definitions if in_use else 0,
        skipped=_notes(in_use.skipped) if in_use else (),
        out_of_scope=_notes(in_use.out_of_scope) if in_use else (),
        unreadable=in_use.failures if in_use else (),
    )


def _notes(items: Iterable[SkippedImage]) -> tuple[ReferenceNote, ...]:
    return tuple(
        ReferenceNote(i.image, i.location.value, i.reason, i.task_definitions) for i in items
    )


def _rescan_account(result: RescanResult) -> str:
    """The registry a plain (no STS) run audited: its repositories' registry id."""
    return next((r.repository.registry_id for r in result.repositories
                 if r.repository.registry_id), "")


def _report_account(result: ReportResult) -> str:
    return next((i.account for i in result.images if i.account), "")


def _label(target: Target) -> str:
    return target.label if target.account else target.region


def _single_region(coverage: Coverage) -> str | None:
    regions = {t.region for t in coverage.targets}
    return regions.pop() if len(regions) == 1 else None


def _log_calls(targets: Sequence[Target], gateways: TargetGateways) -> None:
    for target in targets:
        where = "" if len(targets) == 1 else f" ({_label(target)})"
        log.info("AWS calls%s: %s", where, gateways.calls(target))


def _notices(
    runs: Sequence[tuple[Target, RescanResult | ReportResult]],
    coverage: Coverage,
    scopes: Sequence[RepoScope],
) -> tuple[str, ...]:
    """The targets' notices, each labelled with its target when the run had several;
    a notice every target gave (an expired ignore rule) is listed once, unlabelled."""
    multi = len(coverage.targets) > 1
    every = multi and len(runs) == len(coverage.targets)
    common = set.intersection(*(set(r.notices) for _, r in runs)) if every else set()
    notices = [n for n in runs[0][1].notices if n in common] if common else []
    notices += [
        f"{_label(target)}: {notice}" if multi else notice
        for target, result in runs
        for notice in result.notices
        if notice not in common
    ]
    return tuple(notices + scope_notices(coverage, scopes))


def scope_notices(coverage: Coverage, scopes: Sequence[RepoScope]) -> list[str]:
    """One-line summaries of what ``--in-use`` and ``--pulled-within`` left out (pure);
    the JSON output lists every item."""
    notices: list[str] = []
    present = [s for s in scopes if not s.missing]
    if coverage.in_use is not None:
        listed = sum(s.listed for s in present)
        in_use = listed - sum(s.not_in_use for s in present)
        notices.append(
            f"--in-use {coverage.in_use}: {coverage.task_definitions} task definitions "
            f"read; {in_use} of {listed} images in {len(present)} repositories are in use"
        )
        if coverage.skipped:
            notices.append(
                f"--in-use: {len(coverage.skipped)} referenced images skipped (not in "
                f"ECR, or not parseable): {_named(n.image for n in coverage.skipped)}"
            )
        if coverage.out_of_scope:
            notices.append(
                f"--in-use: {len(coverage.out_of_scope)} referenced images out of scope "
                f"(other accounts or regions): "
                f"{_named(n.image for n in coverage.out_of_scope)}"
            )
        references = [ref for s in scopes for ref in unmatched_references(s)]
        if references:
            notices.append(
                f"--in-use: {len(references)} references match no image: {_named(references)}"
            )
    if coverage.pulled_within is not None:
        never = sum(s.never_pulled for s in present)
        stale = sum(s.not_pulled_recently for s in present)
        notices.append(
            f"--pulled-within {coverage.pulled_within}: left out {never} images never "
            f"pulled and {stale} not pulled within {coverage.pulled_within}"
        )
    return notices


def unmatched_references(scope: RepoScope) -> list[str]:
    """``repo:tag`` / ``repo@digest`` for each reference no image carries; a missing
    repository is named once."""
    if scope.missing:
        return [f"{scope.repository} (no such repository)"]
    return [f"{scope.repository}:{t}" for t in scope.unmatched_tags] + [
        f"{scope.repository}@{d}" for d in scope.unmatched_digests
    ]


def _named(names: Iterable[str]) -> str:
    items = list(names)
    shown = ", ".join(items[:MAX_NAMED])
    more = len(items) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")
