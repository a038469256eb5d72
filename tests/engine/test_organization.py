"""The whole organization in one run, with moto's Organizations, STS, EC2 and ECR
in-process: moto gives an assumed role's calls to the role's account, so every account
has its own registry.  Accounts come from ListAccounts (or the OUs, recursively), each
is reached through the role --role-name, a failing account is named while the others
complete (exit 3), and --all-regions asks each account which regions it has enabled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.core.organization import Account, AccountSelector, check_ou_ids, check_role_name
from tests.support.fakes import assumed_session, fresh_session
from tests.support.inuse_world import ACCOUNT, Sessions, body_field
from tests.support.registry import FakeRegistry

EAST, WEST = "us-east-1", "eu-west-1"
NOW = datetime.now(UTC).replace(microsecond=0)
ROLE = "ecrscan-audit"


def role_session(account: str, region: str = EAST, role: str = ROLE) -> boto3.Session:
    return assumed_session(f"arn:aws:iam::{account}:role/{role}", region)


@pytest.fixture
def org(mocked: None) -> SimpleNamespace:
    """An organization: the caller (management, 'master') and four member accounts,
    prod-api and prod-web under OU prod (prod-web in its child OU prod/web), dev-api
    under OU dev, sandbox at the root; one repository with one image in each account."""
    client = fresh_session(EAST).client("organizations")
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]
    prod = client.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]
    web = client.create_organizational_unit(ParentId=prod["Id"], Name="web")["OrganizationalUnit"]
    dev = client.create_organizational_unit(ParentId=root, Name="dev")["OrganizationalUnit"]
    ids: dict[str, str] = {"master": ACCOUNT}
    for name, parent in (
        ("prod-api", prod),
        ("prod-web", web),
        ("dev-api", dev),
        ("sandbox", None),
    ):
        status = client.create_account(Email=f"{name}@example.com", AccountName=name)
        ids[name] = status["CreateAccountStatus"]["AccountId"]
        if parent is not None:
            client.move_account(
                AccountId=ids[name], SourceParentId=root, DestinationParentId=parent["Id"]
            )
    for name, account in ids.items():
        session = fresh_session(EAST) if account == ACCOUNT else role_session(account)
        registry = FakeRegistry(session.client("ecr"), EAST, account)
        registry.create_repo(f"{name}-repo")
        digest = registry.push(f"{name}-repo", "v1")
        registry.set_scan(f"{name}-repo", digest, completed_at=NOW - timedelta(days=30))
    return SimpleNamespace(ids=ids, prod=prod["Id"], dev=dev["Id"], root=root)


def invoke(args: list[str], sessions: Sessions | None = None) -> Result:
    app = AppContext(session_factory=sessions or Sessions(), clock=lambda: NOW)
    return CliRunner().invoke(cli, args, obj=app)


def rescan(args: list[str], sessions: Sessions | None = None) -> tuple[Result, dict[str, Any]]:
    result = invoke(["rescan", "--dry-run", "--format", "json", *args], sessions)
    return result, json.loads(result.stdout) if result.stdout.startswith("{") else {}


def accounts_of(doc: dict[str, Any]) -> set[str]:
    return {i["account"] for i in doc["images"]}


def test_every_account_of_the_organization(org) -> None:
    result, doc = rescan(["--organization"])
    assert result.exit_code == 0, result.stderr
    assert accounts_of(doc) == set(org.ids.values())
    roles = {t["account"]: t["role_arn"] for t in doc["targets"]}
    assert roles[ACCOUNT] is None  # the caller's own account: the caller's credentials
    assert roles[org.ids["sandbox"]] == f"arn:aws:iam::{org.ids['sandbox']}:role/{ROLE}"
    repos = {(i["account"], i["repository"]) for i in doc["images"]}
    assert (org.ids["prod-web"], "prod-web-repo") in repos  # each account's own registry
    assert doc["totals"]["due"] == 5


def test_organizational_units_recursively(org) -> None:
    result, doc = rescan(["--organization", "--ou", org.prod])
    assert result.exit_code == 0, result.stderr
    assert accounts_of(doc) == {org.ids["prod-api"], org.ids["prod-web"]}
    result, doc = rescan(["--organization", "--ou", f"{org.prod},{org.dev}"])
    assert accounts_of(doc) == {org.ids["prod-api"], org.ids["prod-web"], org.ids["dev-api"]}


def test_account_filters_by_id_and_name(org) -> None:
    result, doc = rescan(
        ["--organization", "--accounts", "^prod-", "--exclude-accounts", org.ids["prod-web"]]
    )
    assert result.exit_code == 0, result.stderr
    assert accounts_of(doc) == {org.ids["prod-api"]}


def test_an_account_whose_role_cannot_be_assumed_fails_alone(org) -> None:
    sessions = Sessions()
    denied = f"arn:aws:iam::{org.ids['dev-api']}:role/{ROLE}"
    sessions.refuse(
        "sts", "AssumeRole", "AccessDenied", "not authorized", when=body_field("RoleArn", denied)
    )
    result, doc = rescan(["--organization"], sessions)
    assert result.exit_code == 3
    assert accounts_of(doc) == set(org.ids.values()) - {org.ids["dev-api"]}
    [failed] = [t for t in doc["targets"] if not t["complete"]]
    assert (failed["account"], failed["role_arn"]) == (org.ids["dev-api"], denied)
    assert failed["errors"] == [
        {"stage": "credentials", "code": "AccessDenied", "message": "not authorized"}
    ]
    assert org.ids["dev-api"] in result.stderr


def test_listing_the_organization_refused_stops_with_a_hint(org) -> None:
    sessions = Sessions()
    sessions.refuse("organizations", "ListAccounts", "AccessDeniedException", "not mgmt")
    result = invoke(["report", "--organization"], sessions)
    assert result.exit_code == 3
    assert "not mgmt" in result.stderr and "management account" in result.stderr


@pytest.mark.parametrize("given", ["{missing}", "{prod},{missing}"])
def test_an_ou_that_does_not_exist_is_named_without_a_permissions_hint(org, given) -> None:
    missing = "ou-abcd-12345678"
    result = invoke(
        ["report", "--organization", "--ou", given.format(missing=missing, **vars(org))]
    )
    assert result.exit_code == 3
    assert result.stderr == (
        "ecrscan: error: ParentNotFoundException: the organizational unit ou-abcd-12345678 "
        "does not exist in the organization\n"
    )


def test_a_selection_of_no_account_is_worded_by_the_cli_not_the_engine(org) -> None:
    from ecrscan.aws.organization import NO_ACCOUNTS

    assert "--" not in NO_ACCOUNTS  # the engine's words, also in the Lambda logs
    result = invoke(["report", "--organization", "--accounts", "^no-such-account$"])
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        "ecrscan: error: NoAccounts: the organization has no ACTIVE account that --ou, "
        "--accounts and --exclude-accounts select"
    )


@pytest.mark.slow
def test_all_regions_asks_each_account(org) -> None:
    west = FakeRegistry(role_session(org.ids["sandbox"], WEST).client("ecr"), WEST)
    west.account = org.ids["sandbox"]
    west.create_repo("sandbox-west")
    west.push("sandbox-west", "v1")
    regions = fresh_session(EAST).client("ec2").describe_regions()["Regions"]
    result, doc = rescan(["--organization", "--accounts", "sandbox", "--all-regions"])
    assert result.exit_code == 0, result.stderr
    enabled = {r["RegionName"] for r in regions if r.get("OptInStatus") != "not-opted-in"}
    assert WEST in enabled and len(enabled) < len(regions)  # opt-in regions not enabled
    assert {t["region"] for t in doc["targets"]} == enabled
    assert {(i["region"], i["repository"]) for i in doc["images"]} == {
        (EAST, "sandbox-repo"),
        (WEST, "sandbox-west"),
    }


def test_usage_errors_before_any_call() -> None:
    for args, message in (
        (["rescan", "--ou", "ou-abcd-12345678"], "'--ou': needs --organization"),
        (["rescan", "--exclude-accounts", "(?=x)"], "'--exclude-accounts'"),
        (
            ["rescan", "--organization", "--role-arn", "arn:aws:iam::111111111111:role/x"],
            "cannot be combined with --role-arn",
        ),
        (["report", "--organization", "--ou", "prod"], "invalid organizational unit id"),
        (["report", "--organization", "--role-name", "bad name"], "invalid role name"),
        (["report", "--organization", "--accounts", "(a)\\1"], "invalid account name pattern"),
        (["rescan", "--all-regions", "--region", EAST], "drop --region"),
    ):
        result = invoke(args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)


def test_pure_parts() -> None:
    selector = AccountSelector(("^prod", "111111111111"), ("prod-web",))
    accounts = [
        Account("111111111111", "tools"),
        Account("222222222222", "prod-api"),
        Account("333333333333", "prod-web"),
        Account("444444444444", "prod-old", "SUSPENDED"),
    ]
    assert [a.id for a in selector.select(accounts)] == ["111111111111", "222222222222"]
    assert check_role_name("audit/ecrscan-audit") == "audit/ecrscan-audit"
    assert check_ou_ids(["ou-ab12-cdef3456", "r-ab12", "ou-ab12-cdef3456"]) == (
        "ou-ab12-cdef3456",
        "r-ab12",
    )


def test_via_queue_sends_one_job_per_account_region_and_repository(org) -> None:
    from ecrscan.core.jobs import parse_job
    from tests.support.sqs import drain

    sqs = fresh_session(EAST).client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    result = invoke(["rescan", "--via-queue", url, "--organization", "--region", f"{EAST},{WEST}"])
    assert result.exit_code == 0, result.stderr
    jobs = {
        (j.registry_id, j.region, j.repository_name, j.role_arn)
        for j in map(parse_job, drain(sqs, url))
    }
    role = "arn:aws:iam::{}:role/" + ROLE
    expected = {
        (account, None, f"{name}-repo", None if account == ACCOUNT else role.format(account))
        for name, account in org.ids.items()
    }
    assert jobs == expected  # every account's repository (the queue's region: not named)
    assert "queued 5 of 5 repository jobs" in result.stderr
