"""The ECS gateway: the ECS reads in-use discovery needs, with pagination and retries.

Every ECS call goes through the same retry loop and error classes as the ECR gateway:
botocore's ``standard`` retry mode for the first few 5xx answers, throttling paced by the
shared :class:`~ecrscan.aws.throttle.Throttle`, and errors arrive classified as
:class:`~ecrscan.aws.errors.AwsError`: both gateways inherit
:class:`~ecrscan.aws.gateway.Gateway`.

All calls here are reads, so the gateway is safe to use with ``--dry-run`` and in the
read-only ``report`` command.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ecrscan.aws.gateway import Gateway
from ecrscan.core.inuse import task_platform

TASK_DEFINITION_PAGE = 100  # ListTaskDefinitions: maxResults 1-100
CLUSTER_PAGE = 100  # ListClusters: maxResults 1-100
SERVICE_PAGE = 100  # ListServices: maxResults 1-100
DESCRIBE_SERVICES_BATCH = 10  # DescribeServices: at most 10 services a call


class EcsGateway(Gateway):
    """Owns the ECS client of one region (reads only)."""

    SERVICE = "ecs"

    def _items(self, operation: str, key: str, **params: Any) -> Iterator[str]:
        """The ``key`` list of every page of a ``nextToken``-paginated list call."""
        for page in self._pages(self._read, operation, **params):
            yield from page.get(key, [])

    def active_task_definitions(self) -> Iterator[str]:
        """ARNs of every ACTIVE task definition revision (ListTaskDefinitions, all pages)."""
        return self._items(
            "list_task_definitions",
            "taskDefinitionArns",
            status="ACTIVE",
            maxResults=TASK_DEFINITION_PAGE,
        )

    def container_images(self, task_definition_arn: str) -> tuple[str, ...]:
        """The ``image`` of each container of a task definition, in order, without
        duplicates (DescribeTaskDefinition)."""
        return self.task_images(task_definition_arn)[0]

    def task_images(self, task_definition_arn: str) -> tuple[tuple[str, ...], str]:
        """:meth:`container_images` and the platform the task runs on (its
        ``runtimePlatform`` as ``linux/arm64``; linux/amd64 when it names none), from
        one DescribeTaskDefinition."""
        response = self._call(
            self._read, "describe_task_definition", taskDefinition=task_definition_arn
        )
        definition = response.get("taskDefinition") or {}
        containers = definition.get("containerDefinitions") or []
        images = (c.get("image") for c in containers)
        platform = task_platform(definition.get("runtimePlatform"))
        return tuple(dict.fromkeys(i for i in images if i)), platform

    def clusters(self) -> Iterator[str]:
        """ARNs of every cluster (ListClusters, all pages)."""
        return self._items("list_clusters", "clusterArns", maxResults=CLUSTER_PAGE)

    def services(self, cluster_arn: str) -> Iterator[str]:
        """ARNs of every service of a cluster (ListServices, all pages)."""
        return self._items(
            "list_services", "serviceArns", cluster=cluster_arn, maxResults=SERVICE_PAGE
        )

    def service_task_definitions(self) -> set[str]:
        """Task definitions that services are running or about to run.

        For every service of every cluster (DescribeServices, ten at a time) whose
        ``runningCount`` or ``desiredCount`` is above zero: the service's
        ``taskDefinition``, and the task definition of each deployment and task set that
        is running or wanted, so the old revision of a rolling deployment still counts
        while its tasks run.  A service scaled to zero with nothing running does not
        count.  The revisions may be INACTIVE (deregistered while a service still runs
        them); DescribeTaskDefinition still answers for those.
        """
        found: set[str] = set()
        for cluster in list(self.clusters()):
            arns = list(self.services(cluster))
            for start in range(0, len(arns), DESCRIBE_SERVICES_BATCH):
                response = self._call(
                    self._read,
                    "describe_services",
                    cluster=cluster,
                    services=arns[start : start + DESCRIBE_SERVICES_BATCH],
                )
                # "failures" lists services deleted since ListServices: nothing runs there.
                for service in response.get("services", []):
                    found.update(running_task_definitions(service))
        return found


def running_task_definitions(service: dict[str, Any]) -> set[str]:
    """The task definitions one DescribeServices entry runs or wants to run (pure)."""
    if not _active(service):
        return set()
    found = {service["taskDefinition"]} if service.get("taskDefinition") else set()
    for part in [*(service.get("deployments") or []), *(service.get("taskSets") or [])]:
        if part.get("taskDefinition") and _active(part):
            found.add(part["taskDefinition"])
    return found


def _active(item: dict[str, Any]) -> bool:
    return (item.get("runningCount") or 0) > 0 or (item.get("desiredCount") or 0) > 0
