"""Lambda parity of ECS in-use discovery: the repositories function with
``ECS_DISCOVERY_ENABLED`` / ``ECS_DISCOVERY_ROLES`` queues jobs naming the exact images
in use (by digest, with the role for other accounts), and the images function acts in
that account.  moto ECS, ECR, SQS and STS, two accounts with task definitions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.ecr.models import ecr_backends

from ecrscan.aws.connections import Connections
from ecrscan.core.durations import Duration
from ecrscan.core.jobs import IMAGES_PER_JOB, JobError, image_jobs, job_body, parse_job
from ecrscan.core.model import Repository
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.targets import default_session_name
from ecrscan.engine.plan import InUseMode, Plan
from ecrscan.engine.rescan import RescanSettings
from ecrscan.engine.targets import Audit
from ecrscan.lambdas import images, repositories, runtime
from tests.support.env import REGION
from tests.support.fakes import assumed_session, fresh_session
from tests.support.lambda_events import CountingSession, FakeContext, failures, log_lines, sqs_event
from tests.support.registry import FakeRegistry
from tests.support.sqs import drain
from tests.support.sts import fail_calls, host, register

BASE = "123456789012"  # moto's default account
ACC1 = "111111111111"  # has a role
ACC2 = "222222222222"  # has no role unless a test gives one
ROLE1 = f"arn:aws:iam::{ACC1}:role/ecrscan-audit"
ROLE2 = f"arn:aws:iam::{ACC2}:role/ecrscan-audit"
LONG_AGO = datetime.now(UTC) - timedelta(days=30)
FILTER = "^(web|api|ghost|base|tools|thing)$"  # all but "ignored" (RE2 has no lookahead)


def role_session(role_arn: str) -> boto3.Session:
    return assumed_session(role_arn, REGION)


@dataclass
class World:
    digests: dict[str, str]  # "<account>/<repo>:<tag>" -> digest
    task_definitions: dict[str, str]  # family -> ARN
    queue_url: str
    sqs: Any

    def digest(self, account: str, ref: str) -> str:
        return self.digests[f"{account}/{ref}"]


@pytest.fixture
def world(mocked, monkeypatch) -> World:
    """Base account: web (v1 in use, v0 not), api (in use by digest), ignored (in use,
    filtered out); its task definitions also name web:deleted (no such tag), ghost:1 (no
    such repository), nginx (not ECR), ACC1's base:3 and ACC2's thing:1.  ACC1: base (3
    and a pinned digest in use, 1 not) and tools (v1 in use, by ACC1's own task
    definition)."""
    digests: dict[str, str] = {}
    base_session = fresh_session(REGION)
    own = FakeRegistry(base_session.client("ecr"), REGION, BASE)
    for repo, tags in {"web": ("v1", "v0"), "api": ("v7",), "ignored": ("1",)}.items():
        own.create_repo(repo)
        for tag in tags:
            digests[f"{BASE}/{repo}:{tag}"] = digest = own.push(repo, tag)
            own.set_scan(repo, digest, completed_at=LONG_AGO)
    acc1 = role_session(ROLE1)
    other = FakeRegistry(acc1.client("ecr"), REGION, ACC1)
    for repo, tags in {"base": ("3", "2", "1"), "tools": ("v1",)}.items():
        other.create_repo(repo)
        for tag in tags:
            digests[f"{ACC1}/{repo}:{tag}"] = digest = other.push(repo, tag)
            other.set_scan(repo, digest, completed_at=LONG_AGO)

    task_definitions = {
        "web": register(
            base_session,
            "web",
            f"{host(BASE)}/web:v1",
            f"{host(BASE)}/web:deleted",
            "nginx:1.25",
            f"{host(ACC1)}/base:3",
        ),
        "api": register(
            base_session,
            "api",
            f"{host(BASE)}/api@{digests[f'{BASE}/api:v7']}",
            f"{host(BASE)}/ignored:1",
            f"{host(BASE)}/ghost:1",
            f"{host(ACC2)}/thing:1",
        ),
        "job": register(
            acc1, "job", f"{host(ACC1)}/base@{digests[f'{ACC1}/base:2']}", f"{host(ACC1)}/tools:v1"
        ),
    }
    sqs = base_session.client("sqs")
    queue_url = sqs.create_queue(QueueName="ecrscan-jobs")["QueueUrl"]
    for name in (
        "ECS_DISCOVERY_ENABLED",
        "ECS_DISCOVERY_ROLES",
        "REPOSITORIES_FILTER_REGEXP",
        "ECR_IMAGES_DURATION_DELTA",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IMAGES_SCAN_JOBS_QUEUE_URL", queue_url)
    monkeypatch.setenv("REPOSITORIES_FILTER_REGEXP", FILTER)
    return World(digests, task_definitions, queue_url, sqs)


@pytest.fixture
def session(monkeypatch) -> CountingSession:
    counting = CountingSession()
    counting.session = fresh_session(REGION)
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(lambda: counting))
    return counting


def queued(world: World) -> list[dict[str, Any]]:
    return sorted(
        (json.loads(b) for b in drain(world.sqs, world.queue_url)),
        key=lambda job: (job.get("registryId", ""), job["repositoryName"]),
    )


def digests_of(job: dict[str, Any]) -> list[str]:
    assert all(set(i) == {"imageDigest"} for i in job["images"])
    return [i["imageDigest"] for i in job["images"]]


def last_scan(account: str, repo: str, digest: str) -> Any:
    return ecr_backends[account][REGION].repositories[repo]._get_image(None, digest).last_scan


# -- the repositories function ---------------------------------------------------------


@pytest.mark.parametrize("value", [None, "false"])
def test_without_discovery_one_job_per_repository(world, session, monkeypatch, value):
    if value is not None:
        monkeypatch.setenv("ECS_DISCOVERY_ENABLED", value)
    monkeypatch.setenv("ECS_DISCOVERY_ROLES", ROLE1)  # roles alone change nothing
    result = repositories.handler({}, FakeContext())
    assert set(result) == {"repositories", "queued", "failed", "retried", "queueUrl", "filter"}
    assert [j["repositoryName"] for j in queued(world)] == ["api", "web"]
    assert "ecs" not in session.built and "sts" not in session.built


def test_discovery_in_its_own_account(world, session, monkeypatch, capsys):
    monkeypatch.setenv("ECS_DISCOVERY_ENABLED", "true")
    result = repositories.handler({}, FakeContext())

    jobs = queued(world)
    assert [(j["repositoryName"], j["registryId"]) for j in jobs] == [("api", BASE), ("web", BASE)]
    assert digests_of(jobs[0]) == [world.digest(BASE, "api:v7")]
    assert digests_of(jobs[1]) == [world.digest(BASE, "web:v1")]  # not v0
    assert all("roleArn" not in j and "expiry" not in j for j in jobs)
    assert result["repositories"] == 2 and result["queued"] == 2 and result["failed"] == 0
    assert result["discovery"] == {
        "accounts": [BASE],
        "taskDefinitions": 2,
        "inUseRepositories": 4,  # web, api, ignored, ghost: the ones in scope
        "images": 2,
        "skipped": 1,  # nginx
        "outOfScope": 2,  # ACC1's base:3 and ACC2's thing:1: no role
        "filteredOut": 1,
        "missingRepositories": 1,
        "notFound": 1,
        "failures": 0,
    }
    (line,) = [entry for entry in log_lines(capsys) if entry["message"] == "jobs queued"]
    assert line["level"] == "INFO" and line["discovery"] == result["discovery"]
    assert [s["image"] for s in line["skippedImages"]] == ["nginx:1.25"]
    assert line["skippedImages"][0]["reason"] == "Docker Hub image"
    assert line["skippedImages"][0]["taskDefinitions"] == [world.task_definitions["web"]]
    assert sorted(s["image"] for s in line["outOfScopeImages"]) == [
        f"{host(ACC1)}/base:3",
        f"{host(ACC2)}/thing:1",
    ]
    assert line["filteredOutRepositories"] == [f"{BASE}/{REGION}/ignored"]
    assert line["missingRepositories"] == [f"{BASE}/{REGION}/ghost"]
    assert line["notFound"] == [f"{BASE}/{REGION}/web:deleted"]


def test_discovery_with_a_role_queues_jobs_that_carry_it(world, session, monkeypatch, capsys):
    monkeypatch.setenv("ECS_DISCOVERY_ENABLED", "TRUE")
    monkeypatch.setenv("ECS_DISCOVERY_ROLES", f" {ROLE1} ,")
    result = repositories.handler({"expiry": "1d"}, FakeContext())

    jobs = queued(world)
    assert [(j["registryId"], j["repositoryName"], j.get("roleArn")) for j in jobs] == [
        (ACC1, "base", ROLE1),
        (ACC1, "tools", ROLE1),
        (BASE, "api", None),
        (BASE, "web", None),
    ]
    assert digests_of(jobs[0]) == sorted(
        [world.digest(ACC1, "base:3"), world.digest(ACC1, "base:2")]
    )
    assert digests_of(jobs[1]) == [world.digest(ACC1, "tools:v1")]
    assert {j["expiry"] for j in jobs} == {"1d"}
    assert all(parse_job(json.dumps(j)).role_arn == j.get("roleArn") for j in jobs)
    summary = result["discovery"]
    assert summary["accounts"] == [BASE, ACC1]
    assert (summary["taskDefinitions"], summary["images"], summary["outOfScope"]) == (3, 5, 1)
    assert result["repositories"] == 4
    assert "sts" in session.built and "ecs" in session.built


def test_a_role_accounts_task_definition_may_run_an_image_of_the_functions_registry(
    world, session, monkeypatch, capsys
):
    """Shared-registry setup: ACC1's ECS runs an image of the function's own registry.
    Every target's registry is in scope (as in the CLI), so it gets a job."""
    consumer = register(role_session(ROLE1), "consumer", f"{host(BASE)}/web:v0")
    monkeypatch.setenv("ECS_DISCOVERY_ENABLED", "true")
    monkeypatch.setenv("ECS_DISCOVERY_ROLES", ROLE1)
    result = repositories.handler({}, FakeContext())

    (web,) = [j for j in queued(world) if (j["registryId"], j["repositoryName"]) == (BASE, "web")]
    assert "roleArn" not in web  # the function's own credentials scan it
    assert digests_of(web) == sorted([world.digest(BASE, "web:v1"), world.digest(BASE, "web:v0")])
    (line,) = [e for e in log_lines(capsys) if e["message"] == "jobs queued"]
    # only ACC2 (no role) is out of scope, with advice in the function's terms
    assert result["discovery"]["outOfScope"] == 1
    assert [(s["image"], s["reason"]) for s in line["outOfScopeImages"]] == [
        (
            f"{host(ACC2)}/thing:1",
            (
                f"ECR registry of account {ACC2}: out of scope "
                "(add a role in that account to ECS_DISCOVERY_ROLES to audit it)"
            ),
        )
    ]
    assert all(consumer not in s["taskDefinitions"] for s in line["outOfScopeImages"])


def test_the_cli_and_the_repositories_function_scope_in_use_images_alike(
    world, session, monkeypatch
):
    """Same world, same roles: the CLI's discovery (ecrscan/engine/targets.py) and the
    function's (ecrscan/engine/jobplan.py) leave the same images in scope and out of it."""
    register(role_session(ROLE1), "consumer", f"{host(BASE)}/web:v0")
    monkeypatch.setenv("ECS_DISCOVERY_ENABLED", "true")
    monkeypatch.setenv("ECS_DISCOVERY_ROLES", ROLE1)
    repositories.handler({}, FakeContext())
    function_jobs = {
        (j["registryId"], j["repositoryName"]): sorted(digests_of(j)) for j in queued(world)
    }

    plan = Plan(role_arns=(ROLE1,), in_use=InUseMode.ECS, session_name="ecrscan-test")
    settings = RescanSettings(
        expiry=Duration.parse("7d"), dry_run=True, filter=RepositoryFilter.compile(FILTER)
    )
    cli = Audit(Connections.of(fresh_session(REGION)), plan, datetime.now(UTC)).rescan(settings)
    cli_images: dict[tuple[str, str], list[str]] = {}
    for repo in cli.repositories:
        key = (repo.repository.registry_id, repo.repository.name)
        cli_images[key] = sorted(r.image.digest for r in repo.images)
    assert {k: v for k, v in cli_images.items() if v} == function_jobs
    assert [n.image for n in cli.coverage.out_of_scope] == [f"{host(ACC2)}/thing:1"]


def test_the_images_function_acts_in_the_role_account(world, session, monkeypatch):
    monkeypatch.setenv("ECS_DISCOVERY_ENABLED", "true")
    monkeypatch.setenv("ECS_DISCOVERY_ROLES", ROLE1)
    repositories.handler({}, FakeContext())
    bodies = drain(world.sqs, world.queue_url)

    started_at = datetime.today()  # moto's clock for StartImageScan (naive local)
    response = images.handler(sqs_event(*bodies), FakeContext())

    assert failures(response) == []
    for account, ref in [
        (ACC1, "base:3"),
        (ACC1, "base:2"),
        (ACC1, "tools:v1"),
        (BASE, "web:v1"),
        (BASE, "api:v7"),
    ]:
        repo = ref.split(":")[0]
        assert last_scan(account, repo, world.digest(account, ref)) >= started_at, ref
    for account, ref in [(ACC1, "base:1"), (BASE, "web:v0"), (BASE, "ignored:1")]:
        repo = ref.split(":")[0]
        assert last_scan(account, repo, world.digest(account, ref)) < datetime.now() - timedelta(
            days=1
        ), f"{ref} is not in use and must not be rescanned"


def test_a_role_that_cannot_be_assumed_fails_loudly_after_queueing_the_rest(
    world, session, monkeypatch, capsys
):
    monkeypatch.setenv("ECS_DISCOVERY_ENABLED", "true")
    monkeypatch.setenv("ECS_DISCOVERY_ROLES", f"{ROLE1},{ROLE2}")
    fail_calls(
        session.session,
        "before-call.sts.AssumeRole",
        lambda params: ROLE2 in str(params.get("body")),
        "AccessDenied",
        "not authorized to perform sts:AssumeRole",
    )

    with pytest.raises(repositories.DiscoveryIncomplete, match=f"{ACC2}/{REGION}.*AccessDenied"):
        repositories.handler({}, FakeContext())

    jobs = queued(world)
    assert [(j["registryId"], j["repositoryName"]) for j in jobs] == [
        (ACC1, "base"),
        (ACC1, "tools"),
        (BASE, "api"),
        (BASE, "web"),
    ]
    (line,) = [e for e in log_lines(capsys) if e["message"] == "in-use discovery incomplete"]
    assert line["level"] == "ERROR" and line["queued"] == 4
    assert line["discovery"]["outOfScope"] == 0  # ACC2 was in scope, but not reached
    assert any(ROLE2 in f and "AccessDenied" in f for f in line["failures"])


def test_a_task_definition_that_cannot_be_read_fails_loudly(world, session, monkeypatch, capsys):
    monkeypatch.setenv("ECS_DISCOVERY_ENABLED", "true")
    fail_calls(
        session.session,
        "before-call.ecs.DescribeTaskDefinition",
        lambda params: "task-definition/api" in str(params.get("body")),
        "AccessDeniedException",
        "not allowed",
    )

    with pytest.raises(repositories.DiscoveryIncomplete, match=r"task definition .*api"):
        repositories.handler({}, FakeContext())

    jobs = queued(world)
    assert [j["repositoryName"] for j in jobs] == ["web"]  # api's images were not read
    (line,) = [e for e in log_lines(capsys) if e["level"] == "ERROR"]
    assert line["discovery"]["failures"] == 1


def test_ecs_listing_refused_fails_the_account(world, session, monkeypatch):
    monkeypatch.setenv("ECS_DISCOVERY_ENABLED", "true")
    fail_calls(
        session.session,
        "before-call.ecs.ListTaskDefinitions",
        lambda params: True,
        "AccessDeniedException",
        "no ecs:ListTaskDefinitions",
    )
    with pytest.raises(repositories.DiscoveryIncomplete, match="no ecs:ListTaskDefinitions"):
        repositories.handler({}, FakeContext())
    assert queued(world) == []  # never the whole registry instead


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ECS_DISCOVERY_ENABLED": "maybe"}, "ECS_DISCOVERY_ENABLED must be true or false"),
        ({"ECS_DISCOVERY_ROLES": "ecrscan-audit"}, "ECS_DISCOVERY_ROLES: invalid role ARN"),
        (
            {"ECS_DISCOVERY_ROLES": f"{ROLE1},arn:aws:iam::{ACC1}:role/other"},
            "two roles for account",
        ),
    ],
)
def test_configuration_errors(world, session, monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(runtime.ConfigurationError, match=message):
        repositories.handler({}, FakeContext())
    assert session.built == []
    if "ECS_DISCOVERY_ROLES" in env:
        with pytest.raises(runtime.ConfigurationError, match=message):
            images.handler(sqs_event(job_body("web")), FakeContext())


# -- the images function and role jobs ----------------------------------------------------


def test_a_role_not_listed_in_ecs_discovery_roles_is_refused(world, session, monkeypatch, capsys):
    job = job_body(
        "base", ACC1, images=[{"imageDigest": world.digest(ACC1, "base:3")}], role_arn=ROLE1
    )
    response = images.handler(sqs_event(job), FakeContext())
    assert failures(response) == ["m0"]
    (line,) = [e for e in log_lines(capsys) if e.get("messageId") == "m0"]
    assert line["message"] == "malformed job"
    assert f"roleArn {ROLE1} is allowed by neither ECS_DISCOVERY_ROLES (none set)" in line["error"]
    assert "sts" not in session.built


def test_role_credentials_are_reused_then_renewed(world, session, monkeypatch):
    monkeypatch.setenv("ECS_DISCOVERY_ROLES", ROLE1)
    assumed: list[str] = []
    session.session.events.register(
        "before-call.sts.AssumeRole", lambda params, **_: assumed.append("call")
    )
    clock = {"now": 1000.0}
    monkeypatch.setattr(runtime, "monotonic", lambda: clock["now"])
    job = job_body(
        "tools",
        ACC1,
        images=[{"imageDigest": world.digest(ACC1, "tools:v1")}],
        expiry="1h",
        role_arn=ROLE1,
    )

    for _ in range(2):  # two warm invocations
        assert failures(images.handler(sqs_event(job), FakeContext())) == []
    assert len(assumed) == 1
    clock["now"] += runtime.ROLE_SESSION_REUSE_SECONDS
    assert failures(images.handler(sqs_event(job), FakeContext())) == []
    assert len(assumed) == 2


def test_role_sessions_are_named_after_the_invocations_clock(world, session, monkeypatch):
    """Both functions pass default_session_name(now) of their own per-invocation clock;
    the role's RoleSessionName tells CloudTrail which invocation called."""
    monkeypatch.setenv("ECS_DISCOVERY_ENABLED", "true")
    monkeypatch.setenv("ECS_DISCOVERY_ROLES", ROLE1)
    names: list[str] = []
    session.session.events.register(
        "before-call.sts.AssumeRole",
        lambda params, **_: names.append(params["body"]["RoleSessionName"]),
    )
    runs = [datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2030, 1, 2, 3, 9, 0, tzinfo=UTC)]
    reads = iter(runs)
    monkeypatch.setattr(runtime, "clock", lambda: next(reads))

    repositories.handler({}, FakeContext())
    job = job_body(
        "tools", ACC1, images=[{"imageDigest": world.digest(ACC1, "tools:v1")}], role_arn=ROLE1
    )
    assert failures(images.handler(sqs_event(job), FakeContext())) == []
    assert names == [default_session_name(runs[0]), default_session_name(runs[1])]


def test_a_role_job_whose_role_cannot_be_assumed_fails_only_its_message(
    world, session, monkeypatch, capsys
):
    monkeypatch.setenv("ECS_DISCOVERY_ROLES", ROLE1)
    fail_calls(
        session.session,
        "before-call.sts.AssumeRole",
        lambda params: True,
        "AccessDenied",
        "not authorized",
    )
    role_job = job_body("tools", ACC1, images=[{"imageTag": "v1"}], role_arn=ROLE1)
    response = images.handler(sqs_event(role_job, job_body("web")), FakeContext())
    assert failures(response) == ["m0"]
    (line,) = [e for e in log_lines(capsys) if e.get("messageId") == "m0"]
    assert line["message"] == "job failed" and "AccessDenied" in line["error"]
    assert line["roleArn"] == ROLE1


# -- the job format extension -------------------------------------------------------------


def test_role_arn_in_jobs_round_trips_and_is_optional():
    body = job_body("base", ACC1, images=[{"imageDigest": "sha256:" + "a" * 64}], role_arn=ROLE1)
    assert json.loads(body)["roleArn"] == ROLE1
    job = parse_job(body)
    assert (job.registry_id, job.role_arn) == (ACC1, ROLE1)
    assert parse_job(job_body("web")).role_arn is None
    assert "roleArn" not in json.loads(job_body("web"))


@pytest.mark.parametrize("value", ["ecrscan-audit", 42, "", f"arn:aws:iam::{ACC1}:user/bob"])
def test_a_bad_role_arn_is_a_job_error(value):
    with pytest.raises(JobError, match="roleArn must be an IAM role ARN"):
        parse_job(json.dumps({"repositoryName": "web", "roleArn": value}))


def test_image_jobs_name_digests_a_hundred_a_job():
    digests = [f"sha256:{n:064x}" for n in range(250)]
    repository = Repository(name="base", registry_id=ACC1)
    jobs = [parse_job(b) for b in image_jobs(repository, digests + digests[:3], "2d", ROLE1)]
    assert [len(j.images) for j in jobs] == [IMAGES_PER_JOB, IMAGES_PER_JOB, 50]
    assert [i["imageDigest"] for j in jobs for i in j.images] == sorted(digests)
    assert {(j.repository_name, j.registry_id, j.expiry, j.role_arn) for j in jobs} == {
        ("base", ACC1, "2d", ROLE1)
    }
    assert image_jobs(repository, []) == []
