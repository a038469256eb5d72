"""What one run covers, checked before any AWS call (:class:`Plan`), and the query its
targets are resolved from (:meth:`Plan.query`, answered by the connections: the
caller's credentials, each role, the organization's accounts, times each region)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from ecrscan.core.control import DEFAULT_MAX_CONCURRENCY
from ecrscan.core.durations import Duration
from ecrscan.core.inuse import NO_HINTS, InUseSet, ScopeHints
from ecrscan.core.organization import OrgScope
from ecrscan.core.scope import ImageScope
from ecrscan.core.targets import Target, TargetQuery, default_session_name


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
    session_name: str | None = None  # default: ecrscan-<version>-<the run's now, UTC>
    organization: OrgScope | None = None  # every account of the organization (or OUs)
    all_regions: bool = False  # every region each account has enabled
    # AWS calls in flight over the whole run: targets run side by side, each with the
    # run's concurrency (its connections') of workers, as many as fit (at least one).
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

    def query(self, now: datetime) -> TargetQuery:
        """The targets to resolve; roles are assumed with :attr:`session_name`, by
        default one naming ecrscan and ``now``."""
        return TargetQuery(
            regions=self.regions,
            role_arns=self.role_arns,
            organization=self.organization,
            all_regions=self.all_regions,
            needs_identity=self.needs_identity,
            session_name=self.session_name or default_session_name(now),
        )

    def parallel_targets(self, concurrency: int) -> int:
        """How many targets run side by side, each with ``concurrency`` workers."""
        return max(1, self.max_concurrency // max(1, concurrency))


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
