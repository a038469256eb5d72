"""The images function (SQS): rescans the repository (or the images) of each job, with
a role's credentials when the job names one, and returns the messages that failed as
``batchItemFailures`` so SQS redelivers exactly those."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ecrscan.aws.connections import Connections
from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.scandates import ScanDateTable
from ecrscan.core.control import Deadline
from ecrscan.core.durations import DEFAULT_EXPIRY, Duration
from ecrscan.core.errors import IMAGE_NOT_FOUND, FatalError
from ecrscan.core.jobs import Job, JobError, parse_job
from ecrscan.core.model import Outcome, RescanResult
from ecrscan.core.summary import summarize
from ecrscan.core.targets import default_session_name
from ecrscan.engine.rescan import RescanSettings, rescan
from ecrscan.lambdas import runtime
from ecrscan.lambdas.runtime import ConfigurationError

DEFAULT_TIME_MARGIN_SECONDS = 10.0


def handler(event: Any, context: Any) -> dict[str, list[dict[str, str]]]:
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
    be one of ``ECS_DISCOVERY_ROLES`` or, with ``ORGANIZATION_ROLE_NAME``, that role in
    any account; otherwise the message fails as malformed.  A job with ``region`` scans
    that region's registry.
    """
    now = runtime.clock()
    env = runtime.environ()
    runtime.call_timeout(env)
    default_expiry = env.get("ECR_IMAGES_DURATION_DELTA") or DEFAULT_EXPIRY.text
    runtime.check_duration(default_expiry, "ECR_IMAGES_DURATION_DELTA")
    allowed_roles = runtime.AllowedRoles.from_env(env)
    cache_table = (env.get("SCAN_DATE_TABLE") or "").strip()
    budget = _TimeBudget(
        context, _margin(env.get("ECRSCAN_TIME_MARGIN_SECONDS")), runtime.monotonic
    )
    records = _sqs_records(event)

    failures: list[str] = []
    for position, record in enumerate(records):
        if not budget.allows_next():
            late = [r["messageId"] for r in records[position:]]
            failures.extend(late)
            runtime.log(
                context,
                "WARNING",
                "out of time: messages left for redelivery",
                messageIds=late,
                remainingSeconds=budget.last,
            )
            break
        if not _run_job(record, now, default_expiry, allowed_roles, budget, context, cache_table):
            failures.append(record["messageId"])
    runtime.log(context, "INFO", "batch done", messages=len(records), failed=len(failures))
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failures]}


# -- helpers -------------------------------------------------------------------------


def _run_job(
    record: Mapping[str, Any],
    now: datetime,
    default_expiry: str,
    allowed_roles: runtime.AllowedRoles,
    budget: _TimeBudget,
    context: Any,
    cache_table: str = "",
) -> bool:
    """Run one job; True when it finished completely.  Never raises: any failure of one
    job becomes its batch item failure, not the other messages'."""
    message_id = record["messageId"]
    try:
        job = _parse(record, allowed_roles)
    except JobError as exc:
        runtime.log(context, "ERROR", "malformed job", messageId=message_id, error=str(exc))
        return False
    except Exception as exc:  # any body the parser chokes on fails only its own message
        error = f"{type(exc).__name__}: {str(exc)[:200]}"
        runtime.log(context, "ERROR", "malformed job", messageId=message_id, error=error)
        return False
    expiry_text = job.expiry or default_expiry
    # One deadline for the job: no check or scan starts, and no throttling backoff
    # sleeps, past what is left of the invocation minus the margin.
    deadline = budget.deadline()
    expiry = Duration.parse(expiry_text)
    settings = RescanSettings(
        expiry=expiry,
        repositories=(job.repository_name,),
        image_ids=job.images,
        deadline=deadline,
        cache=_cache(cache_table, expiry, deadline),
    )
    fields: dict[str, Any] = {"messageId": message_id, "repository": job.repository_name}
    if job.role_arn:
        fields["roleArn"] = job.role_arn
    try:
        result = rescan(_gateway(runtime.connections.view(deadline), job, now), now, settings)
    except FatalError as exc:
        runtime.log(context, "ERROR", "job failed", **fields, error=str(exc.problem))
        return False
    except Exception as exc:  # one job's failure must not sink the batch
        error = f"{type(exc).__name__}: {exc}"
        trace = traceback.format_exc()
        runtime.log(context, "ERROR", "job failed", **fields, error=error, traceback=trace)
        return False
    return _log_result(context, result, fields, expiry_text)


def _gateway(connections: Connections, job: Job, now: datetime) -> EcrGateway:
    """The job's ECR gateway, with the function's credentials or the job's role, under
    the job's deadline (the container's shared gateway and throttle stay as they are)."""
    if job.role_arn:
        target = connections.assume(job.role_arn, default_session_name(now), job.region)
        return connections.ecr(target, job.registry_id or target.account)
    return connections.ecr(connections.home(job.region), job.registry_id)


def _cache(table: str, expiry: Duration, deadline: Deadline | None) -> ScanDateTable | None:
    """The scan-date cache in ``SCAN_DATE_TABLE`` (the state table), its entries kept
    for the job's expiry; ``None`` when the variable is empty."""
    if not table:
        return None
    store = runtime.connections.view(deadline).state_store(table)
    return ScanDateTable(store, expiry.delta)


def _parse(record: Mapping[str, Any], allowed_roles: runtime.AllowedRoles) -> Job:
    """The job of one SQS record; :class:`JobError` when it is malformed or names a role
    the function may not assume."""
    job = parse_job(record.get("body"))
    if job.role_arn and not allowed_roles.allows(job.role_arn):
        raise JobError(f"roleArn {job.role_arn} is allowed by neither {allowed_roles.describe()}")
    return job


def _log_result(context: Any, result: RescanResult, fields: dict[str, Any], expiry: str) -> bool:
    """Log one job's result; True when it is complete."""
    totals = summarize(result)["TOTAL"]
    notices = list(result.notices)
    if result.incomplete:
        errors = _job_errors(result)
        runtime.log(
            context,
            "ERROR",
            "job incomplete",
            **fields,
            counts=totals,
            errors=errors,
            notices=notices,
        )
        return False
    runtime.log(
        context,
        "INFO",
        "job done",
        **fields,
        expiry=expiry,
        counts=totals,
        notFound=_not_found(result),
        notices=notices,
        **({"cacheReadsSaved": result.cache.reads_saved} if result.cache else {}),
    )
    return True


def _not_found(result: RescanResult) -> list[str]:
    """The requested images that no longer exist (skipped, not failures)."""
    return [
        r.detail
        for r in result.all_images()
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
        left: float = self._remaining() / 1000.0
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
