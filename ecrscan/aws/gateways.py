"""The gateways of one run, per target: one throttle per (account, region), shared by
its ECR and ECS gateways (AWS rate limits are per account and region), one ECR gateway
per (target, registry id), and the calls each target's gateways made."""

from __future__ import annotations

from collections import Counter
from typing import Any, TypeVar

from ecrscan.aws.clients import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUTS, Timeouts, pool_size
from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.ecs import EcsGateway
from ecrscan.aws.throttle import Stop, Throttle
from ecrscan.core.targets import Target

Key = tuple[str, str, str]  # (account, region, role ARN)
G = TypeVar("G", EcrGateway, EcsGateway)


def target_key(target: Any) -> Key:
    """A target's (or a target failure's) identity: account, region and role ARN."""
    return target.account, target.region, target.role_arn


class Gateways:
    """Builds and keeps each target's gateways, with the run's endpoint, timeouts and
    stop request.  Tests may pass their own."""

    def __init__(
        self,
        endpoint_url: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        stop: Stop | None = None,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.timeouts = timeouts
        self.stop = stop
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "max_pool_connections": pool_size(concurrency),
            "timeouts": timeouts,
        }
        self._throttles: dict[Key, Throttle] = {}
        self._built: dict[Key, list[EcrGateway | EcsGateway]] = {}
        self._ecr: dict[tuple[Key, str | None], EcrGateway] = {}

    def throttle(self, target: Target) -> Throttle:
        key = target_key(target)
        if key not in self._throttles:
            self._throttles[key] = Throttle(stop=self.stop)
        return self._throttles[key]

    def ecr(self, target: Target, registry_id: str | None = None) -> EcrGateway:
        cache_key = (target_key(target), registry_id)
        if cache_key not in self._ecr:
            gateway = EcrGateway(
                target.session,
                region=target.region or None,
                registry_id=registry_id,
                throttle=self.throttle(target),
                **self._options,
            )
            self._ecr[cache_key] = self._keep(target, gateway)
        return self._ecr[cache_key]

    def ecs(self, target: Target) -> EcsGateway:
        gateway = EcsGateway(
            target.session,
            region=target.region or None,
            throttle=self.throttle(target),
            **self._options,
        )
        return self._keep(target, gateway)

    def calls(self, target: Target) -> dict[str, int]:
        """AWS calls per operation the target's gateways made."""
        total: Counter[str] = Counter()
        for gateway in self._built.get(target_key(target), []):
            total.update(gateway.calls)
        return dict(total)

    def _keep(self, target: Target, gateway: G) -> G:
        self._built.setdefault(target_key(target), []).append(gateway)
        return gateway
