"""The ECS gateway against moto, pagination and retries with botocore's Stubber, and
in-use discovery over moto ECS."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from ecrscan.aws.ecs import EcsGateway, running_task_definitions
from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.aws.throttle import Throttle
from ecrscan.core.coverage import Location
from ecrscan.core.inuse import RepoKey, RepoUse
from ecrscan.engine.discovery import discover_in_use

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
D = "sha256:" + "d" * 64


def register(ecs, family: str, *images: str) -> str:
    containers = [
        {"name": f"c{i}", "image": image, "memory": 128} for i, image in enumerate(images)
    ]
    response = ecs.register_task_definition(family=family, containerDefinitions=containers)
    return response["taskDefinition"]["taskDefinitionArn"]


@pytest.fixture
def ecs(mocked):
    return boto3.client("ecs", region_name=REGION)


@pytest.fixture
def gateway(mocked):
    return EcsGateway(boto3.Session(region_name=REGION), region=REGION)


def amd64(name: str) -> frozenset[tuple[str, str]]:
    """The platform a task definition naming no ``runtimePlatform`` runs."""
    return frozenset({(name, "linux/amd64")})


def td(family: str, revision: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{revision}"


# -- moto -------------------------------------------------------------------------


@pytest.mark.slow
def test_active_task_definitions_excludes_deregistered_revisions(ecs, gateway):
    web1 = register(ecs, "web", f"{HOST}/web:v1")
    web2 = register(ecs, "web", f"{HOST}/web:v2")
    worker = register(ecs, "worker", f"{HOST}/worker@{D}")
    batch = register(ecs, "batch", "python:3.12")
    ecs.deregister_task_definition(taskDefinition=web1)
    assert (web1, web2) == (td("web", 1), td("web", 2))
    assert sorted(gateway.active_task_definitions()) == sorted([web2, worker, batch])
    assert gateway.calls["list_task_definitions"] == 1


def test_container_images_in_order_without_duplicates(ecs, gateway):
    arn = register(
        ecs, "app", f"{HOST}/app:v1", "public.ecr.aws/aws-observability/fluent", f"{HOST}/app:v1"
    )
    assert gateway.container_images(arn) == (
        f"{HOST}/app:v1",
        "public.ecr.aws/aws-observability/fluent",
    )


def test_container_images_of_a_missing_task_definition_is_a_classified_error(gateway):
    with pytest.raises(AwsError) as caught:
        gateway.container_images(td("nothing", 1))
    assert caught.value.problem.code == "ClientException"
    assert caught.value.operation == "describe_task_definition"


def test_service_task_definitions(ecs, gateway, monkeypatch):
    web = register(ecs, "web", f"{HOST}/web:v1")
    old = register(ecs, "legacy", f"{HOST}/legacy:v1")
    idle = register(ecs, "idle", f"{HOST}/idle:v1")
    draining = register(ecs, "draining", f"{HOST}/draining:v1")
    register(ecs, "unused", f"{HOST}/unused:v1")
    ecs.create_cluster(clusterName="prod")
    ecs.create_cluster(clusterName="empty")
    ecs.create_service(cluster="prod", serviceName="web", taskDefinition=web, desiredCount=2)
    ecs.create_service(cluster="prod", serviceName="legacy", taskDefinition=old, desiredCount=1)
    ecs.create_service(cluster="prod", serviceName="idle", taskDefinition=idle, desiredCount=0)
    # scaled to zero but tasks still running: it counts until they stop
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    ecs.create_service(
        cluster="prod", serviceName="draining", taskDefinition=draining, desiredCount=0
    )
    # a service keeps running a revision deregistered after it started
    ecs.deregister_task_definition(taskDefinition=old)

    assert gateway.service_task_definitions() == {web, old, draining}
    assert gateway.calls["list_clusters"] == 1
    assert gateway.calls["list_services"] == 2  # one per cluster
    assert gateway.calls["describe_services"] == 1  # four services, one batch


def test_discover_in_use_over_moto(ecs, gateway, mocked):
    web = register(ecs, "web", f"{HOST}/web:v1", "nginx:1.25")
    api = register(ecs, "api", f"{HOST}/api@{D}", f"{HOST}/web:v1")
    gone = register(ecs, "gone", f"{HOST}/gone:v1")
    other = register(
        ecs,
        "other",
        "210987654321.dkr.ecr.us-east-1.amazonaws.com/base:3",
        f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/web:v1",
    )
    ecs.deregister_task_definition(taskDefinition=gone)
    ecs.create_cluster(clusterName="prod")
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition=api, desiredCount=1)

    found = discover_in_use(
        gateway, services_only=False, account=ACCOUNT, region=REGION, role_accounts=set()
    )
    assert found.task_definitions == 3
    assert found.for_target(ACCOUNT, REGION) == {
        "api": RepoUse(frozenset(), frozenset({D}), frozenset({api}), amd64(D)),
        "web": RepoUse(frozenset({"v1"}), frozenset(), frozenset({web, api}), amd64("v1")),
    }
    assert [(s.image, s.location) for s in found.skipped] == [("nginx:1.25", Location.NOT_ECR)]
    assert {s.location for s in found.out_of_scope} == {
        Location.OTHER_ACCOUNT,
        Location.OTHER_REGION,
    }
    assert all(s.task_definitions == (other,) for s in found.out_of_scope)

    services = discover_in_use(
        gateway, services_only=True, account=ACCOUNT, region=REGION, role_accounts=set()
    )
    assert set(services.repositories) == {
        RepoKey(ACCOUNT, REGION, "api"),
        RepoKey(ACCOUNT, REGION, "web"),
    }
    assert services.task_definitions == 1
    assert services.skipped == () and services.out_of_scope == ()


# -- pagination and retries (moto ignores maxResults: use a Stubber) ----------------


def stubbed(throttle: Throttle | None = None) -> tuple[EcsGateway, Stubber]:
    session = boto3.Session(region_name=REGION)
    gateway = EcsGateway(session, region=REGION, throttle=throttle)
    return gateway, Stubber(gateway._read)


def test_active_task_definitions_follows_every_page():
    gateway, stub = stubbed()
    first = [td("f", i) for i in range(1, 101)]
    stub.add_response(
        "list_task_definitions",
        {"taskDefinitionArns": first, "nextToken": "t1"},
        {"status": "ACTIVE", "maxResults": 100},
    )
    stub.add_response(
        "list_task_definitions",
        {"taskDefinitionArns": [td("g", 1)]},
        {"status": "ACTIVE", "maxResults": 100, "nextToken": "t1"},
    )
    with stub:
        assert list(gateway.active_task_definitions()) == [*first, td("g", 1)]
    stub.assert_no_pending_responses()


def test_service_task_definitions_pages_clusters_and_services_and_batches_by_ten():
    gateway, stub = stubbed()
    c1 = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/one"
    c2 = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/two"
    services = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/one/s{i}" for i in range(12)]
    stub.add_response("list_clusters", {"clusterArns": [c1], "nextToken": "c"}, {"maxResults": 100})
    stub.add_response("list_clusters", {"clusterArns": [c2]}, {"maxResults": 100, "nextToken": "c"})
    stub.add_response(
        "list_services",
        {"serviceArns": services[:7], "nextToken": "s"},
        {"cluster": c1, "maxResults": 100},
    )
    stub.add_response(
        "list_services",
        {"serviceArns": services[7:]},
        {"cluster": c1, "maxResults": 100, "nextToken": "s"},
    )

    def described(names, running):
        return {
            "services": [
                {
                    "serviceArn": n,
                    "taskDefinition": td(n.rsplit("/", 1)[1], 1),
                    "desiredCount": 1 if running else 0,
                    "runningCount": 0,
                }
                for n in names
            ],
            "failures": [],
        }

    stub.add_response(
        "describe_services",
        described(services[:10], True),
        {"cluster": c1, "services": services[:10]},
    )
    stub.add_response(
        "describe_services",
        {
            **described(services[10:11], False),
            "failures": [{"arn": services[11], "reason": "MISSING"}],
        },
        {"cluster": c1, "services": services[10:]},
    )
    stub.add_response("list_services", {"serviceArns": []}, {"cluster": c2, "maxResults": 100})
    with stub:
        found = gateway.service_task_definitions()
    stub.assert_no_pending_responses()
    assert found == {td(f"s{i}", 1) for i in range(10)}


def test_throttling_is_retried_through_the_shared_gate():
    slept: list[float] = []
    throttle = Throttle(sleep=slept.append, clock=lambda: 0.0, rng=lambda: 0.5)
    gateway, stub = stubbed(throttle)
    stub.add_client_error("describe_task_definition", "ThrottlingException", "Rate exceeded")
    stub.add_response(
        "describe_task_definition",
        {"taskDefinition": {"containerDefinitions": [{"name": "a", "image": "nginx"}]}},
    )
    with stub:
        assert gateway.container_images(td("a", 1)) == ("nginx",)
    assert throttle.stats.throttled == 1
    assert slept and slept[0] > 0
    assert gateway.calls["describe_task_definition"] == 2


def test_access_denied_is_classified_and_not_retried():
    throttle = Throttle(sleep=lambda s: None, clock=lambda: 0.0)
    gateway, stub = stubbed(throttle)
    stub.add_client_error(
        "list_clusters", "AccessDeniedException", "not allowed", http_status_code=400
    )
    with stub, pytest.raises(AwsError) as caught:
        gateway.service_task_definitions()
    assert caught.value.kind is ErrorKind.ACCESS_DENIED
    assert caught.value.problem.message == "not allowed"
    assert throttle.stats.throttled == 0
    assert gateway.calls["list_clusters"] == 1


# -- which deployments count (pure) -----------------------------------------------

ROLLING = {
    "taskDefinition": "new",
    "desiredCount": 2,
    "runningCount": 1,
    "deployments": [
        {"status": "PRIMARY", "taskDefinition": "new", "desiredCount": 2, "runningCount": 0},
        {"status": "ACTIVE", "taskDefinition": "old", "desiredCount": 0, "runningCount": 1},
        {"status": "INACTIVE", "taskDefinition": "older", "desiredCount": 0, "runningCount": 0},
    ],
}
BLUE_GREEN = {
    "taskDefinition": None,
    "desiredCount": 3,
    "runningCount": 3,
    "taskSets": [
        {"taskDefinition": "blue", "runningCount": 3, "desiredCount": 3},
        {"taskDefinition": "green", "runningCount": 0, "desiredCount": 0},
    ],
}


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (ROLLING, {"new", "old"}),
        (BLUE_GREEN, {"blue"}),
        ({"taskDefinition": "t", "desiredCount": 0, "runningCount": 0}, set()),
        ({"taskDefinition": "t", "desiredCount": 0, "runningCount": 2}, {"t"}),
        ({"taskDefinition": "t", "desiredCount": 1}, {"t"}),
        ({**ROLLING, "desiredCount": 0, "runningCount": 0}, set()),
    ],
)
def test_running_task_definitions(service, expected):
    assert running_task_definitions(service) == expected
