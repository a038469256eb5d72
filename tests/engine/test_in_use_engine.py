"""``--in-use`` and ``--pulled-within``: rescan and report limited to the images ECS uses
or that were pulled lately, against moto ECR + ECS in-process (engine, orchestration and
CLI)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ecrscan.aws.connections import Connections
from ecrscan.aws.ecr import EcrGateway
from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.cli.selection import SCOPE_HINTS
from ecrscan.core.coverage import RepoScope
from ecrscan.core.durations import Duration
from ecrscan.core.inuse import RepoUse
from ecrscan.core.model import Decision, ImageStatus, Outcome
from ecrscan.core.problem import Problem
from ecrscan.core.scope import ImageScope
from ecrscan.core.view import DEFAULT_VIEW, exit_code
from ecrscan.engine.plan import InUseMode, Plan
from ecrscan.engine.report import ReportSettings, build_report
from ecrscan.engine.rescan import RescanSettings, rescan
from ecrscan.engine.targets import Audit
from ecrscan.render.notices import all_notices
from tests.support.fakes import fresh_session
from tests.support.inuse_world import (
    ACCOUNT,
    OTHER,
    Sessions,
    body_field,
    host,
    register,
    set_pulled,
)
from tests.support.registry import FakeRegistry

REGION = "us-east-1"
NOW = datetime.now(UTC).replace(microsecond=0)
DENIED = "not authorized to perform: ecs:DescribeTaskDefinition"


@pytest.fixture
def world(mocked: None) -> SimpleNamespace:
    """web (v1 by tag, v2 by digest in use; v0 only in a deregistered revision), worker
    (referenced without a tag = latest), api (1.0 in use, 2.0 referenced but absent),
    unused (no reference); plus references to Docker Hub, ECR Public, another account,
    another region and a repository that does not exist."""
    session = fresh_session(REGION)
    registry = FakeRegistry(session.client("ecr"), REGION)
    ecs = session.client("ecs")
    for repo in ("web", "worker", "api", "unused"):
        registry.create_repo(repo)
    d = {
        "web:v1": registry.push("web", "v1"),
        "web:v2": registry.push("web", "v2"),
        "web:v0": registry.push("web", "v0"),
        "worker:latest": registry.push("worker", "latest"),
        "api:1.0": registry.push("api", "1.0"),
        "unused:x": registry.push("unused", "x"),
    }
    td = {
        "web": register(
            ecs, "web", f"{host()}/web:v1", "nginx:1.25", "public.ecr.aws/docker/library/redis:7"
        ),
        "worker": register(ecs, "worker", f"{host()}/worker", f"{host()}/web@{d['web:v2']}"),
        "api": register(ecs, "api", f"{host()}/api:2.0", f"{host()}/api:1.0"),
        "ghost": register(
            ecs,
            "ghost",
            f"{host()}/ghost:1",
            f"{host(OTHER)}/base:1",
            f"{host(region='eu-west-1')}/web:v1",
        ),
    }
    old = register(ecs, "old", f"{host()}/web:v0")
    ecs.deregister_task_definition(taskDefinition=old)
    return SimpleNamespace(registry=registry, ecs=ecs, digests=d, td=td, session=session)


IN_USE = {"web:v1", "web:v2", "worker:latest", "api:1.0"}


def names(world: SimpleNamespace, digests: set[str]) -> set[str]:
    by_digest = {digest: name for name, digest in world.digests.items()}
    return {by_digest[d] for d in digests}


def dry_run() -> RescanSettings:
    return RescanSettings(expiry=Duration.parse("7d"), dry_run=True)


def scope_of(scopes: tuple[RepoScope, ...], repository: str) -> RepoScope:
    return next(s for s in scopes if s.repository == repository)


# -- the engine with a plain scope value (no ECS involved) ----------------------------


def test_engine_applies_a_scope_value_and_records_what_it_left_out(world) -> None:
    scope = ImageScope(in_use={"web": RepoUse(tags=frozenset({"v1", "gone"}))}, account=ACCOUNT)
    gateway = EcrGateway(world.session, region=REGION)
    result = rescan(
        gateway, NOW, RescanSettings(expiry=Duration.parse("7d"), dry_run=True, scope=scope)
    )
    assert [r.repository.name for r in result.repositories] == ["web"]
    web = result.repositories[0]
    assert web.error is None  # a tag no image carries does not fail the repository
    assert [r.image.digest for r in web.images] == [world.digests["web:v1"]]
    assert result.scopes == (
        RepoScope("web", ACCOUNT, REGION, listed=3, not_in_use=2, unmatched_tags=("gone",)),
    )
    assert not result.incomplete


def test_engine_without_a_scope_is_unchanged(world) -> None:
    result = rescan(EcrGateway(world.session, region=REGION), NOW, dry_run())
    assert len(result.all_images()) == 6 and result.scopes == ()
    assert {r.region for r in result.repositories} == {REGION}


# -- --in-use ecs ---------------------------------------------------------------------------


def test_rescan_in_use_ecs_audits_exactly_the_referenced_images(world) -> None:
    # the hints are the caller's words (here the CLI's): the engine names no option
    plan = Plan(in_use=InUseMode.ECS, scope_hints=SCOPE_HINTS)
    result = Audit(Connections.of(world.session), plan, NOW).rescan(dry_run())
    assert [r.repository.name for r in result.repositories] == ["api", "web", "worker"]
    audited = {r.image.digest for r in result.all_images()}
    assert names(world, audited) == IN_USE  # web:v1 by tag, web:v2 by digest, worker:latest
    assert {(r.verdict.decision, r.outcome) for r in result.all_images()} == {
        (Decision.DUE, Outcome.PLANNED)
    }
    assert not result.incomplete

    # what was left out, per repository
    assert scope_of(result.scopes, "web") == RepoScope(
        "web",
        ACCOUNT,
        REGION,
        listed=3,
        not_in_use=1,
        task_definitions=(world.td["web"], world.td["worker"]),
    )
    api = scope_of(result.scopes, "api")
    assert (api.listed, api.not_in_use, api.unmatched_tags) == (1, 0, ("2.0",))
    assert api.task_definitions == (world.td["api"],)
    ghost = scope_of(result.scopes, "ghost")
    assert ghost.missing and ghost.unmatched_tags == ("1",)
    assert all(s.repository != "unused" for s in result.scopes)

    # what discovery did not audit, with reasons and the task definitions naming them
    coverage = result.coverage
    assert coverage.in_use == "ecs" and coverage.task_definitions == 4  # ACTIVE only
    assert [(n.image, n.location, n.reason) for n in coverage.skipped] == [
        ("nginx:1.25", "not_ecr", "Docker Hub image"),
        ("public.ecr.aws/docker/library/redis:7", "not_ecr", "ECR Public image"),
    ]
    assert {n.task_definitions for n in coverage.skipped} == {(world.td["web"],)}
    out = {n.image: n for n in coverage.out_of_scope}
    assert set(out) == {f"{host(OTHER)}/base:1", f"{host(region='eu-west-1')}/web:v1"}
    assert "--role-arn" in out[f"{host(OTHER)}/base:1"].reason
    assert "add --region eu-west-1" in out[f"{host(region='eu-west-1')}/web:v1"].reason
    assert [(t.account, t.region, t.errors) for t in coverage.targets] == [(ACCOUNT, REGION, ())]
    # ... and summarized in the notices (stderr, JSON, markdown)
    assert all_notices(result)[0] == (
        "--in-use ecs: 4 task definitions read; 4 of 5 images in 3 repositories are in use"
    )
    assert any(
        "2 referenced images skipped" in n and "nginx:1.25" in n for n in all_notices(result)
    )
    assert any("2 referenced images out of scope" in n for n in all_notices(result))
    assert any(
        "2 references match no image: api:2.0, ghost (no such repository)" in n
        for n in all_notices(result)
    )


def test_filter_still_applies_and_hides_filtered_missing_repositories(world) -> None:
    from ecrscan.core.policy import RepositoryFilter

    settings = RescanSettings(
        expiry=Duration.parse("7d"), dry_run=True, filter=RepositoryFilter.compile("^w")
    )
    result = Audit(Connections.of(world.session), Plan(in_use=InUseMode.ECS), NOW).rescan(settings)
    assert [r.repository.name for r in result.repositories] == ["web", "worker"]
    assert {s.repository for s in result.scopes} == {"web", "worker"}  # not ghost, not api


def test_in_use_services_only_counts_services_with_tasks(world) -> None:
    world.ecs.create_cluster(clusterName="prod")
    world.ecs.create_service(
        cluster="prod", serviceName="worker", taskDefinition=world.td["worker"], desiredCount=2
    )
    world.ecs.create_service(
        cluster="prod", serviceName="api", taskDefinition=world.td["api"], desiredCount=0
    )
    result = Audit(Connections.of(world.session), Plan(in_use=InUseMode.ECS_SERVICES), NOW).rescan(
        dry_run()
    )
    audited = names(world, {r.image.digest for r in result.all_images()})
    assert audited == {"worker:latest", "web:v2"}
    assert result.coverage.in_use == "ecs-services"
    assert result.coverage.task_definitions == 1
    assert result.coverage.skipped == () and result.coverage.out_of_scope == ()
    assert scope_of(result.scopes, "web").not_in_use == 2


def test_an_unreadable_task_definition_is_named_and_the_rest_is_audited(world) -> None:
    sessions = Sessions()
    sessions.refuse(
        "ecs",
        "DescribeTaskDefinition",
        "AccessDeniedException",
        DENIED,
        when=body_field("taskDefinition", world.td["api"]),
    )
    base = sessions(region_name=REGION)
    result = Audit(Connections.of(base), Plan(in_use=InUseMode.ECS), NOW).rescan(dry_run())
    assert result.coverage.unreadable == (
        (world.td["api"], Problem("AccessDeniedException", DENIED)),
    )
    assert names(world, {r.image.digest for r in result.all_images()}) == IN_USE - {"api:1.0"}
    assert result.incomplete  # the in-use set may miss the unreadable one's images
    assert result.coverage.targets[0].errors == ()  # the target itself was read


# -- --pulled-within --------------------------------------------------------------------------


@pytest.fixture
def pulled(world) -> SimpleNamespace:
    """web:v1 pulled 2 days ago, web:v2 never, worker exactly 30 days ago (the cut-off),
    api:1.0 31 days ago, web:v0 yesterday, unused 1 hour ago."""
    d, registry = world.digests, world.registry
    set_pulled(registry, "web", d["web:v1"], NOW - timedelta(days=2))
    set_pulled(registry, "worker", d["worker:latest"], NOW - timedelta(days=30))
    set_pulled(registry, "api", d["api:1.0"], NOW - timedelta(days=31))
    set_pulled(registry, "web", d["web:v0"], NOW - timedelta(days=1))
    set_pulled(registry, "unused", d["unused:x"], NOW - timedelta(hours=1))
    return world


def test_moto_returns_the_pull_time_we_set(pulled) -> None:
    images = {
        i.digest: i
        for i in EcrGateway(pulled.session, region=REGION).images(
            next(iter(EcrGateway(pulled.session, region=REGION).repositories(["web"])))
        )
    }
    assert images[pulled.digests["web:v1"]].last_pulled_at == NOW - timedelta(days=2)
    assert images[pulled.digests["web:v2"]].last_pulled_at is None


def test_pulled_within_alone_keeps_recent_pulls_and_counts_the_rest(pulled) -> None:
    plan = Plan(pulled_within=Duration.parse("30d"))
    result = Audit(Connections.of(pulled.session), plan, NOW).rescan(dry_run())
    audited = names(pulled, {r.image.digest for r in result.all_images()})
    assert audited == {"web:v1", "web:v0", "worker:latest", "unused:x"}  # 30d: inclusive
    web = scope_of(result.scopes, "web")
    assert (web.listed, web.not_in_use, web.never_pulled, web.not_pulled_recently) == (3, 0, 1, 0)
    assert scope_of(result.scopes, "api").not_pulled_recently == 1
    assert result.coverage.pulled_within == "30d" and result.coverage.in_use is None
    assert all_notices(result) == (
        "--pulled-within 30d: left out 1 image never pulled and 1 not pulled within 30d",
    )
    assert not result.incomplete


def test_in_use_and_pulled_within_combine(pulled) -> None:
    plan = Plan(in_use=InUseMode.ECS, pulled_within=Duration.parse("1w"))
    result = Audit(Connections.of(pulled.session), plan, NOW).rescan(dry_run())
    assert names(pulled, {r.image.digest for r in result.all_images()}) == {"web:v1"}
    web = scope_of(result.scopes, "web")
    # v0 is not in use (counted there, whatever its pulls); v2 in use but never pulled
    assert (web.not_in_use, web.never_pulled, web.not_pulled_recently) == (1, 1, 0)
    assert scope_of(result.scopes, "worker").not_pulled_recently == 1
    assert scope_of(result.scopes, "api").not_pulled_recently == 1


# -- report --------------------------------------------------------------------------------------


def scanned(world: SimpleNamespace, *which: str) -> None:
    for name in which:
        repo = name.split(":")[0]
        world.registry.set_scan(
            repo,
            world.digests[name],
            completed_at=NOW - timedelta(hours=3),
            counts={"LOW": 1} if name == "api:1.0" else {},
        )


def test_report_in_use_judges_only_the_images_in_use(world) -> None:
    scanned(world, *IN_USE)  # web:v0 and unused:x were never scanned
    settings = ReportSettings()
    whole = Audit(Connections.of(world.session), Plan(), NOW).report(settings)
    assert exit_code(whole, DEFAULT_VIEW) == 3  # the never-scanned images: incomplete
    assert {r.status for r in whole.images} >= {ImageStatus.NO_SCAN}

    result = Audit(Connections.of(world.session), Plan(in_use=InUseMode.ECS), NOW).report(settings)
    assert names(world, {r.image.digest for r in result.images}) == IN_USE
    assert {r.status for r in result.images if r.image.repository != "api"} == {ImageStatus.OK}
    api = next(r for r in result.images if r.image.repository == "api")
    assert api.status is ImageStatus.BREACH and api.breaches[0].severity.value == "LOW"
    assert {(r.account, r.region) for r in result.images} == {(ACCOUNT, REGION)}
    assert exit_code(result, DEFAULT_VIEW) == 1
    assert scope_of(result.scopes, "api").unmatched_tags == ("2.0",)
    assert result.coverage.in_use == "ecs" and len(result.coverage.skipped) == 2


def test_report_scope_applies_before_latest(pulled) -> None:
    scanned(pulled, *pulled.digests)
    for name in ("web:v1", "web:v2", "web:v0"):
        pulled.registry.set_pushed_at(
            "web", pulled.digests[name], NOW - timedelta(days={"v1": 3, "v2": 1, "v0": 2}[name[4:]])
        )
    settings = ReportSettings(
        latest=True,
        scope=ImageScope(in_use={"web": RepoUse(tags=frozenset({"v1", "v0"}))}, account=ACCOUNT),
    )
    result = build_report(
        lambda region, registry_id: EcrGateway(pulled.session, region=REGION), NOW, settings
    )
    # the newest image in use, not the newest image
    assert names(pulled, {r.image.digest for r in result.images}) == {"web:v0"}
    assert result.scopes == (RepoScope("web", ACCOUNT, REGION, listed=3, not_in_use=1),)


# -- the CLI ----------------------------------------------------------------------------------


def invoke(
    args: list[str], sessions: Sessions | None = None, env: dict[str, str] | None = None
) -> Result:
    app = AppContext(session_factory=sessions or Sessions(), clock=lambda: NOW)
    return CliRunner().invoke(cli, args, obj=app, env=env or {})


def test_cli_rescan_in_use_json(world) -> None:
    result = invoke(["rescan", "--in-use", "ecs", "--dry-run", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert names(world, {i["digest"] for i in doc["images"]}) == IN_USE
    assert {(i["account"], i["region"]) for i in doc["images"]} == {(ACCOUNT, REGION)}
    scope = doc["scope"]
    assert (scope["in_use"], scope["pulled_within"], scope["task_definitions"]) == ("ecs", None, 4)
    assert (scope["listed"], scope["excluded"], scope["not_in_use"]) == (5, 1, 1)
    assert [s["image"] for s in scope["skipped"]] == [
        "nginx:1.25",
        "public.ecr.aws/docker/library/redis:7",
    ]
    assert scope["skipped"][0] == {
        "image": "nginx:1.25",
        "location": "not_ecr",
        "reason": "Docker Hub image",
        "task_definitions": [world.td["web"]],
    }
    assert {s["location"] for s in scope["out_of_scope"]} == {"other_account", "other_region"}
    assert scope["unmatched"] == [
        {
            "account": ACCOUNT,
            "region": REGION,
            "repository": "api",
            "repository_missing": False,
            "tags": ["2.0"],
            "digests": [],
            "task_definitions": [world.td["api"]],
        },
        {
            "account": ACCOUNT,
            "region": REGION,
            "repository": "ghost",
            "repository_missing": True,
            "tags": ["1"],
            "digests": [],
            "task_definitions": [world.td["ghost"]],
        },
    ]
    assert scope["unreadable_task_definitions"] == []
    web = next(r for r in doc["repositories"] if r["name"] == "web")
    assert web["scope"] == {
        "listed": 3,
        "excluded": 1,
        "not_in_use": 1,
        "never_pulled": 0,
        "not_pulled_recently": 0,
        "unmatched_tags": [],
        "unmatched_digests": [],
        "task_definitions": [world.td["web"], world.td["worker"]],
    }
    [target] = doc["targets"]
    assert target.pop("totals")["images"] == sum(1 for _ in doc["images"])
    assert target == {
        "account": ACCOUNT,
        "region": REGION,
        "role_arn": None,
        "complete": True,
        "errors": [],
    }
    # the summary on stderr
    assert "ecrscan: --in-use ecs: 4 task definitions read; 4 of 5 images" in result.stderr
    assert "2 references match no image: api:2.0, ghost (no such repository)" in result.stderr


def test_cli_rescan_in_use_table_lists_what_was_not_audited(world) -> None:
    result = invoke(["-q", "rescan", "--in-use", "ecs", "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "ecrscan dry run: expiry 7d (7 days), scan type BASIC, in use (ecs)"
    )
    assert result.stderr == ""
    head, _, rest = result.stdout.partition("not audited")
    assert "unused" not in head and "left" in head  # the "left out" column
    rows = [line for line in rest.splitlines() if line.startswith("│")]
    kinds = [row.strip("│ ").split("│")[0].strip() for row in rows]
    assert kinds.count("skipped") == 2 and kinds.count("out of scope") == 2
    assert kinds.count("unmatched") == 2
    assert any("api:2.0" in row for row in rows) and any("ghost" in row for row in rows)


def test_cli_unreadable_task_definition_exits_3_naming_it(world) -> None:
    sessions = Sessions()
    sessions.refuse(
        "ecs",
        "DescribeTaskDefinition",
        "AccessDeniedException",
        DENIED,
        when=body_field("taskDefinition", world.td["api"]),
    )
    result = invoke(["rescan", "--in-use", "ecs", "--dry-run", "--format", "json"], sessions)
    assert result.exit_code == 3
    assert (
        f"ecrscan: error: task definition {world.td['api']}: AccessDeniedException: {DENIED}"
    ) in result.stderr.splitlines()
    assert result.stderr.splitlines()[-1].endswith(": 1 task definition unreadable")
    doc = json.loads(result.stdout)
    assert doc["complete"] is False
    assert doc["scope"]["unreadable_task_definitions"] == [
        {"task_definition": world.td["api"], "code": "AccessDeniedException", "message": DENIED}
    ]


def test_cli_env_vars(pulled) -> None:
    env = {"ECRSCAN_IN_USE": "ecs-services", "ECRSCAN_PULLED_WITHIN": "1w"}
    pulled.ecs.create_cluster(clusterName="prod")
    pulled.ecs.create_service(
        cluster="prod", serviceName="web", taskDefinition=pulled.td["web"], desiredCount=1
    )
    result = invoke(["rescan", "--dry-run", "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["scope"]["in_use"], doc["scope"]["pulled_within"]) == ("ecs-services", "1w")
    assert names(pulled, {i["digest"] for i in doc["images"]}) == {"web:v1"}


def test_cli_report_in_use(world) -> None:
    scanned(world, *IN_USE)
    whole = invoke(["report", "--format", "json"])
    assert whole.exit_code == 3
    result = invoke(["report", "--in-use", "ecs", "--format", "json", "--threshold", "LOW=1"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert names(world, {i["digest"] for i in doc["images"]}) == IN_USE
    assert {(i["account"], i["region"]) for i in doc["images"]} == {(ACCOUNT, REGION)}
    assert doc["scope"]["in_use"] == "ecs" and len(doc["scope"]["unmatched"]) == 2
    web = next(r for r in doc["scope"]["repositories"] if r["repository"] == "web")
    assert (web["account"], web["region"], web["listed"], web["not_in_use"]) == (
        ACCOUNT,
        REGION,
        3,
        1,
    )
    assert [r["repository"] for r in doc["scope"]["repositories"]] == ["api", "web", "worker"]
    assert "--in-use ecs: 4 task definitions read" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rescan", "--in-use", "eks"], "Invalid value for '--in-use'"),
        (["rescan", "--pulled-within", "30 days"], "Invalid value for '--pulled-within'"),
        (["report", "--pulled-within", "0d"], "Invalid value for '--pulled-within'"),
        (["report", "--in-use", "ecs", "--image", "web:v1"], "--image names exact images"),
        (
            [
                "rescan",
                "--in-use",
                "ecs",
                "--via-queue",
                "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            ],
            "--via-queue sends one job per repository",
        ),
    ],
)
def test_usage_errors_exit_2_before_any_aws_call(args: list[str], message: str) -> None:
    def no_aws(**kwargs: Any) -> Any:
        raise AssertionError("an AWS session was created")

    result = CliRunner().invoke(cli, args, obj=AppContext(session_factory=no_aws))
    assert result.exit_code == 2, result.output
    assert message in result.output
