"""template.yaml: cfn-lint clean, handlers importable, environment and IAM in step with
what the handlers really read and call. How the functions' package is built (the
Makefile): tests/lambdas/test_package.py."""

from __future__ import annotations

import importlib
import inspect
import itertools
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore import xform_name
from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml

from ecrscan.aws import permissions
from ecrscan.aws.dynamodb import KEY, TTL_ATTRIBUTE
from ecrscan.core.jobs import parse_job, repository_jobs
from ecrscan.core.judge import parse_min_epss
from ecrscan.core.model import Repository
from ecrscan.lambdas import gates, images, reporter, repositories, runtime
from tests.support.env import REGION
from tests.support.events import ECR_SAMPLE, load_event, variant
from tests.support.fakes import assumed_session
from tests.support.lambda_events import FakeContext, sqs_event
from tests.support.oci_world import OciWorld, ecr_realism
from tests.support.registry import FakeRegistry
from tests.support.sqs import drain
from tests.support.state_table import create_state_table
from tests.support.template import FUNCTIONS, TEMPLATE, function_property

# What the reporter does with its state table (NotifyOn=change), and nothing more.
CACHE_ACTIONS = {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"}
STATE_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}
# Statements the Lambda service uses on the function's behalf (not calls of our code).
SERVICE_SIDS = {"Logs", "ConsumeJobs", "FailedInvocations"}
# Calls AWS allows whatever the policy says (no statement needed or wanted).
NO_PERMISSION_NEEDED = permissions.NO_PERMISSION_NEEDED
# Accounts and roles of the ECS discovery exercise (moto's default account is the base).
OTHER_ACCOUNT = "111111111111"
ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/ecrscan-audit"
UNUSED_ROLE = "arn:aws:iam::222222222222:role/ecrscan-audit"
# Parameter values the environment and IAM checks run with (besides the defaults).
CONFIGURATIONS = {
    "defaults": {},
    "ecs-discovery": {"EcsDiscoveryEnabled": "true"},
    "ecs-discovery-with-roles": {
        "EcsDiscoveryEnabled": "true",
        "EcsDiscoveryRoles": f"{ROLE},{UNUSED_ROLE}",
    },
    "roles-without-discovery": {"EcsDiscoveryRoles": ROLE},
    "notify-always": {"NotifyOn": "always"},
    "organization": {"OrganizationRoleName": "ecrscan-audit"},
    "organization-regions": {
        "OrganizationRoleName": "ecrscan-audit",
        "OrganizationRegions": f"{REGION},eu-west-1",
    },
    "all-enabled-regions": {"OrganizationRegions": "ALL_ENABLED"},
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def parameters(template: dict[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    return {k: overrides.get(k, v.get("Default")) for k, v in template["Parameters"].items()}


def condition(template: dict[str, Any], name: str, params: Mapping[str, str]) -> bool:
    """A condition of the template, evaluated for these parameter values."""

    def value(item: Any) -> Any:
        return params[item["Ref"]] if isinstance(item, dict) else item

    def evaluate(expr: dict[str, Any]) -> bool:
        ((function, args),) = expr.items()
        if function == "Fn::Equals":
            return value(args[0]) == value(args[1])
        if function == "Fn::Not":
            return not evaluate(args[0])
        if function == "Fn::And":
            return all(evaluate(a) for a in args)
        if function == "Fn::Or":
            return any(evaluate(a) for a in args)
        if function == "Condition":
            return condition(template, args, params)
        raise AssertionError(f"condition function {function} not evaluated by this test")

    return evaluate(template["Conditions"][name])


def if_resolved(item: Any, template: dict[str, Any], params: Mapping[str, str]) -> Any:
    """``item`` with a top-level Fn::If decided (``None`` for AWS::NoValue)."""
    if isinstance(item, dict) and "Fn::If" in item:
        name, then, otherwise = item["Fn::If"]
        item = then if condition(template, name, params) else otherwise
    return None if item == {"Ref": "AWS::NoValue"} else item


def statements(
    template: dict[str, Any], function: str, overrides: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The policy statements of the function's role for these parameter values."""
    role = function_property(template, function, "Role")
    assert role == {"Fn::GetAtt": [role["Fn::GetAtt"][0], "Arn"]}, "each function has its own role"
    policies = template["Resources"][role["Fn::GetAtt"][0]]["Properties"]["Policies"]
    params = parameters(template, overrides or {})
    found = [s for p in policies for s in p["PolicyDocument"]["Statement"]]
    kept = [s for s in (if_resolved(s, template, params) for s in found) if s is not None]
    return [{**s, "Resource": if_resolved(s["Resource"], template, params)} for s in kept]


def actions(statement: Mapping[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


# -- lint and shape --------------------------------------------------------------------


@pytest.mark.slow
def test_cfn_lint_is_clean():
    matches = lint_file(TEMPLATE)
    assert matches == [], "\n".join(str(m) for m in matches)


@pytest.mark.slow
def test_cfn_lint_would_catch_a_broken_template(tmp_path):
    broken = tmp_path / "template.yaml"
    broken.write_text(
        TEMPLATE.read_text().replace("!GetAtt ImagesLogGroup.Arn", "!GetAtt ImagesLogGroup.Nope")
    )
    assert lint_file(broken)


@pytest.mark.parametrize(("function", "handler"), FUNCTIONS.items())
def test_every_handler_resolves_to_an_importable_function(template, function, handler):
    path = function_property(template, function, "Handler")
    assert path == f"ecrscan.lambdas.{handler}"
    module_name, _, attribute = path.rpartition(".")
    target = getattr(importlib.import_module(module_name), attribute)
    assert callable(target)
    assert list(inspect.signature(target).parameters) == ["event", "context"]
    assert function_property(template, function, "Runtime") == "python3.12"


def test_every_function_in_the_template_is_known(template):
    assert set(resources(template, "AWS::Serverless::Function")) == set(FUNCTIONS)


def test_parameters_and_their_defaults(template):
    params = template["Parameters"]
    assert {k: v.get("Default") for k, v in params.items()} == {
        "ScanRate": "rate(1 day)",
        "ScanExpiryDuration": "7d",
        "RepositoriesFilterRegexp": "",
        "CriticalThreshold": "0",
        "HighThreshold": "0",
        "MediumThreshold": "0",
        "LowThreshold": "0",
        "NotificationEmail": "",
        "NotifyOnScanFailure": "false",
        "NotifyOn": "change",
        "NotifyReminderPeriod": "30d",
        "EcsDiscoveryEnabled": "false",
        "EcsDiscoveryRoles": "",
        "OrganizationRoleName": "",
        "OrganizationRegions": "",
        "FailOnKev": "false",
        "MinEpss": "",
        "Exploitable": "false",
        "KevFile": "",
        "EpssFile": "",
        "CataloguesLayerArn": "",
    }
    assert all(p.get("Description") for p in params.values())


def test_email_subscription_only_when_an_address_is_given(template):
    ((_name, subscription),) = resources(template, "AWS::SNS::Subscription").items()
    condition = subscription["Condition"]
    assert template["Conditions"][condition] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotificationEmail"}, ""]}]
    }
    assert subscription["Properties"]["Endpoint"] == {"Ref": "NotificationEmail"}
    assert subscription["Properties"]["TopicArn"] == {"Ref": "ReportTopic"}


def test_jobs_queue_redrive_and_visibility(template):
    queue = template["Resources"]["JobsQueue"]["Properties"]
    redrive = queue["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == 3
    dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert template["Resources"][dlq]["Type"] == "AWS::SQS::Queue"
    timeout = function_property(template, "ImagesFunction", "Timeout")
    assert queue["VisibilityTimeout"] >= 6 * timeout


def test_images_function_reports_batch_item_failures(template):
    (event,) = template["Resources"]["ImagesFunction"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] <= 10


def test_schedule_and_scan_event_rules(template):
    (schedule,) = template["Resources"]["RepositoriesFunction"]["Properties"]["Events"].values()
    assert schedule["Type"] == "Schedule"
    assert schedule["Properties"]["Schedule"] == {"Ref": "ScanRate"}
    patterns = [
        (e["Properties"]["Pattern"]["source"], e["Properties"]["Pattern"]["detail-type"])
        for e in template["Resources"]["ReporterFunction"]["Properties"]["Events"].values()
        if e["Type"] == "EventBridgeRule"
    ]
    assert sorted(patterns) == [
        (["aws.ecr"], ["ECR Image Scan"]),
        (["aws.inspector2"], ["Inspector2 Scan"]),
    ]


# -- environment and IAM against what the handlers do ----------------------------------


class RecordingEnv(Mapping[str, str]):
    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("handlers must read named variables, not iterate the environment")

    def __len__(self) -> int:
        return len(self.values)


def resolve(
    value: Any, template: dict[str, Any], stack: Mapping[str, str], params: Mapping[str, str]
) -> str:
    """A template value with its parameter values and stack resources filled in."""
    value = if_resolved(value, template, params)
    if isinstance(value, str):
        return value
    ref = value["Ref"]
    if ref in template["Parameters"]:
        return params[ref]
    return stack[ref]


def template_env(
    template, function: str, stack: Mapping[str, str], overrides: Mapping[str, str]
) -> dict[str, str]:
    params = parameters(template, overrides)
    variables = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    variables.update(
        template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    )
    return {k: resolve(v, template, stack, params) for k, v in variables.items()}


class CallRecorder:
    """A boto3 session that records every API operation its clients call."""

    def __init__(self) -> None:
        self.session = boto3.session.Session()
        self.calls: set[str] = set()
        self.session.events.register("before-call", self._record)

    def _record(self, model: Any, **kwargs: Any) -> None:
        service = model.service_model
        action = f"{service.signing_name}:{model.name}"
        key = (service.service_name, xform_name(model.name))
        self.calls.add(permissions.OPERATIONS.get(key, action))

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session.client(service, **kwargs)

    @property
    def region_name(self) -> str | None:
        return self.session.region_name


def role_session(role_arn: str) -> boto3.Session:
    return assumed_session(role_arn, REGION)


def task_definition(session: Any, family: str, image: str) -> None:
    session.client("ecs", region_name=REGION).register_task_definition(
        family=family, containerDefinitions=[{"name": "c", "image": image, "memory": 128}]
    )


def organization(long_ago: datetime) -> str:
    """An organization of the caller and one member account with one due image; the
    role the functions reach the member through."""
    client = boto3.client("organizations", region_name=REGION)
    client.create_organization(FeatureSet="ALL")
    status = client.create_account(Email="member@example.com", AccountName="member")
    member = status["CreateAccountStatus"]["AccountId"]
    arn = f"arn:aws:iam::{member}:role/ecrscan-audit"
    registry = FakeRegistry(role_session(arn).client("ecr"), REGION, member)
    registry.create_repo("member-app")
    registry.set_scan("member-app", registry.push("member-app", "v1"), completed_at=long_ago)
    return arn


Exercise = tuple[dict[str, str], dict[str, tuple[RecordingEnv, set[str]]]]
_exercises: dict[str, Exercise] = {}  # the handlers run once per configuration


@pytest.fixture(params=list(CONFIGURATIONS))
def exercised(request, template, monkeypatch) -> Exercise:
    """Run each handler, configured exactly as the template configures it for one set of
    parameter values, through its main paths (the images function consumes the jobs the
    repositories function queued); return the values, the variables read and the calls
    made."""
    if request.param not in _exercises:
        registry = request.getfixturevalue("registry")
        with ecr_realism() as refused:  # ECR's refusals modelled: none may happen
            _exercises[request.param] = exercise(request.param, template, registry, monkeypatch)
        assert refused == [], "a handler started a scan ECR refuses"
    return _exercises[request.param]


def exercise(name: str, template, registry, monkeypatch) -> Exercise:
    overrides = CONFIGURATIONS[name]
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name="report")["TopicArn"]
    stack = {"JobsQueue": queue_url, "ReportTopic": topic_arn}
    if condition(template, "NotifyOnChange", parameters(template, overrides)):
        stack["NotifyStateTable"] = create_state_table()
    long_ago = datetime.now(UTC) - timedelta(days=30)
    registry.create_repo("app")
    due = registry.push("app", "v1")
    registry.set_scan("app", due, completed_at=long_ago)
    # a fresh image: the images function remembers its scan date (the scan-date cache)
    fresh = registry.push("app", "v0")
    registry.set_pushed_at("app", fresh, datetime.now(UTC) - timedelta(days=2))
    registry.set_scan("app", fresh, completed_at=datetime.now(UTC) - timedelta(days=1))
    # a buildx tag: the images function reads the index (BatchGetImage) and scans its
    # platform images, never the index or its attestations; the reporter names its
    # untagged platform image app:multi (linux/arm64)
    multi = OciWorld(registry.client).buildx("app", "multi")
    platform_event = variant(
        ECR_SAMPLE, repository_name="app", image_digest=multi.platforms["linux/arm64"]
    )
    host = f"dkr.ecr.{REGION}.amazonaws.com"
    task_definition(boto3.Session(region_name=REGION), "app", f"{registry.account}.{host}/app:v1")
    task_definition(boto3.Session(region_name=REGION), "fresh", f"{registry.account}.{host}/app:v0")
    task_definition(boto3.Session(region_name=REGION), "shared", f"{OTHER_ACCOUNT}.{host}/shared:1")
    other = role_session(ROLE)
    shared = FakeRegistry(other.client("ecr"), REGION, OTHER_ACCOUNT)
    shared.create_repo("shared")
    shared.set_scan("shared", shared.push("shared", "1"), completed_at=long_ago)
    member_role = organization(long_ago) if name.startswith("organization") else None
    jobs: list[str] = []

    def enhanced_job() -> Any:
        """A repository job on a registry with enhanced scanning: Inspector's bulk reads."""
        registry.set_scan_type("ENHANCED")
        try:
            job = repository_jobs([Repository("app", registry.account)])
            return images.handler(sqs_event(*job), FakeContext())
        finally:
            registry.set_scan_type("BASIC")

    runs = {
        "RepositoriesFunction": [lambda: repositories.handler({}, FakeContext())],
        "ImagesFunction": [
            lambda: jobs.extend(drain(sqs, queue_url)),
            lambda: images.handler(sqs_event(*jobs), FakeContext()),
            enhanced_job,
        ],
        "ReporterFunction": [
            lambda: reporter.handler(load_event(ECR_SAMPLE), FakeContext()),
            lambda: reporter.handler(variant(ECR_SAMPLE, scan_status="FAILED"), FakeContext()),
            # back within thresholds: NotifyOn=change resolves (deletes) the record
            lambda: reporter.handler(
                variant(ECR_SAMPLE, finding_severity_counts=None), FakeContext()
            ),
            lambda: reporter.handler(platform_event, FakeContext()),
        ],
    }
    seen = {}
    for function, calls in runs.items():
        env = RecordingEnv(template_env(template, function, stack, overrides))
        recorder = CallRecorder()
        monkeypatch.setattr(runtime, "environ", lambda env=env: env)
        monkeypatch.setattr(runtime, "connections", runtime.new_connections(lambda r=recorder: r))
        for call in calls:
            result = call()
            if function == "ImagesFunction" and result is not None:
                assert result == {"batchItemFailures": []}
        seen[function] = (env, recorder.calls)
    roles = [parse_job(job).role_arn for job in jobs]
    expected = {
        "defaults": [None],
        "ecs-discovery": [None],
        "roles-without-discovery": [None],
        "ecs-discovery-with-roles": [None, ROLE],
        "notify-always": [None],
        "organization": [None, member_role],
        "organization-regions": [None, member_role],
        "all-enabled-regions": [None],
    }[name]
    assert sorted(roles, key=str) == expected, "the exercise did not queue the expected jobs"
    return overrides, seen


@pytest.mark.slow
@pytest.mark.parametrize("function", FUNCTIONS)
def test_environment_set_by_the_template_is_what_the_handler_reads(template, exercised, function):
    _, seen = exercised
    env, _ = seen[function]
    assert env.read == set(env.values), (
        f"read but not set: {sorted(env.read - set(env.values))}; "
        f"set but never read: {sorted(set(env.values) - env.read)}"
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_iam_allows_exactly_the_calls_each_handler_makes(template, exercised, function):
    overrides, seen = exercised
    _, calls = seen[function]
    granted = set()
    for statement in statements(template, function, overrides):
        assert statement["Effect"] == "Allow"
        if statement["Sid"] not in SERVICE_SIDS:
            granted |= actions(statement)
    assert calls, "the handler made no AWS call: the exercise is broken"
    assert granted == calls - NO_PERMISSION_NEEDED


# the reporter's gates on what matters: checked on the template and the data only (the
# handler under them: tests/lambdas/test_reporter_gates.py)
GATE_CONFIGURATIONS = {
    "fail-on-kev": {"FailOnKev": "true", "KevFile": "/opt/kev.json"},
    "min-epss": {"MinEpss": "0.1", "EpssFile": "/opt/epss.csv.gz"},
    "exploitable": {"Exploitable": "true"},
}


@pytest.mark.parametrize("configuration", [*CONFIGURATIONS, *GATE_CONFIGURATIONS])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_iam_grants_what_the_permissions_data_says(template, function, configuration):
    """template.yaml against ecrscan.aws.permissions.FUNCTIONS: each function's role
    grants exactly the data's actions, for each set of parameter values."""
    overrides = {**CONFIGURATIONS, **GATE_CONFIGURATIONS}[configuration]
    params = parameters(template, overrides)
    conditions = {name: condition(template, name, params) for name in template["Conditions"]}
    granted = {
        action
        for statement in statements(template, function, overrides)
        if statement["Sid"] not in SERVICE_SIDS
        for action in actions(statement)
    }
    assert granted == permissions.function_actions(function, conditions)


@pytest.mark.parametrize("overrides", [{}, *GATE_CONFIGURATIONS.values()])
def test_the_reporter_reads_findings_only_with_a_gate(template, overrides):
    granted = set().union(
        *(actions(s) for s in statements(template, "ReporterFunction", overrides))
    )
    assert ("ecr:DescribeImageScanFindings" in granted) is bool(overrides)
    variables = function_property(template, "ReporterFunction", "Environment")["Variables"]
    assert {name: variables[name] for name in (*gates.GATE_VARIABLES, *gates.FILE_VARIABLES)} == {
        "ECRSCAN_FAIL_ON_KEV": {"Ref": "FailOnKev"},
        "ECRSCAN_MIN_EPSS": {"Ref": "MinEpss"},
        "ECRSCAN_EXPLOITABLE": {"Ref": "Exploitable"},
        "ECRSCAN_KEV_FILE": {"Ref": "KevFile"},
        "ECRSCAN_EPSS_FILE": {"Ref": "EpssFile"},
    }


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        ("0", True),
        ("0.1", True),
        ("1", True),
        ("1.0", True),
        ("1.5", False),
        ("-0.1", False),
        (".5", False),
        ("nan", False),
    ],
)
def test_min_epss_pattern_takes_what_the_reporter_takes(template, value, ok):
    pattern = template["Parameters"]["MinEpss"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is ok
    if ok and value:
        assert parse_min_epss(value) == float(value)


def test_discovery_permissions_only_when_enabled(template):
    def granted(function: str, overrides: Mapping[str, str]) -> set[str]:
        return {a for s in statements(template, function, overrides) for a in actions(s)}

    discovery = {"ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition", "ecr:DescribeImages"}
    assert not granted("RepositoriesFunction", {}) & (discovery | {"sts:AssumeRole"})
    assert discovery <= granted("RepositoriesFunction", {"EcsDiscoveryEnabled": "true"})
    for function in ("RepositoriesFunction", "ImagesFunction"):
        assert "sts:AssumeRole" not in granted(function, {"EcsDiscoveryEnabled": "true"})
        assert "sts:AssumeRole" not in granted(function, {"EcsDiscoveryRoles": ROLE})
        with_roles = {"EcsDiscoveryEnabled": "true", "EcsDiscoveryRoles": f"{ROLE},{UNUSED_ROLE}"}
        (assume,) = [
            s for s in statements(template, function, with_roles) if "sts:AssumeRole" in actions(s)
        ]
        assert actions(assume) == {"sts:AssumeRole"}
        assert assume["Resource"] == {"Fn::Split": [",", {"Ref": "EcsDiscoveryRoles"}]}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        (ROLE, True),
        (f"{ROLE},{UNUSED_ROLE}", True),
        ("arn:aws-us-gov:iam::111111111111:role/path/audit", True),
        (f"{ROLE}, {UNUSED_ROLE}", False),  # Fn::Split would keep the space
        ("arn:aws:iam::1111:role/x", False),
        (f"{ROLE},", False),
        ("arn:aws:iam::111111111111:user/bob", False),
    ],
)
def test_discovery_roles_pattern(template, value, ok):
    import re

    pattern = template["Parameters"]["EcsDiscoveryRoles"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is ok


DURATIONS = ["7d", "36h", "1mo2w", "1m2w", "90min", "1mo1w1d1h1min", "2w", "30", "7x", "1y"]


@pytest.mark.parametrize("parameter", ["ScanExpiryDuration", "NotifyReminderPeriod"])
@pytest.mark.parametrize("value", [*DURATIONS, "-1d", "7 d"])
def test_duration_parameters_take_what_the_functions_take(template, parameter, value):
    import re

    from ecrscan.core.durations import DurationError, parse_duration

    pattern = template["Parameters"][parameter]["AllowedPattern"]
    try:
        parse_duration(value)
        parsed = True
    except DurationError:
        parsed = False
    assert bool(re.fullmatch(pattern, value)) is parsed, value


def test_iam_resources_are_scoped(template):
    repository_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*"
    }
    any_region_repository_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*"
    }
    every = {"EcsDiscoveryEnabled": "true", "EcsDiscoveryRoles": ROLE}
    organization = {"OrganizationRoleName": "ecrscan-audit"}
    regions = {**organization, "OrganizationRegions": "ALL_ENABLED"}
    for function, overrides in itertools.product(FUNCTIONS, (every, organization, regions)):
        for statement in statements(template, function, overrides):
            resource = statement["Resource"]
            acts = actions(statement)
            if resource == "*":
                assert acts in (
                    {"ecr:GetRegistryScanningConfiguration"},
                    {"ecs:ListTaskDefinitions", "ecs:DescribeTaskDefinition"},
                    # list actions with no resource-level permissions (bulk reads)
                    {"inspector2:ListCoverage", "inspector2:ListFindingAggregations"},
                    {"organizations:ListAccounts"},
                    {"ec2:DescribeRegions"},
                ), statement
            elif acts == {"sts:AssumeRole"}:
                assert resource in (
                    {"Fn::Split": [",", {"Ref": "EcsDiscoveryRoles"}]},
                    # the organization's role, by name, in any account
                    {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${OrganizationRoleName}"},
                ), statement
            elif any(a.startswith("dynamodb:") for a in acts):
                assert function in ("ReporterFunction", "ImagesFunction"), statement
                assert acts == (STATE_ACTIONS if function == "ReporterFunction" else CACHE_ACTIONS)
                assert resource == {"Fn::GetAtt": ["NotifyStateTable", "Arn"]}, statement
            elif all(a.startswith("ecr:") for a in acts):
                # images: jobs may name any region; repositories: OrganizationRegions
                widened = function == "RepositoriesFunction" and overrides is regions
                if function == "ImagesFunction" or widened:
                    assert resource == any_region_repository_arn, statement
                else:
                    assert resource == repository_arn, statement
            else:  # SQS, SNS, logs: a resource of this stack
                assert set(resource) <= {"Fn::GetAtt", "Ref"}, statement
                target = (resource.get("Fn::GetAtt") or [resource.get("Ref")])[0]
                assert target in template["Resources"], statement


def test_service_statements_match_the_function_wiring(template):
    for function in FUNCTIONS:
        props = template["Resources"][function]["Properties"]
        by_sid = {s["Sid"]: s for s in statements(template, function)}
        log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert by_sid["Logs"]["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}
        assert actions(by_sid["Logs"]) == {"logs:CreateLogStream", "logs:PutLogEvents"}
        if "DeadLetterQueue" in props:
            assert by_sid["FailedInvocations"]["Resource"] == props["DeadLetterQueue"]["TargetArn"]
        else:
            assert "FailedInvocations" not in by_sid
    consume = {s["Sid"]: s for s in statements(template, "ImagesFunction")}["ConsumeJobs"]
    assert actions(consume) == {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    assert consume["Resource"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}


# -- notify on change: the state table ---------------------------------------------------


def test_the_state_table_is_what_the_reporter_expects(template):
    table = template["Resources"]["NotifyStateTable"]
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": KEY, "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": KEY, "AttributeType": "S"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    # only the reporter's NotifyOn=change uses it: no table, no permission otherwise
    assert table["Condition"] == "NotifyOnChange"
    assert template["Conditions"]["NotifyOnChange"] == {
        "Fn::Equals": [{"Ref": "NotifyOn"}, "change"]
    }
    assert template["Outputs"]["NotifyStateTableName"]["Condition"] == "NotifyOnChange"


@pytest.mark.parametrize(("mode", "granted"), [("change", STATE_ACTIONS), ("always", set())])
def test_state_permissions_only_when_notifying_on_change(template, mode, granted):
    found = {
        a
        for s in statements(template, "ReporterFunction", {"NotifyOn": mode})
        for a in actions(s)
        if a.startswith("dynamodb:")
    }
    assert found == granted
    every = statements(template, "RepositoriesFunction", {"NotifyOn": "change"})
    assert not any(a.startswith("dynamodb:") for s in every for a in actions(s))
    cache = {
        a
        for s in statements(template, "ImagesFunction", {"NotifyOn": mode})
        for a in actions(s)
        if a.startswith("dynamodb:")
    }
    assert cache == (CACHE_ACTIONS if mode == "change" else set())  # the scan-date cache


def test_notify_on_takes_what_the_reporter_takes(template):
    assert template["Parameters"]["NotifyOn"]["AllowedValues"] == [reporter.CHANGE, reporter.ALWAYS]
    assert template["Parameters"]["NotifyOn"]["Default"] == reporter.CHANGE
    assert template["Parameters"]["NotifyReminderPeriod"]["Default"] == reporter.DEFAULT_STATE_TTL
    env = template["Resources"]["ReporterFunction"]["Properties"]["Environment"]["Variables"]
    assert env["NOTIFY_STATE_TABLE"] == {
        "Fn::If": ["NotifyOnChange", {"Ref": "NotifyStateTable"}, ""]
    }


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        ("ecrscan-audit", True),
        ("audit/ecrscan-audit", True),
        ("bad name", False),
        ("a" * 65, False),
    ],
)
def test_the_organization_role_parameter_takes_what_the_functions_take(template, value, ok):
    import re

    from ecrscan.core.organization import check_role_name

    pattern = template["Parameters"]["OrganizationRoleName"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is ok
    if value:
        try:
            check_role_name(value)
            accepted = True
        except ValueError:
            accepted = False
        assert accepted is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        ("ALL_ENABLED", True),
        ("eu-west-1", True),
        ("eu-west-1,us-east-1,ap-southeast-2", True),
        ("us-gov-west-1", True),
        ("eu-west-1, us-east-1", False),  # a space: the pattern refuses what a split keeps
        ("eu-west-1,", False),
        ("ALL_ENABLED,eu-west-1", False),
        ("all_enabled", False),
        ("eu-west", False),
        ("EU-WEST-1", False),
    ],
)
def test_the_organization_regions_parameter_takes_what_the_function_takes(template, value, ok):
    """Every value the template accepts, the repositories function accepts as the same
    regions (the function is laxer: blanks, upper case; never stricter)."""
    import re

    pattern = template["Parameters"]["OrganizationRegions"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is ok
    if ok:
        regions = runtime.organization_regions({"ORGANIZATION_REGIONS": value})
        assert regions.all_enabled is (value == "ALL_ENABLED")
        assert ",".join(regions.names) == ("" if regions.all_enabled else value)


def test_regions_widen_the_listing_and_all_enabled_alone_adds_describe_regions(template):
    def by_sid(overrides: Mapping[str, str]) -> dict[str, dict[str, Any]]:
        return {s["Sid"]: s for s in statements(template, "RepositoriesFunction", overrides)}

    region_arn = "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*"
    any_region_arn = "arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*"
    default, listed = by_sid({}), by_sid({"OrganizationRegions": "eu-west-1,us-east-1"})
    enabled = by_sid({"OrganizationRegions": "ALL_ENABLED"})
    assert default["ListRepositories"]["Resource"] == {"Fn::Sub": region_arn}
    for found in (listed, enabled):
        assert found["ListRepositories"]["Resource"] == {"Fn::Sub": any_region_arn}
    assert "ListEnabledRegions" not in default and "ListEnabledRegions" not in listed
    assert actions(enabled["ListEnabledRegions"]) == {"ec2:DescribeRegions"}
    env = template["Resources"]["RepositoriesFunction"]["Properties"]["Environment"]
    assert env["Variables"]["ORGANIZATION_REGIONS"] == {"Ref": "OrganizationRegions"}
