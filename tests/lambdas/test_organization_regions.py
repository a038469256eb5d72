"""The functions over several regions (ORGANIZATION_REGIONS, the template's
OrganizationRegions): the repositories function queues one job per (account, region,
repository) for a list of regions and for ALL_ENABLED (each account's enabled regions),
with or without the organization; the images function scans in a job's region; a bad
value is a configuration error naming the variable."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from ecrscan.core.jobs import job_body, parse_job
from ecrscan.lambdas import images, repositories, runtime
from tests.support.env import REGION
from tests.support.fakes import assumed_session
from tests.support.inuse_world import Sessions
from tests.support.lambda_events import FakeContext, sqs_event
from tests.support.registry import FakeRegistry
from tests.support.sqs import drain

ROLE = "ecrscan-audit"
WEST = "eu-west-1"
HOME_ACCOUNT = "123456789012"  # moto's default account: the function's own


def role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ROLE}"


def registry(account: str, region: str) -> FakeRegistry:
    """The registry of ``account`` in ``region`` (the function's own account directly,
    another through the organization's role)."""
    if account == HOME_ACCOUNT:
        client = boto3.client("ecr", region_name=region)
    else:
        client = assumed_session(role_arn(account), region).client("ecr")
    return FakeRegistry(client, region, account)


@pytest.fixture
def org(mocked: None) -> dict[str, str]:
    """An organization of the caller and two members; each account has one repository
    in REGION (the function's) and one in WEST."""
    client = boto3.client("organizations", region_name=REGION)
    client.create_organization(FeatureSet="ALL")
    ids = {"home": HOME_ACCOUNT}
    for name in ("alpha", "beta"):
        status = client.create_account(Email=f"{name}@example.com", AccountName=name)
        ids[name] = status["CreateAccountStatus"]["AccountId"]
    for name, account in ids.items():
        for region in (REGION, WEST):
            registry(account, region).create_repo(f"{name}-{region}")
    return ids


def run(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[dict[str, Any], set[tuple]]:
    """Invoke the repositories function with ``env``; its result and the jobs queued, as
    (registry id, region, repository, role) with the region the images function reads."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    configure(monkeypatch, {"IMAGES_SCAN_JOBS_QUEUE_URL": url, **env})
    result = repositories.handler({}, FakeContext())
    jobs = {
        (j.registry_id, j.region or REGION, j.repository_name, j.role_arn)
        for j in map(parse_job, drain(sqs, url))
    }
    return result, jobs


def configure(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    monkeypatch.setattr(runtime, "environ", lambda: env)
    monkeypatch.setattr(
        runtime, "connections", runtime.new_connections(lambda: Sessions()(region_name=REGION))
    )


def expected(ids: dict[str, str], regions: tuple[str, ...]) -> set[tuple]:
    return {
        (account, region, f"{name}-{region}", None if name == "home" else role_arn(account))
        for name, account in ids.items()
        for region in regions
    }


def test_a_list_of_regions_queues_a_job_per_account_region_and_repository(
    org: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result, jobs = run(
        monkeypatch, ORGANIZATION_ROLE_NAME=ROLE, ORGANIZATION_REGIONS=f"{REGION},{WEST}"
    )
    assert jobs == expected(org, (REGION, WEST))
    assert (result["repositories"], result["queued"], result["accounts"]) == (6, 6, 3)
    assert result["unreachable"] == []


def test_one_other_region_covers_that_region_only(
    org: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, jobs = run(monkeypatch, ORGANIZATION_ROLE_NAME=ROLE, ORGANIZATION_REGIONS=WEST)
    assert jobs == expected(org, (WEST,))


def test_all_enabled_queues_the_repositories_of_every_enabled_region(
    org: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    far = "ap-southeast-2"
    registry(org["beta"], far).create_repo(f"beta-{far}")
    result, jobs = run(monkeypatch, ORGANIZATION_ROLE_NAME=ROLE, ORGANIZATION_REGIONS="ALL_ENABLED")
    assert jobs == expected(org, (REGION, WEST)) | {
        (org["beta"], far, f"beta-{far}", role_arn(org["beta"]))
    }
    assert result["accounts"] == 3


def test_regions_without_the_organization_cover_the_functions_own_account(
    org: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    own = {"home": HOME_ACCOUNT}
    _, listed = run(monkeypatch, ORGANIZATION_REGIONS=f"{WEST},{REGION}")
    assert listed == expected(own, (REGION, WEST))
    _, enabled = run(monkeypatch, ORGANIZATION_REGIONS="ALL_ENABLED")
    assert enabled == expected(own, (REGION, WEST))


def test_without_regions_the_function_covers_its_own_region_as_before(
    org: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, jobs = run(monkeypatch, ORGANIZATION_ROLE_NAME=ROLE, ORGANIZATION_REGIONS="")
    assert jobs == expected(org, (REGION,))


@pytest.mark.parametrize(
    "value",
    ["eu-west", "all", "ALL_ENABLED,us-east-1", "us-east-1;eu-west-1", "eu west 1"],
)
def test_a_bad_regions_value_is_a_configuration_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    env = {
        "IMAGES_SCAN_JOBS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q",
        "ORGANIZATION_REGIONS": value,
    }
    configure(monkeypatch, env)
    with pytest.raises(runtime.ConfigurationError, match="ORGANIZATION_REGIONS") as caught:
        repositories.handler({}, FakeContext())
    assert repr(value) in str(caught.value)


def test_regions_and_ecs_discovery_do_not_mix(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "IMAGES_SCAN_JOBS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q",
        "ORGANIZATION_REGIONS": WEST,
        "ECS_DISCOVERY_ENABLED": "true",
    }
    configure(monkeypatch, env)
    with pytest.raises(runtime.ConfigurationError, match="cannot be combined"):
        repositories.handler({}, FakeContext())


def test_the_images_function_scans_a_job_of_its_own_account_in_the_jobs_region(
    mocked: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    west, home = registry(HOME_ACCOUNT, WEST), registry(HOME_ACCOUNT, REGION)
    for fake in (west, home):  # the same repository name in both regions
        fake.create_repo("app")
        fake.push("app", "v1")
    configure(monkeypatch, {})
    response = images.handler(sqs_event(job_body("app", region=WEST)), FakeContext())
    assert response == {"batchItemFailures": []}
    assert west.backend.repositories["app"].images[0].last_scan is not None
    assert home.backend.repositories["app"].images[0].last_scan is None  # not this region
