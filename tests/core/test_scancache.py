"""What a remembered scan date can vouch for (pure rules, ``now`` passed in)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta

from ecrscan.core.artifacts import Kind
from ecrscan.core.model import Decision, Image, ImageResult, ScanState, Verdict
from ecrscan.core.scancache import (
    SAFETY_MARGIN,
    SOURCE,
    CachedScan,
    CacheUnreadable,
    dump,
    entry_of,
    load,
    partition_of,
    prune,
    store_header,
    vouch,
)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
PUSHED = NOW - timedelta(days=60)
WEEK = relativedelta(days=7)
IMAGE = Image("api", "123456789012", "sha256:" + "a" * 64, ("v1",), pushed_at=PUSHED)
HEADER = store_header("aws", "123456789012", "us-east-1", "")


def scanned(age: timedelta) -> CachedScan:
    return CachedScan(NOW - age, PUSHED)


def test_a_scan_fresh_for_more_than_the_margin_is_vouched_for_as_completed() -> None:
    state = vouch(scanned(timedelta(days=2)), IMAGE, NOW, WEEK)
    assert state == ScanState("COMPLETE", NOW - timedelta(days=2), source=SOURCE)


@pytest.mark.parametrize(
    "age",
    [
        timedelta(days=7) - SAFETY_MARGIN,  # due within the margin
        timedelta(days=6, hours=23, minutes=30),
        timedelta(days=8),  # due
        timedelta(hours=-1),  # from the future
    ],
)
def test_a_scan_near_due_due_or_in_the_future_is_read(age: timedelta) -> None:
    assert vouch(scanned(age), IMAGE, NOW, WEEK) is None


def test_a_shorter_expiry_vouches_for_less() -> None:
    entry = scanned(timedelta(days=2, hours=1))
    assert vouch(entry, IMAGE, NOW, WEEK) is not None
    assert vouch(entry, IMAGE, NOW, relativedelta(days=2, hours=1, minutes=30)) is None


def test_an_image_pushed_again_after_its_scan_is_read() -> None:
    entry = scanned(timedelta(days=2))
    again = dataclasses.replace(IMAGE, pushed_at=NOW - timedelta(days=1))
    assert vouch(entry, again, NOW, WEEK) is None
    moved = dataclasses.replace(IMAGE, pushed_at=PUSHED - timedelta(seconds=1))
    assert vouch(entry, moved, NOW, WEEK) is None  # another push time: not the same push


@pytest.mark.parametrize(
    "image",
    [
        dataclasses.replace(IMAGE, pushed_at=None),
        dataclasses.replace(IMAGE, image_status="ARCHIVED"),
        dataclasses.replace(IMAGE, kind=Kind.SIGNATURE),
        dataclasses.replace(IMAGE, summary=ScanState("COMPLETE", NOW, source="describe_images")),
    ],
)
def test_images_the_cache_cannot_speak_for_are_read(image: Image) -> None:
    assert vouch(scanned(timedelta(days=1)), image, NOW, WEEK) is None


def test_only_completed_scans_read_from_aws_are_remembered() -> None:
    fresh = Verdict(Decision.FRESH, "scanned within expiry")
    done = ImageResult(IMAGE, ScanState("COMPLETE", NOW - timedelta(days=1)), fresh)
    assert entry_of(done) == CachedScan(NOW - timedelta(days=1), PUSHED)
    for state in (
        ScanState("IN_PROGRESS", None),
        ScanState("FAILED", NOW),
        ScanState("COMPLETE", None),
        ScanState(None),
        ScanState("COMPLETE", NOW, source=SOURCE),  # vouched: nothing new
        ScanState("COMPLETE", PUSHED - timedelta(days=1)),  # before the push
    ):
        assert entry_of(dataclasses.replace(done, state=state)) is None


def test_a_document_round_trips_and_is_checked_against_its_store() -> None:
    entries = {"api@sha256:1": scanned(timedelta(days=1))}
    text = dump(HEADER, entries)
    assert load(text, HEADER) == entries
    with pytest.raises(CacheUnreadable, match="another region"):
        load(text, store_header("aws", "123456789012", "eu-west-1", ""))
    with pytest.raises(CacheUnreadable, match="another endpoint"):
        load(text, store_header("aws", "123456789012", "us-east-1", "http://localhost:5000"))


@pytest.mark.parametrize(
    "text",
    ["", "{", "[]", '{"version": 2}', dump(HEADER, {}).replace('"entries":{}', '"entries":[1]')],
)
def test_a_corrupt_document_is_unreadable(text: str) -> None:
    with pytest.raises(CacheUnreadable):
        load(text, HEADER)


def test_naive_dates_are_corrupt() -> None:
    text = dump(HEADER, {"a@b": scanned(timedelta(days=1))}).replace("+00:00", "")
    with pytest.raises(CacheUnreadable):
        load(text, HEADER)


def test_old_entries_are_pruned() -> None:
    kept = {"a@1": scanned(timedelta(days=30)), "a@2": scanned(timedelta(days=500))}
    assert list(prune(kept, NOW)) == ["a@1"]


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_partitions(region: str, partition: str) -> None:
    assert partition_of(region) == partition
