"""Notify on change, the pure part: fingerprints, keys and the decision table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from ecrscan.core.model import Finding, Image, ImageReport, ImageStatus
from ecrscan.core.notify import (
    Change,
    Fingerprint,
    Record,
    claimed,
    decide,
    findings_digest,
    fingerprint,
    report_key,
    restored,
    state_key,
)
from ecrscan.core.severity import Severity

NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
MONTH = relativedelta(days=30)
DIGEST = "sha256:" + "ab" * 32
KEY = state_key("123456789012", "us-east-1", "team/api", DIGEST)


def image_report(status: ImageStatus = ImageStatus.BREACH, **counts: int) -> ImageReport:
    image = Image("team/api", "123456789012", DIGEST, ("v1",))
    return ImageReport(image, None, status, counts=dict(counts), region="us-east-1")


def breach(**counts: int) -> Fingerprint:
    return fingerprint(image_report(**(counts or {"HIGH": 1})))


def record(fp: Fingerprint, *, age: timedelta = timedelta(0), version: int = 1) -> Record:
    notified = NOW - age
    return Record(KEY, version, fp, notified, notified + MONTH, "team/api:v1")


WITHIN = fingerprint(image_report(ImageStatus.OK, LOW=2))
NOT_ASSESSED = fingerprint(image_report(ImageStatus.SCAN_FAILED))


# -- the decision table -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "current", "change"),
    [
        (None, breach(), Change.NEW),
        (record(breach()), breach(), Change.UNCHANGED),
        (record(breach(HIGH=1)), breach(HIGH=2), Change.CHANGED),
        (record(breach(HIGH=1)), breach(HIGH=1, CRITICAL=1), Change.CHANGED),
        (record(breach()), WITHIN, Change.RESOLVED),
        (None, WITHIN, Change.NONE),
        (None, NOT_ASSESSED, Change.NONE),
        (record(breach()), NOT_ASSESSED, Change.NONE),  # a failed scan resolves nothing
    ],
    ids=[
        "first-breach",
        "same-breach",
        "more-high",
        "new-level",
        "back-within",
        "clean-unknown",
        "not-assessed",
        "not-assessed-known",
    ],
)
def test_decision_table(previous, current, change):
    assert decide(previous, current, NOW) is change
    assert change.publishes is (change in (Change.NEW, Change.CHANGED, Change.RESOLVED))


def test_an_expired_record_counts_as_absent():
    stale = record(breach(), age=timedelta(days=30))  # expires exactly now
    assert decide(stale, breach(), NOW) is Change.NEW  # past the state TTL: notified again
    assert decide(stale, WITHIN, NOW) is Change.NONE
    almost = record(breach(), age=timedelta(days=30) - timedelta(seconds=1))
    assert decide(almost, breach(), NOW) is Change.UNCHANGED
    assert decide(almost, WITHIN, NOW) is Change.RESOLVED


def test_zero_counts_and_their_order_do_not_matter():
    assert breach(HIGH=1, LOW=0) == breach(HIGH=1)
    assert fingerprint(image_report(LOW=1, CRITICAL=2)).counts == (("CRITICAL", 2), ("LOW", 1))
    assert decide(record(breach(HIGH=1)), breach(HIGH=1, MEDIUM=0), NOW) is Change.UNCHANGED


def finding(cve: str, package: str = "openssl", ignored: str | None = None) -> Finding:
    return Finding(cve, Severity.HIGH, package=package, ignored=ignored)


def test_findings_digest_changes_with_the_counted_ids_only():
    base = findings_digest([finding("CVE-1"), finding("CVE-2")])
    assert findings_digest([finding("CVE-2"), finding("CVE-1")]) == base  # sorted
    assert findings_digest([finding("CVE-1"), finding("CVE-2"), finding("CVE-2")]) == base
    assert findings_digest([finding("CVE-1"), finding("CVE-3")]) != base
    ignored = finding("CVE-9", ignored="accepted risk")
    assert findings_digest([finding("CVE-1"), finding("CVE-2"), ignored]) == base
    assert findings_digest([finding("CVE-1"), finding("CVE-2", "zlib")]) != base


def test_findings_decide_where_both_sides_know_them():
    read = replace(image_report(HIGH=2), findings=(finding("CVE-1"), finding("CVE-2")))
    swapped = replace(read, findings=(finding("CVE-1"), finding("CVE-3")))
    with_ids, other_ids = fingerprint(read), fingerprint(swapped)
    assert with_ids.findings and with_ids.counts == other_ids.counts
    assert decide(record(with_ids), other_ids, NOW) is Change.CHANGED  # same counts, other CVEs
    assert decide(record(with_ids), with_ids, NOW) is Change.UNCHANGED
    counts_only = fingerprint(image_report(HIGH=2))  # an event carries no findings
    assert counts_only.findings is None
    assert decide(record(with_ids), counts_only, NOW) is Change.UNCHANGED
    assert decide(record(counts_only), with_ids, NOW) is Change.UNCHANGED


def test_keys_name_account_region_repository_and_digest():
    assert f"123456789012/us-east-1/team/api@{DIGEST}" == KEY
    report = image_report()
    assert report_key(report) == KEY
    elsewhere = replace(report, region="", account="")
    assert report_key(elsewhere, "eu-west-1") == KEY.replace("us-east-1", "eu-west-1")


def test_keys_do_not_change_with_the_digest_case():
    report = image_report()
    upper = replace(report, image=replace(report.image, digest=report.image.digest.upper()))
    assert report_key(upper) == report_key(report) == KEY


def test_fingerprint_text_round_trips():
    for fp in (breach(CRITICAL=3, HIGH=1), WITHIN, replace(breach(), findings="0f" * 16)):
        assert Fingerprint.parse(fp.text) == fp
    assert breach(CRITICAL=3, HIGH=1).text == "breach;CRITICAL=3,HIGH=1"
    for bad in ("", ";HIGH=1", "breach;HIGH", "breach;HIGH=x", "breach;HIGH=1;other"):
        with pytest.raises(ValueError):
            Fingerprint.parse(bad)


def test_claims_count_versions_up_and_restores_go_further():
    first = claimed(None, KEY, breach(), NOW, MONTH, "team/api:v1")
    assert (first.version, first.notified_at, first.expires_at) == (1, NOW, NOW + MONTH)
    second = claimed(first, KEY, breach(HIGH=5), NOW, MONTH)
    assert second.version == 2
    back = restored(first, second)
    assert back.version == 3 and back.fingerprint == first.fingerprint
    assert back.expires_at == first.expires_at


# -- properties -----------------------------------------------------------------------------

LEVELS = [s.value for s in Severity]
counts = st.dictionaries(st.sampled_from(LEVELS), st.integers(0, 50), max_size=4)
statuses = st.sampled_from([ImageStatus.BREACH, ImageStatus.OK, ImageStatus.SCAN_FAILED])
ages = st.one_of(st.none(), st.integers(0, 60))


@given(before=counts, after=counts, before_status=statuses, status=statuses, age=ages)
def test_one_message_per_change(before, after, before_status, status, age):
    """Whatever was there before: after acting on a decision (claiming the record or
    deleting it), the same verdict again is never worth another message."""
    previous = None
    if age is not None and before_status is ImageStatus.BREACH:
        previous = record(fingerprint(image_report(before_status, **before)), age=timedelta(age))
    current = fingerprint(image_report(status, **after))
    change = decide(previous, current, NOW)
    after_state: Record | None = previous
    if change in (Change.NEW, Change.CHANGED):
        after_state = claimed(previous, KEY, current, NOW, MONTH)
    elif change is Change.RESOLVED:
        after_state = None
    assert not decide(after_state, current, NOW).publishes
    # and a breach is never silently dropped: no live record means a message
    if current.breach and (previous is None or not previous.live(NOW)):
        assert change is Change.NEW


@given(values=counts, findings=st.one_of(st.none(), st.text("0123456789abcdef", min_size=1)))
def test_fingerprint_text_round_trips_for_any_counts(values, findings):
    fp = replace(fingerprint(image_report(**values)), findings=findings)
    assert Fingerprint.parse(fp.text) == fp
