"""SNS messages of notify on change: the changed breaches, the images back within
thresholds ("resolved"), and the reporter's single-image resolved message."""

from __future__ import annotations

import json
import re

import pytest

from ecrscan.core.events import image_report, parse_scan_event
from ecrscan.core.model import ImageStatus
from ecrscan.core.thresholds import Thresholds
from ecrscan.render.sns import build_messages, event_messages
from tests.support.events import ECR_SAMPLE, variant
from tests.support.report_samples import NOW, REGION, THRESHOLDS, report
from tests.support.sns import assert_subject_ok, body, breaching, listed


def fixed(n: int, prefix: str = "team/ok") -> list:
    return [report(f"{prefix}-{i:05}", ("v2",), ()) for i in range(n)]


def test_nothing_changed_nothing_sent_unless_always():
    still = breaching(3)
    assert build_messages(still, THRESHOLDS, changed=[]) == []
    [message] = build_messages(still, THRESHOLDS, changed=[], always=True, region=REGION)
    assert message.subject == "ecrscan: no changes, 3 images checked [us-east-1]"
    assert body(message)["default"].startswith(
        "ecrscan: no new or changed breach, none back within thresholds in us-east-1 "
        "(3 checked, 3 breaching)."
    )


def test_changed_and_resolved_are_listed_in_their_sections():
    still, changed, resolved = breaching(5), breaching(1, "team/new"), fixed(2)
    reports = [*still, *changed, *resolved]
    [message] = build_messages(
        reports, THRESHOLDS, changed=changed, resolved=resolved, region=REGION, generated_at=NOW
    )
    assert message.subject == "ecrscan: 1 new or changed, 2 back within thresholds [us-east-1]"
    text = body(message)
    assert text["default"].splitlines()[0] == (
        "ecrscan: 1 new or changed breach and 2 images back within thresholds in us-east-1 "
        "(8 checked, 6 breaching)."
    )
    assert listed([message], "team/new") == ["team/new-00000"]
    assert listed([message]) == []  # unchanged breaches are not listed
    assert "Back within thresholds:\n- team/ok-00000:v2" in text["default"]
    email = text["email"]
    assert "Images back within thresholds\n=============================" in email
    assert "team/ok-00001  (v2)" in email
    assert re.search(r"^  CRITICAL +0   threshold 0$", email, re.M)


@pytest.mark.parametrize(
    ("changed", "resolved", "subject"),
    [
        (1, 0, "ecrscan: team/new-00000:v1 breaches vulnerability thresholds [us-east-1]"),
        (4, 0, "ecrscan: 4 new or changed breaches [us-east-1]"),
        (0, 1, "ecrscan: team/ok-00000:v2 back within thresholds [us-east-1]"),
        (0, 3, "ecrscan: 3 images back within thresholds [us-east-1]"),
    ],
)
def test_subjects(changed, resolved, subject):
    new, ok = breaching(changed, "team/new"), fixed(resolved)
    [message] = build_messages([*new, *ok], THRESHOLDS, changed=new, resolved=ok, region=REGION)
    assert message.subject == subject
    assert_subject_ok(message.subject)


def test_a_long_name_keeps_the_subject_short():
    ok = [report("team/" + "x" * 150 + "\nnext line", ("v1",), ())]
    [message] = build_messages(ok, THRESHOLDS, changed=[], resolved=ok, region=REGION)
    assert_subject_ok(message.subject)
    assert message.subject.startswith("ecrscan: team/xxx") and message.subject.endswith("...")


def test_unassessed_images_ride_along_but_do_not_trigger():
    missing = report("legacy/old", (), None, status=ImageStatus.NO_SCAN)
    assert build_messages([missing], THRESHOLDS, changed=[]) == []
    ok = fixed(1)
    [message] = build_messages([missing, *ok], THRESHOLDS, changed=[], resolved=ok)
    assert "Not assessed:\n- legacy/old" in body(message)["default"]


def test_a_big_change_is_split_and_loses_nothing():
    changed, resolved = breaching(30, "team/new"), fixed(30)
    messages = build_messages(
        [*changed, *resolved],
        THRESHOLDS,
        changed=changed,
        resolved=resolved,
        region=REGION,
        max_bytes=3000,
    )
    assert len(messages) > 2
    assert all(m.size <= 3000 for m in messages)
    assert listed(messages, "team/new") == [f"team/new-{i:05}" for i in range(30)]
    defaults = "".join(body(m)["default"] for m in messages)
    assert re.findall(r"^- (team/ok-\d+):v2 \(\w+\): back within", defaults, re.M) == [
        f"team/ok-{i:05}" for i in range(30)
    ]
    for i, message in enumerate(messages, 1):
        assert message.subject.endswith(f"(part {i}/{len(messages)})")
        assert_subject_ok(message.subject)


def test_the_reporter_resolved_message():
    scan = parse_scan_event(variant(ECR_SAMPLE, image_tags=["v1"], finding_severity_counts=None))
    judged = image_report(scan, Thresholds())
    [message] = event_messages(scan, judged, Thresholds(), resolved=True)
    assert message.subject == "ecrscan: my-repository-name:v1 back within thresholds [us-east-1]"
    document = json.loads(message.message)
    assert set(document) == {"default", "email"}
    assert document["default"].startswith(
        "ecrscan: 1 image back within thresholds in us-east-1 (1 checked, 0 breaching).\n"
    )
    assert "- my-repository-name:v1 (7f5b2640fe6f): back within thresholds" in document["default"]
    assert message.size <= 262_144
    # the breach message of the same event is unchanged by notify-on-change
    breach = image_report(parse_scan_event(variant(ECR_SAMPLE)), Thresholds())
    [alert] = event_messages(scan, breach, Thresholds())
    assert "breaches vulnerability thresholds" in alert.subject
