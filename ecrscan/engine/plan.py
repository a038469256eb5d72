"""What one run covers, checked before any AWS call (:class:`Plan`), and the targets
it resolves to (:func:`plan_targets`): the caller's credentials, each role, the
organization's accounts, times each region."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecrscan.aws.clients import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_TIMEOUTS,
    Timeouts,
)
from ecrscan.aws.errors import NoRegionError
from ecrscan.aws.sts import resolve_targets
from ecrscan.core.durations import Duration
from ecrscan.core.inuse import NO_HINTS, InUseSet, ScopeHints
from ecrscan.core.organization import OrgScope
from ecrscan.core.scope import ImageScope
from ecrscan.core.targets import Target, TargetFailure, default_session_name
from ecrscan.engine.organization import Reach, organization_targets


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
    pulled_within: Duration | None = None
    endpoint_url: str | None = None
    timeouts: Timeouts = DEFAULT_TIMEOUTS
    concurrency: int = DEFAULT_CONCURRENCY
    session_name: str | None = None  # default: ecrscan-<version>-<the run's now, UTC>
    organization: OrgScope | None = None  # every account of the organization (or OUs)
    all_regions: bool = False  # every region each account has enabled
    # AWS calls in flight over the whole run: targets run side by side, each with
    # ``concurrency`` workers, as many as fit (at least one).
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    # How an out-of-scope image's reason says to bring it into scope, in the caller's
    # words (the CLI names its options); empty: no advice.
    scope_hints: ScopeHints = NO_HINTS

    @property
    def needs_identity(self) -> bool:
        """Whether the caller's account must be known: to assume roles, to tell "our"
        images from other accounts' (``in_use``), or to name the account of each of
        several regions."""
        return bool(
            self.role_arns
            or self.in_use is not None
            or len(self.regions) > 1
            or self.organization is not None
            or self.all_regions
        )

    @property
    def parallel_targets(self) -> int:
        """How many targets run side by side."""
        return max(1, self.max_concurrency // max(1, self.concurrency))


def plan_targets(
    base_session: Any, plan: Plan, now: datetime
) -> tuple[list[Target], list[TargetFailure]]:
    """The targets of the plan and the ones that could not be reached.  Without a need
    for the account (:attr:`Plan.needs_identity`) the single target's account is ""
    and no STS call is made (its account and region are read off the results).  Roles
    are assumed with :attr:`Plan.session_name`, by default one naming ecrscan and
    ``now``.  Raises ``NoRegionError`` when no region is known."""
    if plan.organization is not None or plan.all_regions:
        reach = Reach(
            regions=plan.regions,
            all_regions=plan.all_regions,
            session_name=plan.session_name or default_session_name(now),
            endpoint_url=plan.endpoint_url,
            timeouts=plan.timeouts,
            parallel=plan.concurrency,
        )
        return organization_targets(base_session, plan.organization, plan.role_arns, reach)
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
        pulled_within=plan.pulled_within.delta if plan.pulled_within else None,
        account=target.account,
    )
