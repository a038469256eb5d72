"""In-use discovery: the images ECS task definitions reference, read through an
:class:`~ecrscan.aws.ecs.EcsGateway` and classified by :mod:`ecrscan.core.inuse`.

:func:`discover_in_use` reads one (account, region); :func:`discover_targets` runs it
over every target of a run and merges the sets (the CLI and the Lambda functions both
use it).  Tags are resolved to digests later, by the engines, through the ECR gateway:
a tag names whatever image carries it *now*.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ecrscan.core.errors import AwsError
from ecrscan.core.inuse import NO_HINTS, InUseSet, ScopeHints, build_in_use, merge_in_use
from ecrscan.core.problem import Problem
from ecrscan.core.targets import Target, TargetFailure
from ecrscan.engine.fanout import run_per_target
from ecrscan.engine.ports import EcsReads


def discover_in_use(
    ecs_gateway: EcsReads,
    *,
    services_only: bool,
    account: str,
    region: str,
    role_accounts: Set[str] = frozenset(),
    regions: Set[str] | None = None,
    concurrency: int = 8,
    hints: ScopeHints = NO_HINTS,
) -> InUseSet:
    """The images ECS uses in one (account, region).

    ``services_only=False`` (``--in-use ecs``): every ACTIVE task definition revision.
    ``services_only=True`` (``--in-use ecs-services``): the task definitions of services
    running or wanting tasks (:meth:`EcsGateway.service_task_definitions`), whatever
    their status.  Listing errors raise :class:`~ecrscan.core.errors.AwsError` (the target as a
    whole failed); a task definition that cannot be described is a failure in the result
    and the others are still read, ``concurrency`` at a time.
    """
    if services_only:
        arns = sorted(ecs_gateway.service_task_definitions())
    else:
        arns = list(ecs_gateway.active_task_definitions())
    references: dict[str, tuple[str, ...]] = {}
    platforms: dict[str, str] = {}  # the platform each task definition runs on
    failures: list[tuple[str, Problem]] = []

    def describe(arn: str) -> tuple[str, tuple[tuple[str, ...], str] | Problem]:
        try:
            return arn, ecs_gateway.task_images(arn)
        except AwsError as exc:
            return arn, exc.problem

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for arn, answer in pool.map(describe, arns):
            if isinstance(answer, Problem):
                failures.append((arn, answer))
            else:
                references[arn], platforms[arn] = answer
    found = build_in_use(
        references,
        account=account,
        region=region,
        role_accounts=role_accounts,
        regions=regions,
        hints=hints,
        platforms=platforms,
    )
    return InUseSet(
        found.repositories, found.skipped, found.out_of_scope, tuple(failures), len(arns)
    )


@dataclass(frozen=True)
class TargetsInUse:
    """In-use discovery over the targets of one run, merged."""

    in_use: InUseSet
    read: tuple[Target, ...] = ()  # the targets whose task definitions were listed
    failures: tuple[TargetFailure, ...] = ()  # the targets whose listing failed


def discover_targets(
    targets: Sequence[Target],
    ecs_for: Callable[[Target], EcsReads],
    *,
    services_only: bool,
    unreachable: Iterable[TargetFailure] = (),
    hints: ScopeHints = NO_HINTS,
    concurrency: int = 8,
) -> TargetsInUse:
    """:func:`discover_in_use` in every target (``ecs_for(target)``: its ECS gateway),
    the sets merged: what the CLI and the Lambda functions share.

    In scope: the ECR registries of every account and region the run covers, the
    targets' and the ``unreachable`` ones' (targets whose credentials failed: their
    images are named by that failure, not as out of scope), since a task definition in
    one account may run an image of another.  A target whose listing fails becomes one
    of :attr:`TargetsInUse.failures`; the others are still read.
    """
    unreachable = list(unreachable)
    accounts = {t.account for t in targets} | {f.account for f in unreachable if f.account}
    regions = {t.region for t in targets} | {f.region for f in unreachable}

    def discover(target: Target) -> InUseSet:
        return discover_in_use(
            ecs_for(target),
            services_only=services_only,
            account=target.account,
            region=target.region,
            role_accounts=accounts,
            regions=regions,
            concurrency=concurrency,
            hints=hints,
        )

    done, failed = run_per_target(targets, discover)
    return TargetsInUse(
        merge_in_use(found for _, found in done),
        tuple(target for target, _ in done),
        tuple(failed),
    )
