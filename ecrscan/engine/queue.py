"""Queueing rescan jobs, the flow ``rescan --via-queue`` and the repositories function
share: plan the jobs (a :class:`JobPlan`), send them (:func:`queue_jobs`, through a
:class:`~ecrscan.engine.ports.JobSender`), and account for every one (:class:`QueueRun`).

:func:`plan_jobs` plans one job per (account, region, repository) the run covers, each
carrying what the images function needs to reach that registry (its account as
``registryId``, its ``region``, and the role to assume, if any).

The targets come from the plan as for any rescan (the caller's credentials, roles, the
organization, every enabled region); each target's repositories are listed side by side,
and a target that cannot be reached or listed is a failure value, not the end of the run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ecrscan.core.jobs import SendReport, parse_job, repository_jobs
from ecrscan.core.model import QueuedJobs, Repository
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.targets import Target, TargetFailure
from ecrscan.engine.fanout import run_per_target
from ecrscan.engine.plan import Plan
from ecrscan.engine.ports import Connections, JobSender
from ecrscan.engine.registry import list_repositories

_QUEUE_URL = re.compile(r"^https?://sqs[.-]([a-z]{2,}(?:-[a-z]+)+-[0-9]+)\.", re.ASCII)


def queue_region(queue_url: str) -> str | None:
    """The region of an SQS queue URL (``https://sqs.eu-west-1.amazonaws.com/...``);
    ``None`` for a URL that does not say (a local endpoint)."""
    match = _QUEUE_URL.match(queue_url)
    return match.group(1) if match else None


@dataclass(frozen=True)
class JobPlan:
    """The job bodies, how many repositories they cover, and the targets not covered."""

    bodies: tuple[str, ...]
    repositories: int
    failures: tuple[TargetFailure, ...] = ()
    accounts: int = 0  # the accounts reached

    @classmethod
    def of_repositories(cls, repositories: Sequence[Repository], expiry: str | None) -> JobPlan:
        """One job per repository of one registry, reached with the caller's own
        credentials in the consumer's region."""
        return cls(tuple(repository_jobs(repositories, expiry)), len(repositories))


@dataclass(frozen=True)
class QueueRun:
    """What queueing did: the jobs planned, and what the queue made of them."""

    jobs: JobPlan
    report: SendReport

    @property
    def incomplete(self) -> bool:
        """A job was not queued, or a target's repositories were not listed."""
        return bool(self.report.failed or self.jobs.failures)

    def not_queued(self) -> tuple[tuple[str, str, str], ...]:
        """``(repository, code, message)`` of each job the queue refused."""
        return tuple(
            (parse_job(f.body).repository_name, f.code, f.message) for f in self.report.failed
        )

    def not_listed(self) -> tuple[tuple[str, str, str], ...]:
        """``(account/region, code, message)`` of each target not listed."""
        return tuple((f.label, f.problem.code, f.problem.message) for f in self.jobs.failures)

    def queued_jobs(self, queue_url: str, region: str | None, expiry: str | None) -> QueuedJobs:
        """The result ``rescan --via-queue`` renders."""
        return QueuedJobs(
            queue_url=queue_url,
            region=region,
            expiry=expiry,
            repositories=self.jobs.repositories,
            sent=self.report.sent,
            retried=self.report.retried,
            failed=self.not_queued(),
            failed_targets=self.not_listed(),
        )


def queue_jobs(jobs: JobPlan, sender: JobSender) -> QueueRun:
    """Send every job of ``jobs`` to the queue; each one comes back accounted for (sent,
    or refused with the queue's reason) in the :class:`QueueRun`."""
    return QueueRun(jobs, sender.send(jobs.bodies))


def plan_jobs(
    connections: Connections,
    plan: Plan,
    now: datetime,
    repo_filter: RepositoryFilter,
    expiry: str | None,
    home: str | None = None,
) -> JobPlan:
    """One job per repository of every target of ``plan`` that ``repo_filter`` keeps;
    a job names its region only when it is not ``home`` (the consumer's region: the
    jobs queue's), so jobs of the consumer's own region stay as older consumers read
    them."""
    targets, unreachable = connections.targets(plan.query(now))

    def jobs_of(target: Target) -> list[str]:
        repositories = list_repositories(connections.ecr(target), repo_filter)
        region = target.region if target.region and target.region != home else None
        return repository_jobs(
            repositories, expiry, role_arn=target.role_arn or None, region=region
        )

    done, failed = run_per_target(
        targets, jobs_of, parallel=plan.parallel_targets(connections.concurrency)
    )
    bodies = tuple(body for _, jobs in done for body in jobs)
    accounts = len({target.account for target, _ in done})
    return JobPlan(bodies, len(bodies), (*unreachable, *failed), accounts)
