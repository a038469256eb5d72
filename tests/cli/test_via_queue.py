from __future__ import annotations

import json
import subprocess
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from ecrscan.core.jobs import job_body, parse_job
from tests.support.cli_sessions import no_aws
from tests.support.env import REGION, ecrscan_command
from tests.support.registry import FakeRegistry
from tests.support.sqs import FlakySqs, drain


@pytest.fixture
def setup(registry):
    for name in ("team/api", "team/web", "tools/ci"):
        registry.create_repo(name)
    digest = registry.push("team/api", "v1")  # never scanned: due for a local rescan
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="ecrscan-jobs")["QueueUrl"]
    return registry, sqs, url, digest


def run(args: list[str], env: dict[str, str] | None = None, obj: AppContext | None = None):
    return CliRunner().invoke(cli, args, env=env, obj=obj)


def test_via_queue_sends_one_job_per_repository_and_scans_nothing(setup):
    registry, sqs, url, digest = setup
    result = run(["rescan", "--via-queue", url, "--filter", "^team/"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"queued 2 of 2 repository jobs to {url}" in result.stderr
    jobs = sorted((parse_job(b) for b in drain(sqs, url)), key=lambda j: j.repository_name)
    assert [(j.repository_name, j.registry_id, j.expiry, j.region) for j in jobs] == [
        ("team/api", "123456789012", None, None),  # the queue's own region: not named
        ("team/web", "123456789012", None, None),
    ]
    image = registry.backend.repositories["team/api"]._get_image(None, digest)
    assert image.last_scan is None  # nothing scanned locally


@pytest.mark.parametrize(
    ("args", "env", "expiry"),
    [
        (["--expiry", "3d"], {}, "3d"),
        ([], {"ECR_IMAGES_DURATION_DELTA": "2w"}, "2w"),
        (["--expiry", "7d"], {}, "7d"),  # given explicitly, even if it is the default
    ],
)
def test_jobs_carry_the_expiry_only_when_set(setup, args, env, expiry):
    _, sqs, url, _ = setup
    result = run(["rescan", "--via-queue", url, "--exclude", "^tools/", *args], env=env)
    assert result.exit_code == 0, result.output
    assert {parse_job(b).expiry for b in drain(sqs, url)} == {expiry}


def test_json_document_and_env_var(setup, tmp_path):
    _, sqs, url, _ = setup
    output = tmp_path / "queued.json"
    result = run(["rescan", "--format", "json", "-o", str(output)], env={"ECRSCAN_VIA_QUEUE": url})
    assert result.exit_code == 0, result.output
    doc = json.loads(output.read_text())
    assert doc == {
        "schema_version": 1,
        "command": "rescan",
        "via_queue": url,
        "region": REGION,
        "expiry": None,
        "repositories": 3,
        "queued": 3,
        "retried": 0,
        "failed": [],
        "failed_targets": [],
        "exit_code": 0,
    }
    assert len(drain(sqs, url)) == 3


def test_missing_queue_exits_3_naming_the_error(setup):
    _, _, url, _ = setup
    missing = url.replace("ecrscan-jobs", "nope")
    result = run(["rescan", "--via-queue", missing, "--format", "json"])
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["queued"] == 0 and len(doc["failed"]) == 3 and doc["exit_code"] == 3
    assert doc["failed"][0]["code"] == "AWS.SimpleQueueService.NonExistentQueue"
    # one line says it: what was queued and what was not
    assert result.stderr.splitlines() == [
        f"ecrscan: error: queued 0 of 3 repository jobs to {missing}: 3 not queued (first: "
        "team/api: AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.)"
    ]


class FlakySession:
    """Real clients, except that SQS rejects one job as the sender's fault."""

    def __init__(self, stuck: str) -> None:
        self.session = boto3.session.Session(region_name=REGION)
        self.stuck = stuck

    def client(self, service: str, **kwargs: Any) -> Any:
        client = self.session.client(service, **kwargs)
        if service == "sqs":
            return FlakySqs(client, failures={self.stuck: 99}, sender_fault=True)
        return client


def test_entries_sqs_rejects_make_exit_3(setup):
    _, sqs, url, _ = setup
    stuck = job_body("team/web", "123456789012")
    obj = AppContext(session_factory=lambda **kwargs: FlakySession(stuck))
    result = run(["rescan", "--via-queue", url, "--format", "json"], obj=obj)
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["queued"] == 2
    assert doc["failed"] == [
        {"repository": "team/web", "code": "InternalError", "message": "injected failure"}
    ]
    assert result.stderr.splitlines() == [
        f"ecrscan: error: queued 2 of 3 repository jobs to {url}: 1 not queued (first: "
        "team/web: InternalError: injected failure)"
    ]
    assert sorted(parse_job(b).repository_name for b in drain(sqs, url)) == ["team/api", "tools/ci"]


def test_dry_run_cannot_be_combined(setup):
    _, sqs, url, _ = setup
    result = run(["rescan", "--via-queue", url, "--dry-run"])
    assert result.exit_code == 2
    assert "--dry-run and --via-queue cannot be combined" in result.stderr
    assert drain(sqs, url) == []


def test_bad_filter_is_a_usage_error_before_any_call(setup):
    _, sqs, url, _ = setup
    result = run(["rescan", "--via-queue", url, "--filter", "("])
    assert result.exit_code == 2
    assert drain(sqs, url) == []


@pytest.mark.slow
def test_installed_command_queues_jobs_on_the_moto_server(server_env, moto_server):
    registry = FakeRegistry(boto3.client("ecr", region_name=REGION, endpoint_url=moto_server))
    registry.create_repo("team/api")
    registry.create_repo("team/web")
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_server)
    url = sqs.create_queue(QueueName="ecrscan-jobs")["QueueUrl"]
    proc = subprocess.run(
        [ecrscan_command(), "rescan", "--via-queue", url, "--expiry", "1d", "--format", "json"],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["queued"] == 2
    assert "queued 2 of 2 repository jobs" in proc.stderr
    jobs = sorted(parse_job(b).repository_name for b in drain(sqs, url))
    assert jobs == ["team/api", "team/web"]


@pytest.mark.parametrize(
    "url",
    [
        "not-a-url",
        "ecrscan-jobs",
        "http://sqs.us-east-1.amazonaws.com/123456789012/ecrscan-jobs",  # not https
        "https://sqs.us-east-1.amazonaws.com/12345/ecrscan-jobs",  # no 12-digit account
        "https://sqs.us-east-1.amazonaws.com/123456789012/",  # no queue name
        "https://sqs.us-east-1.amazonaws.com/123456789012/a b",
        "https://sqs.us-east-1.amazonaws.com.evil.example/123456789012/ecrscan-jobs",
        "https://example.com/123456789012/ecrscan-jobs",  # neither AWS nor --endpoint-url
        "https://sqs.us-east-1.amazonaws.com/123456789012/ecrscan-jobs?x=1",
        "",
    ],
)
def test_a_malformed_queue_url_is_a_usage_error_before_any_call(url):
    obj = AppContext(session_factory=no_aws)
    result = run(["rescan", "--via-queue", url], obj=obj)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert "--via-queue" in lines[-1] and "queue URL" in lines[-1]
    assert "Traceback" not in result.stderr


def test_a_malformed_queue_url_from_the_environment_names_the_variable():
    obj = AppContext(session_factory=no_aws)
    result = run(["rescan"], env={"ECRSCAN_VIA_QUEUE": "ecrscan-jobs"}, obj=obj)
    assert result.exit_code == 2, result.output
    assert "ECRSCAN_VIA_QUEUE" in result.stderr


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/ecrscan-JobsQueue-abc", None),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs.fifo", None),
        ("http://127.0.0.1:4566/000000000000/jobs", "http://127.0.0.1:4566"),
        ("http://localhost:5000/123456789012/ecrscan-jobs", "http://localhost:5000/"),
    ],
)
def test_queue_urls_of_aws_or_of_the_endpoint_pass_the_check(url, endpoint):
    from ecrscan.core.targets import check_queue_url

    assert check_queue_url(url, endpoint) == ""


def test_a_queue_url_on_another_host_than_the_endpoint_is_refused():
    from ecrscan.core.targets import check_queue_url

    problem = check_queue_url("http://127.0.0.1:9999/000000000000/jobs", "http://127.0.0.1:4566")
    assert "--endpoint-url" in problem


def test_an_empty_scope_exits_3_like_every_other_command(setup):
    _, sqs, url, _ = setup
    result = run(["rescan", "--via-queue", url, "--filter", "^nothing/", "--format", "json"])
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["exit_code"] == 3
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ecrscan: error: nothing to queue") and "--allow-empty" in last
    assert drain(sqs, url) == []


def test_allow_empty_accepts_an_empty_scope(setup):
    _, _, url, _ = setup
    args = ["rescan", "--via-queue", url, "--filter", "^nothing/", "--allow-empty"]
    result = run([*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["exit_code"] == 0
    assert "queued 0 of 0 repository jobs" in result.stderr
