from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ecrscan.core.events import EventError
from ecrscan.core.jobs import job_body, parse_job
from ecrscan.lambdas import images, reporter, repositories, runtime
from tests.support.env import REGION
from tests.support.events import ECR_SAMPLE, INSPECTOR_SAMPLE, load_event, variant
from tests.support.fakes import FakeTime
from tests.support.faults import AFTER, FaultyServer
from tests.support.lambda_events import CountingSession, FakeContext, failures, log_lines, sqs_event
from tests.support.sqs import FlakySqs, drain

LAMBDA_ENV = (
    "REPOSITORIES_FILTER_REGEXP",
    "IMAGES_SCAN_JOBS_QUEUE_URL",
    "ECR_IMAGES_DURATION_DELTA",
    "ECRSCAN_TIME_MARGIN_SECONDS",
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "ECR_SNS_REPORT_TOPIC_ARN",
    "NOTIFY_ON_SCAN_FAILURE",
    "NOTIFY_ON",
    "NOTIFY_STATE_TABLE",
    "NOTIFY_STATE_TTL",
)
MISSING_DIGEST = "sha256:" + "0" * 64


@pytest.fixture(autouse=True)
def lambda_env(monkeypatch):
    for name in LAMBDA_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def session(monkeypatch) -> CountingSession:
    """Fresh process-wide clients for each test (a new container, as it were)."""
    counting = CountingSession()
    monkeypatch.setattr(runtime, "connections", runtime.new_connections(lambda: counting))
    return counting


@pytest.fixture
def clock(monkeypatch):
    now = {"value": datetime.now(UTC)}
    reads: list[datetime] = []

    def read() -> datetime:
        reads.append(now["value"])
        return now["value"]

    monkeypatch.setattr(runtime, "clock", read)
    return now, reads


@pytest.fixture
def sqs(mocked):
    client = boto3.client("sqs", region_name=REGION)
    return client, client.create_queue(QueueName="ecrscan-jobs")["QueueUrl"]


def last_scan(registry, repo: str, digest: str) -> Any:
    return registry.backend.repositories[repo]._get_image(None, digest).last_scan


# -- repositories function -----------------------------------------------------------


def test_repositories_handler_queues_one_job_per_matching_repository(
    registry, sqs, session, monkeypatch, capsys
):
    client, url = sqs
    names = [f"team/svc-{i:02d}" for i in range(12)] + ["other/tool"]
    for name in names:
        registry.create_repo(name)
    monkeypatch.setenv("REPOSITORIES_FILTER_REGEXP", "^team/")
    monkeypatch.setenv("IMAGES_SCAN_JOBS_QUEUE_URL", url)

    result = repositories.handler({"source": "aws.events"}, FakeContext())

    assert result == {
        "repositories": 12,
        "queued": 12,
        "failed": 0,
        "retried": 0,
        "queueUrl": url,
        "filter": "^team/",
    }
    jobs = [parse_job(body) for body in drain(client, url)]
    assert sorted(j.repository_name for j in jobs) == names[:12]
    assert {j.registry_id for j in jobs} == {"123456789012"}
    assert all(j.expiry is None for j in jobs)
    assert log_lines(capsys)[-1]["message"] == "jobs queued"


def test_repositories_handler_event_overrides(registry, sqs, session, monkeypatch):
    client, url = sqs
    other = client.create_queue(QueueName="manual")["QueueUrl"]
    for name in ("app", "web", "db"):
        registry.create_repo(name)
    monkeypatch.setenv("REPOSITORIES_FILTER_REGEXP", "^app$")
    monkeypatch.setenv("IMAGES_SCAN_JOBS_QUEUE_URL", url)

    result = repositories.handler(
        {"repositoriesFilterRegexp": "^(web|db)$", "jobsQueueUrl": other, "expiry": "1d"},
        FakeContext(),
    )
    assert result["queued"] == 2 and result["queueUrl"] == other
    jobs = sorted((parse_job(b) for b in drain(client, other)), key=lambda j: j.repository_name)
    assert [(j.repository_name, j.expiry) for j in jobs] == [("db", "1d"), ("web", "1d")]
    assert drain(client, url) == []
    # an empty override means every repository
    repositories.handler({"repositoriesFilterRegexp": ""}, FakeContext())
    assert len(drain(client, url)) == 3


def test_repositories_handler_fails_loudly_when_jobs_stay_unsent(
    registry, sqs, session, monkeypatch, capsys
):
    client, url = sqs
    for name in ("aa", "bb", "cc"):
        registry.create_repo(name)
    monkeypatch.setenv("IMAGES_SCAN_JOBS_QUEUE_URL", url)
    stuck = job_body("bb", "123456789012")
    flaky = FlakySqs(client, failures={stuck: 99})
    monkeypatch.setattr(runtime.connections, "client", lambda service: flaky)
    monkeypatch.setattr(runtime, "sleep", lambda seconds: None)

    with pytest.raises(repositories.JobsNotQueued, match="1 of 3 jobs could not be queued"):
        repositories.handler({}, FakeContext())
    assert sorted(parse_job(b).repository_name for b in drain(client, url)) == ["aa", "cc"]
    error = log_lines(capsys)[-1]
    assert error["level"] == "ERROR" and error["errors"][0]["job"] == stuck


def test_repositories_handler_retries_transient_entry_failures(registry, sqs, session, monkeypatch):
    client, url = sqs
    registry.create_repo("aa")
    registry.create_repo("bb")
    monkeypatch.setenv("IMAGES_SCAN_JOBS_QUEUE_URL", url)
    flaky = FlakySqs(client, failures={job_body("aa", "123456789012"): 2})
    monkeypatch.setattr(runtime.connections, "client", lambda service: flaky)
    sleeps: list[float] = []
    monkeypatch.setattr(runtime, "sleep", sleeps.append)
    result = repositories.handler(None, FakeContext())
    assert (result["queued"], result["failed"], result["retried"]) == (2, 0, 2)
    assert sleeps == [0.5, 1.0]
    assert sorted(parse_job(b).repository_name for b in drain(client, url)) == ["aa", "bb"]


@pytest.mark.parametrize(
    ("env", "event", "message"),
    [
        ({}, {}, "no jobs queue"),
        (
            {"IMAGES_SCAN_JOBS_QUEUE_URL": "u", "REPOSITORIES_FILTER_REGEXP": "("},
            {},
            "REPOSITORIES_FILTER_REGEXP",
        ),
        (
            {"IMAGES_SCAN_JOBS_QUEUE_URL": "u", "REPOSITORIES_FILTER_REGEXP": "^(?!legacy)"},
            {},
            r"REPOSITORIES_FILTER_REGEXP.*'\^\(\?!legacy\)'.*lookaround",
        ),
        ({"IMAGES_SCAN_JOBS_QUEUE_URL": "u"}, {"expiry": "soon"}, "event key expiry"),
        ({"IMAGES_SCAN_JOBS_QUEUE_URL": "u"}, {"jobsQueueUrl": 5}, "jobsQueueUrl must be a string"),
        ({"IMAGES_SCAN_JOBS_QUEUE_URL": "u"}, ["not", "an", "object"], "must be a JSON object"),
        (
            {"IMAGES_SCAN_JOBS_QUEUE_URL": "u"},
            {"repositoriesFilterRegex": "^app$"},
            r"unknown event key 'repositoriesFilterRegex'.*repositoriesFilterRegexp",
        ),
    ],
)
def test_repositories_handler_configuration_errors(session, monkeypatch, env, event, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(runtime.ConfigurationError, match=message) as refused:
        repositories.handler(event, FakeContext())
    assert session.built == []  # refused before any AWS client was made
    assert "--" not in str(refused.value)  # the function's settings, not the CLI's options


# -- images function -------------------------------------------------------------------


@pytest.fixture
def repos(registry):
    """app: one never-scanned and one fresh image; web: one image scanned 10 days ago."""
    now = datetime.now(UTC)
    registry.create_repo("app")
    new = registry.push("app", "v1")
    fresh = registry.push("app", "v2")
    registry.set_scan("app", fresh, completed_at=now - timedelta(days=1))
    registry.create_repo("web")
    old = registry.push("web", "latest")
    registry.set_scan("web", old, completed_at=now - timedelta(days=10))
    return {"new": new, "fresh": fresh, "old": old}


def test_images_handler_reports_exactly_the_failed_messages(registry, repos, session, capsys):
    fresh_before = last_scan(registry, "app", repos["fresh"])
    event = sqs_event(
        job_body("app"),  # m0 ok
        "{not json",  # m1 malformed
        job_body("ghost"),  # m2 unknown repository
        job_body("web"),  # m3 ok
        job_body("app", images=[{"imageDigest": MISSING_DIGEST}]),  # m4 image gone: skipped
        '{"repositoryName": "app", "expiry": "7x"}',  # m5 bad expiry
    )
    started_at = datetime.today()  # moto's clock for StartImageScan (naive local)
    response = images.handler(event, FakeContext())

    assert failures(response) == ["m1", "m2", "m5"]
    assert last_scan(registry, "app", repos["new"]) is not None  # started
    assert last_scan(registry, "app", repos["fresh"]) == fresh_before  # left alone
    assert last_scan(registry, "web", repos["old"]) >= started_at  # rescanned
    logs = {line["messageId"]: line for line in log_lines(capsys) if "messageId" in line}
    assert logs["m0"]["message"] == "job done" and logs["m0"]["counts"]["started"] == 1
    assert logs["m1"]["message"] == "malformed job" and "not valid JSON" in logs["m1"]["error"]
    assert logs["m2"]["message"] == "job incomplete"
    assert "RepositoryNotFoundException" in logs["m2"]["errors"][0]
    assert logs["m4"]["message"] == "job done" and logs["m4"]["counts"]["skipped"] == 1
    assert logs["m4"]["notFound"] == [f"no image app@{MISSING_DIGEST}"]
    assert "bad expiry" in logs["m5"]["error"]


@pytest.mark.parametrize(
    ("poison", "error"),
    [
        ('{"repositoryName": "app", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper"),
        ('{"repositoryName": "app", "registryId": ' + "9" * 5_000 + "}", "digits"),
        (job_body("app", images=[{"imageDigest": "sha256:zz"}]), "imageDigest must be sha256"),
    ],
    ids=["deep", "digits", "bad-digest"],
)
def test_a_poison_message_fails_only_itself(registry, repos, session, capsys, poison, error):
    started_at = datetime.today()  # moto's clock for StartImageScan (naive local)
    event = sqs_event(job_body("app"), poison, job_body("web"))
    response = images.handler(event, FakeContext())

    assert failures(response) == ["m1"]
    assert last_scan(registry, "app", repos["new"]) is not None  # m0 ran
    assert last_scan(registry, "web", repos["old"]) >= started_at  # m2 ran
    logs = {line["messageId"]: line for line in log_lines(capsys) if "messageId" in line}
    assert logs["m0"]["message"] == "job done" and logs["m2"]["message"] == "job done"
    assert logs["m1"]["message"] == "malformed job" and error in logs["m1"]["error"]
    assert len(logs["m1"]["error"]) < 400  # an excerpt of the body, not all of it


def test_images_handler_a_lost_reply_is_scanned_meanwhile_and_the_job_done(
    registry, session, capsys
):
    registry.create_repo("app")
    digest = registry.push("app", "v1")
    server = FaultyServer(script=[AFTER])  # carried out, then a 500
    server.attach_events(session.session.events, "lambda")
    response = images.handler(sqs_event(job_body("app")), FakeContext())
    assert failures(response) == []  # neutral: the job is not redelivered
    [log] = [line for line in log_lines(capsys) if "messageId" in line]
    assert log["message"] == "job done"
    assert (log["counts"]["started"], log["counts"]["scanned_meanwhile"]) == (0, 1)
    assert server.started["lambda"] == {digest} and server.sent["lambda"] == 1


def test_images_handler_only_the_listed_images(registry, repos, session):
    response = images.handler(
        sqs_event(job_body("app", images=[{"imageTag": "v2"}], expiry="1h")), FakeContext()
    )
    assert failures(response) == []
    assert last_scan(registry, "app", repos["new"]) is None  # not in the job


@pytest.mark.slow
def test_images_handler_expiry_from_body_then_env(registry, session, monkeypatch):
    registry.create_repo("app")
    digest = registry.push("app", "v1")
    registry.set_scan("app", digest, completed_at=datetime.now(UTC) - timedelta(days=3))
    before = last_scan(registry, "app", digest)

    assert failures(images.handler(sqs_event(job_body("app")), FakeContext())) == []
    assert last_scan(registry, "app", digest) == before  # 3 days < default 7d

    monkeypatch.setenv("ECR_IMAGES_DURATION_DELTA", "2d")
    assert failures(images.handler(sqs_event(job_body("app")), FakeContext())) == []
    assert last_scan(registry, "app", digest) != before  # 3 days > 2d: rescanned


def test_images_handler_expiry_in_the_job_wins(registry, session, monkeypatch):
    registry.create_repo("app")
    digest = registry.push("app", "v1")
    registry.set_scan("app", digest, completed_at=datetime.now(UTC) - timedelta(days=3))
    before = last_scan(registry, "app", digest)
    monkeypatch.setenv("ECR_IMAGES_DURATION_DELTA", "1m")
    images.handler(sqs_event(job_body("app", expiry="1d")), FakeContext())
    assert last_scan(registry, "app", digest) != before


def test_images_handler_leaves_messages_it_has_no_time_for(registry, repos, session, capsys):
    event = sqs_event(job_body("app"), job_body("web"), job_body("app"))
    # 60 s left before the first job, 20 s after it: the first took 40 s, so the next
    # needs 10 s margin + 40 s and does not fit.
    context = FakeContext(60_000, 20_000)
    started_at = datetime.today()  # moto's clock for StartImageScan (naive local)
    response = images.handler(event, context)
    assert failures(response) == ["m1", "m2"]
    assert last_scan(registry, "app", repos["new"]) is not None
    assert last_scan(registry, "web", repos["old"]) < started_at  # not reached
    warning = [line for line in log_lines(capsys) if line["level"] == "WARNING"]
    assert warning[0]["messageIds"] == ["m1", "m2"] and warning[0]["remainingSeconds"] == 20.0


def test_images_handler_with_too_little_time_starts_nothing(registry, repos, session):
    event = sqs_event(job_body("app"), job_body("web"))
    response = images.handler(event, FakeContext(5_000))
    assert failures(response) == ["m0", "m1"]
    assert last_scan(registry, "app", repos["new"]) is None
    assert session.built == []  # did not even build a client


def test_images_handler_time_margin_is_configurable(registry, repos, session, monkeypatch):
    monkeypatch.setenv("ECRSCAN_TIME_MARGIN_SECONDS", "2")
    response = images.handler(sqs_event(job_body("app")), FakeContext(5_000))
    assert failures(response) == []
    assert last_scan(registry, "app", repos["new"]) is not None


class ClockedContext(FakeContext):
    """A context whose remaining time runs on the fake clock the handler is given."""

    def __init__(self, fake: FakeTime, seconds: float) -> None:
        super().__init__()
        self.fake = fake
        self.end = fake.now + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - self.fake.now) * 1000)


def test_a_throttled_job_stops_at_the_deadline_and_fails_its_message(
    registry, repos, session, monkeypatch, capsys
):
    """16 s left, 10 s margin: StartImageScan is throttled for ever (paced at about one
    call a second: its 10 attempts would take longer), yet the job gives up within 6 s of
    (fake) time instead of sleeping until the function is killed; its message and the
    one it left no time for are batch item failures."""
    fake = FakeTime()
    monkeypatch.setattr(runtime, "monotonic", fake.clock)
    monkeypatch.setattr(runtime, "sleep", fake.sleep)

    def throttled(params: Any, **_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StartImageScan"
        )

    session.session.events.register("before-call.ecr.StartImageScan", throttled)
    context = ClockedContext(fake, 16.0)
    started, wall = fake.now, time.monotonic()

    response = images.handler(sqs_event(job_body("web"), job_body("app")), context)

    assert failures(response) == ["m0", "m1"]
    assert fake.sleeps and fake.now - started <= 6.0  # never slept past the deadline
    assert time.monotonic() - wall < 10  # and never really slept
    logs = log_lines(capsys)
    (job,) = [line for line in logs if line.get("messageId") == "m0"]
    assert job["message"] == "job incomplete" and job["counts"]["not_started"] == 1
    assert "past the run's deadline" in job["errors"][0]
    (late,) = [line for line in logs if line["level"] == "WARNING"]
    assert late["messageIds"] == ["m1"]
    assert last_scan(registry, "app", repos["new"]) is None  # not reached


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ECR_IMAGES_DURATION_DELTA": "weekly"}, "ECR_IMAGES_DURATION_DELTA"),
        ({"ECRSCAN_TIME_MARGIN_SECONDS": "-1"}, "ECRSCAN_TIME_MARGIN_SECONDS"),
        ({"ECRSCAN_TIME_MARGIN_SECONDS": "ten"}, "ECRSCAN_TIME_MARGIN_SECONDS"),
    ],
)
def test_images_handler_bad_configuration_fails_the_invocation(session, monkeypatch, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(runtime.ConfigurationError, match=message):
        images.handler(sqs_event(job_body("app")), FakeContext())


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, {"Records": [{"body": "{}"}]}, None])
def test_images_handler_rejects_a_non_sqs_event(session, event):
    with pytest.raises(ValueError, match="SQS"):
        images.handler(event, FakeContext())


def test_images_handler_an_unexpected_error_fails_only_its_message(
    registry, repos, session, monkeypatch
):
    real = images.rescan

    def explode_for_web(gateway, now, settings, progress=None):
        if settings.repositories == ("web",):
            raise RuntimeError("boom")
        return real(gateway, now, settings, progress)

    monkeypatch.setattr(images, "rescan", explode_for_web)
    response = images.handler(sqs_event(job_body("web"), job_body("app")), FakeContext())
    assert failures(response) == ["m0"]


def test_clients_are_built_once_and_reused(registry, repos, sqs, session, monkeypatch):
    _client, url = sqs
    monkeypatch.setenv("IMAGES_SCAN_JOBS_QUEUE_URL", url)
    images.handler(sqs_event(job_body("app")), FakeContext())
    repositories.handler({}, FakeContext())
    built = list(session.built)
    assert sorted(built) == ["ecr", "ecr", "sqs"]  # one gateway (read + write clients)
    images.handler(sqs_event(job_body("web")), FakeContext())
    repositories.handler({}, FakeContext())
    assert session.built == built


@pytest.mark.slow
def test_the_clock_is_read_per_invocation(registry, session, clock):
    now, reads = clock
    registry.create_repo("app")
    digest = registry.push("app", "v1")
    registry.set_scan("app", digest, completed_at=now["value"] - timedelta(days=5))
    before = last_scan(registry, "app", digest)

    images.handler(sqs_event(job_body("app")), FakeContext())
    assert last_scan(registry, "app", digest) == before  # 5 days old, expiry 7d: fresh

    now["value"] += timedelta(days=3)  # the same warm container, three days later
    images.handler(sqs_event(job_body("app")), FakeContext())
    assert last_scan(registry, "app", digest) != before  # now 8 days old: rescanned
    assert len(reads) == 2


@pytest.mark.slow
def test_importing_the_module_builds_nothing():
    code = (
        "import boto3, boto3.session\n"
        "class Refuse:\n"
        "    def __init__(self, *a, **k): raise SystemExit('session built at import')\n"
        "boto3.Session = boto3.session.Session = Refuse\n"
        "import ecrscan.lambdas.images, ecrscan.lambdas.repositories, ecrscan.lambdas.reporter\n"
        "from ecrscan.lambdas import runtime as l\n"
        "assert l.connections._shared.session is None\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


# -- reporter function -----------------------------------------------------------------


@pytest.fixture
def topic(mocked, monkeypatch):
    """An SNS topic with an SQS subscriber, so tests can read what was published."""
    sns = boto3.client("sns", region_name=REGION)
    sqs_client = boto3.client("sqs", region_name=REGION)
    arn = sns.create_topic(Name="ecrscan-report")["TopicArn"]
    url = sqs_client.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("ECR_SNS_REPORT_TOPIC_ARN", arn)
    # every scan event, as before notify-on-change (tests/lambdas/test_notify_on_change.py)
    monkeypatch.setenv("NOTIFY_ON", "always")

    def published() -> list[dict[str, Any]]:
        return [json.loads(body) for body in drain(sqs_client, url)]

    return published


def test_reporter_publishes_a_breach_of_the_ecr_sample(topic, session):
    result = reporter.handler(load_event(ECR_SAMPLE), FakeContext())
    assert result["status"] == "breach" and result["published"] == 1
    assert result["breaches"] == [
        {"severity": "CRITICAL", "count": 10, "threshold": 0},
        {"severity": "MEDIUM", "count": 9, "threshold": 0},
    ]
    (note,) = topic()
    assert note["MessageId"] == result["messageIds"][0]
    assert "my-repository-name" in note["Subject"] and "\n" not in note["Subject"]
    assert "CRITICAL 10>0" in note["Message"]
    # untagged: the image is named by its digest
    assert "sha256:7f5b2640fe6f" in note["Message"]


def test_reporter_within_thresholds_publishes_nothing(topic, session, monkeypatch):
    monkeypatch.setenv("CRITICAL", "10")
    monkeypatch.setenv("MEDIUM", "9")
    result = reporter.handler(load_event(ECR_SAMPLE), FakeContext())
    assert result["status"] == "ok" and result["published"] == 0
    assert topic() == []
    assert session.built == []


def test_reporter_inspector_event_with_repository_arn(topic, session, monkeypatch):
    monkeypatch.setenv("CRITICAL", "off")
    monkeypatch.setenv("MEDIUM", "100")
    result = reporter.handler(load_event(INSPECTOR_SAMPLE), FakeContext())
    assert result["repository"] == "amazon/amazon-ecs-sample"
    assert result["breaches"] == [{"severity": "HIGH", "count": 61, "threshold": 0}]
    (note,) = topic()
    assert "amazon/amazon-ecs-sample:latest" in note["Subject"]
    assert "HIGH 61>0" in note["Message"] and "TOTAL" not in note["Message"]


@pytest.mark.slow
def test_reporter_failed_scan_publishes_only_when_asked(topic, session, monkeypatch):
    failed = variant(ECR_SAMPLE, scan_status="FAILED", finding_severity_counts=None)
    result = reporter.handler(failed, FakeContext())
    assert result["status"] == "scan_failed" and result["published"] == 0
    assert topic() == []

    monkeypatch.setenv("NOTIFY_ON_SCAN_FAILURE", "true")
    result = reporter.handler(failed, FakeContext())
    assert result["published"] == 1
    (note,) = topic()
    assert "scan failed" in note["Message"] and "my-repository-name" in note["Message"]


def test_reporter_untagged_without_counts_is_ok(topic, session):
    event = variant(ECR_SAMPLE, image_tags=None, finding_severity_counts=None)
    result = reporter.handler(event, FakeContext())
    assert result["status"] == "ok" and result["tags"] == [] and result["published"] == 0
    assert topic() == []


def test_reporter_reuses_its_sns_client(topic, session):
    reporter.handler(load_event(ECR_SAMPLE), FakeContext())
    reporter.handler(load_event(INSPECTOR_SAMPLE), FakeContext())
    # ecr: the untagged ECR sample's repository is looked at for an image index
    assert session.built == ["ecr", "sns"]
    assert len(topic()) == 2


def test_reporter_malformed_event_raises_a_clear_error(session):
    with pytest.raises(EventError, match="image-digest is missing"):
        reporter.handler(variant(ECR_SAMPLE, image_digest=None), FakeContext())
    with pytest.raises(EventError, match="unsupported event"):
        reporter.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, FakeContext())


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HIGH": "many"}, "HIGH environment variable"),
        ({"HIGH": "none"}, "HIGH environment variable 'none'"),
        ({"MEDIUM": "disabled"}, "MEDIUM environment variable 'disabled'"),
        ({"LOW": "-"}, "LOW environment variable '-'"),
        ({"NOTIFY_ON_SCAN_FAILURE": "sometimes"}, "NOTIFY_ON_SCAN_FAILURE"),
        ({}, "ECR_SNS_REPORT_TOPIC_ARN is not set"),
    ],
)
def test_reporter_configuration_errors(session, monkeypatch, env, message):
    monkeypatch.setenv("NOTIFY_ON", "always")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(runtime.ConfigurationError, match=message):
        reporter.handler(load_event(ECR_SAMPLE), FakeContext())
