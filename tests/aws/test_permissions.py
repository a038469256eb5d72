"""IAM permissions as data (:mod:`ecrscan.aws.permissions`) against the code: every AWS
operation ``ecrscan/aws`` calls has its action in the data, and some command or function
needs it; the commands' ``--help`` name no action but point to docs/iam.md, whose lists
``tests/docs/test_iam_page.py`` checks against the data."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name
from click.testing import CliRunner

from ecrscan.aws import permissions
from ecrscan.cli import cli

AWS = Path(__file__).resolve().parents[2] / "ecrscan" / "aws"
ACTION = re.compile(r"\b[a-z0-9-]+:[A-Z][A-Za-z]+\b")
_MODELS = botocore.session.get_session()


def operation_names(service: str) -> frozenset[str]:
    """The boto3 method names of ``service``'s operations, from botocore's own model."""
    return frozenset(xform_name(op) for op in _MODELS.get_service_model(service).operation_names)


def services_of(tree: ast.Module) -> set[str]:
    """The services a module talks to: a gateway's ``SERVICE = "..."``, a client built
    with ``make_client(session, "...")``, a variable or parameter named ``<service>_client``."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "SERVICE" for t in node.targets
        ):
            if isinstance(node.value, ast.Constant) and node.value.value:
                found.add(str(node.value.value))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "make_client":
            found.update(a.value for a in node.args[1:2] if isinstance(a, ast.Constant) and a.value)
        elif isinstance(node, ast.arg) and node.arg.endswith("_client"):
            found.add(node.arg.removesuffix("_client"))
    return found


def names_in(tree: ast.Module) -> set[str]:
    """Every string constant (operation names given to ``_call``/``_pages`` and to the
    helpers around them) and every method called on an object (direct client calls)."""
    names = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    names |= {
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    return {n for n in names if isinstance(n, str)}


def called_operations() -> Iterator[tuple[str, str, str]]:
    """(module, service, boto3 method) of every operation the code in ecrscan/aws calls."""
    for path in sorted(AWS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = names_in(tree)
        for service in sorted(services_of(tree)):
            for name in sorted(names & operation_names(service)):
                yield path.name, service, name


CALLED = list(called_operations())


def test_the_scan_finds_the_calls_of_every_gateway() -> None:
    """The scan itself works: it finds calls in each kind of module (a gateway class,
    a module-level client call, a client built in the module)."""
    found = {(module, service) for module, service, _ in CALLED}
    expected = {
        ("ecr.py", "ecr"),
        ("inspector2.py", "inspector2"),
        ("ecs.py", "ecs"),
        ("dynamodb.py", "dynamodb"),
        ("organizations.py", "organizations"),
        ("organizations.py", "ec2"),
        ("sqs.py", "sqs"),
        ("sns.py", "sns"),
        ("sts.py", "sts"),
    }
    assert expected <= found


def test_every_operation_the_code_calls_is_in_the_data() -> None:
    missing = sorted(
        f"{module}: {service}.{name}"
        for module, service, name in CALLED
        if (service, name) not in permissions.OPERATIONS
    )
    assert not missing, f"AWS calls without an IAM action in ecrscan.aws.permissions: {missing}"


def test_every_operation_in_the_data_is_called() -> None:
    called = {(service, name) for _, service, name in CALLED}
    assert sorted(set(permissions.OPERATIONS) - called) == []


def test_every_called_action_is_granted_to_some_command_or_function() -> None:
    needed = permissions.every_action()
    ungranted = sorted(
        action
        for action in permissions.OPERATIONS.values()
        if action not in needed and action not in permissions.NO_PERMISSION_NEEDED
    )
    assert not ungranted, f"called, but no command or function is granted: {ungranted}"


def test_the_data_names_only_actions_the_code_calls() -> None:
    called = set(permissions.OPERATIONS.values()) - permissions.NO_PERMISSION_NEEDED
    assert permissions.every_action() - called == set()
    assert all(set(needs) <= set(permissions.NEEDS) for needs in permissions.COMMANDS.values())


@pytest.mark.parametrize("operation", sorted(permissions.OPERATIONS))
def test_each_operation_is_a_real_one_and_its_action_is_named_after_it(
    operation: tuple[str, str],
) -> None:
    service, name = operation
    assert name in operation_names(service)
    action = permissions.OPERATIONS[operation]
    model = _MODELS.get_service_model(service)
    (op,) = [o for o in model.operation_names if xform_name(o) == name]
    prefix = model.signing_name
    assert action in {f"{prefix}:{op}", "sqs:SendMessage"}  # the batch uses SendMessage


def help_text(command: str) -> str:
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("command", sorted(permissions.COMMANDS))
def test_help_points_to_the_one_iam_page_and_lists_no_action(command: str) -> None:
    """IAM lives in one place (docs/iam.md, checked against this data): a list in the
    help could only drift from it."""
    text = help_text(command)
    assert "IAM: docs/iam.md" in text
    assert ACTION.findall(text) == [], f"{command} --help names IAM actions"


def test_the_help_check_would_see_an_action() -> None:
    assert ACTION.findall("needs ecr:DescribeRepositories, sts:AssumeRole.") == [
        "ecr:DescribeRepositories",
        "sts:AssumeRole",
    ]
