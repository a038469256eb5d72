"""Jobs for the images in use: what the repositories function queues with ECS discovery.

:func:`plan_in_use_jobs` discovers, in each target (the function's own account and each
role's account, one region), the images ACTIVE ECS task definitions reference, merged
(:func:`ecrscan.engine.discovery.discover_targets`, as the CLI does), and turns each
referenced repository into jobs that name its images by digest (tags resolved through ECR
now, by :meth:`~ecrscan.aws.ecr.EcrGateway.find_images`), carrying the role to assume
when the repository lives in another account (:func:`ecrscan.core.jobs.image_jobs`).

Everything that gets no job is a value in the :class:`InUsePlan`, with its reason: images
that are not ECR, out of scope, in repositories the filter leaves out or that do not
exist, references no image carries, and the targets, task definitions and repositories
that could not be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecrscan.core.errors import AwsError
from ecrscan.core.inuse import NO_HINTS, InUseSet, RepoKey, RepoUse, ScopeHints
from ecrscan.core.jobs import image_jobs
from ecrscan.core.model import Repository
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.problem import Problem
from ecrscan.core.targets import Target, TargetFailure
from ecrscan.engine.discovery import discover_targets
from ecrscan.engine.fanout import run_per_target
from ecrscan.engine.ports import EcrReads, EcsReads
from ecrscan.engine.registry import list_repositories

# (ECR gateway, ECS gateway) for one target
GatewaysFor = Callable[[Target], tuple[EcrReads, EcsReads]]


@dataclass(frozen=True)
class InUsePlan:
    """The jobs for the images in use, and everything that got none, with its reason."""

    jobs: tuple[str, ...] = ()
    repositories: tuple[RepoKey, ...] = ()  # repositories with at least one job
    images: int = 0  # image digests named by the jobs
    in_use: InUseSet = field(default_factory=InUseSet)
    accounts: tuple[str, ...] = ()  # the accounts whose task definitions were read
    filtered_out: tuple[RepoKey, ...] = ()  # in use, but the repository filter leaves them out
    missing_repositories: tuple[RepoKey, ...] = ()  # referenced, but no such repository
    # references no image carries (":tag" or "@digest")
    not_found: tuple[tuple[RepoKey, str], ...] = ()
    target_failures: tuple[TargetFailure, ...] = ()  # accounts/regions not covered
    repository_failures: tuple[tuple[RepoKey, Problem], ...] = ()  # images not looked up

    @property
    def incomplete(self) -> bool:
        """Part of the in-use set could not be read, or could not be turned into jobs."""
        return bool(self.target_failures or self.in_use.failures or self.repository_failures)

    def summary(self) -> dict[str, Any]:
        """Counts for the function's return value (lists are in :meth:`details`)."""
        return {
            "accounts": list(self.accounts),
            "taskDefinitions": self.in_use.task_definitions,
            "inUseRepositories": len(self.in_use.repositories),
            "images": self.images,
            "skipped": len(self.in_use.skipped),
            "outOfScope": len(self.in_use.out_of_scope),
            "filteredOut": len(self.filtered_out),
            "missingRepositories": len(self.missing_repositories),
            "notFound": len(self.not_found),
            "failures": len(self.failures()),
        }

    def details(self) -> dict[str, Any]:
        """What got no job and why, for the log line."""
        return {
            "skippedImages": [_skipped(s) for s in self.in_use.skipped],
            "outOfScopeImages": [_skipped(s) for s in self.in_use.out_of_scope],
            "filteredOutRepositories": [_key(k) for k in self.filtered_out],
            "missingRepositories": [_key(k) for k in self.missing_repositories],
            "notFound": [f"{_key(k)}{ref}" for k, ref in self.not_found],
            "failures": self.failures(),
        }

    def failures(self) -> list[str]:
        found = [
            f"{f.label}{f' ({f.role_arn})' if f.role_arn else ''}: {f.problem}"
            for f in self.target_failures
        ]
        found += [f"task definition {arn}: {problem}" for arn, problem in self.in_use.failures]
        found += [f"repository {_key(k)}: {problem}" for k, problem in self.repository_failures]
        return found


def plan_in_use_jobs(
    targets: Sequence[Target],
    gateways_for: GatewaysFor,
    repo_filter: RepositoryFilter,
    *,
    expiry: str | None = None,
    failures: Iterable[TargetFailure] = (),
    hints: ScopeHints = NO_HINTS,
) -> InUsePlan:
    """Discover the images in use in every target and plan one job per repository (per
    :data:`~ecrscan.core.jobs.IMAGES_PER_JOB` images).  ``failures``: targets that could not
    even be reached (role not assumed), carried into the plan.  Discovery is the CLI's
    (:func:`~ecrscan.engine.discovery.discover_targets`): every target's registry is in scope.
    A target whose ECS or ECR listing fails becomes a failure too; the others are still
    planned."""
    failures = tuple(failures)
    gateways = {t: gateways_for(t) for t in targets}
    found = discover_targets(
        targets,
        lambda t: gateways[t][1],
        services_only=False,
        unreachable=failures,
        hints=hints,
    )

    def repositories(target: Target) -> dict[str, Repository]:
        return {r.name: r for r in list_repositories(gateways[target][0], RepositoryFilter())}

    done, unlisted = run_per_target(targets, repositories)
    covered = {(t.account, t.region): (t, listed) for t, listed in done}
    plan = _Planner(expiry)
    for key, use in found.in_use.repositories.items():
        entry = covered.get((key.account, key.region))
        if entry is None:
            continue  # its account's target failed: named in the target failures
        target, listed = entry
        if not repo_filter.matches(key.repository):
            plan.filtered_out.append(key)
        elif key.repository not in listed:
            plan.missing.append(key)
        else:
            plan.add(key, use, target, listed[key.repository], gateways[target][0])
    return InUsePlan(
        jobs=tuple(plan.jobs),
        repositories=tuple(plan.with_jobs),
        images=plan.images,
        in_use=found.in_use,
        accounts=tuple(dict.fromkeys(t.account for t in found.read)),
        filtered_out=tuple(plan.filtered_out),
        missing_repositories=tuple(plan.missing),
        not_found=tuple(plan.not_found),
        target_failures=(*failures, *found.failures, *unlisted),
        repository_failures=tuple(plan.repository_failures),
    )


@dataclass
class _Planner:
    """The jobs planned so far, and what got none."""

    expiry: str | None
    jobs: list[str] = field(default_factory=list)
    with_jobs: list[RepoKey] = field(default_factory=list)
    images: int = 0
    filtered_out: list[RepoKey] = field(default_factory=list)
    missing: list[RepoKey] = field(default_factory=list)
    not_found: list[tuple[RepoKey, str]] = field(default_factory=list)
    repository_failures: list[tuple[RepoKey, Problem]] = field(default_factory=list)

    def add(
        self, key: RepoKey, use: RepoUse, target: Target, repository: Repository, ecr: EcrReads
    ) -> None:
        """Jobs for the images of one repository that the in-use references name."""
        try:
            lookup = ecr.find_images(repository, _image_ids(use))
        except AwsError as exc:
            self.repository_failures.append((key, exc.problem))
            return
        self.not_found.extend((key, _reference(i.digest, i.tags)) for i in lookup.missing)
        digests = {image.digest for image in lookup.images}
        if digests:
            self.jobs.extend(image_jobs(repository, digests, self.expiry, target.role_arn or None))
            self.with_jobs.append(key)
            self.images += len(digests)


def _image_ids(use: RepoUse) -> list[dict[str, str]]:
    return [{"imageDigest": d} for d in sorted(use.digests)] + [
        {"imageTag": t} for t in sorted(use.tags)
    ]


def _reference(digest: str, tags: tuple[str, ...]) -> str:
    return f"@{digest}" if digest else f":{tags[0]}"


def _key(key: RepoKey) -> str:
    return f"{key.account}/{key.region}/{key.repository}"


def _skipped(item: Any) -> dict[str, Any]:
    return {
        "image": item.image,
        "reason": item.reason,
        "taskDefinitions": list(item.task_definitions),
    }
