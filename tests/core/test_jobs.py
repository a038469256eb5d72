from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ecrscan.aws.sqs import BATCH_SIZE, send_jobs
from ecrscan.core.jobs import Job, JobError, job_body, parse_job, repository_jobs
from ecrscan.core.model import Repository
from tests.support.env import REGION
from tests.support.sqs import FlakySqs, drain

# -- the job format ------------------------------------------------------------------


AB = "sha256:" + "ab" * 32
ONE = "sha256:" + "1" * 64


def test_job_body_round_trips_and_omits_unset_keys():
    assert json.loads(job_body("team/api")) == {"repositoryName": "team/api"}
    body = job_body("team/api", "123456789012", "1m2w", [{"imageDigest": AB}])
    assert json.loads(body) == {
        "repositoryName": "team/api",
        "registryId": "123456789012",
        "expiry": "1m2w",
        "images": [{"imageDigest": AB}],
    }
    assert parse_job(body) == Job("team/api", "123456789012", "1m2w", ({"imageDigest": AB},))


def test_repository_jobs_one_per_repository():
    repos = [Repository("a", "111111111111"), Repository("b", "")]
    bodies = [json.loads(b) for b in repository_jobs(repos, "3d")]
    assert bodies == [
        {"repositoryName": "a", "registryId": "111111111111", "expiry": "3d"},
        {"repositoryName": "b", "expiry": "3d"},
    ]


def test_parse_job_accepts_tags_and_digests():
    job = parse_job(
        '{"repositoryName": "app", "images": [{"imageTag": "v1"}, '
        f'{{"imageDigest": "{ONE}", "imageTag": "v2"}}]}}'
    )
    assert job.images == ({"imageTag": "v1"}, {"imageDigest": ONE, "imageTag": "v2"})
    assert job.expiry is None and job.registry_id is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        (None, "not valid JSON"),
        ("", "not valid JSON"),
        ('["app"]', "must be a JSON object"),
        ("{}", "repositoryName"),
        ('{"repositoryName": ""}', "repositoryName"),
        ('{"repositoryName": 5}', "repositoryName"),
        ('{"repository": "app"}', "unknown keys ['repository']"),
        ('{"repositoryName": "app", "expiry": "7x"}', "bad expiry in job for app"),
        ('{"repositoryName": "app", "expiry": 7}', "expiry must be a duration"),
        ('{"repositoryName": "app", "registryId": 1234}', "registryId"),
        ('{"repositoryName": "app", "images": "latest"}', "images must be a list"),
        ('{"repositoryName": "app", "images": [{"tag": "v1"}]}', "bad image id"),
        ('{"repositoryName": "app", "images": [{}]}', "bad image id"),
        ('{"repositoryName": "app", "images": [{"imageTag": ""}]}', "bad image id"),
    ],
)
def test_parse_job_rejects_malformed_bodies_clearly(body, message):
    with pytest.raises(JobError) as info:
        parse_job(body)
    assert isinstance(info.value, ValueError)
    assert message in str(info.value)


# -- dispatch --------------------------------------------------------------------------


@pytest.fixture
def sqs(mocked):
    client = boto3.client("sqs", region_name=REGION)
    url = client.create_queue(QueueName="jobs")["QueueUrl"]
    return client, url


def test_send_jobs_batches_of_ten_with_unique_ids(sqs):
    client, url = sqs
    flaky = FlakySqs(client)
    bodies = [job_body(f"repo-{i:02d}") for i in range(23)]
    report = send_jobs(flaky, url, bodies, sleep=pytest.fail)
    assert report.ok and report.sent == 23 and report.retried == 0
    assert [len(c) for c in flaky.calls] == [10, 10, 3]
    ids = [e["Id"] for call in flaky.calls for e in call]
    assert len(set(ids)) == len(ids)
    assert all(len(call) <= BATCH_SIZE for call in flaky.calls)
    assert sorted(drain(client, url)) == sorted(bodies)


def test_send_jobs_retries_failed_entries_until_they_pass(sqs):
    client, url = sqs
    bodies = [job_body(f"repo-{i}") for i in range(12)]
    flaky = FlakySqs(client, failures={bodies[3]: 1, bodies[11]: 2})
    sleeps: list[float] = []
    report = send_jobs(flaky, url, bodies, attempts=3, sleep=sleeps.append)
    assert report.ok and report.sent == 12
    assert report.retried == 3  # two entries in round 2, one in round 3
    assert sleeps == [0.5, 1.0]
    # only the failed entries were sent again, each exactly once per round
    assert [sorted(e["MessageBody"] for e in c) for c in flaky.calls[2:]] == [
        sorted([bodies[3], bodies[11]]),
        [bodies[11]],
    ]
    assert sorted(drain(client, url)) == sorted(bodies)  # each job queued exactly once


def test_send_jobs_returns_entries_that_keep_failing(sqs):
    client, url = sqs
    bodies = [job_body(f"repo-{i}") for i in range(5)]
    flaky = FlakySqs(client, failures={bodies[2]: 99})
    sleeps: list[float] = []
    report = send_jobs(flaky, url, bodies, attempts=3, sleep=sleeps.append)
    assert not report.ok
    assert report.sent == 4
    assert [(f.body, f.code, f.message) for f in report.failed] == [
        (bodies[2], "InternalError", "injected failure")
    ]
    assert len(flaky.calls) == 3 and sleeps == [0.5, 1.0]
    assert sorted(drain(client, url)) == sorted(bodies[:2] + bodies[3:])


def test_send_jobs_does_not_retry_sender_faults(sqs):
    client, url = sqs
    bodies = [job_body("a"), job_body("b")]
    flaky = FlakySqs(client, failures={bodies[0]: 99}, sender_fault=True)
    report = send_jobs(flaky, url, bodies, sleep=pytest.fail)
    assert report.sent == 1 and len(flaky.calls) == 1
    assert [f.body for f in report.failed] == [bodies[0]] and report.failed[0].sender_fault


def test_send_jobs_call_error_fails_every_unsent_job(mocked):
    client = boto3.client("sqs", region_name=REGION)
    url = f"https://sqs.{REGION}.amazonaws.com/123456789012/missing"
    bodies = [job_body(f"r{i}") for i in range(15)]
    report = send_jobs(client, url, bodies, sleep=pytest.fail)
    assert report.sent == 0
    assert [f.body for f in report.failed] == bodies
    assert {(f.code, f.message) for f in report.failed} == {
        ("AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
    }


def test_send_jobs_with_nothing_to_send_makes_no_call():
    class NoCalls:
        def send_message_batch(self, **kwargs: Any) -> Any:
            raise AssertionError("no call expected")

    assert send_jobs(NoCalls(), "url", []).sent == 0


def test_send_jobs_needs_one_attempt():
    with pytest.raises(ValueError):
        send_jobs(object(), "url", ["{}"], attempts=0)


def test_send_jobs_call_error_after_a_retryable_entry_failure_accounts_for_every_job(sqs):
    """Round 1: the first chunk sends nine and reports one as retryable; the second
    chunk's call fails.  The held entry must come back failed, not vanish."""
    client, url = sqs

    class DownAfterFirstCall(FlakySqs):
        def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
            if self.calls:
                self.calls.append(Entries)
                raise ClientError(
                    {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessageBatch"
                )
            return super().send_message_batch(QueueUrl, Entries)

    bodies = [job_body(f"r{i}") for i in range(15)]
    flaky = DownAfterFirstCall(client, failures={bodies[0]: 1})
    report = send_jobs(flaky, url, bodies, sleep=pytest.fail)
    failed = [f.body for f in report.failed]
    assert report.sent == 9 and len(failed) == 6 and report.sent + len(failed) == len(bodies)
    assert sorted(failed) == sorted([bodies[0], *bodies[10:]])  # each exactly once
    assert sorted(drain(client, url) + failed) == sorted(bodies)
    held = next(f for f in report.failed if f.body == bodies[0])
    assert (held.code, held.message) == ("InternalError", "injected failure")


@pytest.mark.parametrize("region", ["eu-west-1", "us-gov-west-1"])
def test_a_job_may_name_its_region(region: str) -> None:
    body = job_body("team/api", "123456789012", region=region)
    assert json.loads(body)["region"] == region and parse_job(body).region == region
    assert parse_job(job_body("team/api")).region is None


@pytest.mark.parametrize("region", ["EU", "eu_west_1", 7, ""])
def test_a_bad_region_is_a_malformed_job(region: object) -> None:
    with pytest.raises(JobError, match="region must be an AWS region name"):
        parse_job(json.dumps({"repositoryName": "team/api", "region": region}))


# -- hostile bodies (issue 18) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper than"),
        ('{"repositoryName": "app", "x": ' + "[" * 5_000 + "]" * 5_000 + "}", "nested deeper"),
        ('{"repositoryName": "app", "registryId": ' + "9" * 5_000 + "}", "digits"),
        ('{"repositoryName": "app", "n": 1.' + "5" * 5_000 + "}", "digits"),
        ('{"repositoryName": "app", "n": 1e999999}', "digits"),
        ('{"repositoryName": "' + "a" * 300_000 + '"}', "bytes"),
        ('{"repositoryName": "app", "n": NaN}', "not valid JSON"),
    ],
    ids=["deep-list", "deep-value", "long-int", "long-float", "huge-exponent", "size", "nan"],
)
def test_a_hostile_body_is_a_malformed_job_not_a_crash(body: str, message: str) -> None:
    with pytest.raises(JobError, match=message):
        parse_job(body)
    with pytest.raises(JobError, match=message):
        parse_job(body.encode())


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    body = json.dumps({"repositoryName": "[" * 200 + '{\\"' + "}" * 3})
    assert parse_job(body).repository_name.startswith("[" * 200)


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:zz",
        "sha256:",
        "sha256:" + "A" * 64,
        "sha256:" + "0" * 63,
        "md5:" + "0" * 64,
        "0" * 64,
    ],
)
def test_a_malformed_image_digest_is_a_malformed_job(digest: str) -> None:
    with pytest.raises(JobError, match="imageDigest must be sha256: followed by 64"):
        parse_job(job_body("app", images=[{"imageDigest": digest}]))
    assert parse_job(job_body("app", images=[{"imageDigest": "sha256:" + "0" * 64}])).images
