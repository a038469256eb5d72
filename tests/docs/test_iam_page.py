"""docs/iam.md against the IAM data (:mod:`ecrscan.aws.permissions`): each section names
every action its commands and options need, and the page names no action ecrscan does
not need (besides the few it names for the setup around ecrscan, listed here)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ecrscan.aws import permissions

PAGE = Path(__file__).resolve().parents[2] / "docs" / "iam.md"
ACTION = re.compile(r"\b[a-z0-9-]+:[A-Z][A-Za-z]+\b")
# section title -> the needs (ecrscan.aws.permissions.NEEDS keys) it documents
SECTIONS = {
    "repos": ("repos",),
    "rescan": ("rescan", "rescan --via-queue"),
    "report": ("report", "--publish", "--only-changed"),
    "scan": ("scan", "--publish"),
    "In-use discovery, regions and accounts": (
        "--in-use ecs",
        "--in-use ecs-services",
        "--role-arn",
        "--all-regions",
    ),
    "The whole organization": ("--organization", "--ou", "--all-regions"),
}
# Actions the page names that ecrscan does not call: a KMS-encrypted topic's key, the
# push of the image in the same CI job, and the one STS call no policy can deny.
AROUND_ECRSCAN = {
    "kms:GenerateDataKey",
    "kms:Decrypt",
    "ecr:GetAuthorizationToken",
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    *permissions.NO_PERMISSION_NEEDED,
}
# Not actions: condition keys of the trust policy.
NOT_ACTIONS = {"sts:RoleSessionName"}


def sections() -> dict[str, str]:
    text = PAGE.read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def named(text: str) -> set[str]:
    return set(ACTION.findall(text)) - NOT_ACTIONS


def test_the_page_has_the_sections_the_check_reads() -> None:
    assert set(SECTIONS) <= set(sections())


@pytest.mark.parametrize("title", SECTIONS)
def test_each_section_names_every_action_its_commands_need(title: str) -> None:
    needed = set().union(*(permissions.NEEDS[need] for need in SECTIONS[title]))
    assert sorted(needed - named(sections()[title])) == []


def test_the_page_names_only_what_ecrscan_needs() -> None:
    on_page = named(PAGE.read_text(encoding="utf-8"))
    commands = set().union(*(permissions.command_actions(c) for c in permissions.COMMANDS))
    needed = set(permissions.every_action())  # the commands' and the functions' (the table)
    assert sorted(on_page - needed - AROUND_ECRSCAN) == []
    assert sorted(commands - on_page) == []


@pytest.mark.parametrize("command", sorted(permissions.COMMANDS))
def test_each_command_page_names_only_actions_of_its_command(command: str) -> None:
    """The IAM notes of docs/commands/<command>.md name nothing the command does not
    need (besides the setup around ecrscan)."""
    text = (PAGE.parent / "commands" / f"{command}.md").read_text(encoding="utf-8")
    extra = named(text) - permissions.command_actions(command) - AROUND_ECRSCAN
    assert sorted(extra) == []


# What the Lambda service does with a function's role (the SQS trigger, dead-letter
# delivery, logs): in docs/lambda.md's table, not ecrscan's calls.
LAMBDA_SERVICE = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:SendMessage",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}
TABLE_ROWS = {
    "repositories": "RepositoriesFunction",
    "images": "ImagesFunction",
    "reporter": "ReporterFunction",
}


def lambda_table() -> dict[str, set[str]]:
    """The actions of each row of docs/lambda.md's "IAM permissions of each function"
    table, by function (a row with an empty first cell continues the one before)."""
    text = (PAGE.parent / "lambda.md").read_text(encoding="utf-8")
    section = text.split("## IAM permissions of each function", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    current = ""
    for line in section.splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) != 3 or cells[0] in ("function", "---"):
            continue
        current = cells[0] or current
        rows.setdefault(current, set()).update(named(cells[1]))
    return rows


@pytest.mark.parametrize("row", sorted(TABLE_ROWS))
def test_the_lambda_page_lists_what_each_function_needs(row: str) -> None:
    """Each function's own needs, and with NotifyOn=change the reporter's state table
    and with a gate on what matters its findings read (ECS discovery and the
    organization have their own sections)."""
    function = TABLE_ROWS[row]
    needed = permissions.function_actions(
        function,
        {
            "EcsDiscovery": False,
            "EcsDiscoveryWithRoles": False,
            "HasOrganization": False,
            "OrganizationAllRegions": False,
            "NotifyOnChange": True,
            "ReporterGates": True,
        },
    )
    listed = lambda_table()[row]
    assert sorted(needed - listed) == []
    assert sorted(listed - needed - LAMBDA_SERVICE) == []


def test_the_every_action_table_is_generated_from_the_data() -> None:
    """The page's "Every action" table is exactly what the data generates now
    (``UPDATE_GENERATED_DOCS=1`` rewrites it): one list, never edited by hand."""
    text = PAGE.read_text(encoding="utf-8")
    begin = text.index(permissions.GENERATED_BEGIN)
    end = text.index(permissions.GENERATED_END) + len(permissions.GENERATED_END)
    current = permissions.actions_table()
    if text[begin:end] != current and os.environ.get("UPDATE_GENERATED_DOCS") == "1":
        PAGE.write_text(text[:begin] + current + text[end:], encoding="utf-8")
        text = PAGE.read_text(encoding="utf-8")
        end = begin + len(current)
    assert text[begin:end] == current, "docs/iam.md is stale: run with UPDATE_GENERATED_DOCS=1"


def test_the_generated_table_names_every_needed_action_once_per_row() -> None:
    table = permissions.actions_table()
    rows = [line for line in table.splitlines() if line.startswith("| `") or "Function" in line]
    assert len(rows) == len(permissions.NEEDS) + sum(map(len, permissions.FUNCTIONS.values()))
    assert named(table) == set(permissions.every_action())
