"""Property tests of the pure parsers: whatever text (or parsed document) they are given,
they return a value or raise their own error type, never anything else."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrscan.core.durations import DurationError, parse_duration, parse_timeout
from ecrscan.core.events import EventError, parse_scan_event
from ecrscan.core.ignore import IgnoreFileError, IgnoreRule, parse_ignore_document
from ecrscan.core.imageref import ImageRef, ImageRefError, parse_image_ref
from ecrscan.core.jobs import Job, JobError, parse_job
from ecrscan.core.patterns import PatternError, compile_pattern
from ecrscan.core.targets import check_endpoint_url
from ecrscan.core.thresholds import ThresholdError, Thresholds, parse_limit

# Text that looks like what the parsers expect as often as like noise.
NEAR_DURATION = st.from_regex(r"\A[0-9٣１]{0,9}[mwdhsMx]?([0-9]{0,3}[mwdhs]){0,3}\Z")
NEAR_REF = st.from_regex(
    r"\A([0-9]{12}\.dkr\.ecr\.[a-z]{2}-[a-z]+-[0-9]\.amazonaws\.com/)?[a-z0-9._/-]{0,20}"
    r"(:[A-Za-z0-9_.\n-]{0,10})?(@sha256:[0-9a-f]{0,64})?\Z"
)
ANY_TEXT = st.text(max_size=80)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
TOML_VALUE = st.recursive(
    st.booleans() | st.integers() | st.text(max_size=20) | st.dates() | st.datetimes(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
IGNORE_KEYS = st.sampled_from(["id", "reason", "until", "repository", "other"])
IGNORE_ENTRY = st.dictionaries(
    IGNORE_KEYS, st.text(max_size=20) | st.dates() | st.integers() | TOML_VALUE, max_size=5
)


@given(NEAR_DURATION | ANY_TEXT)
def test_durations_parse_or_raise_their_own_error(text: str) -> None:
    try:
        delta = parse_duration(text)
    except DurationError:
        return
    assert isinstance(delta, relativedelta)
    assert datetime(2026, 1, 1, tzinfo=UTC) - delta < datetime(2026, 1, 1, tzinfo=UTC)


@given(NEAR_DURATION | ANY_TEXT)
def test_timeouts_parse_or_raise_their_own_error(text: str) -> None:
    try:
        seconds = parse_timeout(text)
    except DurationError:
        return
    assert 0 <= seconds <= 24 * 3600
    assert text.strip().isascii()  # only ASCII digits are numbers


@given(NEAR_REF | ANY_TEXT)
def test_image_references_parse_or_raise_their_own_error(text: str) -> None:
    try:
        ref = parse_image_ref(text)
    except ImageRefError:
        return
    assert isinstance(ref, ImageRef)
    assert ref.tag or ref.digest
    assert ref.repository.isprintable() and "\n" not in ref.repository
    assert ref.tag is None or ref.tag.isprintable()


@given(st.from_regex(r"\A-?[0-9١１_ ]{0,12}\Z") | ANY_TEXT)
def test_threshold_limits_parse_or_raise_their_own_error(text: str) -> None:
    try:
        limit = parse_limit(text)
    except ThresholdError:
        return
    assert limit is None or (isinstance(limit, int) and limit >= 0)


@given(st.lists(st.text(max_size=20), max_size=4))
def test_threshold_specs_parse_or_raise_their_own_error(specs: list[str]) -> None:
    try:
        thresholds = Thresholds().with_overrides(specs)
    except ThresholdError:
        return
    assert isinstance(thresholds, Thresholds)


@given(
    st.dictionaries(
        st.sampled_from(["ignore", "other"]),
        st.lists(IGNORE_ENTRY, max_size=3) | TOML_VALUE,
        max_size=2,
    )
)
@settings(max_examples=200)
def test_ignore_documents_parse_or_raise_their_own_error(document: dict) -> None:
    try:
        rules = parse_ignore_document(document, "ignore.toml")
    except IgnoreFileError:
        return
    assert all(isinstance(rule, IgnoreRule) and rule.id and rule.reason for rule in rules)
    assert all(rule.until is None or type(rule.until) is date for rule in rules)


@given(ANY_TEXT)
def test_patterns_compile_or_raise_their_own_error(text: str) -> None:
    try:
        pattern = compile_pattern(text)
    except PatternError:
        return
    pattern.search("team/api")


@given(JSON)
def test_scan_events_parse_or_raise_their_own_error(event: object) -> None:
    try:
        parse_scan_event(event)
    except EventError:
        return


@given(JSON.map(json.dumps) | ANY_TEXT)
def test_jobs_parse_or_raise_their_own_error(body: str) -> None:
    try:
        job = parse_job(body)
    except JobError:
        return
    assert isinstance(job, Job) and job.repository_name


@given(ANY_TEXT)
def test_endpoint_checks_never_raise(url: str) -> None:
    assert isinstance(check_endpoint_url(url), str)
