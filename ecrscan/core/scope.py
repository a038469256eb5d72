"""Image scope: which of a registry's images a run audits (pure; no clock of its own).

The engines apply an :class:`ImageScope` after listing: first the repositories the in-use
set names, then per repository the images it references (a tag selects the image that
carries it now, a digest the image with that digest), then pull recency.  Whatever the
scope leaves out is counted in a :class:`~ecrscan.core.model.RepoScope` per repository, and
references that match nothing (a deleted tag, a missing repository) are recorded there
too: never dropped silently.

The scope knows nothing about ECS or STS: the in-use map is a plain value
(repository name -> :class:`~ecrscan.core.inuse.RepoUse`) that the fan-out
(:mod:`ecrscan.engine.fanout`) builds per target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta

from ecrscan.core.coverage import RepoScope
from ecrscan.core.inuse import RepoUse, select_images, unmatched
from ecrscan.core.model import Image, Repository
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.recency import pulled_within


@dataclass(frozen=True)
class ImageScope:
    """``in_use``: repository name -> what ECS references there; ``None`` means every
    repository and image (no in-use limit).  ``pulled_within``: keep images whose
    ``lastRecordedPullTime`` is at or after ``now - pulled_within``.  ``account``: the
    registry the in-use map belongs to (names the repositories that do not exist)."""

    in_use: Mapping[str, RepoUse] | None = None
    pulled_within: relativedelta | timedelta | None = None
    account: str = ""

    @property
    def active(self) -> bool:
        return self.in_use is not None or self.pulled_within is not None


def select_repositories(
    repositories: Sequence[Repository],
    scope: ImageScope | None,
    repo_filter: RepositoryFilter,
    region: str = "",
) -> tuple[list[Repository], list[RepoScope]]:
    """The repositories to audit, and a ``missing`` entry for each repository the in-use
    set names that does not exist (and that the filter would have kept)."""
    if scope is None or scope.in_use is None:
        return list(repositories), []
    present = {r.name for r in repositories}
    kept = [r for r in repositories if r.name in scope.in_use]
    missing = [
        RepoScope(
            repository=name,
            registry_id=scope.account,
            region=region,
            unmatched_tags=tuple(sorted(use.tags)),
            unmatched_digests=tuple(sorted(use.digests)),
            task_definitions=tuple(sorted(use.task_definitions)),
            missing=True,
        )
        for name, use in sorted(scope.in_use.items())
        if name not in present and repo_filter.matches(name)
    ]
    return kept, missing


def apply_scope(
    repository: Repository,
    images: Iterable[Image],
    scope: ImageScope | None,
    now: datetime,
    region: str = "",
) -> tuple[list[Image], RepoScope | None]:
    """The images of ``repository`` the scope keeps (in the order given) and what it left
    out; ``None`` for the record when there is no scope."""
    listed = list(images)
    if scope is None or not scope.active:
        return listed, None
    kept = listed
    missing = RepoUse()
    if scope.in_use is not None:
        use = scope.in_use.get(repository.name, RepoUse())
        kept = select_images(listed, use)
        missing = unmatched(listed, use)
    never = stale = 0
    if scope.pulled_within is not None:
        kept, never, stale = pulled_within(kept, now, scope.pulled_within)
    record = RepoScope(
        repository=repository.name,
        registry_id=repository.registry_id,
        region=region,
        listed=len(listed),
        not_in_use=len(listed) - (len(kept) + never + stale),
        never_pulled=never,
        not_pulled_recently=stale,
        unmatched_tags=tuple(sorted(missing.tags)),
        unmatched_digests=tuple(sorted(missing.digests)),
        task_definitions=tuple(sorted(missing.task_definitions)),
    )
    return kept, record
