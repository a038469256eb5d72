"""IAM permissions as data: the IAM action of every AWS operation ecrscan calls, and the
actions each command, option and Lambda function needs.

One table, several readers, each checked by a test:

* every operation the gateways call (``_call``/``_pages`` and direct client calls in
  ``ecrscan/aws``, found with :mod:`ast`) is in :data:`OPERATIONS`, and its action is
  needed by some command or function (``tests/aws/test_permissions.py``);
* the commands' ``--help`` name no action and point to ``docs/iam.md`` (same test
  module; the one list is the page);
* ``docs/iam.md``'s table "Every action" is :func:`actions_table`'s output, checked
  to be current (``tests/docs/test_iam_page.py``; ``UPDATE_GENERATED_DOCS=1`` rewrites it);
* ``docs/iam.md`` (and the IAM notes of the command pages and of ``docs/lambda.md``)
  lists what each command and function needs (``tests/docs/test_iam_page.py``);
* ``template.yaml`` grants each function exactly :data:`FUNCTIONS`, for every
  parameter set (``tests/lambdas/test_template.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

# (service, boto3 method) -> the IAM action that allows it.
OPERATIONS: Mapping[tuple[str, str], str] = {
    # ECR: listing, reading, rescanning
    ("ecr", "describe_repositories"): "ecr:DescribeRepositories",
    ("ecr", "describe_images"): "ecr:DescribeImages",
    ("ecr", "describe_image_scan_findings"): "ecr:DescribeImageScanFindings",
    ("ecr", "batch_get_image"): "ecr:BatchGetImage",  # image indexes: their platform images
    ("ecr", "get_registry_scanning_configuration"): "ecr:GetRegistryScanningConfiguration",
    ("ecr", "start_image_scan"): "ecr:StartImageScan",
    # Amazon Inspector: an enhanced registry's states in bulk
    ("inspector2", "list_coverage"): "inspector2:ListCoverage",
    ("inspector2", "list_finding_aggregations"): "inspector2:ListFindingAggregations",
    ("inspector2", "list_findings"): "inspector2:ListFindings",  # findings' EPSS
    # ECS: the images in use
    ("ecs", "list_task_definitions"): "ecs:ListTaskDefinitions",
    ("ecs", "describe_task_definition"): "ecs:DescribeTaskDefinition",
    ("ecs", "list_clusters"): "ecs:ListClusters",
    ("ecs", "list_services"): "ecs:ListServices",
    ("ecs", "describe_services"): "ecs:DescribeServices",
    # accounts and regions
    ("sts", "assume_role"): "sts:AssumeRole",
    ("sts", "get_caller_identity"): "sts:GetCallerIdentity",
    ("organizations", "list_accounts"): "organizations:ListAccounts",
    ("organizations", "list_accounts_for_parent"): "organizations:ListAccountsForParent",
    (
        "organizations",
        "list_organizational_units_for_parent",
    ): "organizations:ListOrganizationalUnitsForParent",
    ("ec2", "describe_regions"): "ec2:DescribeRegions",
    # jobs, notifications, notification state
    ("sqs", "send_message_batch"): "sqs:SendMessage",  # the batch needs SendMessage
    ("sns", "publish"): "sns:Publish",
    ("dynamodb", "get_item"): "dynamodb:GetItem",
    ("dynamodb", "batch_get_item"): "dynamodb:BatchGetItem",
    ("dynamodb", "put_item"): "dynamodb:PutItem",
    ("dynamodb", "delete_item"): "dynamodb:DeleteItem",
    ("dynamodb", "batch_write_item"): "dynamodb:BatchWriteItem",  # the scan-date cache
}

# Allowed whatever a policy says: never in a statement.
NO_PERMISSION_NEEDED = frozenset({"sts:GetCallerIdentity"})

_READ_IMAGES = ("ecr:DescribeImages", "ecr:DescribeImageScanFindings", "ecr:BatchGetImage")
_BULK = (
    "ecr:GetRegistryScanningConfiguration",
    "inspector2:ListCoverage",
    "inspector2:ListFindingAggregations",
)

# What each command, or option, needs (an option's needs come on top of its command's).
NEEDS: Mapping[str, frozenset[str]] = {
    "repos": frozenset({"ecr:DescribeRepositories"}),
    # --dry-run: all but ecr:StartImageScan; on an ENHANCED registry no scan is started
    "rescan": frozenset({"ecr:DescribeRepositories", *_READ_IMAGES, *_BULK, "ecr:StartImageScan"}),
    "rescan --via-queue": frozenset({"ecr:DescribeRepositories", "sqs:SendMessage"}),
    # --image: no ecr:DescribeRepositories, no bulk reads
    # inspector2:ListFindings: an enhanced registry's EPSS scores (--epss-file)
    "report": frozenset(
        {"ecr:DescribeRepositories", *_READ_IMAGES, *_BULK, "inspector2:ListFindings"}
    ),
    "scan": frozenset(
        {*_READ_IMAGES, "ecr:GetRegistryScanningConfiguration", "ecr:StartImageScan"}
    ),
    "--publish": frozenset({"sns:Publish"}),
    "--only-changed": frozenset(
        {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
    ),
    "--in-use ecs": frozenset({"ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition"}),
    "--in-use ecs-services": frozenset(
        {"ecs:ListClusters", "ecs:ListServices", "ecs:DescribeServices"}
        | {"ecs:DescribeTaskDefinition"}
    ),
    "--role-arn": frozenset({"sts:AssumeRole"}),
    "--organization": frozenset({"organizations:ListAccounts", "sts:AssumeRole"}),
    "--ou": frozenset(
        {"organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"}
    ),
    "--all-regions": frozenset({"ec2:DescribeRegions"}),
}

_TARGETS = ("--in-use ecs", "--in-use ecs-services", "--role-arn", "--organization", "--ou")
# command -> the needs it can have, with its options
COMMANDS: Mapping[str, tuple[str, ...]] = {
    "repos": ("repos",),
    "rescan": ("rescan", "rescan --via-queue", *_TARGETS, "--all-regions"),
    "report": ("report", "--publish", "--only-changed", *_TARGETS, "--all-regions"),
    "scan": ("scan", "--publish", "--only-changed"),
    "fixes": ("report", *_TARGETS, "--all-regions"),  # report's reads, nothing more
}

# Lambda function (template.yaml resource) -> (template condition or None: always,
# actions).  The statements the Lambda service uses on the function's behalf (logs,
# consuming the jobs queue, the failed-invocations queue) are not ecrscan's calls.
FUNCTIONS: Mapping[str, tuple[tuple[str | None, frozenset[str]], ...]] = {
    "RepositoriesFunction": (
        (None, frozenset({"ecr:DescribeRepositories", "sqs:SendMessage"})),
        (
            "EcsDiscovery",
            NEEDS["--in-use ecs"] | {"ecr:DescribeImages"},
        ),
        ("EcsDiscoveryWithRoles", frozenset({"sts:AssumeRole"})),
        ("HasOrganization", frozenset({"organizations:ListAccounts", "sts:AssumeRole"})),
        # OrganizationRegions=ALL_ENABLED: this account's enabled regions (the others'
        # are read through their role)
        ("OrganizationAllRegions", NEEDS["--all-regions"]),
    ),
    "ImagesFunction": (
        (None, NEEDS["rescan"]),
        ("EcsDiscoveryWithRoles", frozenset({"sts:AssumeRole"})),
        ("HasOrganization", frozenset({"sts:AssumeRole"})),
        # the scan-date cache in the state table (aws/scandates.py)
        ("NotifyOnChange", frozenset({"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"})),
    ),
    "ReporterFunction": (
        # ecr: name an untagged platform image by its index's tag (lambdas/reporter.py)
        (None, NEEDS["--publish"] | {"ecr:DescribeImages", "ecr:BatchGetImage"}),
        # a gate on what matters: the image's findings (lambdas/gates.py)
        ("ReporterGates", frozenset({"ecr:DescribeImageScanFindings"})),
        (
            "NotifyOnChange",
            frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}),
        ),
    ),
}


def command_actions(command: str) -> frozenset[str]:
    """Every action ``command`` may need, with any of its options."""
    return frozenset().union(*(NEEDS[need] for need in COMMANDS[command]))


def function_actions(function: str, conditions: Mapping[str, bool]) -> frozenset[str]:
    """The actions ``function`` needs when the template's ``conditions`` hold as given."""
    return frozenset().union(
        *(actions for when, actions in FUNCTIONS[function] if when is None or conditions[when])
    )


def every_action() -> frozenset[str]:
    """Every action some command or function needs."""
    commands = (command_actions(c) for c in COMMANDS)
    functions = (a for f in FUNCTIONS.values() for _, a in f)
    return frozenset().union(*commands, *functions)


GENERATED_BEGIN = "<!-- generated from ecrscan/aws/permissions.py: do not edit -->"
GENERATED_END = "<!-- end of generated table -->"


def actions_table() -> str:
    """The Markdown table of docs/iam.md's "Every action" section: each command, option
    and Lambda function with the actions it needs (this module's data, in its order)."""
    rows = ["| command, option or function | IAM actions |", "| --- | --- |"]
    for need, actions in NEEDS.items():
        rows.append(f"| `{need}` | {_actions(actions)} |")
    for function, grants in FUNCTIONS.items():
        for when, actions in grants:
            condition = f" (when `{when}`)" if when else ""
            rows.append(f"| {function}{condition} | {_actions(actions)} |")
    return "\n".join([GENERATED_BEGIN, *rows, GENERATED_END])


def _actions(actions: frozenset[str]) -> str:
    return ", ".join(f"`{action}`" for action in sorted(actions))
