"""The functions across an AWS Organization (ORGANIZATION_ROLE_NAME): the repositories
function queues every reachable account's repositories and fails the invocation naming
the accounts it could not reach; the images function assumes the organization's role
named in a job, in the job's region; ECS discovery and the organization do not mix."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from ecrscan.core.jobs import job_body, parse_job
from ecrscan.lambdas import images, repositories, runtime
from tests.support.env import REGION
from tests.support.fakes import assumed_session
from tests.support.inuse_world import Sessions, body_field
from tests.support.lambda_events import FakeContext, sqs_event
from tests.support.registry import FakeRegistry
from tests.support.sqs import drain

ROLE = "ecrscan-audit"


def role_session(account: str, region: str = REGION) -> boto3.Session:
    return assumed_session(f"arn:aws:iam::{account}:role/{ROLE}", region)


@pytest.fixture
def org(mocked: None) -> dict[str, str]:
    """Two member accounts with one repository each (and one in the caller's account)."""
    client = boto3.client("organizations", region_name=REGION)
    client.create_organization(FeatureSet="ALL")
    ids = {}
    for name in ("alpha", "beta"):
        status = client.create_account(Email=f"{name}@example.com", AccountName=name)
        ids[name] = status["CreateAccountStatus"]["AccountId"]
        registry = FakeRegistry(role_session(ids[name]).client("ecr"), REGION, ids[name])
        registry.create_repo(f"{name}-app")
        registry.push(f"{name}-app", "v1")
    FakeRegistry(boto3.client("ecr", region_name=REGION), REGION).create_repo("home-app")
    return ids


def configure(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], sessions: Any) -> None:
    monkeypatch.setattr(runtime, "environ", lambda: env)
    monkeypatch.setattr(
        runtime, "connections", runtime.new_connections(lambda: sessions(region_name=REGION))
    )


def test_an_unreachable_account_fails_the_run_after_the_rest_is_queued(
    org: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sessions = Sessions()
    denied = f"arn:aws:iam::{org['beta']}:role/{ROLE}"
    sessions.refuse("sts", "AssumeRole", "AccessDenied", "no", when=body_field("RoleArn", denied))
    configure(
        monkeypatch,
        {"IMAGES_SCAN_JOBS_QUEUE_URL": url, "ORGANIZATION_ROLE_NAME": ROLE},
        sessions,
    )
    with pytest.raises(repositories.OrganizationIncomplete, match=org["beta"]):
        repositories.handler({}, FakeContext())
    jobs = {(j.registry_id, j.repository_name, j.role_arn) for j in map(parse_job, drain(sqs, url))}
    assert jobs == {
        ("123456789012", "home-app", None),
        (org["alpha"], "alpha-app", f"arn:aws:iam::{org['alpha']}:role/{ROLE}"),
    }


def test_ecs_discovery_and_the_organization_do_not_mix(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "IMAGES_SCAN_JOBS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q",
        "ORGANIZATION_ROLE_NAME": ROLE,
        "ECS_DISCOVERY_ENABLED": "true",
    }
    configure(monkeypatch, env, Sessions())
    with pytest.raises(runtime.ConfigurationError, match="cannot be combined"):
        repositories.handler({}, FakeContext())


def test_a_bad_organization_role_name_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configure(monkeypatch, {"ORGANIZATION_ROLE_NAME": "bad name"}, Sessions())
    with pytest.raises(runtime.ConfigurationError, match="ORGANIZATION_ROLE_NAME"):
        images.handler(sqs_event(job_body("x")), FakeContext())


def test_the_images_function_assumes_the_organization_role_in_the_jobs_region(
    org: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    west = FakeRegistry(role_session(org["alpha"], "eu-west-1").client("ecr"), "eu-west-1")
    west.account = org["alpha"]
    west.create_repo("alpha-west")
    west.push("alpha-west", "v1")
    configure(monkeypatch, {"ORGANIZATION_ROLE_NAME": ROLE}, Sessions())
    arn = f"arn:aws:iam::{org['alpha']}:role/{ROLE}"
    job = job_body("alpha-west", org["alpha"], role_arn=arn, region="eu-west-1")
    other = job_body("beta-app", org["beta"], role_arn=f"arn:aws:iam::{org['beta']}:role/other")
    response = images.handler(sqs_event(job, other), FakeContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}  # role not allowed
    image = west.backend.repositories["alpha-west"].images[0]
    assert image.last_scan is not None  # scanned in the member's eu-west-1 registry
