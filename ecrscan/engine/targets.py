"""Runs over targets: every (account, region) of one run, with ECS in-use discovery first.

:meth:`Audit.rescan` and :meth:`Audit.report` are what the CLI calls.  Both go through
:func:`over_targets`, which

1. resolves the targets (:func:`plan_targets`): the caller's credentials and each role,
   times each region.  STS is asked (``GetCallerIdentity``, and ``AssumeRole`` per role)
   only when a role, ``in_use`` or several regions need the account; a plain one-region
   run makes no STS call;
2. with ``in_use``, discovers in every target the images ECS uses and merges the sets,
   since a task definition in one account may run an image of another
   (:func:`ecrscan.engine.discovery.discover_targets`, which the Lambda functions use
   too);
3. runs the engine once per target with that target's
   :class:`~ecrscan.core.scope.ImageScope` (the engines know nothing of ECS or STS),
   through the one fan-out (:func:`ecrscan.engine.fanout.run_per_target`);
4. records in a :class:`~ecrscan.core.model.Coverage` every target, every failure and
   what discovery skipped; each command merges its per-target results into one.

A failing target (credentials, discovery or audit) never stops the others: its error is
a value in the coverage and makes the result incomplete.  Each target has its own
:class:`~ecrscan.aws.throttle.Throttle`, shared by its ECR and ECS gateways, because AWS
rate limits are per account and region.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from dateutil.relativedelta import relativedelta

from ecrscan.aws.clients import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUTS, Timeouts
from ecrscan.aws.errors import NoRegionError
from ecrscan.aws.gateways import Gateways, Key, target_key
from ecrscan.aws.sts import resolve_targets
from ecrscan.core.coverage import Coverage, TargetOutcome
from ecrscan.core.inuse import NO_HINTS, InUseSet, ScopeHints
from ecrscan.core.model import ReportResult, RescanResult, ScanType
from ecrscan.core.problem import Problem
from ecrscan.core.scope import ImageScope
from ecrscan.core.targets import Target, TargetFailure, default_session_name
from ecrscan.engine.discovery import discover_targets
from ecrscan.engine.fanout import run_per_target
from ecrscan.engine.report import ReportSettings, Watch, build_report
from ecrscan.engine.rescan import RescanSettings, rescan
from ecrscan.engine.runner import Event, ProgressCallback

log = logging.getLogger("ecrscan")

R = TypeVar("R", RescanResult, ReportResult)


class InUseMode(enum.StrEnum):
    """Which task definitions count as "in use"."""

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
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    concurrency: int = DEFAULT_CONCURRENCY
    session_name: str | None = None  # default: ecrscan-<version>-<the run's now, UTC>
    # How an out-of-scope image's reason says to bring it into scope, in the caller's
    # words (the CLI names its options); empty: no advice.
    scope_hints: ScopeHints = NO_HINTS

    @property
    def needs_identity(self) -> bool:
        """Whether the caller's account must be known: to assume roles, to tell "our"
        images from other accounts' (``in_use``), or to name the account of each of
        several regions."""
        return bool(self.role_arns or self.in_use is not None or len(self.regions) > 1)


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
            base_session,
            plan.regions,
            plan.role_arns,
            session_name=plan.session_name or default_session_name(now),
            endpoint_url=plan.endpoint_url,
            timeouts=plan.timeouts,
        )
    # A session-like object without ``region_name`` leaves the region to its clients.
    region = plan.regions[0] if plan.regions else getattr(base_session, "region_name", "")
    if region is None:
        raise NoRegionError()
    return [Target("", region, base_session)], []


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


@dataclass
class TargetRuns(Generic[R]):
    """What :func:`over_targets` produced: each reached target's result, and the
    coverage of the whole run."""

    runs: list[tuple[Target, R]]
    coverage: Coverage

    @property
    def results(self) -> list[R]:
        return [result for _, result in self.runs]

    def notices(self) -> tuple[str, ...]:
        """The targets' notices, each labelled with its target when the run had
        several; a notice every target gave (an expired ignore rule) is listed once,
        unlabelled."""
        multi = len(self.coverage.targets) > 1
        every = multi and len(self.runs) == len(self.coverage.targets)
        common = set.intersection(*(set(r.notices) for r in self.results)) if every else set()
        notices = [n for n in self.runs[0][1].notices if n in common] if common else []
        notices += [
            f"{_label(target)}: {notice}" if multi else notice
            for target, result in self.runs
            for notice in result.notices
            if notice not in common
        ]
        return tuple(notices)

    @property
    def region(self) -> str | None:
        """The one region of every target; ``None`` when they span several."""
        regions = {t.region for t in self.coverage.targets}
        return regions.pop() if len(regions) == 1 else None

    def merged(self) -> dict[str, Any]:
        """The fields every merged result has: notices, region, scopes, coverage, and
        the signal that stopped the run, if one did."""
        return {
            "notices": self.notices(),
            "region": self.region,
            "scopes": tuple(s for r in self.results for s in r.scopes),
            "coverage": self.coverage,
            "interrupted": next((r.interrupted for r in self.results if r.interrupted), ""),
        }


@dataclass
class _Prepared:
    targets: list[Target]
    failures: list[tuple[Key, str, Problem]] = field(default_factory=list)
    in_use: InUseSet | None = None


def over_targets(
    base_session: Any,
    plan: Plan,
    now: datetime,
    gateways: Gateways,
    work: Callable[[Target, ImageScope | None], R],
) -> TargetRuns[R]:
    """Resolve the plan's targets, discover what is in use, and run ``work(target,
    scope)`` once per target; failures of any stage are values in the coverage."""
    prepared = _prepare(base_session, plan, gateways, now)
    runs, failed = run_per_target(
        prepared.targets, lambda target: work(target, scope_for(target, plan, prepared.in_use))
    )
    for target in prepared.targets:
        where = "" if len(prepared.targets) == 1 else f" ({_label(target)})"
        log.info("AWS calls%s: %s", where, gateways.calls(target))
    return TargetRuns(runs, _coverage(plan, prepared, runs, failed))


def _prepare(base_session: Any, plan: Plan, gateways: Gateways, now: datetime) -> _Prepared:
    targets, unreachable = plan_targets(base_session, plan, now)
    prepared = _Prepared(targets, [(target_key(f), "credentials", f.problem) for f in unreachable])
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
    prepared.failures += [(target_key(f), "discovery", f.problem) for f in found.failures]
    return prepared


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


@dataclass
class Audit:
    """One run over every target of a plan: :meth:`rescan` or :meth:`report` each target,
    one merged result.  ``gateways``: each target's gateways (built from the plan when
    not given); ``progress`` adds up over the targets."""

    base_session: Any
    plan: Plan
    now: datetime
    gateways: Gateways | None = None
    progress: ProgressCallback | None = None

    def rescan(self, settings: RescanSettings) -> RescanResult:
        """``rescan`` over every target."""
        gateways, notify = self._gateways(), _Cumulative(self.progress)

        def work(target: Target, scope: ImageScope | None) -> RescanResult:
            scoped = replace(settings, scope=scope)
            return rescan(gateways.ecr(target), self.now, scoped, notify)

        done = over_targets(self.base_session, self.plan, self.now, gateways, work)
        scan_types = {r.scan_type for r in done.results}
        return RescanResult(
            repositories=tuple(repo for r in done.results for repo in r.repositories),
            started_at=self.now,
            expiry=settings.expiry_text,
            dry_run=settings.dry_run,
            scan_type=ScanType.ENHANCED if scan_types == {ScanType.ENHANCED} else ScanType.BASIC,
            **done.merged(),
        )

    def report(
        self,
        settings: ReportSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        watch: Watch | None = None,
    ) -> ReportResult:
        """A registry ``report`` over every target.  The ``wait`` timeout is one deadline
        for the whole run, not one per target."""
        gateways, notify = self._gateways(), _Cumulative(self.progress)
        deadline = clock() + max(0.0, settings.timeout)

        def work(target: Target, scope: ImageScope | None) -> ReportResult:
            scoped = replace(settings, scope=scope, timeout=max(0.0, deadline - clock()))
            return build_report(
                lambda region, registry_id: gateways.ecr(target, registry_id),
                self.now,
                scoped,
                sleep=sleep,
                clock=clock,
                progress=notify,
                watch=watch,
            )

        done = over_targets(self.base_session, self.plan, self.now, gateways, work)
        multi = len(done.coverage.targets) > 1
        return ReportResult(
            images=tuple(image for r in done.results for image in r.images),
            thresholds=settings.thresholds,
            generated_at=self.now,
            repository_errors=tuple(
                (f"{name} ({_label(target)})" if multi else name, problem)
                for target, r in done.runs
                for name, problem in r.repository_errors
            ),
            details=settings.read_findings,
            **done.merged(),
        )

    def _gateways(self) -> Gateways:
        if self.gateways is None:
            plan = self.plan
            self.gateways = Gateways(plan.endpoint_url, plan.concurrency, timeouts=plan.timeouts)
        return self.gateways


# -- coverage --------------------------------------------------------------------------


def _coverage(
    plan: Plan,
    prepared: _Prepared,
    runs: Sequence[tuple[Target, RescanResult | ReportResult]],
    failed: Sequence[TargetFailure],
) -> Coverage:
    # A plain run's target has no account (no STS call): its registry id says it.
    found = {target_key(t): (result.account, result.region or "") for t, result in runs}
    errors: dict[Key, list[tuple[str, Problem]]] = {target_key(t): [] for t in prepared.targets}
    for key, stage, problem in prepared.failures:
        errors.setdefault(key, []).append((stage, problem))
    for failure in failed:
        errors.setdefault(target_key(failure), []).append(("audit", failure.problem))
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
        skipped=in_use.skipped if in_use else (),
        out_of_scope=in_use.out_of_scope if in_use else (),
        unreadable=in_use.failures if in_use else (),
    )


def _label(target: Target) -> str:
    return target.label if target.account else target.region
