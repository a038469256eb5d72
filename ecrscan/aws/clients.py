"""The one factory of sessions, clients and their configuration.

Every boto3 session and client ecrscan uses is made here, so the user agent, the
connection pool size and the retries per call kind are set in one place:

* :data:`READS` for idempotent reads (Describe*, Get*, List*): botocore's ``standard``
  retry mode retries 5xx and connection errors a few times; a throttled answer goes
  back at once to the gateway's shared throttle, which paces the operation (the
  gateway's clients tell botocore not to retry it);
* :data:`NO_RETRIES` for ``StartImageScan``: botocore's standard mode counts
  ``LimitExceededException`` as throttling and would retry the per-image 24 h quota
  error, which never succeeds, so the gateway alone retries that call;
* :data:`MESSAGING` for SQS and SNS, whose callers account for each message;
* :data:`STS` for GetCallerIdentity and AssumeRole.

Every client has a connect and a read timeout (:class:`Timeouts`), so an endpoint that
accepts connections and never answers cannot stall a run: one call gives up after at
most :func:`Timeouts.bound` seconds (3 attempts of connect + read, and botocore's
backoff between them: 108 s with the defaults of 5 s and 30 s).  Every call is also
bounded as a whole, connect to last byte (``Timeouts.call``, 120 s by default;
:mod:`ecrscan.aws.calltimeout`), so an endpoint that drips its answer a byte at a time,
restarting the read timeout with each byte, cannot stall a run either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from botocore.config import Config

from ecrscan import __version__
from ecrscan.aws.calltimeout import bound_calls
from ecrscan.core.control import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_TIMEOUTS,
    MAX_CONCURRENCY,
    READ_ATTEMPTS,
    Timeouts,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_TIMEOUTS",
    "MAX_CONCURRENCY",
    "MESSAGING",
    "NO_RETRIES",
    "READS",
    "READ_ATTEMPTS",
    "STS",
    "Timeouts",
    "client_config",
    "make_client",
    "new_session",
    "pool_size",
    "refreshing_session",
]

READS: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": READ_ATTEMPTS}
NO_RETRIES: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": 1}
MESSAGING: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": 5}
STS: Mapping[str, Any] = {"mode": "standard"}

MIN_POOL = 10  # botocore's default connection pool size


def pool_size(concurrency: int) -> int:
    """Connections per client for ``concurrency`` workers: one each, and two spare."""
    return max(MIN_POOL, concurrency + 2)


def client_config(
    *,
    region: str | None = None,
    pool: int | None = None,
    retries: Mapping[str, Any] = READS,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> Config:
    """The botocore ``Config`` of every ecrscan client."""
    options: dict[str, Any] = {
        "user_agent_extra": f"ecrscan/{__version__}",
        "retries": dict(retries),
        "connect_timeout": timeouts.connect,
        "read_timeout": timeouts.read,
    }
    if region:
        options["region_name"] = region
    if pool is not None:
        options["max_pool_connections"] = pool
    return Config(**options)


def make_client(
    session: Any,
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    pool: int | None = None,
    retries: Mapping[str, Any] = READS,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> Any:
    """A client of ``session`` (a ``boto3.Session`` or anything with a compatible
    ``client`` method) for ``service``, configured by :func:`client_config`."""
    kwargs: dict[str, Any] = {}
    if region:
        kwargs["region_name"] = region
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    config = client_config(region=region, pool=pool, retries=retries, timeouts=timeouts)
    return bound_calls(session.client(service, config=config, **kwargs), timeouts.call)


def new_session(
    factory: Callable[..., Any] | None = None,
    *,
    profile: str | None = None,
    region: str | None = None,
) -> Any:
    """A session with the standard credential chain (``factory`` defaults to
    ``boto3.Session``; tests pass their own)."""
    if factory is None:
        import boto3

        factory = boto3.Session
    kwargs: dict[str, Any] = {}
    if profile:
        kwargs["profile_name"] = profile
    if region:
        kwargs["region_name"] = region
    return factory(**kwargs)


def refreshing_session(credentials: Any, region: str) -> Any:
    """A boto3 session whose credentials are ``credentials`` (botocore
    ``RefreshableCredentials``: they renew themselves before they expire), given to it
    through its own credential resolver."""
    import boto3
    import botocore.session
    from botocore.credentials import CredentialProvider, CredentialResolver

    class Fixed(CredentialProvider):  # type: ignore[misc]
        METHOD = CANONICAL_NAME = "ecrscan-assume-role"

        def load(self) -> Any:
            return credentials

    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver([Fixed()]))
    core.register_component("data_loader", _shared_loader())
    return boto3.Session(botocore_session=core, region_name=region)


_LOADER: list[Any] = []
_LOADER_LOCK = threading.Lock()


def _shared_loader() -> Any:
    """One botocore data loader for every assumed-role session of the process: it
    caches the service models it parsed, so the sessions of 60 accounts and regions
    parse the ECR model once, not 60 times (about 50 ms of CPU each)."""
    with _LOADER_LOCK:
        if not _LOADER:
            from botocore.loaders import create_loader

            _LOADER.append(create_loader())
        return _LOADER[0]
