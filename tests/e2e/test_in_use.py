"""End to end: the installed ``ecrscan`` command as a subprocess against moto's server,
with task definitions registered in moto ECS: ``rescan --in-use ecs --dry-run`` and
``report --in-use ecs``, and one run over two regions and a role's account.

The server runs in this process, so the tests set scan states and pull times through
moto's backends (``tests.support.registry``), and check through them that nothing was scanned.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest

from tests.support.env import REGION, ecrscan_command
from tests.support.inuse_world import ACCOUNT, host, register, set_pulled
from tests.support.registry import FakeRegistry

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out

NOW = datetime.now(UTC).replace(microsecond=0)
WEST = "eu-west-1"
ACC1 = "111111111111"
ROLE1 = f"arn:aws:iam::{ACC1}:role/ecrscan-audit"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ecrscan_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )


def client(service: str, endpoint: str, region: str = REGION, **creds: str):
    creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, region_name=region, endpoint_url=endpoint, **creds)


@pytest.fixture
def world(server_env: dict[str, str], moto_server: str) -> SimpleNamespace:
    """app:v1 (scanned, pulled yesterday) and app@<v2 digest> (scanned, never pulled) in
    use; app:v0 and tools:1 not in use and never scanned; nginx (Docker Hub) skipped."""
    registry = FakeRegistry(client("ecr", moto_server), REGION)
    for repo in ("app", "tools"):
        registry.create_repo(repo)
    d = {
        "app:v1": registry.push("app", "v1"),
        "app:v2": registry.push("app", "v2"),
        "app:v0": registry.push("app", "v0"),
        "tools:1": registry.push("tools", "1"),
    }
    for name in ("app:v1", "app:v2"):
        registry.set_scan(
            "app",
            d[name],
            completed_at=NOW - timedelta(days=1),
            counts={"MEDIUM": 2} if name == "app:v2" else {},
        )
    set_pulled(registry, "app", d["app:v1"], NOW - timedelta(days=1))
    ecs = client("ecs", moto_server)
    web = register(ecs, "web", f"{host()}/app:v1", "nginx:1.25")
    job = register(ecs, "job", f"{host()}/app@{d['app:v2']}", f"{host()}/app:gone")
    return SimpleNamespace(registry=registry, digests=d, td={"web": web, "job": job})


def names(world: SimpleNamespace, images: list[dict]) -> set[str]:
    by_digest = {digest: name for name, digest in world.digests.items()}
    return {by_digest[i["digest"]] for i in images}


def test_rescan_in_use_dry_run_json(world, server_env: dict[str, str]) -> None:
    before = {
        n: world.registry._image(n.split(":")[0], d).last_scan for n, d in world.digests.items()
    }
    proc = run(
        ["rescan", "--in-use", "ecs", "--dry-run", "--expiry", "12h", "--format", "json"],
        server_env,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert names(world, doc["images"]) == {"app:v1", "app:v2"}
    assert {i["outcome"] for i in doc["images"]} == {"planned"}  # last scans 1 day old
    assert {(i["account"], i["region"]) for i in doc["images"]} == {(ACCOUNT, REGION)}
    assert [r["name"] for r in doc["repositories"]] == ["app"]
    scope = doc["scope"]
    assert (scope["in_use"], scope["task_definitions"], scope["not_in_use"]) == ("ecs", 2, 1)
    assert [(s["image"], s["reason"], s["task_definitions"]) for s in scope["skipped"]] == [
        ("nginx:1.25", "Docker Hub image", [world.td["web"]])
    ]
    assert [(u["repository"], u["tags"]) for u in scope["unmatched"]] == [("app", ["gone"])]
    [target] = doc["targets"]
    assert target.pop("totals")["images"] == sum(1 for _ in doc["images"])
    assert target == {
        "account": ACCOUNT,
        "region": REGION,
        "role_arn": None,
        "complete": True,
        "errors": [],
    }
    assert "--in-use ecs: 2 task definitions read; 2 of 3 images" in proc.stderr
    after = {
        n: world.registry._image(n.split(":")[0], d).last_scan for n, d in world.digests.items()
    }
    assert after == before  # a dry run starts nothing


def test_report_in_use_gates_only_what_runs(world, server_env: dict[str, str]) -> None:
    whole = run(["report", "--format", "json"], server_env)
    assert whole.returncode == 3  # app:v0 and tools:1 were never scanned
    proc = run(["report", "--in-use", "ecs", "--fail-on", "HIGH", "--format", "json"], server_env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert names(world, doc["images"]) == {"app:v1", "app:v2"}
    assert {i["status"] for i in doc["images"]} == {"ok"}
    assert doc["scope"]["skipped"][0]["image"] == "nginx:1.25"
    # the MEDIUM findings of app:v2 breach the default thresholds ...
    assert run(["report", "--in-use", "ecs"], server_env).returncode == 1
    # ... unless only images pulled within a week count: app:v2 was never pulled
    pulled = run(
        ["report", "--in-use", "ecs", "--pulled-within", "1w", "--format", "json"], server_env
    )
    assert pulled.returncode == 0, pulled.stderr
    doc = json.loads(pulled.stdout)
    assert names(world, doc["images"]) == {"app:v1"}
    assert (doc["scope"]["never_pulled"], doc["scope"]["pulled_within"]) == (1, "1w")


def test_two_regions_and_a_role_through_the_endpoint(
    world, server_env: dict[str, str], moto_server: str
) -> None:
    west = FakeRegistry(client("ecr", moto_server, WEST), WEST)
    west.create_repo("app")
    west_v1 = west.push("app", "v1")
    creds = client("sts", moto_server).assume_role(RoleArn=ROLE1, RoleSessionName="setup")[
        "Credentials"
    ]
    role_ecr = client(
        "ecr",
        moto_server,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    role_registry = FakeRegistry(role_ecr, REGION, ACC1)
    role_registry.create_repo("base")
    role_registry.push("base", "3")
    proc = run(
        [
            "rescan",
            "--region",
            REGION,
            "--region",
            WEST,
            "--role-arn",
            ROLE1,
            "--dry-run",
            "--format",
            "json",
        ],
        server_env,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    placed = {(i["account"], i["region"], i["repository"]) for i in doc["images"]}
    assert placed == {
        (ACCOUNT, REGION, "app"),
        (ACCOUNT, REGION, "tools"),
        (ACCOUNT, WEST, "app"),
        (ACC1, REGION, "base"),
    }
    assert west_v1 in {i["digest"] for i in doc["images"] if i["region"] == WEST}
    assert [(t["account"], t["region"], t["complete"]) for t in doc["targets"]] == [
        (ACCOUNT, REGION, True),
        (ACCOUNT, WEST, True),
        (ACC1, REGION, True),
        (ACC1, WEST, True),
    ]
