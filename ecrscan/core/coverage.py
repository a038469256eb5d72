"""What a run covered: the targets it reached or not, and what an image scope left out."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ecrscan.core.problem import Problem


@dataclass(frozen=True, slots=True)
class RepoScope:
    """How an image scope (``--in-use``, ``--pulled-within``) narrowed one repository.

    ``listed`` images were found; ``not_in_use``, ``never_pulled`` and
    ``not_pulled_recently`` of them were left out (in that order of tests), the rest
    audited.  ``task_definitions``: the ECS task definitions referencing the repository
    (with ``--in-use``); ``unmatched_tags``/``unmatched_digests``: their references no
    image carries.  ``missing``: the repository itself does not exist, so every
    reference is unmatched.
    """

    repository: str
    registry_id: str = ""
    region: str = ""
    listed: int = 0
    not_in_use: int = 0
    never_pulled: int = 0
    not_pulled_recently: int = 0
    unmatched_tags: tuple[str, ...] = ()
    unmatched_digests: tuple[str, ...] = ()
    task_definitions: tuple[str, ...] = ()
    missing: bool = False

    @property
    def excluded(self) -> int:
        return self.not_in_use + self.never_pulled + self.not_pulled_recently

    @property
    def unmatched(self) -> bool:
        return bool(self.unmatched_tags or self.unmatched_digests)


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    """One (account, region) a run covered or tried to cover.  ``errors`` are
    ``(stage, problem)`` pairs, stage ``credentials`` (STS), ``discovery`` (ECS) or
    ``audit`` (ECR); ``account`` is "" when even the caller's account is unknown."""

    account: str
    region: str
    role_arn: str = ""
    errors: tuple[tuple[str, Problem], ...] = ()

    @property
    def label(self) -> str:
        return f"{self.account or 'unknown account'}/{self.region or 'all regions'}"


class Location(enum.StrEnum):
    """Where a container image lives, seen from one (account, region)."""

    THIS_REGISTRY = "this_registry"  # ECR of this account and region
    OTHER_REGION = "other_region"  # ECR of this account, another region
    OTHER_ACCOUNT = "other_account"  # ECR of another account (any region)
    NOT_ECR = "not_ecr"  # Docker Hub, ghcr.io, ECR Public, any other registry
    INVALID = "invalid"  # not an image reference we can parse


@dataclass(frozen=True, slots=True)
class SkippedImage:
    """A referenced image ecrscan does not audit, why, and the task definitions that
    reference it (always at least one)."""

    image: str
    location: Location
    reason: str
    task_definitions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    """What a run covered: its targets and, with ``--in-use``, what discovery found
    but did not audit.  ``unreadable``: task definitions DescribeTaskDefinition refused
    (the in-use set may miss their images)."""

    targets: tuple[TargetOutcome, ...] = ()
    in_use: str | None = None  # "ecs" or "ecs-services"
    pulled_within: str | None = None  # the --pulled-within text
    task_definitions: int = 0
    skipped: tuple[SkippedImage, ...] = ()  # not ECR, or not parseable
    out_of_scope: tuple[SkippedImage, ...] = ()  # ECR of accounts or regions not covered
    unreadable: tuple[tuple[str, Problem], ...] = ()

    @property
    def failed_targets(self) -> tuple[TargetOutcome, ...]:
        return tuple(t for t in self.targets if t.errors)

    @property
    def incomplete(self) -> bool:
        return bool(self.failed_targets or self.unreadable)

    @property
    def nothing_audited(self) -> bool:
        """Every target failed to be audited (credentials or ECR refused): there is no
        result worth printing.  A target whose discovery alone failed was still
        audited."""
        return all(
            any(stage in ("credentials", "audit") for stage, _ in target.errors)
            for target in self.targets
        )
