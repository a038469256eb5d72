"""Targets (accounts x regions) with moto STS, and in-use discovery across two accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import NoCredentialsError, NoRegionError

from ecrscan.aws.connections import Connections
from ecrscan.aws.ecr import EcrGateway
from ecrscan.aws.ecs import EcsGateway
from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.aws.sts import resolve_targets
from ecrscan.core.coverage import Location
from ecrscan.core.inuse import RepoKey, merge_in_use, select_images
from ecrscan.core.model import Repository
from ecrscan.core.problem import Problem
from ecrscan.core.targets import (
    Target,
    TargetFailure,
    check_regions,
    check_role_arns,
    default_session_name,
    parse_role_arn,
)
from ecrscan.engine.discovery import discover_in_use
from ecrscan.engine.fanout import run_per_target
from ecrscan.engine.plan import Plan
from tests.support.registry import FakeRegistry
from tests.support.sts import fail_calls, host, register

BASE = "123456789012"  # moto's default account
ACC1 = "111111111111"
ACC2 = "222222222222"
ROLE1 = f"arn:aws:iam::{ACC1}:role/ecrscan-audit"
ROLE2 = f"arn:aws:iam::{ACC2}:role/path/ecrscan-audit"
SESSION = "ecrscan-0.1.0-20260331T120000Z"


def identity(target: Target) -> dict:
    return target.session.client("sts", region_name=target.region).get_caller_identity()


# -- pure checks --------------------------------------------------------------------


def test_parse_role_arn():
    role = parse_role_arn(ROLE2)
    assert (role.partition, role.account, role.name) == ("aws", ACC2, "path/ecrscan-audit")
    assert parse_role_arn(f"arn:aws-us-gov:iam::{ACC1}:role/x").partition == "aws-us-gov"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ecrscan-audit",
        f"arn:aws:iam::{ACC1}:user/bob",
        "arn:aws:iam::1234:role/x",
        f"arn:aws:sts::{ACC1}:assumed-role/x/y",
        f"arn:aws:iam::{ACC1}:role/",
    ],
)
def test_parse_role_arn_rejects(text):
    with pytest.raises(ValueError, match="invalid role ARN"):
        parse_role_arn(text)


def test_check_role_arns_dedupes_and_refuses_two_roles_for_one_account():
    assert [r.arn for r in check_role_arns([ROLE1, ROLE2, ROLE1])] == [ROLE1, ROLE2]
    with pytest.raises(ValueError, match=f"two roles for account {ACC1}"):
        check_role_arns([ROLE1, f"arn:aws:iam::{ACC1}:role/other"])


def test_check_regions():
    assert check_regions(["us-east-1", " EU-WEST-1", "us-east-1", "us-gov-west-1"]) == (
        "us-east-1",
        "eu-west-1",
        "us-gov-west-1",
    )
    for bad in ("us-east1", "useast-1", "", "eu_west_1"):
        with pytest.raises(ValueError, match="invalid region"):
            check_regions([bad])


def test_default_session_name_identifies_ecrscan_and_the_time():
    name = default_session_name(datetime(2026, 3, 31, 12, 0, tzinfo=UTC))
    assert name.startswith("ecrscan-") and name.endswith("-20260331T120000Z")
    assert 2 <= len(name) <= 64


class NoCalls:
    region_name = "us-east-1"

    def client(self, *args, **kwargs):
        raise AssertionError("no AWS client may be built for invalid input")


@pytest.mark.parametrize(
    ("regions", "roles", "kwargs", "message"),
    [
        (["us-east1"], [], {}, "invalid region"),
        (["us-east-1"], ["not-an-arn"], {}, "invalid role ARN"),
        (["us-east-1"], [], {"session_name": "has space"}, "invalid role session name"),
        (["us-east-1"], [], {"session_name": "x" * 65}, "invalid role session name"),
    ],
)
def test_invalid_input_fails_before_any_aws_call(regions, roles, kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_targets(NoCalls(), regions, roles, **{"session_name": SESSION, **kwargs})


def test_no_region_at_all():
    class NoRegion(NoCalls):
        region_name = None

    with pytest.raises(NoRegionError):
        resolve_targets(NoRegion(), [], [], session_name=SESSION)


# -- moto STS -----------------------------------------------------------------------


def test_missing_credentials_stop_the_run(mocked, monkeypatch):
    # no target could be covered: the CLI turns this into its "no credentials" line
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata wait
    with pytest.raises(NoCredentialsError):
        resolve_targets(boto3.Session(region_name="us-east-1"), [], [ROLE1], session_name=SESSION)


def test_two_roles_two_regions(mocked):
    base = boto3.Session(region_name="us-east-1")
    targets, failures = resolve_targets(
        base, ["us-east-1", "eu-west-1"], [ROLE1, ROLE2], session_name=SESSION
    )
    assert failures == []
    assert [(t.account, t.region, t.role_arn) for t in targets] == [
        (BASE, "us-east-1", ""),
        (BASE, "eu-west-1", ""),
        (ACC1, "us-east-1", ROLE1),
        (ACC1, "eu-west-1", ROLE1),
        (ACC2, "us-east-1", ROLE2),
        (ACC2, "eu-west-1", ROLE2),
    ]
    assert targets[0].session is base
    # moto takes the assumed role's account from the role ARN: the credentials really
    # reach that account, under a session name that names ecrscan
    for target in targets[2:]:
        who = identity(target)
        assert who["Account"] == target.account
        role_name = target.role_arn.rsplit("/", 1)[1]
        assert who["Arn"] == f"arn:aws:sts::{target.account}:assumed-role/{role_name}/{SESSION}"
        assert target.session.region_name == target.region


def test_the_session_name_is_the_callers_no_clock_is_read_here():
    with pytest.raises(TypeError, match="session_name"):
        resolve_targets(NoCalls(), [], [ROLE1])  # type: ignore[call-arg]


def test_a_run_names_its_role_sessions_after_its_own_now(mocked):
    """The CLI path (the plan's query, resolved by the connections) names the session
    from the run's ``now``, not from a clock of its own."""
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    connections = Connections.of(boto3.Session(region_name="us-east-1"))
    targets, _ = connections.targets(Plan(role_arns=(ROLE1,)).query(now))
    target = next(t for t in targets if t.role_arn)
    assert target.region == "us-east-1"  # the base session's region
    session_name = identity(target)["Arn"].rsplit("/", 1)[1]
    assert session_name == default_session_name(now)
    assert session_name.startswith("ecrscan-") and session_name.endswith("-20260331T120000Z")
    named = connections.targets(Plan(role_arns=(ROLE1,), session_name=SESSION).query(now))[0]
    assert identity(named[-1])["Arn"].endswith(f"/{SESSION}")


def test_one_role_failing_does_not_stop_the_others(mocked):
    base = boto3.Session(region_name="us-east-1")
    fail_calls(
        base,
        "before-call.sts.AssumeRole",
        lambda p: p["body"]["RoleArn"] == ROLE1,
        "AccessDenied",
        f"User is not authorized to perform: sts:AssumeRole on {ROLE1}",
    )
    targets, failures = resolve_targets(
        base, ["us-east-1", "eu-west-1"], [ROLE1, ROLE2], session_name=SESSION
    )
    assert [t.label for t in targets] == [
        f"{BASE}/us-east-1",
        f"{BASE}/eu-west-1",
        f"{ACC2}/us-east-1",
        f"{ACC2}/eu-west-1",
    ]
    problem = Problem(
        "AccessDenied", f"User is not authorized to perform: sts:AssumeRole on {ROLE1}"
    )
    assert failures == [
        TargetFailure(ACC1, "us-east-1", problem, ROLE1),
        TargetFailure(ACC1, "eu-west-1", problem, ROLE1),
    ]


def test_base_identity_failing_still_resolves_roles(mocked):
    base = boto3.Session(region_name="us-east-1")
    fail_calls(
        base,
        "before-call.sts.GetCallerIdentity",
        lambda p: True,
        "ExpiredToken",
        "The security token included in the request is expired",
        400,
    )
    targets, failures = resolve_targets(base, ["us-east-1"], [ROLE2], session_name=SESSION)
    assert [t.label for t in targets] == [f"{ACC2}/us-east-1"]
    assert [(f.label, f.problem.code) for f in failures] == [
        ("unknown account/us-east-1", "ExpiredToken")
    ]


def test_a_role_in_the_base_account_replaces_the_base_credentials(mocked):
    own = f"arn:aws:iam::{BASE}:role/auditor"
    targets, failures = resolve_targets(
        boto3.Session(region_name="us-east-1"), ["us-east-1"], [own], session_name=SESSION
    )
    assert failures == []
    assert [(t.account, t.role_arn) for t in targets] == [(BASE, own)]


def test_one_region_failing_does_not_stop_the_others(mocked):
    base = boto3.Session(region_name="us-east-1")
    # an opt-in region that is not enabled answers every call like this
    fail_calls(
        base,
        "before-call.ecr.DescribeRepositories",
        lambda p: "ap-east-1" in p["url"],
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        400,
    )
    boto3.client("ecr", region_name="us-east-1").create_repository(repositoryName="east")
    boto3.client("ecr", region_name="eu-west-1").create_repository(repositoryName="west")
    targets, failures = resolve_targets(
        base, ["us-east-1", "ap-east-1", "eu-west-1"], [], session_name=SESSION
    )
    assert failures == []

    def names(target: Target) -> list[str]:
        gateway = EcrGateway(target.session, region=target.region)
        return [r.name for r in gateway.repositories()]

    done, failed = run_per_target(targets, names)
    assert [(t.region, result) for t, result in done] == [
        ("us-east-1", ["east"]),
        ("eu-west-1", ["west"]),
    ]
    assert failed == [
        TargetFailure(
            BASE,
            "ap-east-1",
            Problem(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
        )
    ]


def test_run_per_target_lets_bugs_through():
    target = Target(BASE, "us-east-1", None)
    with pytest.raises(ZeroDivisionError):
        run_per_target([target], lambda t: 1 / 0)
    _, failed = run_per_target(
        [target],
        lambda t: (_ for _ in ()).throw(
            AwsError(ErrorKind.OTHER, Problem("ClusterNotFoundException", "gone"))
        ),
    )
    assert failed == [TargetFailure(BASE, "us-east-1", Problem("ClusterNotFoundException", "gone"))]


@pytest.mark.slow
def test_against_moto_server_through_aws_endpoint_url(server_env, monkeypatch):
    """AWS_ENDPOINT_URL reaches STS and the clients of assumed-role sessions alike."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server_env["AWS_ENDPOINT_URL"])
    targets, failures = resolve_targets(
        boto3.Session(region_name="us-east-1"), ["us-east-1"], [ROLE1], session_name=SESSION
    )
    assert failures == []
    assert [t.account for t in targets] == [BASE, ACC1]
    role_target = targets[1]
    ecr = role_target.session.client("ecr", region_name="us-east-1")
    arn = ecr.create_repository(repositoryName="only-in-acc1")["repository"]["repositoryArn"]
    assert arn == f"arn:aws:ecr:us-east-1:{ACC1}:repository/only-in-acc1"
    base_repos = boto3.client("ecr", region_name="us-east-1").describe_repositories()
    assert base_repos["repositories"] == []


@pytest.mark.slow
def test_explicit_endpoint_url_is_used_for_sts(moto_server, server_env):
    targets, failures = resolve_targets(
        boto3.Session(region_name="us-east-1"),
        ["us-east-1"],
        [ROLE2],
        session_name=SESSION,
        endpoint_url=moto_server,
    )
    assert failures == [] and [t.account for t in targets] == [BASE, ACC2]
    sts = targets[1].session.client("sts", endpoint_url=moto_server)
    assert sts.get_caller_identity()["Account"] == ACC2


# -- two accounts, ECS and ECR in each (moto) ---------------------------------------


def test_in_use_discovery_across_two_accounts(mocked):
    region = "us-east-1"
    base = boto3.Session(region_name=region)
    targets, failures = resolve_targets(base, [region], [ROLE1], session_name=SESSION)
    assert failures == []
    _base_target, role_target = targets

    # ECR in each account
    own = FakeRegistry(base.client("ecr", region_name=region), region, BASE)
    own.create_repo("web")
    web_v1 = own.push("web", "v1")
    own.push("web", "v0")  # not in use
    other = FakeRegistry(role_target.session.client("ecr"), region, ACC1)
    other.create_repo("base")
    base_3 = other.push("base", "3")
    base_pinned = other.push("base", "2", seed="pinned")
    other.push("base", "1")  # not in use
    other.create_repo("tools")
    tools_v1 = other.push("tools", "v1")

    # ECS in each account; the base account runs an image from ACC1's registry
    web_td = register(base, "web", f"{host(BASE)}/web:v1", f"{host(ACC1)}/base:3", "nginx:1.25")
    job_td = register(
        role_target.session,
        "job",
        f"{host(ACC1)}/base@{base_pinned}",
        f"{host(ACC1)}/tools:v1",
        f"{host(ACC2)}/elsewhere:1",
    )
    assert web_td.split(":")[4] == BASE and job_td.split(":")[4] == ACC1

    def discover(target: Target):
        return discover_in_use(
            EcsGateway(target.session, region=target.region),
            services_only=False,
            account=target.account,
            region=target.region,
            role_accounts={ACC1},
        )

    done, failed = run_per_target(targets, discover)
    assert failed == []
    in_use = merge_in_use(found for _, found in done)
    assert set(in_use.repositories) == {
        RepoKey(BASE, region, "web"),
        RepoKey(ACC1, region, "base"),
        RepoKey(ACC1, region, "tools"),
    }
    assert in_use.repositories[RepoKey(ACC1, region, "base")].task_definitions == {web_td, job_td}
    assert [(s.image, s.location) for s in in_use.skipped] == [("nginx:1.25", Location.NOT_ECR)]
    assert [(s.image, s.location, s.task_definitions) for s in in_use.out_of_scope] == [
        (f"{host(ACC2)}/elsewhere:1", Location.OTHER_ACCOUNT, (job_td,))
    ]

    # each target's ECR images, narrowed to the ones in use
    selected: dict[str, set[str]] = {}
    for target in targets:
        gateway = EcrGateway(target.session, region=target.region)
        for name, use in in_use.for_target(target.account, target.region).items():
            images = gateway.images(Repository(name=name, registry_id=target.account))
            selected[f"{target.account}/{name}"] = {i.digest for i in select_images(images, use)}
    assert selected == {
        f"{BASE}/web": {web_v1},
        f"{ACC1}/base": {base_3, base_pinned},
        f"{ACC1}/tools": {tools_v1},
    }

    # without the role, ACC1's images seen from the base account are out of scope
    alone = discover_in_use(
        EcsGateway(base, region=region),
        services_only=False,
        account=BASE,
        region=region,
        role_accounts=set(),
    )
    assert set(alone.repositories) == {RepoKey(BASE, region, "web")}
    assert [s.image for s in alone.out_of_scope] == [f"{host(ACC1)}/base:3"]


class ClockedSts:
    """moto's STS behind a fake clock: AssumeRole's credentials expire an hour after the
    fake now, and every AssumeRole is counted."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.assumed = 0
        self._sts = boto3.client("sts", region_name="us-east-1")

    def clock(self) -> datetime:
        return self.now

    def assume_role(self, **params: object) -> dict[str, object]:
        self.assumed += 1
        response = self._sts.assume_role(**params)
        seconds = int(params.get("DurationSeconds", 3600))  # type: ignore[call-overload]
        response["Credentials"]["Expiration"] = self.now + timedelta(seconds=seconds)
        return response


def test_assumed_role_credentials_refresh_before_they_expire(mocked) -> None:
    from ecrscan.aws.clients import refreshing_session
    from ecrscan.aws.sts import role_credentials

    sts = ClockedSts(datetime.now(UTC))
    credentials = role_credentials(sts, ROLE1, "ecrscan-test", 3600, clock=sts.clock)
    assert sts.assumed == 1
    ecr = refreshing_session(credentials, "us-east-1").client("ecr")
    ecr.describe_repositories()
    first = credentials.get_frozen_credentials().access_key
    sts.now += timedelta(minutes=40)  # 20 min left: still good
    assert credentials.get_frozen_credentials().access_key == first and sts.assumed == 1
    sts.now += timedelta(minutes=6)  # 14 min left: renewed ahead of expiry
    renewed = credentials.get_frozen_credentials().access_key
    assert sts.assumed == 2 and renewed != first
    sts.now += timedelta(hours=3)  # a target still running hours later
    ecr.describe_repositories()  # the client renews them itself
    assert sts.assumed == 3
    who = refreshing_session(credentials, "us-east-1").client("sts").get_caller_identity()
    assert who["Account"] == ACC1
