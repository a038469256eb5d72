"""Amazon Inspector's bulk records (pure): resource ids, the severity split, the scan
state they settle, and how the selected repositories are asked for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrscan.core.inspector import (
    FILTER_VALUES,
    REASON_STATUS,
    SOURCE,
    CoveredImage,
    ImageCounts,
    build_index,
    filter_batches,
    parse_resource_id,
    severity_counts,
    state_of,
)

ACCOUNT = "123456789012"
DIGEST = "sha256:" + "a" * 64
WHEN = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def covered(reason: str = "SUCCESSFUL", code: str = "ACTIVE", **kw) -> CoveredImage:
    return CoveredImage(ACCOUNT, "team/api", DIGEST, code, reason, kw.pop("at", WHEN), **kw)


def counts(total: int | None, **levels: int) -> ImageCounts:
    return ImageCounts(
        ACCOUNT, "team/api", DIGEST, {k.upper(): v for k, v in levels.items()}, total
    )


def test_resource_ids() -> None:
    arn = f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/team/api/{DIGEST}"
    assert parse_resource_id(arn) == ("team/api", DIGEST)
    assert parse_resource_id(f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/api") is None
    assert parse_resource_id(f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{DIGEST}") is None
    assert parse_resource_id("i-0123456789abcdef0") is None


NAME = st.from_regex(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*){0,3}", fullmatch=True
)


@pytest.mark.slow
@given(NAME, st.text("0123456789abcdef", min_size=64, max_size=64))
def test_every_image_arn_parses_back(name: str, hexdigest: str) -> None:
    arn = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/{name}/sha256:{hexdigest}"
    assert parse_resource_id(arn) == (name, f"sha256:{hexdigest}")


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (None, {}),  # not in the aggregation: no finding
        (
            counts(5, critical=1, high=2, medium=0, low=2, informational=0, untriaged=0),
            {"CRITICAL": 1, "HIGH": 2, "LOW": 2},
        ),
        (counts(3, critical=1, high=2, medium=0), {"CRITICAL": 1, "HIGH": 2}),  # rest = 0
        (counts(4, critical=1, high=2, medium=0), None),  # LOW/INFO/UNTRIAGED: 1, unsplit
        (counts(None, critical=1, high=0, medium=0), None),  # no total: cannot tell
        (counts(0, critical=0, high=0, medium=0, low=0, informational=0, untriaged=0), {}),
    ],
)
def test_the_severity_split(record: ImageCounts | None, expected: dict[str, int] | None) -> None:
    assert severity_counts(record) == expected


def test_a_successful_scan_is_settled_with_its_counts() -> None:
    state = state_of(
        covered(), counts(2, critical=0, high=2, medium=0, low=0, informational=0, untriaged=0)
    )
    assert state is not None
    assert (state.status, state.completed_at, state.counts, state.source) == (
        "ACTIVE",
        WHEN,
        {"HIGH": 2},
        SOURCE,
    )


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("PENDING_INITIAL_SCAN", "PENDING"),
        ("SCAN_IN_PROGRESS", "IN_PROGRESS"),
        ("SCAN_ELIGIBILITY_EXPIRED", "SCAN_ELIGIBILITY_EXPIRED"),
        ("UNSUPPORTED_OS", "UNSUPPORTED_IMAGE"),
    ],
)
def test_other_reasons_map_to_what_ecr_says(reason: str, status: str) -> None:
    state = state_of(covered(reason, "INACTIVE"), None)
    assert state is not None and state.status == status and state.counts == {}


@pytest.mark.parametrize(
    "image",
    [
        covered("INTERNAL_ERROR", "INACTIVE"),  # no ECR equivalent
        covered("ACCESS_DENIED", "INACTIVE"),
        covered("SUCCESSFUL", "INACTIVE"),  # contradictory
        covered("SUCCESSFUL", at=None),  # no scan date
    ],
)
def test_what_the_records_do_not_settle_is_read_per_image(image: CoveredImage) -> None:
    assert state_of(image, None) is None


def test_every_mapped_reason_is_an_inspector_reason() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("inspector2")
    assert set(REASON_STATUS) <= set(model.shape_for("ScanStatusReason").enum)


def test_the_index_joins_coverage_and_counts() -> None:
    other = CoveredImage(ACCOUNT, "team/web", DIGEST, "INACTIVE", "INTERNAL_ERROR", WHEN)
    index = build_index([covered(), other], [counts(1, critical=1, high=0, medium=0)])
    assert index.unsettled == 1
    state = index.get(ACCOUNT, "team/api", DIGEST)
    assert state is not None and state.counts == {"CRITICAL": 1}
    assert index.get(ACCOUNT, "team/web", DIGEST) is None
    assert index.get("210987654321", "team/api", DIGEST) is None  # another account


def test_filter_batches() -> None:
    names = [f"repo{i}" for i in range(23)]
    assert filter_batches(names, whole_registry=True) == [None]
    batches = filter_batches(names, whole_registry=False)
    assert [len(b or ()) for b in batches] == [FILTER_VALUES, FILTER_VALUES, 3]
    assert filter_batches([], whole_registry=True) == []
    assert filter_batches(["a", "a", "b"], whole_registry=False) == [("a", "b")]
