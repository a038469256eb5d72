"""Pure rules: a decision for every ScanStatus botocore knows, and repository filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import botocore.session
import pytest
from dateutil.relativedelta import relativedelta

from ecrscan.core.model import Decision, Image, ScanState, ScanType, Verdict
from ecrscan.core.policy import (
    STATUS_RULES,
    FilterError,
    RepositoryFilter,
    apply_scan_type,
    decide,
)

NOW = datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)
EXPIRY = relativedelta(days=7)
CUTOFF = datetime(2026, 3, 3, 12, 0, 0, tzinfo=UTC)
IMAGE = Image(repository="team/api", registry_id="123456789012", digest="sha256:" + "a" * 64)

# What each status means for a rescan.  COMPLETE depends on the age (tested separately);
# here it is "scanned just now".  A ScanStatus that AWS adds to botocore's model makes
# test_every_botocore_status_has_a_decision fail until it is handled in policy and here.
EXPECTED = {
    "COMPLETE": Decision.FRESH,
    "FAILED": Decision.DUE,
    "LIMIT_EXCEEDED": Decision.DUE,
    "IN_PROGRESS": Decision.IN_PROGRESS,
    "PENDING": Decision.IN_PROGRESS,
    "UNSUPPORTED_IMAGE": Decision.SKIPPED,
    "IMAGE_SIZE_EXCEEDED": Decision.SKIPPED,  # named by the issue; not in every botocore
    "IMAGE_ARCHIVED": Decision.SKIPPED,
    "ACTIVE": Decision.NOT_RESCANNABLE,
    "SCAN_ELIGIBILITY_EXPIRED": Decision.NOT_RESCANNABLE,
    "FINDINGS_UNAVAILABLE": Decision.NOT_RESCANNABLE,
}


def botocore_enum(shape: str) -> list[str]:
    model = botocore.session.get_session().get_service_model("ecr")
    return list(model.shape_for(shape).enum)


BOTOCORE_STATUSES = botocore_enum("ScanStatus")


def state(status: str | None, completed_at: datetime | None = NOW) -> ScanState:
    return ScanState(status=status, completed_at=completed_at if status else None)


def test_botocore_model_is_loaded() -> None:
    # Guards the parametrization below against an empty enum silently testing nothing.
    assert {"COMPLETE", "FAILED", "IN_PROGRESS", "ACTIVE"} <= set(BOTOCORE_STATUSES)


@pytest.mark.parametrize("status", BOTOCORE_STATUSES)
def test_every_botocore_status_has_a_decision(status: str) -> None:
    assert status in EXPECTED, f"new ScanStatus {status!r}: decide what a rescan does with it"
    assert status in STATUS_RULES, f"policy.STATUS_RULES has no rule for {status!r}"
    verdict = decide(IMAGE, state(status), NOW, EXPIRY)
    assert verdict.decision is EXPECTED[status]
    assert verdict.reason
    assert not verdict.reason.startswith("unknown")


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_every_known_status_is_decided(status: str) -> None:
    """Also the statuses an older botocore's model lacks (AWS may send them)."""
    assert decide(IMAGE, state(status), NOW, EXPIRY).decision is EXPECTED[status]


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("FAILED", "last scan failed"),
        ("IN_PROGRESS", "scan in progress"),
        ("PENDING", "scan pending"),
        ("UNSUPPORTED_IMAGE", "not supported"),
        ("IMAGE_ARCHIVED", "archived"),
        ("SCAN_ELIGIBILITY_EXPIRED", "eligibility expired"),
        ("ACTIVE", "enhanced scanning"),
    ],
)
def test_reasons_say_why(status: str, reason: str) -> None:
    assert reason in decide(IMAGE, state(status), NOW, EXPIRY).reason


def test_status_is_case_insensitive() -> None:
    assert decide(IMAGE, state("failed"), NOW, EXPIRY).decision is Decision.DUE


def test_never_scanned_is_due() -> None:
    verdict = decide(IMAGE, ScanState(status=None), NOW, EXPIRY)
    assert verdict == Verdict(Decision.DUE, "never scanned")


@pytest.mark.parametrize(
    ("completed_at", "decision"),
    [
        (CUTOFF - timedelta(seconds=1), Decision.DUE),
        (CUTOFF, Decision.FRESH),  # exactly at now - expiry: not older, so fresh
        (CUTOFF + timedelta(seconds=1), Decision.FRESH),
        (CUTOFF - timedelta(days=400), Decision.DUE),
        (NOW, Decision.FRESH),
        (NOW + timedelta(minutes=5), Decision.FRESH),  # clock skew: AWS ahead of us
    ],
)
def test_complete_boundaries(completed_at: datetime, decision: Decision) -> None:
    assert NOW - EXPIRY == CUTOFF
    assert decide(IMAGE, state("COMPLETE", completed_at), NOW, EXPIRY).decision is decision


def test_due_reason_gives_the_age() -> None:
    verdict = decide(IMAGE, state("COMPLETE", NOW - timedelta(days=9, hours=1)), NOW, EXPIRY)
    assert verdict == Verdict(Decision.DUE, "last scan older than expiry (9d ago)")
    short = decide(IMAGE, state("COMPLETE", NOW - timedelta(hours=5)), NOW, relativedelta(hours=4))
    assert short == Verdict(Decision.DUE, "last scan older than expiry (5h ago)")


def test_boundary_compares_instants_across_time_zones() -> None:
    plus2 = timezone(timedelta(hours=2))
    just_fresh = (CUTOFF + timedelta(seconds=1)).astimezone(plus2)
    just_due = (CUTOFF - timedelta(seconds=1)).astimezone(plus2)
    assert decide(IMAGE, state("COMPLETE", just_fresh), NOW, EXPIRY).decision is Decision.FRESH
    assert decide(IMAGE, state("COMPLETE", just_due), NOW, EXPIRY).decision is Decision.DUE


def test_calendar_month_expiry() -> None:
    now = datetime(2026, 3, 31, 9, tzinfo=UTC)  # 1m before is 2026-02-28 09:00
    month = relativedelta(months=1)
    at = datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert decide(IMAGE, state("COMPLETE", at), now, month).decision is Decision.FRESH
    earlier = at - timedelta(seconds=1)
    assert decide(IMAGE, state("COMPLETE", earlier), now, month).decision is Decision.DUE


def test_complete_without_a_date_is_due() -> None:
    verdict = decide(IMAGE, state("COMPLETE", None), NOW, EXPIRY)
    assert verdict.decision is Decision.DUE
    assert "date is unknown" in verdict.reason


@pytest.mark.parametrize("image_status", botocore_enum("ImageStatus"))
def test_image_status(image_status: str) -> None:
    image = Image(IMAGE.repository, IMAGE.registry_id, IMAGE.digest, image_status=image_status)
    for scan in (ScanState(status=None), state("FAILED"), state("COMPLETE", CUTOFF - timedelta(1))):
        verdict = decide(image, scan, NOW, EXPIRY)
        if image_status == "ARCHIVED":
            assert verdict == Verdict(Decision.SKIPPED, "image is archived")
        else:
            assert verdict.decision is Decision.DUE


def test_archived_wins_over_every_scan_state() -> None:
    image = Image(IMAGE.repository, IMAGE.registry_id, IMAGE.digest, image_status="archived")
    assert decide(image, state("IN_PROGRESS"), NOW, EXPIRY).decision is Decision.SKIPPED


def test_unknown_status_is_skipped_and_named() -> None:
    verdict = decide(IMAGE, state("BRAND_NEW_STATUS"), NOW, EXPIRY)
    assert verdict == Verdict(Decision.SKIPPED, "unknown scan status 'BRAND_NEW_STATUS'")


def test_decide_is_pure() -> None:
    scan = state("COMPLETE", CUTOFF - timedelta(days=1))
    assert decide(IMAGE, scan, NOW, EXPIRY) == decide(IMAGE, scan, NOW, EXPIRY)
    later = NOW + timedelta(days=30)
    assert decide(IMAGE, state("COMPLETE", NOW), later, EXPIRY).decision is Decision.DUE


# -- scan type ----------------------------------------------------------------------


def test_enhanced_registry_makes_due_images_not_rescannable() -> None:
    due = Verdict(Decision.DUE, "never scanned")
    verdict = apply_scan_type(due, ScanType.ENHANCED)
    assert verdict.decision is Decision.NOT_RESCANNABLE
    assert verdict.reason.startswith("never scanned; ")
    assert "enhanced scanning" in verdict.reason
    assert apply_scan_type(due, ScanType.BASIC) is due


@pytest.mark.parametrize("decision", [d for d in Decision if d is not Decision.DUE])
def test_enhanced_leaves_other_decisions_alone(decision: Decision) -> None:
    verdict = Verdict(decision, "why")
    assert apply_scan_type(verdict, ScanType.ENHANCED) is verdict


# -- repository filters -------------------------------------------------------------

NAMES = ["app", "my-app-api", "team/app", "web", "team/web-app", "apple", "APP"]


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        (None, (), NAMES),
        ("app", (), ["app", "my-app-api", "team/app", "team/web-app", "apple"]),  # search
        ("^app$", (), ["app"]),  # anchored: exact name
        ("^app", (), ["app", "apple"]),
        ("app$", (), ["app", "team/app", "team/web-app"]),
        ("^team/", (), ["team/app", "team/web-app"]),
        ("(?i)^app$", (), ["app", "APP"]),  # case-sensitive unless asked
        ("app", ("^team/",), ["app", "my-app-api", "apple"]),
        ("app", ("^team/", "le$"), ["app", "my-app-api"]),
        (None, ("app",), ["web", "APP"]),
        (None, ("",), NAMES),  # an empty exclude excludes nothing
        ("", (), NAMES),  # an empty filter keeps everything
        ("nothing-matches", (), []),
    ],
)
def test_filter(include: str | None, exclude: tuple[str, ...], expected: list[str]) -> None:
    repo_filter = RepositoryFilter.compile(include, exclude)
    assert [n for n in NAMES if repo_filter.matches(n)] == expected


@pytest.mark.parametrize(
    ("include", "exclude", "message"),
    [
        ("(", (), "invalid repository filter regular expression '('"),
        ("app[", (), "invalid repository filter regular expression 'app['"),
        (None, ("ok", "*bad"), "invalid repository exclusion regular expression '*bad'"),
    ],
)
def test_invalid_regex(include: str | None, exclude: tuple[str, ...], message: str) -> None:
    with pytest.raises(FilterError) as info:
        RepositoryFilter.compile(include, exclude)
    assert message in str(info.value)
    assert "--" not in str(info.value)  # the core names no option: the Lambda logs it too
    setting = "include" if include else "exclude"
    assert info.value.setting == setting
    neutral = FilterError.WORDS[setting]
    assert info.value.naming("--x") == str(info.value).replace(neutral, "--x", 1)


# -- user patterns run on RE2: linear time, no backreferences or lookaround ----------------


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|aa)+$", r"(.*a){12}$", r"^(\w+\s?)*$"])
def test_catastrophic_patterns_run_in_linear_time(pattern: str) -> None:
    import time

    name = "a" * 32 + "!"
    repo_filter = RepositoryFilter.compile(pattern)
    started = time.perf_counter()
    for _ in range(100):
        repo_filter.matches(name)
    assert time.perf_counter() - started < 1.0  # Python's re: minutes for one call


@pytest.mark.parametrize(
    ("setting", "pattern"),
    [("include", r"(a)\1"), ("exclude", "(?=a)b"), ("exclude", "(?<!a)b")],
)
def test_unsupported_syntax_names_the_pattern(setting: str, pattern: str) -> None:
    include, exclude = (pattern, ()) if setting == "include" else (None, (pattern,))
    with pytest.raises(FilterError) as info:
        RepositoryFilter.compile(include, exclude)
    message = str(info.value)
    assert FilterError.WORDS[setting] in message and repr(pattern) in message
    assert "backreferences or lookaround" in message


def test_patterns_keep_search_semantics() -> None:
    repo_filter = RepositoryFilter.compile("app", ("legacy$",))
    assert repo_filter.matches("team/my-app-api")
    assert not repo_filter.matches("team/app-legacy")
    assert not repo_filter.matches("team/web")
