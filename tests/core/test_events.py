from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from ecrscan.core.events import EventError, ScanEvent, image_report, parse_scan_event
from ecrscan.core.model import ImageStatus
from ecrscan.core.severity import Breach, Severity
from ecrscan.core.thresholds import Thresholds
from tests.support.events import (
    ECR_SAMPLE,
    INSPECTOR_SAMPLE,
    SAMPLES,
    load_event,
    variant,
)


def test_the_documented_samples_are_there():
    assert {ECR_SAMPLE, INSPECTOR_SAMPLE} <= set(SAMPLES)


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_parses(name):
    event = load_event(name)
    scan = parse_scan_event(event)
    assert scan.digest == event["detail"]["image-digest"]
    assert scan.repository and "arn:" not in scan.repository
    assert "TOTAL" not in scan.counts
    assert scan.registry_id == event["account"] and scan.region == event["region"]
    assert scan.completed
    assert image_report(scan, Thresholds()).status in (ImageStatus.OK, ImageStatus.BREACH)


def test_ecr_sample():
    scan = parse_scan_event(load_event(ECR_SAMPLE))
    assert scan == ScanEvent(
        source="aws.ecr",
        detail_type="ECR Image Scan",
        repository="my-repository-name",
        digest="sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
        status="COMPLETE",
        tags=(),
        counts={"CRITICAL": 10, "MEDIUM": 9},
        registry_id="123456789012",
        region="us-east-1",
        time=datetime(2019, 10, 29, 2, 36, 48, tzinfo=UTC),
        event_id="85fc3613-e913-7fc4-a80c-a3753e4aa9ae",
    )
    assert not scan.enhanced


def test_inspector_sample_repository_arn_and_total_dropped():
    scan = parse_scan_event(load_event(INSPECTOR_SAMPLE))
    assert scan.enhanced
    assert scan.repository == "amazon/amazon-ecs-sample"
    assert (scan.registry_id, scan.region) == ("123456789012", "us-east-2")
    assert scan.counts == {"CRITICAL": 7, "HIGH": 61, "MEDIUM": 62}
    assert scan.tags == ("latest",)
    assert scan.status == "INITIAL_SCAN_COMPLETE" and scan.completed


def test_arn_in_a_basic_event_and_other_partitions():
    arn = "arn:aws-cn:ecr:cn-north-1:210987654321:repository/team/api"
    scan = parse_scan_event(variant(ECR_SAMPLE, repository_name=arn))
    assert (scan.repository, scan.registry_id, scan.region) == (
        "team/api",
        "210987654321",
        "cn-north-1",
    )


def test_untagged_and_without_counts():
    scan = parse_scan_event(variant(ECR_SAMPLE, image_tags=None, finding_severity_counts=None))
    assert scan.tags == () and scan.counts == {}
    report = image_report(scan, Thresholds())
    assert report.status is ImageStatus.OK and report.breaches == ()
    empty = parse_scan_event(variant(ECR_SAMPLE, finding_severity_counts={}))
    assert image_report(empty, Thresholds()).status is ImageStatus.OK


def test_breach_against_thresholds():
    scan = parse_scan_event(load_event(ECR_SAMPLE))
    report = image_report(scan, Thresholds())
    assert report.status is ImageStatus.BREACH
    assert report.breaches == (Breach(Severity.CRITICAL, 10, 0), Breach(Severity.MEDIUM, 9, 0))
    assert report.counts == {"CRITICAL": 10, "MEDIUM": 9}
    assert report.image.repository == "my-repository-name" and report.image.tags == ()
    assert (report.account, report.region) == ("123456789012", "us-east-1")
    assert report.state is not None and report.state.completed_at == scan.time
    tolerant = Thresholds.from_env({"CRITICAL": "10", "MEDIUM": "9"})
    assert image_report(scan, tolerant).status is ImageStatus.OK
    assert image_report(scan, Thresholds.from_env({"CRITICAL": "9"})).breaches[0] == Breach(
        Severity.CRITICAL, 10, 9
    )


def test_inspector_breach_ignores_total():
    scan = parse_scan_event(load_event(INSPECTOR_SAMPLE))
    tolerant = Thresholds.from_env({"CRITICAL": "7", "HIGH": "61", "MEDIUM": "62"})
    report = image_report(scan, tolerant)
    assert report.status is ImageStatus.OK  # TOTAL 158 is not a severity


@pytest.mark.parametrize("status", ["FAILED", "failed", "SOMETHING_NEW"])
def test_failed_or_unknown_status_is_scan_failed(status):
    scan = parse_scan_event(variant(ECR_SAMPLE, scan_status=status, finding_severity_counts=None))
    report = image_report(scan, Thresholds())
    assert report.status is ImageStatus.SCAN_FAILED
    assert report.breaches == ()
    assert report.error is not None and report.error.code == status.upper()
    assert report.state is not None and status.upper() in report.state.description


def mutate(name: str, change) -> dict[str, Any]:
    event = copy.deepcopy(load_event(name))
    change(event)
    return event


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "must be a JSON object"),
        ([], "must be a JSON object"),
        ({}, "unsupported event"),
        (mutate(ECR_SAMPLE, lambda e: e.update(source="aws.s3")), "unsupported event"),
        (
            mutate(INSPECTOR_SAMPLE, lambda e: e.update({"detail-type": "Inspector2 Finding"})),
            "unsupported event",
        ),
        (mutate(ECR_SAMPLE, lambda e: e.pop("detail")), "no 'detail' object"),
        (mutate(ECR_SAMPLE, lambda e: e.update(detail="x")), "no 'detail' object"),
        (variant(ECR_SAMPLE, repository_name=None), "repository-name is missing"),
        (variant(ECR_SAMPLE, repository_name=""), "repository-name must be a non-empty string"),
        (variant(ECR_SAMPLE, image_digest=None), "image-digest is missing"),
        (variant(ECR_SAMPLE, scan_status=None), "scan-status is missing"),
        (variant(ECR_SAMPLE, scan_status=3), "scan-status must be a non-empty string"),
        (variant(ECR_SAMPLE, repository_name="arn:aws:s3:::bucket"), "not an ECR repository ARN"),
        (
            variant(ECR_SAMPLE, repository_name="arn:aws:ecr:us-east-1:1:repository/"),
            "not an ECR repository ARN",
        ),
        (variant(ECR_SAMPLE, image_tags="latest"), "image-tags must be a list"),
        (variant(ECR_SAMPLE, image_tags=[1]), "image-tags must be a list"),
        (variant(ECR_SAMPLE, finding_severity_counts=[1]), "must be an object"),
        (variant(ECR_SAMPLE, finding_severity_counts={"HIGH": -1}), "whole number"),
        (variant(ECR_SAMPLE, finding_severity_counts={"HIGH": "3"}), "whole number"),
        (variant(ECR_SAMPLE, finding_severity_counts={"HIGH": True}), "whole number"),
        (mutate(ECR_SAMPLE, lambda e: e.update(time="yesterday")), "not an ISO 8601"),
        (mutate(ECR_SAMPLE, lambda e: e.update(time="2019-10-29T02:36:48")), "no time zone"),
        (mutate(ECR_SAMPLE, lambda e: e.update(account=123)), "'account' must be a string"),
    ],
)
def test_malformed_events_raise_event_error(event, message):
    with pytest.raises(EventError) as info:
        parse_scan_event(event)
    assert isinstance(info.value, ValueError) and not isinstance(info.value, KeyError)
    assert message in str(info.value)


def test_unknown_count_keys_are_dropped():
    scan = parse_scan_event(
        variant(ECR_SAMPLE, finding_severity_counts={"high": 2, "TOTAL": 2, "NOVEL": 4})
    )
    assert scan.counts == {"HIGH": 2}


# -- issue 18: duplicate count keys that differ only in case --------------------------------


@pytest.mark.parametrize(
    "counts",
    [
        {"CRITICAL": 10, "critical": 0},
        {"critical": 0, "CRITICAL": 10},
        {"Critical": 10, "critical": 3},
    ],
)
def test_duplicate_count_keys_differing_in_case_are_malformed(counts):
    with pytest.raises(EventError, match=r"CRITICAL.*more than once"):
        parse_scan_event(variant(ECR_SAMPLE, finding_severity_counts=counts))


def test_one_lower_case_count_key_is_still_read():
    scan = parse_scan_event(variant(ECR_SAMPLE, finding_severity_counts={"critical": 2}))
    assert scan.counts == {"CRITICAL": 2}


# -- issue 18: the account from the repository ARN when the event lacks it ------------------


def test_a_missing_account_is_read_from_the_resources_arn():
    event = load_event(ECR_SAMPLE)
    del event["account"]
    scan = parse_scan_event(event)
    assert (scan.registry_id, scan.region) == ("123456789012", "us-east-1")


def test_a_resources_arn_of_another_repository_is_not_used():
    event = load_event(ECR_SAMPLE)
    del event["account"]
    event["resources"] = ["arn:aws:ecr:us-east-1:999999999999:repository/other"]
    assert parse_scan_event(event).registry_id == ""
