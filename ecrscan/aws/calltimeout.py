"""A bound on one AWS call, connect to last byte (``--call-timeout``).

botocore's read timeout is a socket timeout: it bounds each read, and restarts with
every byte, so an endpoint that drips its answer one byte a second never trips it.
Nothing in botocore or urllib3 bounds a whole exchange, and a thread blocked in a socket
read cannot be interrupted, so each call runs in a worker thread and the caller waits
for it at most the call timeout: then it raises :class:`CallTimeoutError` (an
``HTTPClientError``, so every caller treats it like any other transport failure: one
image, repository or target fails, with one problem).

The bound covers the whole call, botocore's own retries and backoff included (the call
runs as ``client._make_api_call``, which every operation, paginator and waiter of a
client goes through); it is set on each client :func:`ecrscan.aws.clients.make_client`
makes, so it holds for every service (ECR, ECS, Amazon Inspector, STS, Organizations,
SQS, SNS, DynamoDB).  The abandoned worker is a daemon thread: it ends when the endpoint
stops sending (its read timeout) or closes the connection, and never holds up the
process's exit.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import HTTPClientError

T = TypeVar("T")


class CallTimeoutError(HTTPClientError):  # type: ignore[misc]
    """One call got no complete answer within the call timeout."""

    fmt = (
        "{operation}: no complete answer from {endpoint_url} within the call timeout of "
        "{seconds:g} s (--call-timeout, ECRSCAN_CALL_TIMEOUT)"
    )


def bound_calls(client: Any, seconds: float) -> Any:
    """``client`` (a botocore client) with each of its calls bounded by ``seconds``;
    anything else (a test's stand-in) unchanged."""
    call = getattr(client, "_make_api_call", None)
    if call is None or getattr(call, "bounded", False):
        return client
    endpoint_url = getattr(getattr(client, "meta", None), "endpoint_url", "")

    def bounded(operation_name: str, api_params: dict[str, Any]) -> Any:
        def timed_out() -> CallTimeoutError:
            return CallTimeoutError(
                operation=operation_name, endpoint_url=endpoint_url, seconds=seconds
            )

        return run_within(lambda: call(operation_name, api_params), seconds, timed_out)

    bounded.bounded = True  # type: ignore[attr-defined]
    client._make_api_call = bounded
    return client


def run_within(work: Callable[[], T], seconds: float, timed_out: Callable[[], Exception]) -> T:
    """``work()``, run in a daemon thread (with the caller's context variables); its
    result or its exception, or ``timed_out()`` raised if it takes longer than
    ``seconds``."""
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome.append((True, context.run(work)))
        except BaseException as exc:  # handed to the caller, who re-raises it
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name="ecrscan-call", daemon=True).start()
    if not done.wait(seconds):
        raise timed_out()
    succeeded, value = outcome[0]
    if succeeded:
        return value  # type: ignore[no-any-return]
    raise value
