"""The gateways of one run, per target: one throttle per (account, region), shared by
its ECR and ECS gateways (AWS rate limits are per account and region), one ECR gateway
per (target, registry id), and the calls each target's gateways made."""

from __future__ import annotations

from collections import Counter
from typing import Any, TypeVar

from ecrscan.aws.clients import DEFAULT_CONCURRENCY, pool_size
from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.ecs import EcsGateway
from ecrscan.aws.throttle import Throttle
from ecrscan.core.targets import Target

Key = tuple[str, str, str]  # (account, region, role ARN)
G = TypeVar("G", EcrGateway, EcsGateway)


def target_key(target: Any) -> Key:
    """A target's (or a target failure's) identity: account, region and role ARN."""
    return target.account, target.region, target.role_arn


class Gateways:
    """Builds and keeps each target's gateways.  Tests may pass their own."""

    def __init__(
        self, endpoint_url: str | None = None, concurrency: int = DEFAULT_CONCURRENCY
    ) -> None:
        self.endpoint_url = endpoint_url
        self.pool = pool_size(concurrency)
        self._throttles: dict[Key, Throttle] = {}
        self._built: dict[Key, list[EcrGateway | EcsGateway]] = {}
        self._ecr: dict[tuple[Key, str | None], EcrGateway] = {}

    def throttle(self, target: Target) -> Throttle:
        return self._throttles.setdefault(target_key(target), Throttle())

    def ecr(self, target: Target, registry_id: str | None = None) -> EcrGateway:
        cache_key = (target_key(target), registry_id)
        if cache_key not in self._ecr:
            self._ecr[cache_key] = self._keep(
                target,
                EcrGateway(
                    target.session,
                    region=target.region or None,
                    endpoint_url=self.endpoint_url,
                    registry_id=registry_id,
                    throttle=self.throttle(target),
                    max_pool_connections=self.pool,
                ),
            )
        return self._ecr[cache_key]

    def ecs(self, target: Target) -> EcsGateway:
        gateway = EcsGateway(
            target.session,
            region=target.region or None,
            endpoint_url=self.endpoint_url,
            throttle=self.throttle(target),
            max_pool_connections=self.pool,
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
