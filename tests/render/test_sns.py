from __future__ import annotations

import itertools
import json
import re
from dataclasses import replace

import boto3
import pytest

from ecrscan.aws.sns import publish
from ecrscan.core.model import Finding, ImageStatus, ScanState
from ecrscan.core.problem import Problem
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds
from ecrscan.render.sns import SNS_MAX_BYTES, SnsMessage, build_messages, subject_line
from tests.support.report_samples import (
    CRITICAL_OPENSSL,
    HIGH_CURL,
    HIGH_ZLIB,
    MEDIUM_BASH,
    NOW,
    REGION,
    THRESHOLDS,
    report,
    sample_result,
)
from tests.support.sns import assert_subject_ok, body, breaching, listed

# -- when to send ---------------------------------------------------------------------


def test_nothing_breaches_nothing_sent():
    reports = [report("team/api", ("1",), (MEDIUM_BASH,))]
    assert build_messages(reports, THRESHOLDS) == []
    assert build_messages([], THRESHOLDS) == []


def test_publish_always_sends_a_no_breach_message():
    reports = [report("team/api", ("1",), (MEDIUM_BASH,)), report("team/b", ("2",), ())]
    [message] = build_messages(reports, THRESHOLDS, always=True, region=REGION)
    assert message.subject == "ecrscan: no breaches, 2 images checked [us-east-1]"
    text = body(message)
    assert text["default"].startswith(
        "ecrscan: no image breaches vulnerability thresholds in us-east-1 (2 checked)."
    )
    assert "Images above thresholds" not in text["email"]


def test_always_with_a_failed_scan_names_it():
    failed = report(
        "team/x",
        ("1",),
        None,
        status=ImageStatus.SCAN_FAILED,
        state=ScanState(status="FAILED", description="UnsupportedImageError"),
    )
    [message] = build_messages([failed], THRESHOLDS, always=True)
    assert message.subject == "ecrscan: team/x:1 not assessed (scan failed)"
    assert "scan failed: UnsupportedImageError" in body(message)["default"]
    ok = report("team/api", ("1",), ())
    [message] = build_messages([failed, ok, failed], THRESHOLDS, always=True)
    assert message.subject == "ecrscan: no breaches, 2 of 3 images not assessed"


# -- content --------------------------------------------------------------------------


def test_single_image_for_the_reporter_lambda():
    image = report("team/web", ("2.0", "latest"), (CRITICAL_OPENSSL, HIGH_ZLIB, MEDIUM_BASH))
    [message] = build_messages((image,), THRESHOLDS, region=REGION, generated_at=NOW)
    assert message.subject == "ecrscan: team/web:2.0 breaches vulnerability thresholds [us-east-1]"
    text = body(message)
    assert set(text) == {"default", "email"}
    assert text["default"] == (
        "ecrscan: 1 of 1 image breaches vulnerability thresholds in us-east-1.\n"
        f"- team/web:2.0 ({image.image.digest[7:19]}): CRITICAL 1>0, HIGH 1>0\n"
    )
    email = text["email"]
    assert "Generated at 2026-11-26T12:00:00+00:00" in email
    assert "team/web  (2.0, latest)" in email
    assert f"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web@{image.image.digest}" in email
    assert re.search(r"^  CRITICAL +1   threshold 0  BREACH$", email, re.M)
    assert re.search(r"^  HIGH +1   threshold 0  BREACH$", email, re.M)
    assert re.search(r"^  MEDIUM +1   threshold 2$", email, re.M)
    assert re.search(r"^  LOW +0   threshold 0$", email, re.M)
    assert "Thresholds: CRITICAL 0, HIGH 0, MEDIUM 2, LOW 0" in email


def test_run_message_lists_breaches_and_unassessed_images():
    [message] = build_messages(sample_result().images, THRESHOLDS, title="nightly audit")
    assert message.subject == "nightly audit: team/web:2.0 breaches vulnerability thresholds"
    text = body(message)
    default, email = text["default"], text["email"]
    assert default.startswith(
        "nightly audit: 1 of 5 images breaches vulnerability thresholds; 2 not assessed."
    )
    assert "team/web:2.0" in default and "team/api" not in default and "team/worker" not in default
    assert re.search(r"^- legacy/app@sha256:\w{12}: no scan", default, re.M)
    assert "Images not assessed" in email and "AccessDeniedException" in email


def test_ignored_findings_are_mentioned():
    image = report("team/web", ("1",), (CRITICAL_OPENSSL, replace(HIGH_ZLIB, ignored="fp")))
    [message] = build_messages([image], THRESHOLDS)
    assert "ignored: 1 finding by the ignore file or a gate" in body(message)["email"]
    both = replace(CRITICAL_OPENSSL, ignored="fp")
    image = report("team/web", ("1",), (both, replace(HIGH_ZLIB, ignored="fp"), HIGH_CURL))
    [message] = build_messages([image], THRESHOLDS)
    assert "ignored: 2 findings by the ignore file or a gate" in body(message)["email"]


def test_the_verb_agrees_with_the_breaching_count():
    reports = [*breaching(2), report("team/ok", ("1",), ())]
    [message] = build_messages(reports, Thresholds(), region=REGION)
    assert body(message)["default"].startswith(
        "ecrscan: 2 of 3 images breach vulnerability thresholds in us-east-1."
    )
    [message] = build_messages([*breaching(1), report("team/ok", ("1",), ())], Thresholds())
    assert body(message)["default"].startswith("ecrscan: 1 of 2 images breaches vulnerability")


def test_an_unread_image_has_no_empty_parentheses():
    unread = replace(
        report(
            "team/api", ("v1.4.2",), None, status=ImageStatus.ERROR, reference="team/api:v1.4.2"
        ),
        error=Problem("ImageNotFound", "no such image"),
    )
    unread = replace(unread, image=replace(unread.image, digest=""))
    [message] = build_messages([unread], THRESHOLDS, always=True)
    default = body(message)["default"]
    assert "()" not in default and "()" not in body(message)["email"]
    assert "\n- team/api:v1.4.2: " in default


def test_several_breaching_images_subject_counts_them():
    [message] = build_messages(breaching(3), Thresholds(), region=REGION)
    assert message.subject == "ecrscan: 3 images breach vulnerability thresholds [us-east-1]"
    assert listed([message]) == ["team/app-00000", "team/app-00001", "team/app-00002"]


# -- subject rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repository", "title", "shown_title"),
    [
        ("team/" + "x" * 250, "ecrscan", "ecrscan"),
        ("team/evil\nSubject: spoofed\r\n", "ecrscan", "ecrscan"),
        ("team/api", "Überwachung\tnightly ✓ " + "t" * 120, "Überwachung nightly ✓ ttt"),
        ("team/api", "\n\n", "ecrscan"),
    ],
)
def test_subject_rules(repository, title, shown_title):
    image = report(repository, ("v\n1",), (CRITICAL_OPENSSL,))
    for messages in (
        build_messages([image], THRESHOLDS, title=title),
        build_messages([image, *breaching(30)], THRESHOLDS, title=title, max_bytes=2000),
    ):
        for message in messages:
            assert_subject_ok(message.subject)
            default = body(message)["default"]
            assert "\r" not in default
            # every line of the default text is the summary or a list item: no injected lines
            lines = default.rstrip("\n").split("\n")
            assert lines[0].startswith(shown_title)
            assert ": 1 of " in lines[0] or ": 31 of " in lines[0]
            assert all(line.startswith(("- ", "Not assessed:")) for line in lines[1:])


def test_subject_line_keeps_the_part_suffix():
    subject = subject_line("a" * 300, "(part 12/13)")
    assert len(subject) == 99 and subject.endswith("... (part 12/13)")
    assert subject_line("", "") == "ecrscan"


# -- size ------------------------------------------------------------------------------


def test_split_with_a_small_limit_loses_nothing():
    reports = [*breaching(40), report("legacy/old", (), None, status=ImageStatus.NO_SCAN)]
    messages = build_messages(reports, THRESHOLDS, region=REGION, max_bytes=3000)
    assert len(messages) > 3
    n = len(messages)
    for i, message in enumerate(messages, 1):
        assert message.size <= 3000
        assert message.size == len(message.message.encode())
        assert message.subject.endswith(f"(part {i}/{n})")
        assert_subject_ok(message.subject)
        assert f"(part {i}/{n})" in body(message)["default"].splitlines()[0]
        assert "default" in body(message)
    assert listed(messages) == [f"team/app-{i:05}" for i in range(40)]
    assert sum(body(m)["default"].count("legacy/old") for m in messages) == 1
    emails = "".join(body(m)["email"] for m in messages)
    assert emails.count("  CRITICAL ") == 40


def test_split_is_exact_for_every_limit():
    """A sweep of limits: each part within its limit, and parts are filled (an entry
    moves to the next part only when it would not fit)."""
    problems = [report(f"legacy/old-{i}", (), None, status=ImageStatus.NO_SCAN) for i in range(9)]
    reports = breaching(9) + problems
    for max_bytes in range(1500, 4000, 7):
        messages = build_messages(reports, THRESHOLDS, region=REGION, max_bytes=max_bytes)
        assert all(m.size <= max_bytes for m in messages), max_bytes
        assert listed(messages) == [f"team/app-{i:05}" for i in range(9)]
        assert listed(messages, "legacy/old") == [f"legacy/old-{i}" for i in range(9)]
        for first, _second in itertools.pairwise(messages):
            # the next part's first entry would not have fitted into this one
            assert first.size + 700 > max_bytes, max_bytes


def test_split_thousands_of_images_at_the_sns_limit():
    reports = breaching(5000)
    messages = build_messages(reports, THRESHOLDS, region=REGION)
    assert len(messages) > 1
    assert all(m.size <= SNS_MAX_BYTES for m in messages)
    assert listed(messages) == [f"team/app-{i:05}" for i in range(5000)]
    # the parts are filled: no more messages than needed plus one
    total = sum(m.size for m in messages)
    assert len(messages) <= total // SNS_MAX_BYTES + 2


def test_split_counts_multibyte_characters_in_bytes():
    reports = [
        report(f"team/app-{i:05}", ("Ünïcödé-" * 8,), (CRITICAL_OPENSSL,)) for i in range(60)
    ]
    messages = build_messages(reports, THRESHOLDS, max_bytes=4000)
    assert len(messages) > 1
    assert all(m.size <= 4000 for m in messages)
    assert listed(messages) == [f"team/app-{i:05}" for i in range(60)]


def test_a_limit_too_small_for_one_image_is_an_error():
    with pytest.raises(ValueError, match="cannot hold"):
        build_messages(breaching(3), THRESHOLDS, max_bytes=600)


def test_message_that_fits_is_not_split():
    messages = build_messages(breaching(2), THRESHOLDS, max_bytes=SNS_MAX_BYTES)
    assert len(messages) == 1 and "part" not in messages[0].subject


# -- publish into moto ------------------------------------------------------------------


def test_publish_delivers_the_default_text_to_an_sqs_subscriber(mocked):
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="ecr-report")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="ecr-report-sub")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "false"},
    )

    messages = build_messages(breaching(12), THRESHOLDS, region=REGION, max_bytes=2500)
    assert len(messages) >= 2
    ids = publish(sns, topic_arn, messages)
    assert len(ids) == len(messages) and len(set(ids)) == len(ids)

    delivered = []
    while True:
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        if not received.get("Messages"):
            break
        for item in received["Messages"]:
            delivered.append(json.loads(item["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=item["ReceiptHandle"])
    assert sorted(d["MessageId"] for d in delivered) == sorted(ids)
    by_id = {d["MessageId"]: d for d in delivered}
    for message_id, message in zip(ids, messages, strict=False):
        envelope = by_id[message_id]
        assert envelope["Type"] == "Notification"
        assert envelope["TopicArn"] == topic_arn
        assert envelope["Subject"] == message.subject
        # MessageStructure=json: an SQS subscriber receives the "default" text
        assert envelope["Message"] == body(message)["default"]
    assert sorted(listed([m for m in messages])) == [f"team/app-{i:05}" for i in range(12)]


def test_publish_passes_message_structure_json():
    calls = []

    class FakeSns:
        def publish(self, **kwargs):
            calls.append(kwargs)
            return {"MessageId": f"id-{len(calls)}"}

    messages = [SnsMessage("s1", '{"default": "a"}'), SnsMessage("s2", '{"default": "b"}')]
    assert publish(FakeSns(), "arn:aws:sns:us-east-1:123456789012:t", messages) == ["id-1", "id-2"]
    assert calls == [
        {
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Subject": "s1",
            "Message": '{"default": "a"}',
            "MessageStructure": "json",
        },
        {
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
            "Subject": "s2",
            "Message": '{"default": "b"}',
            "MessageStructure": "json",
        },
    ]


def test_enhanced_untriaged_counts_show_against_their_threshold():
    thresholds = Thresholds().with_overrides(["UNTRIAGED=0"])
    image = report("team/x", ("1",), (Finding("CVE-9", Severity.UNTRIAGED),), thresholds=thresholds)
    [message] = build_messages([image], thresholds)
    assert re.search(r"^  UNTRIAGED +1   threshold 0  BREACH$", body(message)["email"], re.M)


def test_a_platform_image_is_named_by_its_tag_and_platform():
    base = report("team/api", (), (CRITICAL_OPENSSL,))
    image = replace(
        base.image, platform="linux/arm64", index_digest="sha256:" + "9" * 64, index_tags=("v1",)
    )
    [message] = build_messages([replace(base, image=image)], THRESHOLDS, region=REGION)
    texts = body(message)
    assert "team/api:v1 (linux/arm64)" in message.subject
    assert "team/api:v1 (linux/arm64)" in texts["default"]
    assert "team/api:v1 (linux/arm64)" in texts["email"]
