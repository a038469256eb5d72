"""The connections of one run (cloud-custodian's ``SessionFactory`` idea): built once by
each adapter (the command line's context, a Lambda container), it holds the session
factory, the endpoint, the timeouts, the stop request, the concurrency and the retry
settings, and hands out, per (account, region, role) target:

* one :class:`~ecrscan.aws.throttle.Throttle`, shared by the target's ECR, ECS and
  Amazon Inspector gateways (AWS rate limits are per account and region);
* cached gateways (ECR per registry id, ECS, the notification state table) and clients
  (SQS, SNS), each built once and shared by every worker thread;
* the calls each target's gateways made.

A job or a Lambda invocation works through a :meth:`Connections.view` that carries its
own :class:`~ecrscan.core.control.Deadline`: its gateways are the shared ones under a
view of the shared throttle bound to that deadline.  Nothing shared is changed per job.

Sessions are made here (through :mod:`ecrscan.aws.clients`), nowhere else: the base
session once, assumed-role sessions by :meth:`Connections.targets` and
:meth:`Connections.assume`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ecrscan.aws.clients import (
    MESSAGING,
    READ_ATTEMPTS,
    make_client,
    new_session,
    pool_size,
)
from ecrscan.aws.dynamodb import StateStore
from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.ecs import EcsGateway
from ecrscan.aws.organization import query_targets
from ecrscan.aws.sts import resolve_targets
from ecrscan.aws.throttle import Throttle
from ecrscan.core.control import (
    DEFAULT_CONCURRENCY,
    DEFAULT_TIMEOUTS,
    Deadline,
    Stop,
    Timeouts,
)
from ecrscan.core.targets import Target, TargetFailure, TargetKey, TargetQuery, target_key

G = TypeVar("G", EcrGateway, EcsGateway)
K = TypeVar("K")
V = TypeVar("V")

# Assumed-role credentials last an hour; a long-lived process (a warm Lambda container)
# assumes the role again after this long.
ROLE_SESSION_REUSE_SECONDS = 45 * 60


class RoleNotAssumed(RuntimeError):
    """The role a job names could not be assumed."""


@dataclass(frozen=True)
class StateLimits:
    """How long the notification state table may take: its timeouts, read attempts and
    throttling budget (the Lambda reporter's are short: it has 30 s in all)."""

    timeouts: Timeouts | None = None  # None: the run's
    read_attempts: int = READ_ATTEMPTS
    throttle_attempts: int = 10
    throttle_seconds: float = 120.0


@dataclass
class _Shared:
    """What every view of one run's connections shares (guarded by ``lock``)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    session: Any = None
    throttles: dict[TargetKey, Throttle] = field(default_factory=dict)
    ecr: dict[tuple[TargetKey, str | None], tuple[Any, EcrGateway]] = field(default_factory=dict)
    ecs: dict[tuple[TargetKey, str | None], tuple[Any, EcsGateway]] = field(default_factory=dict)
    built: dict[TargetKey, list[EcrGateway | EcsGateway]] = field(default_factory=dict)
    clients: dict[tuple[str, str | None], Any] = field(default_factory=dict)
    stores: dict[tuple[str, str | None], StateStore] = field(default_factory=dict)
    roles: dict[tuple[str, str], tuple[float, Target]] = field(default_factory=dict)


class Connections:
    """The connections of one run; see the module's docstring.  Tests pass their own
    ``session_factory`` (called with ``profile``/``region`` keywords when given), and a
    ``sleep`` and ``clock`` (monotonic seconds) for the throttles."""

    def __init__(
        self,
        session_factory: Callable[..., Any] | None = None,
        *,
        profile: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        concurrency: int = DEFAULT_CONCURRENCY,
        stop: Stop | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        state_limits: StateLimits = StateLimits(),
    ) -> None:
        self._factory = session_factory
        self.profile, self.region = profile, region
        self.endpoint_url = endpoint_url
        self.timeouts = timeouts
        self.concurrency = concurrency
        self.stop = stop
        self.state_limits = state_limits
        self._sleep, self._clock = sleep, clock
        self.deadline: Deadline | None = None
        self._shared = _Shared()

    @classmethod
    def of(cls, session: Any, **settings: Any) -> Connections:
        """Connections over an existing session (tests, benchmarks)."""
        return cls(lambda **_: session, **settings)

    def view(self, deadline: Deadline | None) -> Connections:
        """These connections for one job or invocation: the same sessions, clients,
        gateways and throttles, under ``deadline``."""
        view = object.__new__(Connections)
        view.__dict__.update(self.__dict__)
        view.deadline = deadline
        return view

    # -- sessions and targets ------------------------------------------------------

    def session(self) -> Any:
        """The run's base session (the standard credential chain), made once."""
        with self._shared.lock:
            if self._shared.session is None:
                self._shared.session = new_session(
                    self._factory, profile=self.profile, region=self.region
                )
            return self._shared.session

    def home(self, region: str | None = None) -> Target:
        """The target of the base credentials in ``region`` (default: the session's),
        its account unknown (no STS call)."""
        session = self.session()
        return Target("", region or getattr(session, "region_name", None) or "", session)

    def targets(self, query: TargetQuery) -> tuple[list[Target], list[TargetFailure]]:
        """The targets of ``query`` and those that could not be reached
        (:func:`ecrscan.aws.organization.query_targets`)."""
        return query_targets(
            self.session(),
            query,
            endpoint_url=self.endpoint_url,
            timeouts=self.timeouts,
            parallel=self.concurrency,
        )

    def assume(self, role_arn: str, session_name: str, region: str | None = None) -> Target:
        """The target of ``role_arn`` in ``region`` (default: the session's), assumed as
        ``session_name``; kept and reused for :data:`ROLE_SESSION_REUSE_SECONDS` (the
        credentials renew themselves; the role is assumed afresh after that all the
        same).  :class:`RoleNotAssumed` when STS refuses."""
        key = (role_arn, region or "")
        with self._shared.lock:
            cached = self._shared.roles.get(key)
            if cached is not None and self._clock() - cached[0] < ROLE_SESSION_REUSE_SECONDS:
                return cached[1]
        targets, failures = resolve_targets(
            self.session(),
            [region] if region else [],
            [role_arn],
            session_name=session_name,
            endpoint_url=self.endpoint_url,
            include_base=False,
            timeouts=self.timeouts,
        )
        if failures:
            raise RoleNotAssumed(f"cannot assume {role_arn}: {failures[0].problem}")
        with self._shared.lock:
            self._shared.roles[key] = (self._clock(), targets[0])
        return targets[0]

    # -- gateways ------------------------------------------------------------------

    def throttle(self, target: Target) -> Throttle:
        """The target's throttle gate, under this view's deadline."""
        key = target_key(target)
        with self._shared.lock:
            shared = self._shared.throttles.get(key)
            if shared is None:
                options: dict[str, Any] = {"stop": self.stop, "clock": self._clock}
                if self._sleep is not None:
                    options["sleep"] = self._sleep
                shared = self._shared.throttles[key] = Throttle(**options)
        return shared if self.deadline is None else shared.bound_to(self.deadline)

    def ecr(self, target: Target, registry_id: str | None = None) -> EcrGateway:
        """The ECR gateway of ``target`` (and registry id), with its Amazon Inspector
        gateway (:meth:`EcrGateway.inspector`) under the same throttle."""

        def build() -> EcrGateway:
            return EcrGateway(
                target.session,
                registry_id=registry_id,
                throttle=self._shared_throttle(target),
                **self._options(target),
            )

        return self._gateway(self._shared.ecr, (target_key(target), registry_id), target, build)

    def ecs(self, target: Target) -> EcsGateway:
        """The ECS gateway of ``target``, under the same throttle as its ECR gateways."""

        def build() -> EcsGateway:
            throttle = self._shared_throttle(target)
            return EcsGateway(target.session, throttle=throttle, **self._options(target))

        return self._gateway(self._shared.ecs, (target_key(target), None), target, build)

    def calls(self, target: Target) -> dict[str, int]:
        """AWS calls per operation the target's gateways made."""
        total: Counter[str] = Counter()
        with self._shared.lock:
            built = list(self._shared.built.get(target_key(target), []))
        for gateway in built:
            total.update(gateway.calls)
        return dict(total)

    def state_store(self, table: str, region: str | None = None) -> StateStore:
        """The notification state table's gateway (its limits: :class:`StateLimits`)."""
        limits = self.state_limits

        def build() -> StateStore:
            throttle = Throttle(
                max_attempts=limits.throttle_attempts,
                budget_seconds=limits.throttle_seconds,
                stop=self.stop,
            )
            return StateStore(
                self.session(),
                table,
                **self._place(region),
                throttle=throttle,
                read_attempts=limits.read_attempts,
                timeouts=limits.timeouts or self.timeouts,
            )

        return self._once(self._shared.stores, (table, region), build)

    def client(
        self, service: str, region: str | None = None, retries: Mapping[str, Any] = MESSAGING
    ) -> Any:
        """A client of another service (SQS, SNS: messaging retries), made once per
        (service, region)."""
        return self._once(
            self._shared.clients,
            (service, region),
            lambda: make_client(
                self.session(),
                service,
                **self._place(region),
                retries=retries,
                timeouts=self.timeouts,
            ),
        )

    def _place(self, region: str | None) -> dict[str, Any]:
        """Where a client calls: ``region`` (default the run's) through the run's endpoint."""
        return {"region": region or self.region, "endpoint_url": self.endpoint_url}

    def _once(self, cache: dict[K, V], key: K, build: Callable[[], V]) -> V:
        """``cache[key]``, built (under the shared lock) the first time it is asked for."""
        with self._shared.lock:
            if key not in cache:
                cache[key] = build()
            return cache[key]

    # -- plumbing ------------------------------------------------------------------

    def _gateway(
        self,
        cache: dict[tuple[TargetKey, str | None], tuple[Any, G]],
        key: tuple[TargetKey, str | None],
        target: Target,
        build: Callable[[], G],
    ) -> G:
        """The cached gateway of ``key`` (built again when the target's session is new:
        a role assumed afresh), under this view's deadline."""
        with self._shared.lock:
            cached = cache.get(key)
            if cached is None or cached[0] is not target.session:
                cached = cache[key] = (target.session, build())
                self._shared.built.setdefault(key[0], []).append(cached[1])
        return self._under_deadline(target, cached[1])

    def _shared_throttle(self, target: Target) -> Throttle:
        return self.view(None).throttle(target)

    def _under_deadline(self, target: Target, gateway: G) -> G:
        return gateway if self.deadline is None else gateway.under(self.throttle(target))

    def _options(self, target: Target) -> dict[str, Any]:
        return {
            "region": target.region or self.region or None,
            "endpoint_url": self.endpoint_url,
            "max_pool_connections": pool_size(self.concurrency),
            "timeouts": self.timeouts,
        }
