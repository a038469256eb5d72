from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ecrscan.core.ignore import (
    MAX_IGNORE_BYTES,
    IgnoreFileError,
    IgnoreRule,
    apply_ignores,
    load_ignore_file,
    split_expired,
)
from ecrscan.core.model import Finding
from ecrscan.core.severity import Severity

UTC = UTC


def write(tmp_path, text: str):
    path = tmp_path / "ignore.toml"
    path.write_text(text)
    return path


def test_load_every_field(tmp_path):
    path = write(
        tmp_path,
        """
[[ignore]]
id = "CVE-2023-1234"
reason = "not reachable"
until = 2026-12-31
repository = "^team/"

[[ignore]]
id = "arn:aws:inspector2:us-east-1:123456789012:finding/abc"
reason = "  vendor says false positive  "
until = "2027-01-15"

[[ignore]]
id = "CVE-2020-0001"
reason = "accepted"
""",
    )
    first, second, third = load_ignore_file(path)
    assert first.repository is not None and first.repository.pattern == "^team/"
    assert replace(first, repository=None) == IgnoreRule(
        "CVE-2023-1234", "not reachable", date(2026, 12, 31), None, str(path), 1
    )
    assert (second.id, second.reason, second.until, second.repository, second.entry) == (
        "arn:aws:inspector2:us-east-1:123456789012:finding/abc",
        "vendor says false positive",
        date(2027, 1, 15),
        None,
        2,
    )
    assert (third.until, third.repository, third.entry) == (None, None, 3)
    assert str(path) in first.describe() and "entry 1" in first.describe()


def test_empty_file_has_no_rules(tmp_path):
    assert load_ignore_file(write(tmp_path, "")) == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[ignore]]\nid = "CVE-1"\nreason = "x"\nresaon = "y"\n',
            r"entry 1: unknown key 'resaon' \(did you mean 'reason'\?\)",
        ),
        (
            '[[ignore]]\nid = "CVE-1"\nreason = "x"\n[[ignore]]\nid = "CVE-2"\n',
            r"entry 2: 'reason' is required",
        ),
        ('[[ignore]]\nid = "CVE-1"\nreason = "   "\n', r"entry 1: 'reason' must be a non-empty"),
        ('[[ignore]]\nreason = "x"\n', r"entry 1: 'id' is required"),
        ('[[ignore]]\nid = 42\nreason = "x"\n', r"entry 1: 'id' must be a non-empty string"),
        (
            '[[ignore]]\nid = "CVE-1"\nreason = "x"\nuntil = "31/12/2026"\n',
            r"entry 1: 'until' must be a date",
        ),
        (
            '[[ignore]]\nid = "CVE-1"\nreason = "x"\nuntil = "2026-02-30"\n',
            r"entry 1: 'until' '2026-02-30' is not a valid date",
        ),
        (
            '[[ignore]]\nid = "CVE-1"\nreason = "x"\nuntil = "20261231"\n',
            r"entry 1: 'until' must be a date",
        ),
        (
            '[[ignore]]\nid = "CVE-1"\nreason = "x"\nuntil = 2026-12-31T10:00:00Z\n',
            r"entry 1: 'until' must be a date",
        ),
        (
            '[[ignore]]\nid = "CVE-1"\nreason = "x"\nuntil = 20261231\n',
            r"entry 1: 'until' must be a date",
        ),
        (
            '[[ignore]]\nid = "CVE-1"\nreason = "x"\nrepository = "team/("\n',
            r"entry 1: 'repository' 'team/\(' is not a valid regex",
        ),
        ('ignore = "CVE-1"\n', r"'ignore' must be an array of tables"),
        ('ignore = ["CVE-1"]\n', r"entry 1: expected a table"),
        ('[[ignores]]\nid = "CVE-1"\nreason = "x"\n', r"unknown top-level key\(s\) 'ignores'"),
        ('[[ignore]\nid = "CVE-1"\n', r"not valid TOML"),
    ],
)
def test_invalid_files_name_the_file_and_entry(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(IgnoreFileError, match=message) as info:
        load_ignore_file(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(IgnoreFileError, match="cannot read it"):
        load_ignore_file(tmp_path / "nope.toml")


def rule(until: date | None = None, **kwargs) -> IgnoreRule:
    return IgnoreRule(kwargs.pop("id", "CVE-1"), kwargs.pop("reason", "r"), until, **kwargs)


@pytest.mark.parametrize(
    ("until", "now", "active"),
    [
        (None, datetime(2030, 1, 1, tzinfo=UTC), True),
        (date(2026, 11, 26), datetime(2026, 11, 25, 12, 0, tzinfo=UTC), True),
        (date(2026, 11, 26), datetime(2026, 11, 26, 0, 0, tzinfo=UTC), True),
        (date(2026, 11, 26), datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC), True),
        (date(2026, 11, 26), datetime(2026, 11, 26, 23, 59, 59, 999999, tzinfo=UTC), True),
        (date(2026, 11, 26), datetime(2026, 11, 27, 0, 0, 0, tzinfo=UTC), False),
        (date(2026, 11, 26), datetime(2027, 3, 1, tzinfo=UTC), False),
        # The day is a UTC day: 01:00 on the 27th at UTC+2 is still the 26th in UTC ...
        (
            date(2026, 11, 26),
            datetime(2026, 11, 27, 1, 0, tzinfo=timezone(timedelta(hours=2))),
            True,
        ),
        # ... and 20:00 on the 26th at UTC-5 is already the 27th.
        (
            date(2026, 11, 26),
            datetime(2026, 11, 26, 20, 0, tzinfo=timezone(timedelta(hours=-5))),
            False,
        ),
        # A naive time is taken as UTC.
        (date(2026, 11, 26), datetime(2026, 11, 26, 23, 59, 59), True),
        (date(2026, 11, 26), datetime(2026, 11, 27, 0, 0, 0), False),
    ],
)
def test_expiry_boundary(until, now, active):
    r = rule(until)
    assert split_expired([r], now) == (((r,), ()) if active else ((), (r,)))


def test_split_expired_keeps_order():
    rules = [
        rule(date(2026, 1, 1), id="A"),
        rule(None, id="B"),
        rule(date(2027, 1, 1), id="C"),
        rule(date(2025, 1, 1), id="D"),
    ]
    active, expired = split_expired(rules, datetime(2026, 6, 1, tzinfo=UTC))
    assert [r.id for r in active] == ["B", "C"]
    assert [r.id for r in expired] == ["A", "D"]


BASIC = Finding("CVE-2023-1234", Severity.HIGH, package="openssl")
OTHER = Finding("CVE-2024-9999", Severity.CRITICAL)
ENHANCED = Finding("CVE-2024-5555", Severity.MEDIUM, arn="arn:aws:inspector2:r:1:finding/f1")


@pytest.mark.parametrize(
    ("rules", "repository", "expected"),
    [
        ([], "team/api", [None, None, None]),
        (
            [rule(id="CVE-2023-1234", reason="not reachable")],
            "team/api",
            ["not reachable", None, None],
        ),
        # letter case of the id does not matter
        ([rule(id="cve-2023-1234", reason="lower")], "team/api", ["lower", None, None]),
        # an enhanced finding matched by its ARN or by its vulnerability id
        (
            [rule(id="arn:aws:inspector2:r:1:finding/f1", reason="by arn")],
            "x",
            [None, None, "by arn"],
        ),
        ([rule(id="CVE-2024-5555", reason="by id")], "x", [None, None, "by id"]),
        # repository regex: re.search, so it may match anywhere unless anchored
        (
            [rule(id="CVE-2023-1234", reason="team", repository=re.compile("^team/"))],
            "team/api",
            ["team", None, None],
        ),
        (
            [rule(id="CVE-2023-1234", reason="team", repository=re.compile("^team/"))],
            "other/team/api",
            [None, None, None],
        ),
        (
            [rule(id="CVE-2023-1234", reason="api", repository=re.compile("api"))],
            "team/api-v2",
            ["api", None, None],
        ),
        # the first matching rule's reason wins
        (
            [rule(id="CVE-2023-1234", reason="first"), rule(id="CVE-2023-1234", reason="second")],
            "team/api",
            ["first", None, None],
        ),
        (
            [
                rule(id="CVE-2023-1234", reason="scoped", repository=re.compile("^other/")),
                rule(id="CVE-2023-1234", reason="global"),
            ],
            "team/api",
            ["global", None, None],
        ),
        # an empty id matches nothing (not the empty ARN of basic findings)
        ([rule(id="", reason="none")], "team/api", [None, None, None]),
    ],
)
def test_apply_ignores(rules, repository, expected):
    result = apply_ignores([BASIC, OTHER, ENHANCED], repository, rules)
    assert [f.ignored for f in result] == expected
    # everything but `ignored` is unchanged, and nothing is dropped
    assert [f.id for f in result] == [BASIC.id, OTHER.id, ENHANCED.id]
    assert result[0].package == "openssl"


def test_loaded_rules_apply_after_expiry_split(tmp_path):
    path = write(
        tmp_path,
        """
[[ignore]]
id = "CVE-2023-1234"
reason = "expired"
until = 2026-11-25

[[ignore]]
id = "CVE-2023-1234"
reason = "still valid"
until = 2026-11-26
""",
    )
    active, expired = split_expired(load_ignore_file(path), datetime(2026, 11, 26, 18, tzinfo=UTC))
    assert [r.reason for r in expired] == ["expired"]
    assert apply_ignores([BASIC], "team/api", active)[0].ignored == "still valid"


# Hostile ignore files: a bounded read (MAX_IGNORE_BYTES) and a bounded nesting depth
# (MAX_IGNORE_DEPTH), each an IgnoreFileError naming the file, never a RecursionError or
# MemoryError.


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 100_000,  # an array nested 100,000 deep (unclosed)
        "a = " + "[" * 5_000 + "]" * 5_000,  # closed: valid TOML, still too deep
        "a = " + "{b = " * 5_000 + "}" * 5_000,  # inline tables
    ],
    ids=["open-arrays", "closed-arrays", "inline-tables"],
)
def test_deep_nesting_is_an_ignore_file_error(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_text(text)
    with pytest.raises(IgnoreFileError, match=f"{re.escape(str(path))}: nested deeper than"):
        load_ignore_file(path)


def test_brackets_in_strings_and_comments_do_not_count(tmp_path):
    path = tmp_path / "ignore.toml"
    brackets = "[" * 100
    path.write_text(
        f'# {brackets}\n[[ignore]]\nid = "CVE-1"\nreason = "{brackets}"\n'
        f"repository = '^team/'  # {brackets}\n"
    )
    assert [rule.reason for rule in load_ignore_file(path)] == [brackets]


def test_a_file_over_the_size_bound_is_an_ignore_file_error(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(b"# padding\n" * (MAX_IGNORE_BYTES // 10 + 1))
    assert path.stat().st_size > MAX_IGNORE_BYTES
    with pytest.raises(IgnoreFileError, match="larger than 1 MiB"):
        load_ignore_file(path)


def test_a_file_at_the_size_bound_is_read(tmp_path):
    path = tmp_path / "padded.toml"
    rule = b'[[ignore]]\nid = "CVE-1"\nreason = "r"\n'
    path.write_bytes(rule + b"#" * (MAX_IGNORE_BYTES - len(rule)))
    assert [r.id for r in load_ignore_file(path)] == ["CVE-1"]


def test_an_endless_stream_is_read_only_up_to_the_bound(tmp_path):
    """A FIFO fed without end stands in for /dev/zero."""
    from tests.support.streams import endless_fifo

    with (
        endless_fifo(tmp_path / "zero") as (path, written),
        pytest.raises(IgnoreFileError, match="larger than 1 MiB"),
    ):
        load_ignore_file(path)
    assert written() > MAX_IGNORE_BYTES
