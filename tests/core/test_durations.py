"""The duration grammar: one or more <integer><unit> groups, units m/w/d/h."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dateutil.relativedelta import relativedelta

from ecrscan.core.durations import (
    DEFAULT_EXPIRY,
    Duration,
    DurationError,
    describe_duration,
    parse_duration,
    parse_timeout,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", relativedelta(days=7)),
        ("14d", relativedelta(days=14)),
        ("1m2w", relativedelta(months=1, weeks=2)),
        ("36h", relativedelta(hours=36)),
        ("1m2w3d4h", relativedelta(months=1, weeks=2, days=3, hours=4)),
        ("1h", relativedelta(hours=1)),
        ("2w7d", relativedelta(days=21)),
        ("4h1d", relativedelta(days=1, hours=4)),  # any order
        ("0d12h", relativedelta(hours=12)),  # a zero group is allowed when the total is not
        ("007d", relativedelta(days=7)),
        (" 7d ", relativedelta(days=7)),  # surrounding whitespace (env vars) is ignored
        ("1200m", relativedelta(months=1200)),  # 100 years: the largest accepted span
    ],
)
def test_valid(text: str, expected: relativedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty duration"),
        ("   ", "empty duration"),
        ("7", "has no unit"),
        ("d", "expected <integer><unit>"),
        ("7x", "unknown unit 'x'"),
        ("7D", "units are lowercase"),
        ("1d1d", "unit 'd' given twice"),
        ("1m 2w", "at ' 2w'"),
        ("-1d", "at '-1d'"),
        ("+1d", "at '+1d'"),
        ("0d", "greater than zero"),
        ("0m0w0d0h", "greater than zero"),
        ("1.5d", "has no unit"),
        ("7dd", "unknown unit 'dd'"),
        ("30s", "seconds are too short here"),
        ("7 d", "has no unit"),
        ("1y", "unknown unit 'y'"),
        ("\u0667d", "expected <integer><unit>"),  # ARABIC-INDIC DIGIT SEVEN is not a digit here
        ("100000m", "longer than 100 years"),
        ("1201m", "longer than 100 years"),
        ("5300w", "longer than 100 years"),
        ("36526d", "longer than 100 years"),
        ("1200m1d", "longer than 100 years"),
        ("99999999d", "too large"),
        ("9" * 5000 + "d", "too large"),  # no int() of a 5000-digit number
    ],
)
def test_invalid(text: str, message: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert message in str(info.value)


def test_error_is_a_value_error_naming_the_units() -> None:
    for text in ("7 days", "7x", "week"):
        with pytest.raises(ValueError) as info:
            parse_duration(text)
        for word in ("months", "weeks", "days", "hours"):
            assert word in str(info.value), (text, str(info.value))


@pytest.mark.parametrize(
    ("now", "text", "cutoff"),
    [
        # months are calendar months: the day is clipped to the shorter month
        (datetime(2026, 3, 31, 12, tzinfo=UTC), "1m", datetime(2026, 2, 28, 12, tzinfo=UTC)),
        (datetime(2024, 3, 31, 12, tzinfo=UTC), "1m", datetime(2024, 2, 29, 12, tzinfo=UTC)),
        (datetime(2026, 5, 15, tzinfo=UTC), "1m", datetime(2026, 4, 15, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), "1m2w", datetime(2026, 2, 14, tzinfo=UTC)),
        (datetime(2026, 1, 10, tzinfo=UTC), "36h", datetime(2026, 1, 8, 12, tzinfo=UTC)),
        (datetime(2026, 1, 10, tzinfo=UTC), "1m2w3d4h", datetime(2025, 11, 22, 20, tzinfo=UTC)),
    ],
)
def test_cutoff_uses_calendar_months(now: datetime, text: str, cutoff: datetime) -> None:
    assert now - parse_duration(text) == cutoff


def test_longest_duration_still_gives_a_valid_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for text in ("1200m", "5200w", "36525d", "876600h"):
        assert (now - parse_duration(text)).year >= 1925


# -- one grammar: mo for months, min for minutes --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1mo", relativedelta(months=1)),
        ("1mo2w", relativedelta(months=1, weeks=2)),
        ("1m2w", relativedelta(months=1, weeks=2)),  # m: months, where months make sense
        ("90min", relativedelta(minutes=90)),
        ("1d12h30min", relativedelta(days=1, hours=12, minutes=30)),
    ],
)
def test_months_and_minutes(text: str, expected: relativedelta) -> None:
    assert parse_duration(text) == expected


def test_m_and_mo_are_one_unit() -> None:
    with pytest.raises(DurationError, match="given twice"):
        parse_duration("1m1mo")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("10min", 600.0),
        ("1h", 3600.0),
        ("1h30min", 5400.0),
        ("45", 45.0),
        ("0", 0.0),
        ("2min30s", 150.0),
        (" 24h ", 86400.0),
    ],
)
def test_timeouts(text: str, seconds: float) -> None:
    assert parse_timeout(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30m", "'m' means months in ecrscan durations; write min for minutes (e.g. 30min)"),
        ("1mo", "too long for a timeout"),
        ("1d", "too long for a timeout"),
        ("25h", "at most 24h"),
        ("10MIN", "units are lowercase"),
        ("", "empty timeout"),
        ("٣", "expected <integer><unit>"),
    ],
)
def test_invalid_timeouts(text: str, message: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_timeout(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("7d", "7 days"),
        ("1m2w", "1 month, 2 weeks"),
        ("1mo", "1 month"),
        ("36h", "36 hours"),
        ("90min", "90 minutes"),
        ("1h30min", "1 hour, 30 minutes"),
        ("45", "45 seconds"),
    ],
)
def test_describe_says_how_a_value_was_understood(text: str, words: str) -> None:
    assert describe_duration(text) == words


# -- Duration: parsed once, the user's text kept -------------------------------------------


@pytest.mark.parametrize("text", ["7d", "1mo2w", "36h", " 2w "])
def test_a_duration_keeps_the_users_text_and_parses_it_once(text: str) -> None:
    duration = Duration.parse(text)
    assert (duration.delta, duration.text) == (parse_duration(text), text)


@pytest.mark.parametrize("text", ["", "7", "7x", "0d", "1d1d", "30s"])
def test_a_duration_refuses_what_parse_duration_refuses_with_its_words(text: str) -> None:
    with pytest.raises(DurationError) as expected:
        parse_duration(text)
    with pytest.raises(DurationError) as refused:
        Duration.parse(text)
    assert str(refused.value) == str(expected.value)


def test_the_default_expiry_is_seven_days() -> None:
    assert (DEFAULT_EXPIRY.text, DEFAULT_EXPIRY.delta) == ("7d", relativedelta(days=7))
