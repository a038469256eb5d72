"""Several regions (``--region`` repeated) and accounts (``--role-arn``) in one run, with
moto STS/ECR/ECS in-process: results carry account and region, and a failing region or
role is named while the others are still audited (exit 3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from ecrscan.aws.connections import Connections
from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.core.targets import Target
from ecrscan.core.view import DEFAULT_VIEW, exit_code
from ecrscan.engine.runner import Event
from ecrscan.engine.targets import _Cumulative
from tests.support.fakes import assumed_session, fresh_session
from tests.support.inuse_world import (
    ACCOUNT,
    Sessions,
    body_field,
    host,
    in_region,
    register,
)
from tests.support.registry import FakeRegistry

EAST, WEST = "us-east-1", "eu-west-1"
ACC1, ACC2 = "111111111111", "222222222222"
ROLE1 = f"arn:aws:iam::{ACC1}:role/ecrscan-audit"
ROLE2 = f"arn:aws:iam::{ACC2}:role/ecrscan-audit"
NOW = datetime.now(UTC).replace(microsecond=0)
TOKEN = "The security token included in the request is invalid."


def role_session(role_arn: str, region: str = EAST) -> boto3.Session:
    return assumed_session(role_arn, region)


@pytest.fixture
def world(mocked: None) -> SimpleNamespace:
    """east-app in us-east-1 and west-app in eu-west-1 (caller's account), acc1-app in
    ACC1's us-east-1 and acc1-west in ACC1's eu-west-1; every image scanned 3 h ago."""
    east = FakeRegistry(fresh_session(EAST).client("ecr"), EAST)
    west = FakeRegistry(fresh_session(WEST).client("ecr"), WEST)
    acc1 = FakeRegistry(role_session(ROLE1).client("ecr"), EAST, ACC1)
    acc1_west = FakeRegistry(role_session(ROLE1, WEST).client("ecr"), WEST, ACC1)
    digests = {}
    for registry, repo in (
        (east, "east-app"),
        (west, "west-app"),
        (acc1, "acc1-app"),
        (acc1_west, "acc1-west"),
    ):
        registry.create_repo(repo)
        digests[repo] = registry.push(repo, "v1")
        registry.set_scan(repo, digests[repo], completed_at=NOW - timedelta(hours=3))
    return SimpleNamespace(digests=digests, east=east, acc1=acc1)


def invoke(
    args: list[str], sessions: Sessions | None = None, env: dict[str, str] | None = None
) -> Result:
    app = AppContext(session_factory=sessions or Sessions(), clock=lambda: NOW)
    return CliRunner().invoke(cli, args, obj=app, env=env or {})


def placed(doc: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(account, region, repository) of every image of a JSON document."""
    return {(i["account"], i["region"], i["repository"]) for i in doc["images"]}


def target_rows(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(t["account"], t["region"], t["role_arn"], t["complete"]) for t in doc["targets"]]


# -- regions ------------------------------------------------------------------------------


def test_two_regions_rescan_json_carries_account_and_region(world) -> None:
    result = invoke(["rescan", "--region", EAST, "--region", WEST, "--dry-run", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert placed(doc) == {(ACCOUNT, EAST, "east-app"), (ACCOUNT, WEST, "west-app")}
    assert [(r["name"], r["account"], r["region"]) for r in doc["repositories"]] == [
        ("east-app", ACCOUNT, EAST),
        ("west-app", ACCOUNT, WEST),
    ]
    assert target_rows(doc) == [(ACCOUNT, EAST, None, True), (ACCOUNT, WEST, None, True)]
    assert (doc["region"], doc["account"], doc["complete"]) == (None, ACCOUNT, True)
    assert doc["totals"]["images"] == 2
    assert result.stderr == ""


def test_region_options_before_and_after_the_command_add_up(world) -> None:
    sessions = Sessions()
    sessions.watch("sts", "GetCallerIdentity")
    for args, env in (
        (["--region", EAST, "rescan", "--region", WEST], {}),
        (["--region", EAST, "--region", WEST, "rescan"], {}),
        (["rescan", "--region", f"{EAST},{WEST}"], {}),
        (["rescan"], {"ECRSCAN_REGIONS": f"{EAST},{WEST}"}),
        (["rescan"], {"ECRSCAN_REGIONS": f"{EAST} {WEST}"}),
    ):
        result = invoke([*args, "--dry-run", "--format", "json"], sessions, env)
        assert result.exit_code == 0, (args, result.output)
        assert [t["region"] for t in json.loads(result.stdout)["targets"]] == [EAST, WEST]
    assert len(sessions.seen["GetCallerIdentity"]) == 5


def test_command_line_regions_win_over_ecrscan_regions(world) -> None:
    result = invoke(
        ["--region", WEST, "rescan", "--dry-run", "--format", "json"],
        env={"ECRSCAN_REGIONS": f"{EAST},{WEST}"},
    )
    assert [t["region"] for t in json.loads(result.stdout)["targets"]] == [WEST]


def test_one_region_keeps_the_old_path_without_sts(world) -> None:
    sessions = Sessions()
    sessions.watch("sts", "GetCallerIdentity")
    for args, env in (
        (["rescan"], {}),
        (["rescan", "--region", WEST], {}),
        (["rescan"], {"AWS_REGION": WEST}),
    ):
        result = invoke([*args, "--dry-run", "--format", "json"], sessions, env)
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        region = EAST if args == ["rescan"] and not env else WEST
        assert (doc["region"], doc["account"]) == (region, ACCOUNT)
        assert target_rows(doc) == [(ACCOUNT, region, None, True)]
    assert "GetCallerIdentity" not in sessions.seen


def test_two_regions_table_has_account_and_region_columns(world) -> None:
    wide = {"COLUMNS": "200"}  # room for the columns
    result = invoke(["rescan", "--region", EAST, "--region", WEST, "--dry-run"], env=wide)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "repository" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")][:3] == [
        "account",
        "region",
        "repository",
    ]
    rows = [
        [c.strip() for c in line.strip("│ ").split("│")]
        for line in result.stdout.splitlines()
        if line.startswith("│")
    ]
    assert [row[:3] for row in rows[:2]] == [
        [ACCOUNT, EAST, "east-app"],
        [ACCOUNT, WEST, "west-app"],
    ]
    assert rows[-1][0] == "TOTAL"


def test_two_regions_at_80_columns_head_each_target(world) -> None:
    """Issue 19: where two columns do not fit, ``account/region`` heads its rows."""
    result = invoke(["rescan", "--region", EAST, "--region", WEST, "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, result.stdout
    cells = [line.strip("│ ").split("│")[0].strip() for line in lines if line.startswith("│")]
    east, west = cells.index(f"{ACCOUNT}/{EAST}"), cells.index(f"{ACCOUNT}/{WEST}")
    assert cells[east + 1] == "east-app" and cells[west + 1] == "west-app"


def test_one_failing_region_does_not_stop_the_others(world) -> None:
    sessions = Sessions()
    sessions.refuse(
        "ecr", "DescribeRepositories", "UnrecognizedClientException", TOKEN, when=in_region(WEST)
    )
    result = invoke(
        ["rescan", "--region", WEST, "--region", EAST, "--dry-run", "--format", "json"], sessions
    )
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert placed(doc) == {(ACCOUNT, EAST, "east-app")}
    assert doc["complete"] is False
    assert target_rows(doc) == [(ACCOUNT, WEST, None, False), (ACCOUNT, EAST, None, True)]
    assert doc["targets"][0]["errors"] == [
        {"stage": "audit", "code": "UnrecognizedClientException", "message": TOKEN}
    ]
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"ecrscan: error: {ACCOUNT}/{WEST}: ECR failed: UnrecognizedClientException: {TOKEN}"
    )
    assert lines[-1] == "ecrscan: error: incomplete: 1 account/region target failed"


def test_every_target_failing_writes_nothing(world, tmp_path) -> None:
    sessions = Sessions()
    sessions.refuse("ecr", "DescribeRepositories", "AccessDeniedException", "no")
    out = tmp_path / "rescan.json"
    result = invoke(
        [
            "rescan",
            "--region",
            WEST,
            "--region",
            EAST,
            "--dry-run",
            "--format",
            "json",
            "-o",
            str(out),
        ],
        sessions,
    )
    assert result.exit_code == 3
    assert result.stdout == "" and not out.exists()
    assert result.stderr == (
        "ecrscan: error: no account/region could be audited: "
        f"{ACCOUNT}/{WEST}: ECR: AccessDeniedException: no; "
        f"{ACCOUNT}/{EAST}: ECR: AccessDeniedException: no\n"
    )


# -- accounts ------------------------------------------------------------------------------


def test_a_role_adds_its_account_and_names_the_session_after_ecrscan(world) -> None:
    sessions = Sessions()
    sessions.watch("sts", "AssumeRole")
    result = invoke(
        [
            "rescan",
            "--role-arn",
            ROLE1,
            "--region",
            EAST,
            "--region",
            WEST,
            "--dry-run",
            "--format",
            "json",
        ],
        sessions,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert placed(doc) == {
        (ACCOUNT, EAST, "east-app"),
        (ACCOUNT, WEST, "west-app"),
        (ACC1, EAST, "acc1-app"),
        (ACC1, WEST, "acc1-west"),
    }
    assert target_rows(doc) == [
        (ACCOUNT, EAST, None, True),
        (ACCOUNT, WEST, None, True),
        (ACC1, EAST, ROLE1, True),
        (ACC1, WEST, ROLE1, True),
    ]
    assert doc["account"] is None  # two accounts
    [call] = sessions.seen["AssumeRole"]  # once per role, whatever the regions
    assert call["RoleArn"] == ROLE1
    assert call["RoleSessionName"].startswith("ecrscan-")


def test_one_failing_role_does_not_stop_the_other_accounts(world) -> None:
    sessions = Sessions()
    sessions.refuse(
        "sts",
        "AssumeRole",
        "AccessDenied",
        f"not authorized to perform: sts:AssumeRole on resource: {ROLE2}",
        when=body_field("RoleArn", ROLE2),
        status=403,
    )
    result = invoke(
        ["rescan", "--role-arn", ROLE1, "--role-arn", ROLE2, "--dry-run", "--format", "json"],
        sessions,
    )
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert placed(doc) == {(ACCOUNT, EAST, "east-app"), (ACC1, EAST, "acc1-app")}
    assert target_rows(doc) == [
        (ACCOUNT, EAST, None, True),
        (ACC1, EAST, ROLE1, True),
        (ACC2, EAST, ROLE2, False),
    ]
    assert doc["targets"][2]["errors"][0]["stage"] == "credentials"
    assert (
        f"ecrscan: error: {ACC2}/{EAST} (role {ROLE2}): credentials (STS) failed: "
        "AccessDenied: not authorized"
    ) in result.stderr


def test_report_over_regions_and_accounts(world) -> None:
    result = invoke(
        ["report", "--region", EAST, "--region", WEST, "--role-arn", ROLE1, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert placed(doc) == {
        (ACCOUNT, EAST, "east-app"),
        (ACCOUNT, WEST, "west-app"),
        (ACC1, EAST, "acc1-app"),
        (ACC1, WEST, "acc1-west"),
    }
    uris = {i["uri"] for i in doc["images"]}
    assert f"{ACC1}.dkr.ecr.{WEST}.amazonaws.com/acc1-west@{world.digests['acc1-west']}" in uris
    assert len(doc["targets"]) == 4 and doc["region"] is None
    table = invoke(["report", "--region", EAST, "--region", WEST], env={"COLUMNS": "200"})
    header = next(line for line in table.stdout.splitlines() if "account" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")][:3] == [
        "account",
        "region",
        "image",
    ]


def test_report_failing_region_exits_3_and_names_it_in_every_format(world) -> None:
    sessions = Sessions()
    sessions.refuse(
        "ecr", "DescribeRepositories", "UnrecognizedClientException", TOKEN, when=in_region(WEST)
    )
    result = invoke(
        ["report", "--region", EAST, "--region", WEST, "--format", "markdown"], sessions
    )
    assert result.exit_code == 3
    assert "1 account/region target failed" in result.stdout  # the headline
    assert result.stderr.splitlines()[-1].startswith("ecrscan: error: incomplete audit: ")
    assert result.stderr.splitlines()[-1].endswith(": 1 account/region target failed")


def test_in_use_across_accounts_needs_the_role(world) -> None:
    """A task definition in the caller's account runs an image of ACC1's registry: out of
    scope without a role for ACC1, audited in ACC1 with it."""
    ecs = fresh_session(EAST).client("ecs")
    register(ecs, "svc", f"{host()}/east-app:v1", f"{host(ACC1)}/acc1-app:v1")
    alone = json.loads(
        invoke(["rescan", "--in-use", "ecs", "--dry-run", "--format", "json"]).stdout
    )
    assert placed(alone) == {(ACCOUNT, EAST, "east-app")}
    assert [n["image"] for n in alone["scope"]["out_of_scope"]] == [f"{host(ACC1)}/acc1-app:v1"]
    result = invoke(
        ["rescan", "--in-use", "ecs", "--role-arn", ROLE1, "--dry-run", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert placed(doc) == {(ACCOUNT, EAST, "east-app"), (ACC1, EAST, "acc1-app")}
    assert doc["scope"]["out_of_scope"] == []
    assert doc["scope"]["task_definitions"] == 1  # ACC1 has no task definitions


def test_in_use_image_of_an_account_whose_role_failed_is_not_called_out_of_scope(world):
    """The role was given but could not be assumed: its account is named as a failed
    target (exit 3), not advised to "give --role-arn" (discovery shared with the Lambda)."""
    ecs = fresh_session(EAST).client("ecs")
    register(ecs, "svc", f"{host()}/east-app:v1", f"{host(ACC2)}/elsewhere:1")
    sessions = Sessions()
    sessions.refuse(
        "sts",
        "AssumeRole",
        "AccessDenied",
        "not authorized",
        when=body_field("RoleArn", ROLE2),
        status=403,
    )
    result = invoke(
        ["rescan", "--in-use", "ecs", "--role-arn", ROLE2, "--dry-run", "--format", "json"],
        sessions,
    )
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert placed(doc) == {(ACCOUNT, EAST, "east-app")}
    assert doc["scope"]["out_of_scope"] == []
    assert target_rows(doc)[-1] == (ACC2, EAST, ROLE2, False)


def test_discovery_failing_in_one_region_is_named_and_the_audit_goes_on(world) -> None:
    ecs = fresh_session(EAST).client("ecs")
    register(ecs, "svc", f"{host()}/east-app:v1", f"{host(region=WEST)}/west-app:v1")
    sessions = Sessions()
    sessions.refuse(
        "ecs", "ListTaskDefinitions", "AccessDeniedException", "no ecs", when=in_region(WEST)
    )
    result = invoke(
        [
            "rescan",
            "--in-use",
            "ecs",
            "--region",
            EAST,
            "--region",
            WEST,
            "--dry-run",
            "--format",
            "json",
        ],
        sessions,
    )
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    # west-app is still audited: us-east-1's task definition references it
    assert placed(doc) == {(ACCOUNT, EAST, "east-app"), (ACCOUNT, WEST, "west-app")}
    assert doc["targets"][1]["errors"] == [
        {"stage": "discovery", "code": "AccessDeniedException", "message": "no ecs"}
    ]
    assert f"ecrscan: error: {ACCOUNT}/{WEST}: ECS discovery failed: " in result.stderr


def test_notices_are_labelled_per_target_and_common_ones_given_once(world, tmp_path) -> None:
    ignore = tmp_path / "ignore.toml"
    ignore.write_text('[[ignore]]\nid = "CVE-1"\nreason = "old"\nuntil = 2020-01-01\n')
    FakeRegistry(fresh_session(WEST).client("ecr"), WEST).set_scan_type("ENHANCED")
    result = invoke(
        [
            "report",
            "--region",
            EAST,
            "--region",
            WEST,
            "--ignore-file",
            str(ignore),
            "--format",
            "json",
        ]
    )
    notices = json.loads(result.stdout)["notices"]
    assert len([n for n in notices if "has expired" in n]) == 1
    assert not notices[0].startswith(EAST)  # the common one, unlabelled, first
    rescan = invoke(["rescan", "--region", EAST, "--region", WEST, "--dry-run", "--format", "json"])
    assert json.loads(rescan.stdout)["notices"] == [
        f"{ACCOUNT}/{WEST}: registry scan type is ENHANCED: Amazon Inspector scans "
        "continuously and ECR accepts no manual scans, so no scans were started"
    ]


def test_a_notice_of_the_run_is_given_once_also_when_a_target_failed(world, tmp_path) -> None:
    """An expired ignore rule is the run's notice, not each target's: given once and
    unlabelled whatever the targets did (it used to be matched by its text across
    targets, which failed when one target was not reached)."""
    ignore = tmp_path / "ignore.toml"
    ignore.write_text('[[ignore]]\nid = "CVE-1"\nreason = "old"\nuntil = 2020-01-01\n')
    sessions = Sessions()
    sessions.refuse(
        "ecr", "DescribeRepositories", "UnrecognizedClientException", TOKEN, when=in_region(WEST)
    )
    args = ["report", "--region", EAST, "--region", WEST, "--ignore-file", str(ignore)]
    result = invoke([*args, "--format", "json"], sessions)
    expired = [n for n in json.loads(result.stdout)["notices"] if "has expired" in n]
    assert expired == [
        f"ignore rule {ignore}, entry 1 (CVE-1 until 2020-01-01) has expired and was not applied"
    ]


def test_wait_has_one_deadline_for_all_targets(world) -> None:
    """Scans pending in both regions: --wait polls until one deadline, not one each."""
    from ecrscan.engine.plan import Plan
    from ecrscan.engine.report import ReportSettings
    from ecrscan.engine.targets import Audit
    from ecrscan.engine.wait import Pacing
    from tests.support.fakes import FakeTime

    east = FakeRegistry(fresh_session(EAST).client("ecr"), EAST)
    west = FakeRegistry(fresh_session(WEST).client("ecr"), WEST)
    east.set_scan("east-app", world.digests["east-app"], status="IN_PROGRESS")
    west.set_scan("west-app", world.digests["west-app"], status="IN_PROGRESS")
    fake = FakeTime()
    one_at_a_time = Plan(regions=(EAST, WEST), max_concurrency=8)
    assert one_at_a_time.parallel_targets(8) == 1
    connections = Connections.of(fresh_session(EAST), concurrency=8)
    result = Audit(connections, one_at_a_time, NOW).report(
        ReportSettings(wait=True, timeout=60), Pacing(fake.sleep, fake.clock)
    )
    assert [(r.region, r.status.value) for r in result.images] == [
        (EAST, "pending"),
        (WEST, "pending"),
    ]
    assert sum(fake.sleeps) == 60  # the first region used the whole budget
    assert exit_code(result, DEFAULT_VIEW) == 3


# -- options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["rescan", "--region", "us-east1"], {}, "invalid region 'us-east1'"),
        (["--region", "EU", "rescan"], {}, "invalid region 'EU'"),
        (["rescan"], {"ECRSCAN_REGIONS": "eu-west-1,nowhere"}, "invalid region 'nowhere'"),
        (["report", "--role-arn", "arn:aws:iam::1:role/x"], {}, "invalid role ARN"),
        (
            ["rescan", "--role-arn", ROLE1, "--role-arn", f"arn:aws:iam::{ACC1}:role/other"],
            {},
            "two roles for account 111111111111",
        ),
        (["rescan"], {"ECRSCAN_ROLE_ARNS": "nope"}, "invalid role ARN 'nope'"),
        (["--region", EAST, "--region", WEST, "repos"], {}, "repos lists one region"),
        (
            ["report", "--image", "app:v1", "--region", EAST, "--region", WEST],
            {},
            "--image names exact images",
        ),
        (["report", "--image", "app:v1", "--role-arn", ROLE1], {}, "--image names exact"),
        (
            [
                "rescan",
                "--via-queue",
                "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "--pulled-within",
                "30d",
            ],
            {},
            "--via-queue sends one job per repository",
        ),
    ],
)
def test_usage_errors_exit_2_before_any_aws_call(
    args: list[str], env: dict[str, str], message: str
) -> None:
    def no_aws(**kwargs: Any) -> Any:
        raise AssertionError("an AWS session was created")

    result = CliRunner().invoke(cli, args, obj=AppContext(session_factory=no_aws), env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_help_documents_the_options() -> None:
    for command in ("rescan", "report"):
        text = CliRunner().invoke(cli, [command, "--help"]).output
        for option in (
            "--region",
            "ECRSCAN_REGIONS",
            "--role-arn",
            "ECRSCAN_ROLE_ARNS",
            "--in-use",
            "ECRSCAN_IN_USE",
            "--pulled-within",
            "ECRSCAN_PULLED_WITHIN",
            "docs/iam.md",
        ):
            assert option in text, (command, option)


# -- the orchestration's parts ---------------------------------------------------------------


def test_each_target_has_one_throttle_shared_by_its_ecr_and_ecs_gateways(mocked) -> None:
    session = fresh_session(EAST)
    one, other = Target(ACCOUNT, EAST, session), Target(ACCOUNT, WEST, session)
    gateways = Connections.of(session)
    ecr, ecs = gateways.ecr(one), gateways.ecs(one)
    assert ecr.throttle is ecs.throttle is gateways.throttle(one)
    assert ecr.inspector().throttle is ecr.throttle
    assert gateways.ecr(one, "999999999999").throttle is ecr.throttle
    assert gateways.ecr(other).throttle is not ecr.throttle
    assert gateways.ecr(one) is ecr  # one gateway (and client) per target and registry
    assert gateways.ecs(one) is ecs
    assert (ecr.region, gateways.ecr(other).region) == (EAST, WEST)


def test_progress_adds_up_the_repositories_of_every_target() -> None:
    seen: list[tuple[Event, int]] = []
    progress = _Cumulative(lambda event, amount: seen.append((event, amount)))
    for event, amount in (
        (Event.REPOSITORIES, 3),
        (Event.IMAGES_FOUND, 5),
        (Event.REPOSITORIES, 2),
    ):
        progress(event, amount)
    assert seen == [(Event.REPOSITORIES, 3), (Event.IMAGES_FOUND, 5), (Event.REPOSITORIES, 5)]
