"""The three AWS Lambda handlers: thin adapters over the engine, the job format, the
event parser and the SNS message builder the CLI uses too.

* :func:`repositories_handler` (scheduled): lists the repositories and sends one job
  per repository to the jobs queue; with ECS discovery, jobs naming exactly the images
  ECS task definitions use (:mod:`ecrscan.dispatch`), in this and other accounts.
* :func:`images_handler` (SQS): rescans the repository (or the images) of each job,
  with a role's credentials when the job names one; returns the messages that failed
  as ``batchItemFailures`` so SQS redelivers exactly those.
* :func:`reporter_handler` (EventBridge): evaluates a scan-complete event against the
  thresholds and publishes to SNS on a breach (and, if asked, on a failed scan).

Configuration comes from environment variables (see the README, "Deploying the Lambda
functions").  AWS clients are created on first use and kept for the warm container's
later invocations; the clock is read once per invocation.  Each handler writes JSON log
lines to stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config

from ecrscan import __version__, notify
from ecrscan.backoff import Deadline, Throttle
from ecrscan.discovery import ScopeHints
from ecrscan.dispatch import InUsePlan, plan_in_use_jobs
from ecrscan.duration import parse_duration
from ecrscan.ecr import IMAGE_NOT_FOUND, EcrGateway
from ecrscan.ecs import EcsGateway
from ecrscan.engine import (
    FatalError,
    RescanSettings,
    list_repositories,
    rescan,
    summarize,
)
from ecrscan.events import (
    event_messages,
    image_report,
    parse_scan_event,
    wants_notification,
)
from ecrscan.jobs import DEFAULT_EXPIRY, JobError, parse_job, repository_jobs, send_jobs
from ecrscan.model import Outcome, RescanResult
from ecrscan.policy import RepositoryFilter
from ecrscan.targets import (
    Target,
    check_role_arns,
    default_session_name,
    resolve_targets,
)
from ecrscan.thresholds import Thresholds

DEFAULT_TIME_MARGIN_SECONDS = 10.0
# Assumed-role credentials last an hour (targets.resolve_targets); a warm container
# assumes the role again after this long.
ROLE_SESSION_REUSE_SECONDS = 45 * 60
# What the reason of an out-of-scope image advises, in the function's terms.
SCOPE_HINTS = ScopeHints(
    account="add a role in that account to ECS_DISCOVERY_ROLES to audit it",
    region="the function covers only its own region",
)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


class ConfigurationError(ValueError):
    """The function's environment (or the event's overrides) cannot work."""


class JobsNotQueued(RuntimeError):
    """SQS refused some jobs even after retries: the scheduled run is incomplete."""


class DiscoveryIncomplete(RuntimeError):
    """ECS discovery could not read part of the in-use set (an account, a task
    definition, a repository): the jobs for the rest were queued, this run is incomplete."""


class RoleNotAssumed(RuntimeError):
    """The role a job names could not be assumed."""


# -- process-wide state: nothing is built at import time -----------------------------


class _Clients:
    """A boto3 session and the clients built from it, created on first use and reused
    by later invocations of the same (warm) container."""

    def __init__(self, session_factory: Callable[[], Any] | None = None) -> None:
        self._session_factory = session_factory
        self._session: Any = None
        self._gateways: dict[str | None, EcrGateway] = {}
        # (registry id, role ARN) -> (when the role was assumed, the gateway)
        self._role_gateways: dict[tuple[str | None, str], tuple[float, EcrGateway]] = {}
        self._ecs: EcsGateway | None = None
        self._sqs: Any = None
        self._sns: Any = None

    def session(self) -> Any:
        if self._session is None:
            factory = self._session_factory
            if factory is None:
                import boto3

                factory = boto3.session.Session
            self._session = factory()
        return self._session

    def gateway(
        self, registry_id: str | None = None, role_arn: str | None = None, session_name: str = ""
    ) -> EcrGateway:
        """The ECR gateway for a registry, with the function's credentials or, given
        ``role_arn``, the role's (assumed as ``session_name`` once, and again after
        :data:`ROLE_SESSION_REUSE_SECONDS`: the credentials last an hour)."""
        if role_arn:
            return self._role_gateway(registry_id, role_arn, session_name)
        if registry_id not in self._gateways:
            self._gateways[registry_id] = EcrGateway(self.session(), registry_id=registry_id)
        return self._gateways[registry_id]

    def _role_gateway(
        self, registry_id: str | None, role_arn: str, session_name: str
    ) -> EcrGateway:
        key = (registry_id, role_arn)
        cached = self._role_gateways.get(key)
        if cached is not None and _monotonic() - cached[0] < ROLE_SESSION_REUSE_SECONDS:
            return cached[1]
        targets, failures = resolve_targets(
            self.session(), [], [role_arn], session_name=session_name, include_base=False
        )
        if failures:
            raise RoleNotAssumed(f"cannot assume {role_arn}: {failures[0].problem}")
        target = targets[0]
        gateway = EcrGateway(
            target.session, region=target.region, registry_id=registry_id or target.account
        )
        self._role_gateways[key] = (_monotonic(), gateway)
        return gateway

    def ecs(self) -> EcsGateway:
        if self._ecs is None:
            self._ecs = EcsGateway(self.session())
        return self._ecs

    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = self.session().client("sqs", config=_config())
        return self._sqs

    def sns(self) -> Any:
        if self._sns is None:
            self._sns = self.session().client("sns", config=_config())
        return self._sns


def _config() -> Config:
    return Config(
        retries={"mode": "standard", "max_attempts": 5},
        user_agent_extra=f"ecrscan/{__version__}",
    )


_clients = _Clients()


def _environ() -> Mapping[str, str]:
    return os.environ


def _clock() -> datetime:
    return datetime.now(UTC)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _monotonic() -> float:
    return time.monotonic()


# -- the handlers --------------------------------------------------------------------


def repositories_handler(event: Any, context: Any) -> dict[str, Any]:
    """Queue the rescan jobs; raise if any job was not queued.

    Environment: ``REPOSITORIES_FILTER_REGEXP`` (``re.search`` on the name; empty: all)
    and ``IMAGES_SCAN_JOBS_QUEUE_URL``.  Event keys ``repositoriesFilterRegexp`` and
    ``jobsQueueUrl`` override them, and ``expiry`` (e.g. ``"1d"``) is written into every
    job for a one-off run.

    Without ECS discovery: one job per repository.  With ``ECS_DISCOVERY_ENABLED`` true:
    jobs naming, by digest, the images ACTIVE ECS task definitions reference, in this
    account and in the account of each role in ``ECS_DISCOVERY_ROLES`` (comma-separated
    role ARNs, assumed to read that account's ECS and ECR; its jobs carry the role for
    the images function).  Whatever gets no job is counted in the ``discovery`` part of
    the result and listed in the log line; if part of the in-use set could not be read
    the jobs for the rest are queued and :class:`DiscoveryIncomplete` is raised.
    """
    now = _clock()
    env = _environ()
    overrides = _overrides(event)
    pattern = overrides.get("repositoriesFilterRegexp", env.get("REPOSITORIES_FILTER_REGEXP"))
    queue_url = overrides.get("jobsQueueUrl") or env.get("IMAGES_SCAN_JOBS_QUEUE_URL")
    if not queue_url:
        raise ConfigurationError(
            "no jobs queue: set IMAGES_SCAN_JOBS_QUEUE_URL or pass jobsQueueUrl in the event"
        )
    expiry = overrides.get("expiry") or None
    if expiry is not None:
        _duration(expiry, "event key expiry")
    try:
        repo_filter = RepositoryFilter.compile(pattern or None)
    except ValueError as exc:
        raise ConfigurationError(f"REPOSITORIES_FILTER_REGEXP: {exc}") from None
    discovery = _flag(env.get("ECS_DISCOVERY_ENABLED"), "ECS_DISCOVERY_ENABLED")
    roles = _discovery_roles(env)

    plan: InUsePlan | None = None
    if discovery:
        plan = _plan_in_use(repo_filter, expiry, roles, default_session_name(now))
        bodies = list(plan.jobs)
        repositories = len(plan.repositories)
    else:
        listed = list_repositories(_clients.gateway(), repo_filter)
        bodies = repository_jobs(listed, expiry)
        repositories = len(listed)
    report = send_jobs(_clients.sqs(), queue_url, bodies, sleep=_sleep)
    result: dict[str, Any] = {
        "repositories": repositories,
        "queued": report.sent,
        "failed": len(report.failed),
        "retried": report.retried,
        "queueUrl": queue_url,
        "filter": pattern or None,
    }
    if plan is not None:
        result["discovery"] = plan.summary()
    details = plan.details() if plan is not None else {}
    if report.failed:
        _log(context, "ERROR", "jobs not queued", **result, **details, errors=[
            {"job": f.body, "code": f.code, "message": f.message} for f in report.failed
        ])
        first = report.failed[0]
        raise JobsNotQueued(
            f"{len(report.failed)} of {len(bodies)} jobs could not be queued to "
            f"{queue_url} (first: {first.code}: {first.message})"
        )
    if plan is not None and plan.incomplete:
        _log(context, "ERROR", "in-use discovery incomplete", **result, **details)
        failures = plan.failures()
        raise DiscoveryIncomplete(
            f"ECS discovery incomplete, {report.sent} jobs queued for the rest: "
            f"{len(failures)} failure(s) (first: {failures[0]})"
        )
    _log(context, "INFO", "jobs queued", **result, **details)
    return result


def images_handler(event: Any, context: Any) -> dict[str, list[dict[str, str]]]:
    """Rescan the repository of each SQS job; return the failed messages.

    A message fails when its body is not a valid job, its repository is unknown, or an
    AWS error (or a quota) left part of its work undone.  Messages the function could
    not start before ``context.get_remaining_time_in_millis()`` ran low (a margin of
    ``ECRSCAN_TIME_MARGIN_SECONDS`` plus the longest job so far) fail too, so SQS
    redelivers them instead of the whole batch dying with the function.  A running job
    has a deadline, the remaining time minus the margin: its throttling backoff never
    sleeps past it, and no image check or scan starts after it (those images are
    reported as not started, "time budget spent", and the message fails).

    A requested image that no longer exists (``images`` of the job) is skipped with the
    reason "image not found" and does not fail the message: a redelivery could not find
    it either.  A job with ``roleArn`` runs with that role's credentials; the role must
    be one of ``ECS_DISCOVERY_ROLES``, otherwise the message fails as malformed.
    """
    now = _clock()
    env = _environ()
    default_expiry = env.get("ECR_IMAGES_DURATION_DELTA") or DEFAULT_EXPIRY
    _duration(default_expiry, "ECR_IMAGES_DURATION_DELTA")
    allowed_roles = frozenset(_discovery_roles(env))
    budget = _TimeBudget(context, _margin(env.get("ECRSCAN_TIME_MARGIN_SECONDS")), _monotonic)
    records = _sqs_records(event)

    failures: list[str] = []
    for position, record in enumerate(records):
        if not budget.allows_next():
            late = [r["messageId"] for r in records[position:]]
            failures.extend(late)
            _log(context, "WARNING", "out of time: messages left for redelivery",
                 messageIds=late, remainingSeconds=budget.last)
            break
        if not _run_job(record, now, default_expiry, allowed_roles, budget, context):
            failures.append(record["messageId"])
    _log(context, "INFO", "batch done", messages=len(records), failed=len(failures))
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}


def reporter_handler(event: Any, context: Any) -> dict[str, Any]:
    """Evaluate one ``ECR Image Scan`` / ``Inspector2 Scan`` event; publish to SNS on a
    breach, and on a failed scan when ``NOTIFY_ON_SCAN_FAILURE`` is true.

    Thresholds come from ``CRITICAL``, ``HIGH``, ``MEDIUM``, ``LOW`` (a whole number or
    ``off``; default 0), the topic from ``ECR_SNS_REPORT_TOPIC_ARN``.  A malformed or
    unsupported event raises :class:`ecrscan.events.EventError`.
    """
    env = _environ()
    scan = parse_scan_event(event)
    try:
        thresholds = Thresholds.from_env(env)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    notify_failures = _flag(env.get("NOTIFY_ON_SCAN_FAILURE"), "NOTIFY_ON_SCAN_FAILURE")
    topic_arn = env.get("ECR_SNS_REPORT_TOPIC_ARN")

    report = image_report(scan, thresholds)
    result: dict[str, Any] = {
        "repository": scan.repository,
        "digest": scan.digest,
        "tags": list(scan.tags),
        "scanStatus": scan.status,
        "status": report.status.value,
        "breaches": [
            {"severity": b.severity.value, "count": b.count, "threshold": b.threshold}
            for b in report.breaches
        ],
        "published": 0,
    }
    if wants_notification(report, notify_failures):
        if not topic_arn:
            raise ConfigurationError("ECR_SNS_REPORT_TOPIC_ARN is not set: nowhere to publish")
        messages = event_messages(scan, report, thresholds)
        message_ids = notify.publish(_clients.sns(), topic_arn, messages)
        result["published"] = len(message_ids)
        result["messageIds"] = message_ids
    _log(context, "INFO", "scan event evaluated", **result)
    return result


# -- helpers -------------------------------------------------------------------------


def _run_job(
    record: Mapping[str, Any],
    now: datetime,
    default_expiry: str,
    allowed_roles: frozenset[str],
    budget: _TimeBudget,
    context: Any,
) -> bool:
    """Run one job; True when it finished completely.  Never raises: any failure of one
    job becomes its batch item failure, not the other messages'."""
    message_id = record["messageId"]
    try:
        job = parse_job(record.get("body"))
        if job.role_arn and job.role_arn not in allowed_roles:
            raise JobError(
                f"roleArn {job.role_arn} is not one of ECS_DISCOVERY_ROLES "
                f"({', '.join(sorted(allowed_roles)) or 'none set'})"
            )
    except JobError as exc:
        _log(context, "ERROR", "malformed job", messageId=message_id, error=str(exc))
        return False
    expiry_text = job.expiry or default_expiry
    # One deadline for the job: no check or scan starts, and no throttling backoff
    # sleeps, past what is left of the invocation minus the margin.
    deadline = budget.deadline()
    settings = RescanSettings(
        expiry=parse_duration(expiry_text),
        expiry_text=expiry_text,
        repositories=(job.repository_name,),
        image_ids=job.images,
        deadline=deadline,
    )
    fields: dict[str, Any] = {"messageId": message_id, "repository": job.repository_name}
    if job.role_arn:
        fields["roleArn"] = job.role_arn
    try:
        gateway = _clients.gateway(job.registry_id, job.role_arn, default_session_name(now))
        gateway.throttle = Throttle(sleep=_sleep, clock=_monotonic, deadline=deadline)
        result = rescan(gateway, now, settings)
    except FatalError as exc:
        _log(context, "ERROR", "job failed", **fields, error=str(exc.problem))
        return False
    except Exception as exc:  # noqa: BLE001 - one job's failure must not sink the batch
        _log(context, "ERROR", "job failed", **fields, error=f"{type(exc).__name__}: {exc}",
             traceback=traceback.format_exc())
        return False
    totals = summarize(result)["TOTAL"]
    if result.incomplete:
        _log(context, "ERROR", "job incomplete", **fields, counts=totals,
             errors=_job_errors(result), notices=list(result.notices))
        return False
    _log(context, "INFO", "job done", **fields, expiry=expiry_text, counts=totals,
         notFound=_not_found(result), notices=list(result.notices))
    return True


def _not_found(result: RescanResult) -> list[str]:
    """The requested images that no longer exist (skipped, not failures)."""
    return [
        r.detail for r in result.all_images()
        if r.outcome is Outcome.SKIPPED and r.verdict.reason == IMAGE_NOT_FOUND
    ]


def _job_errors(result: RescanResult) -> list[str]:
    errors = [f"{r.repository.name}: {r.error}" for r in result.repositories if r.error]
    errors.extend(
        f"{r.image.repository}@{r.image.digest}: {r.outcome.value}: {r.detail}"
        for r in result.all_images()
        if r.outcome in (Outcome.FAILED, Outcome.NOT_STARTED)
    )
    return errors


class _TimeBudget:
    """Whether another job fits in what is left of the invocation: more than the margin
    plus the longest job seen so far; and the deadline of the job that starts now.
    Without a context (local runs) there is no limit."""

    def __init__(self, context: Any, margin: float, clock: Callable[[], float]) -> None:
        self._remaining = getattr(context, "get_remaining_time_in_millis", None)
        self.margin = margin
        self._clock = clock
        self.longest = 0.0
        self.last: float | None = None

    def allows_next(self) -> bool:
        if self._remaining is None:
            return True
        left = self._remaining() / 1000.0
        if self.last is not None:
            self.longest = max(self.longest, self.last - left)
        self.last = left
        return left > self.margin + self.longest

    def deadline(self) -> Deadline | None:
        """The end of the invocation minus the margin, on the injected clock, from the
        remaining time read by the last :meth:`allows_next`."""
        if self.last is None:
            return None
        return Deadline.after(self.last - self.margin, self._clock)


def _sqs_records(event: Any) -> list[Mapping[str, Any]]:
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise ValueError("not an SQS event: expected an object with a 'Records' list")
    for record in records:
        if not isinstance(record, Mapping) or not isinstance(record.get("messageId"), str):
            raise ValueError(f"SQS record without a messageId: {str(record)[:200]}")
    return records


def _overrides(event: Any) -> dict[str, str]:
    """The event keys a scheduled or manual invocation may set."""
    if event is None:
        return {}
    if not isinstance(event, Mapping):
        raise ConfigurationError(f"the event must be a JSON object, got {type(event).__name__}")
    found = {}
    for key in ("repositoriesFilterRegexp", "jobsQueueUrl", "expiry"):
        value = event.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ConfigurationError(f"event key {key} must be a string, got {value!r}")
        found[key] = value
    return found


def _discovery_roles(env: Mapping[str, str]) -> tuple[str, ...]:
    """``ECS_DISCOVERY_ROLES``: comma-separated role ARNs (blanks ignored), one per account."""
    raw = env.get("ECS_DISCOVERY_ROLES") or ""
    try:
        roles = check_role_arns([part for part in raw.split(",") if part.strip()])
    except ValueError as exc:
        raise ConfigurationError(f"ECS_DISCOVERY_ROLES: {exc}") from None
    return tuple(role.arn for role in roles)


def _plan_in_use(
    repo_filter: RepositoryFilter, expiry: str | None, roles: tuple[str, ...], session_name: str
) -> InUsePlan:
    """The in-use jobs of this account and each role's account, in this region."""
    targets, failures = resolve_targets(_clients.session(), [], roles, session_name=session_name)

    def gateways_for(target: Target) -> tuple[EcrGateway, EcsGateway]:
        if not target.role_arn:
            return _clients.gateway(), _clients.ecs()
        return (
            EcrGateway(target.session, region=target.region, registry_id=target.account),
            EcsGateway(target.session, region=target.region),
        )

    return plan_in_use_jobs(
        targets, gateways_for, repo_filter, expiry=expiry, failures=failures,
        hints=SCOPE_HINTS,
    )


def _duration(text: str, what: str) -> None:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise ConfigurationError(f"{what}: {exc}") from None


def _margin(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return DEFAULT_TIME_MARGIN_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ConfigurationError(
            f"ECRSCAN_TIME_MARGIN_SECONDS must be a number of seconds >= 0, got {raw!r}"
        )
    return value


def _flag(raw: str | None, name: str) -> bool:
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _log(context: Any, level: str, message: str, **fields: Any) -> None:
    """One JSON object per line on stdout (CloudWatch Logs Insights reads the fields)."""
    record = {
        "level": level,
        "message": message,
        "function": getattr(context, "function_name", None),
        "requestId": getattr(context, "aws_request_id", None),
        **fields,
    }
    sys.stdout.write(json.dumps(record, default=str) + "\n")
    sys.stdout.flush()
