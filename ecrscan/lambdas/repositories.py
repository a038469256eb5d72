"""The repositories function (scheduled): one rescan job per repository to the jobs
queue (per account and region, with the organization's role or regions); with ECS
discovery, jobs naming exactly the images ECS task definitions use
(:mod:`ecrscan.engine.jobplan`), in this and other accounts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.ecs import EcsGateway
from ecrscan.aws.sqs import JobQueue
from ecrscan.core.inuse import ScopeHints
from ecrscan.core.jobs import SendReport
from ecrscan.core.organization import OrgScope
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.targets import Target, TargetQuery, default_session_name
from ecrscan.core.words import plural
from ecrscan.engine.jobplan import InUsePlan, plan_in_use_jobs
from ecrscan.engine.plan import Plan
from ecrscan.engine.queue import JobPlan, plan_jobs, queue_jobs
from ecrscan.engine.registry import list_repositories
from ecrscan.lambdas import runtime
from ecrscan.lambdas.runtime import ConfigurationError

# What the reason of an out-of-scope image advises, in the function's terms.
SCOPE_HINTS = ScopeHints(
    account="add a role in that account to ECS_DISCOVERY_ROLES to audit it",
    region="the function covers only its own region",
)
OVERRIDES = ("repositoriesFilterRegexp", "jobsQueueUrl", "expiry")


class JobsNotQueued(RuntimeError):
    """SQS refused some jobs even after retries: the scheduled run is incomplete."""


class OrganizationIncomplete(RuntimeError):
    """Some account/region targets (accounts of the organization, regions of
    ``ORGANIZATION_REGIONS``) could not be reached or listed: the jobs for the rest were
    queued, this run is incomplete."""


class DiscoveryIncomplete(RuntimeError):
    """ECS discovery could not read part of the in-use set (an account, a task
    definition, a repository): the jobs for the rest were queued, this run is incomplete."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Queue the rescan jobs; raise if any job was not queued.

    Environment: ``REPOSITORIES_FILTER_REGEXP`` (``re.search`` on the name; empty: all)
    and ``IMAGES_SCAN_JOBS_QUEUE_URL``.  Event keys ``repositoriesFilterRegexp`` and
    ``jobsQueueUrl`` override them, and ``expiry`` (e.g. ``"1d"``) is written into every
    job for a one-off run.

    Without ECS discovery: one job per repository, of every ACTIVE account of the
    organization with ``ORGANIZATION_ROLE_NAME``, in each region of
    ``ORGANIZATION_REGIONS`` (comma-separated names, or ``ALL_ENABLED``: each account's
    enabled regions; empty: this function's region).  With ``ECS_DISCOVERY_ENABLED`` true:
    jobs naming, by digest, the images ACTIVE ECS task definitions reference, in this
    account and in the account of each role in ``ECS_DISCOVERY_ROLES`` (comma-separated
    role ARNs, assumed to read that account's ECS and ECR; its jobs carry the role for
    the images function).  Whatever gets no job is counted in the ``discovery`` part of
    the result and listed in the log line; if part of the in-use set could not be read
    the jobs for the rest are queued and :class:`DiscoveryIncomplete` is raised.
    """
    now = runtime.clock()
    config = _Config.read(event)
    repo_filter, expiry = config.repo_filter, config.expiry
    plan: InUsePlan | None = None
    if config.discovery:
        plan = _plan_in_use(repo_filter, expiry, config.roles, default_session_name(now))
        jobs = JobPlan(plan.jobs, len(plan.repositories))
    elif config.org_role or config.regions:
        jobs = _target_jobs(config, now)
    else:
        listed = list_repositories(runtime.connections.ecr(runtime.connections.home()), repo_filter)
        jobs = JobPlan.of_repositories(listed, expiry)
    queue_url = config.queue_url
    queue = JobQueue(runtime.connections.client("sqs"), queue_url, sleep=runtime.sleep)
    run = queue_jobs(jobs, queue)
    report = run.report
    result: dict[str, Any] = {
        "repositories": jobs.repositories,
        "queued": report.sent,
        "failed": len(report.failed),
        "retried": report.retried,
        "queueUrl": queue_url,
        "filter": config.pattern or None,
    }
    if config.org_role or config.regions:
        result["accounts"] = jobs.accounts
        result["unreachable"] = [f"{f.label}: {f.problem}" for f in jobs.failures]
    _conclude(context, result, report, plan, len(jobs.bodies), queue_url)
    if jobs.failures:
        runtime.log(context, "ERROR", "organization incomplete", **result)
        raise OrganizationIncomplete(
            f"{plural(len(jobs.failures), 'account/region target')} not listed, "
            f"{plural(report.sent, 'job')} queued for the rest (first: {result['unreachable'][0]})"
        )
    return result


@dataclass(frozen=True)
class _Config:
    """What one invocation is set to do: the environment, with the event's overrides."""

    pattern: str | None
    queue_url: str
    expiry: str | None
    repo_filter: RepositoryFilter
    discovery: bool
    roles: tuple[str, ...]
    org_role: str | None
    regions: runtime.Regions

    @classmethod
    def read(cls, event: Any) -> _Config:
        """Read and check the settings; a bad one raises :class:`ConfigurationError`."""
        env = runtime.environ()
        runtime.call_timeout(env)
        overrides = _overrides(event)
        pattern = overrides.get("repositoriesFilterRegexp", env.get("REPOSITORIES_FILTER_REGEXP"))
        queue_url = overrides.get("jobsQueueUrl") or env.get("IMAGES_SCAN_JOBS_QUEUE_URL")
        if not queue_url:
            raise ConfigurationError(
                "no jobs queue: set IMAGES_SCAN_JOBS_QUEUE_URL or pass jobsQueueUrl in the event"
            )
        expiry = overrides.get("expiry") or None
        if expiry is not None:
            runtime.check_duration(expiry, "event key expiry")
        try:
            repo_filter = RepositoryFilter.compile(pattern or None)
        except ValueError as exc:
            raise ConfigurationError(f"REPOSITORIES_FILTER_REGEXP: {exc}") from None
        discovery = runtime.flag(env.get("ECS_DISCOVERY_ENABLED"), "ECS_DISCOVERY_ENABLED")
        roles = runtime.discovery_roles(env)
        org_role = runtime.organization_role(env)
        regions = runtime.organization_regions(env)
        if discovery and org_role:
            raise ConfigurationError(
                "ECS_DISCOVERY_ENABLED and ORGANIZATION_ROLE_NAME cannot be combined: ECS "
                "discovery covers the accounts of ECS_DISCOVERY_ROLES"
            )
        if discovery and regions:
            raise ConfigurationError(
                "ECS_DISCOVERY_ENABLED and ORGANIZATION_REGIONS cannot be combined: ECS "
                "discovery covers the function's own region"
            )
        return cls(pattern, queue_url, expiry, repo_filter, discovery, roles, org_role, regions)


def _conclude(
    context: Any,
    result: dict[str, Any],
    report: SendReport,
    plan: InUsePlan | None,
    jobs: int,
    queue_url: str,
) -> None:
    """Log the run; raise when a job was not queued or discovery was incomplete."""
    if plan is not None:
        result["discovery"] = plan.summary()
    details = plan.details() if plan is not None else {}
    if report.failed:
        runtime.log(
            context,
            "ERROR",
            "jobs not queued",
            **result,
            **details,
            errors=[{"job": f.body, "code": f.code, "message": f.message} for f in report.failed],
        )
        first = report.failed[0]
        raise JobsNotQueued(
            f"{len(report.failed)} of {plural(jobs, 'job')} could not be queued to "
            f"{queue_url} (first: {first.code}: {first.message})"
        )
    if plan is not None and plan.incomplete:
        runtime.log(context, "ERROR", "in-use discovery incomplete", **result, **details)
        failures = plan.failures()
        raise DiscoveryIncomplete(
            f"ECS discovery incomplete, {plural(report.sent, 'job')} queued for the rest: "
            f"{plural(len(failures), 'failure')} (first: {failures[0]})"
        )
    runtime.log(context, "INFO", "jobs queued", **result, **details)


def _overrides(event: Any) -> dict[str, str]:
    """The event keys a manual invocation may set; any other key is refused (a typo must
    not widen the run to every repository).  The schedule's EventBridge event
    (``source`` ``aws.events``) sets none."""
    if event is None:
        return {}
    if not isinstance(event, Mapping):
        raise ConfigurationError(f"the event must be a JSON object, got {type(event).__name__}")
    if event.get("source") == "aws.events":
        return {}
    unknown = sorted(str(k) for k in event if k not in OVERRIDES)
    if unknown:
        raise ConfigurationError(
            f"unknown event key {unknown[0][:80]!r} (allowed: {', '.join(OVERRIDES)}): "
            "nothing was queued"
        )
    found = {}
    for key in OVERRIDES:
        value = event.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ConfigurationError(f"event key {key} must be a string, got {value!r}")
        found[key] = value
    return found


def _target_jobs(config: _Config, now: datetime) -> JobPlan:
    """One job per (account, region, repository): every ACTIVE account of the
    organization (with ``ORGANIZATION_ROLE_NAME``; else this account) in each region of
    ``ORGANIZATION_REGIONS`` (each account's enabled ones with ``ALL_ENABLED``; else
    this function's region), each job carrying its region and the role to reach it.
    The targets are resolved as the command line's ``--organization --region`` /
    ``--all-regions`` resolve them."""
    plan = Plan(
        organization=OrgScope(role_name=config.org_role) if config.org_role else None,
        regions=config.regions.names,
        all_regions=config.regions.all_enabled,
    )
    connections = runtime.connections
    home = connections.home().region or None
    return plan_jobs(connections, plan, now, config.repo_filter, config.expiry, home=home)


def _plan_in_use(
    repo_filter: RepositoryFilter, expiry: str | None, roles: tuple[str, ...], session_name: str
) -> InUsePlan:
    """The in-use jobs of this account and each role's account, in this region."""
    connections = runtime.connections
    targets, failures = connections.targets(
        TargetQuery(role_arns=roles, needs_identity=True, session_name=session_name)
    )

    def gateways_for(target: Target) -> tuple[EcrGateway, EcsGateway]:
        """The target's ECR and ECS gateways, under one throttle."""
        registry_id = target.account if target.role_arn else None
        return connections.ecr(target, registry_id), connections.ecs(target)

    return plan_in_use_jobs(
        targets,
        gateways_for,
        repo_filter,
        expiry=expiry,
        failures=failures,
        hints=SCOPE_HINTS,
    )
