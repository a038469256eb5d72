"""Sending scan jobs to SQS: SendMessageBatch ten at a time, failed entries retried,
every job accounted for (the job format is :mod:`ecrscan.core.jobs`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from ecrscan.aws.errors import INTERRUPTED
from ecrscan.aws.throttle import Stop
from ecrscan.core.jobs import FailedJob, SendReport

BATCH_SIZE = 10  # SendMessageBatch takes at most ten entries


def send_jobs(
    sqs_client: Any,
    queue_url: str,
    bodies: Iterable[str],
    *,
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    stop: Stop | None = None,
) -> SendReport:
    """Send ``bodies`` with SendMessageBatch, ten a call.

    Entries SQS reports as failed without blaming the sender are sent again, up to
    ``attempts`` tries in all (pausing ``backoff`` seconds, doubling, between rounds);
    the ones that still fail, or that SQS rejects as the sender's fault, come back in
    :attr:`SendReport.failed` (callers must fail loudly).  An error of the call itself
    (no such queue, access denied) stops the dispatch: that batch and every later one
    are returned as failed with that error, and entries held for another round as
    failed with their own last error.  Once ``stop`` is set (a signal), the jobs not
    yet sent are returned as failed, code ``Interrupted``.
    """
    if attempts < 1:
        raise ValueError("attempts must be >= 1")
    pending = list(enumerate(bodies))
    sent = 0
    retried = 0
    failed: list[FailedJob] = []
    for attempt in range(1, attempts + 1):
        if attempt > 1:
            if not pending:
                break
            retried += len(pending)
            sleep(backoff * 2 ** (attempt - 2))
        again: list[tuple[int, str]] = []
        last_errors: dict[int, FailedJob] = {}
        for start in range(0, len(pending), BATCH_SIZE):
            if stop is not None and stop.is_set():
                failed.extend(last_errors[i] for i, _ in again)
                failed.extend(
                    FailedJob(body, INTERRUPTED, "not sent: interrupted", sender_fault=False)
                    for _, body in pending[start:]
                )
                return SendReport(sent=sent, failed=tuple(failed), retried=retried)
            chunk = pending[start : start + BATCH_SIZE]
            try:
                accepted, refused = _send_batch(sqs_client, queue_url, chunk)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code, message = error.get("Code", "ClientError"), error.get("Message", str(exc))
                # Entries of earlier chunks held for another round get none: they fail
                # with their own last error, so every job is accounted for exactly once.
                failed.extend(last_errors[i] for i, _ in again)
                failed.extend(
                    FailedJob(body, code, message, sender_fault=True) for _, body in pending[start:]
                )
                return SendReport(sent=sent, failed=tuple(failed), retried=retried)
            sent += accepted
            for index, job in refused:
                if job.sender_fault:
                    failed.append(job)
                else:
                    again.append((index, job.body))
                    last_errors[index] = job
        pending = again
        if attempt == attempts:
            failed.extend(last_errors[i] for i, _ in pending)
    return SendReport(sent=sent, failed=tuple(failed), retried=retried)


def _send_batch(
    sqs_client: Any, queue_url: str, chunk: list[tuple[int, str]]
) -> tuple[int, list[tuple[int, FailedJob]]]:
    """One SendMessageBatch: how many SQS accepted, and each entry it refused."""
    response = sqs_client.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": f"job-{i}", "MessageBody": body} for i, body in chunk],
    )
    by_id = dict(chunk)
    refused = []
    for entry in response.get("Failed") or []:
        index = int(str(entry["Id"]).removeprefix("job-"))
        job = FailedJob(
            by_id[index],
            entry.get("Code", "Unknown"),
            entry.get("Message", ""),
            bool(entry.get("SenderFault")),
        )
        refused.append((index, job))
    return len(response.get("Successful") or []), refused


class JobQueue:
    """One jobs queue as the engine sends to it (:class:`ecrscan.engine.ports.JobSender`):
    :func:`send_jobs` through ``sqs_client`` to ``queue_url``."""

    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        stop: Stop | None = None,
    ) -> None:
        self.client = sqs_client
        self.url = queue_url
        self.sleep = sleep
        self.stop = stop

    def send(self, bodies: Iterable[str]) -> SendReport:
        return send_jobs(self.client, self.url, bodies, sleep=self.sleep, stop=self.stop)
