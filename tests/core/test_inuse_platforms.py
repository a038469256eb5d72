"""ECS in-use discovery of a tag naming an image index: a task definition runs one of
its platform images, the one matching its ``runtimePlatform`` (default linux/amd64)."""

from __future__ import annotations

import boto3
import pytest

from ecrscan.aws.ecs import EcsGateway
from ecrscan.core.inuse import (
    RepoUse,
    build_in_use,
    pick_platform,
    select_images,
    task_platform,
    unmatched,
)
from ecrscan.core.model import Image
from ecrscan.engine.discovery import discover_in_use

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
INDEX = "sha256:" + "0" * 64


def digest(char: str) -> str:
    return "sha256:" + char * 64


def platform_image(platform: str, char: str, tags: tuple[str, ...] = ("v1",)) -> Image:
    return Image(
        repository="team/api",
        registry_id=ACCOUNT,
        digest=digest(char),
        platform=platform,
        index_digest=INDEX,
        index_tags=tags,
    )


AMD = platform_image("linux/amd64", "a")
ARM = platform_image("linux/arm64/v8", "b")
PLAIN = Image(repository="team/api", registry_id=ACCOUNT, digest=digest("c"), tags=("old",))


@pytest.mark.parametrize(
    ("runtime", "expected"),
    [
        (None, "linux/amd64"),
        ({}, "linux/amd64"),
        ({"cpuArchitecture": "ARM64"}, "linux/arm64"),
        ({"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"}, "linux/amd64"),
        ({"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE"}, "windows/amd64"),
        ("garbage", "linux/amd64"),
    ],
)
def test_task_platform(runtime: object, expected: str) -> None:
    assert task_platform(runtime) == expected


def test_pick_prefers_the_tasks_platform_then_a_variant_then_amd64() -> None:
    assert pick_platform([AMD, ARM], "linux/amd64") is AMD
    assert pick_platform([AMD, ARM], "linux/arm64") is ARM  # arm64/v8 runs on arm64
    assert pick_platform([AMD, ARM], "linux/s390x") is AMD
    assert pick_platform([ARM], "linux/s390x") is ARM
    assert pick_platform([], "linux/amd64") is None


def test_a_tag_naming_an_index_selects_the_platform_the_task_runs() -> None:
    images = [PLAIN, AMD, ARM]
    arm_task = RepoUse(tags=frozenset({"v1"}), platforms=frozenset({("v1", "linux/arm64")}))
    assert select_images(images, arm_task) == [ARM]
    assert unmatched(images, arm_task).tags == frozenset()  # the tag is not "missing"
    default = RepoUse(tags=frozenset({"v1"}), platforms=frozenset({("v1", "linux/amd64")}))
    assert select_images(images, default) == [AMD]
    both = arm_task | default
    assert select_images(images, both) == [AMD, ARM]
    by_index_digest = RepoUse(
        digests=frozenset({INDEX}), platforms=frozenset({(INDEX, "linux/arm64")})
    )
    assert select_images(images, by_index_digest) == [ARM]
    assert unmatched(images, by_index_digest).digests == frozenset()
    plain = RepoUse(tags=frozenset({"old"}), platforms=frozenset({("old", "linux/arm64")}))
    assert select_images(images, plain) == [PLAIN]


def test_build_in_use_records_each_task_definitions_platform() -> None:
    arm_td, amd_td = "arn:td/arm:1", "arn:td/amd:1"
    found = build_in_use(
        {arm_td: (f"{HOST}/team/api:v1",), amd_td: (f"{HOST}/team/api:v1",)},
        account=ACCOUNT,
        region=REGION,
        platforms={arm_td: "linux/arm64"},
    )
    [use] = found.for_target(ACCOUNT, REGION).values()
    assert use.platforms == frozenset({("v1", "linux/arm64"), ("v1", "linux/amd64")})


def test_discovery_reads_the_runtime_platform_from_the_task_definition(mocked: None) -> None:
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.register_task_definition(
        family="arm",
        containerDefinitions=[{"name": "c", "image": f"{HOST}/team/api:v1", "memory": 128}],
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
    )
    gateway = EcsGateway(boto3.Session(region_name=REGION), region=REGION)
    found = discover_in_use(gateway, services_only=False, account=ACCOUNT, region=REGION)
    use = found.for_target(ACCOUNT, REGION)["team/api"]
    assert use.platforms == frozenset({("v1", "linux/arm64")})
    assert select_images([AMD, ARM], use) == [ARM]
    assert gateway.calls["describe_task_definition"] == 1  # one call gives both
