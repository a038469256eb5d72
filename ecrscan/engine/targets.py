"""Runs over targets: every (account, region) of one run, with ECS in-use discovery first.

:meth:`Audit.rescan` and :meth:`Audit.report` are what the CLI calls.  Both go through
:func:`over_targets`, which

1. resolves the targets (the connections' ``targets`` of :meth:`Plan.query`): the
   caller's credentials and each role, times each region.  STS is asked
   (``GetCallerIdentity``, and ``AssumeRole`` per role) only when a role, ``in_use`` or
   several regions need the account; a plain one-region run makes no STS call;
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
:class:`~ecrscan.aws.throttle.Throttle`, shared by its ECR and ECS gateways (the
connections see to it), because AWS rate limits are per account and region.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from ecrscan.core.coverage import Coverage, TargetOutcome
from ecrscan.core.inuse import InUseSet
from ecrscan.core.model import CacheUse, Listed, ReportResult, RescanResult, ScanType
from ecrscan.core.problem import Problem
from ecrscan.core.scope import ImageScope
from ecrscan.core.targets import Target, TargetFailure, TargetKey, target_key
from ecrscan.core.words import calls_text
from ecrscan.engine.discovery import discover_targets
from ecrscan.engine.fanout import run_per_target
from ecrscan.engine.plan import InUseMode, Plan, scope_for
from ecrscan.engine.ports import Connections
from ecrscan.engine.report import ReportSettings, build_report, expired_rules
from ecrscan.engine.rescan import RescanSettings, rescan
from ecrscan.engine.runner import Event, ProgressCallback
from ecrscan.engine.wait import Pacing

log = logging.getLogger("ecrscan")


R = TypeVar("R", RescanResult, ReportResult)


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
        several (a notice of the whole run, such as an expired ignore rule, is given
        once by the run itself, not by each target)."""
        multi = len(self.coverage.targets) > 1
        return tuple(
            f"{_label(target)}: {notice}" if multi else notice
            for target, result in self.runs
            for notice in result.notices
        )

    @property
    def region(self) -> str | None:
        """The one region of every target; ``None`` when they span several."""
        regions = {t.region for t in self.coverage.targets}
        return regions.pop() if len(regions) == 1 else None

    def merged(self, notices: Sequence[str] = ()) -> dict[str, Any]:
        """The fields every merged result has: notices (the run's own ``notices`` first,
        then the targets'), region, scopes, coverage, the signal that stopped the run, if
        one did, and the artifacts counted over every target."""
        return {
            "notices": (*notices, *self.notices()),
            "region": self.region,
            "scopes": tuple(s for r in self.results for s in r.scopes),
            "coverage": self.coverage,
            "interrupted": next((r.interrupted for r in self.results if r.interrupted), ""),
            "artifacts": dict(sum((Counter(r.artifacts) for r in self.results), Counter())),
            "listed": _listed(self.results),
        }


@dataclass
class _Prepared:
    targets: list[Target]
    failures: list[tuple[TargetKey, str, Problem]] = field(default_factory=list)
    in_use: InUseSet | None = None


def _cache_use(results: Sequence[RescanResult], settings: RescanSettings) -> CacheUse | None:
    """The scan-date cache's reads saved over every target (None: no cache)."""
    if settings.cache is None:
        return None
    saved = sum(r.cache.reads_saved for r in results if r.cache is not None)
    return CacheUse(saved, settings.cache.location)


def over_targets(
    connections: Connections,
    plan: Plan,
    now: datetime,
    work: Callable[[Target, ImageScope | None], R],
) -> TargetRuns[R]:
    """Resolve the plan's targets, discover what is in use, and run ``work(target,
    scope)`` once per target; failures of any stage are values in the coverage."""
    prepared = _prepare(connections, plan, now)
    runs, failed = run_per_target(
        prepared.targets,
        lambda target: work(target, scope_for(target, plan, prepared.in_use)),
        parallel=plan.parallel_targets(connections.concurrency),
    )
    for target in prepared.targets:
        where = "" if len(prepared.targets) == 1 else f" ({_label(target)})"
        log.info("AWS calls%s: %s", where, calls_text(connections.calls(target)))
    return TargetRuns(runs, _coverage(plan, prepared, runs, failed))


def _prepare(connections: Connections, plan: Plan, now: datetime) -> _Prepared:
    targets, unreachable = connections.targets(plan.query(now))
    prepared = _Prepared(targets, [(target_key(f), "credentials", f.problem) for f in unreachable])
    if plan.in_use is None:
        return prepared
    found = discover_targets(
        targets,
        connections.ecs,
        services_only=plan.in_use is InUseMode.ECS_SERVICES,
        unreachable=unreachable,
        hints=plan.scope_hints,
        concurrency=connections.concurrency,
    )
    prepared.in_use = found.in_use
    prepared.failures += [(target_key(f), "discovery", f.problem) for f in found.failures]
    return prepared


class _Cumulative:
    """Progress over several targets: repository totals add up instead of replacing."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._repositories = 0
        self._lock = threading.Lock()  # targets run side by side

    def __call__(self, event: Event, amount: int) -> None:
        if self._callback is None:
            return
        with self._lock:
            if event is Event.REPOSITORIES:
                self._repositories += amount
                amount = self._repositories
            self._callback(event, amount)


# -- the two commands ------------------------------------------------------------------


@dataclass
class Audit:
    """One run over every target of a plan: :meth:`rescan` or :meth:`report` each target,
    one merged result, through the run's ``connections``; ``progress`` adds up over
    the targets."""

    connections: Connections
    plan: Plan
    now: datetime
    progress: ProgressCallback | None = None

    def rescan(self, settings: RescanSettings) -> RescanResult:
        """``rescan`` over every target."""
        connections, notify = self.connections, _Cumulative(self.progress)

        def work(target: Target, scope: ImageScope | None) -> RescanResult:
            scoped = replace(settings, scope=scope)
            return rescan(connections.ecr(target), self.now, scoped, notify)

        done = over_targets(connections, self.plan, self.now, work)
        scan_types = {r.scan_type for r in done.results}
        return RescanResult(
            repositories=tuple(repo for r in done.results for repo in r.repositories),
            started_at=self.now,
            expiry=settings.expiry.text,
            dry_run=settings.dry_run,
            scan_type=ScanType.ENHANCED if scan_types == {ScanType.ENHANCED} else ScanType.BASIC,
            cache=_cache_use(done.results, settings),
            **done.merged(),
        )

    def report(
        self,
        settings: ReportSettings,
        pacing: Pacing | None = None,
    ) -> ReportResult:
        """A registry ``report`` over every target.  The ``wait`` timeout is one deadline
        for the whole run, not one per target."""
        connections, notify = self.connections, _Cumulative(self.progress)
        pacing = pacing or Pacing()
        clock = pacing.clock
        deadline = clock() + max(0.0, settings.timeout)
        active, notices = expired_rules(settings.ignore_rules, self.now)  # once for the run

        def work(target: Target, scope: ImageScope | None) -> ReportResult:
            left = max(0.0, deadline - clock())
            scoped = replace(settings, scope=scope, timeout=left, ignore_rules=active)
            return build_report(
                lambda region, registry_id: connections.ecr(target, registry_id),
                self.now,
                scoped,
                progress=notify,
                pacing=pacing,
            )

        done = over_targets(connections, self.plan, self.now, work)
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
            **done.merged(notices),
        )


# -- coverage --------------------------------------------------------------------------


def _coverage(
    plan: Plan,
    prepared: _Prepared,
    runs: Sequence[tuple[Target, RescanResult | ReportResult]],
    failed: Sequence[TargetFailure],
) -> Coverage:
    # A plain run's target has no account (no STS call): its registry id says it.
    found = {target_key(t): (result.account, result.region or "") for t, result in runs}
    errors: dict[TargetKey, list[tuple[str, Problem]]] = {
        target_key(t): [] for t in prepared.targets
    }
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
        pulled_within=plan.pulled_within.text if plan.pulled_within else None,
        task_definitions=in_use.task_definitions if in_use else 0,
        skipped=in_use.skipped if in_use else (),
        out_of_scope=in_use.out_of_scope if in_use else (),
        unreadable=in_use.failures if in_use else (),
    )


def _listed(results: Sequence[RescanResult | ReportResult]) -> Listed | None:
    """The repositories listed over every target (None when none was listed)."""
    counts = [r.listed for r in results if r.listed is not None]
    return sum(counts[1:], counts[0]) if counts else None


def _label(target: Target) -> str:
    return target.label if target.account else target.region
