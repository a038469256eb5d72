"""From a repository's manifests to the images to judge (ecrscan.core.manifests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ecrscan.core.artifacts import IndexEntry, Kind
from ecrscan.core.manifests import artifact_counts, indexes_of, resolve
from ecrscan.core.model import Image
from ecrscan.core.problem import Problem

NOW = datetime(2026, 12, 1, tzinfo=UTC)
REPO = "team/api"


def d(n: int) -> str:
    return f"sha256:{n:064x}"


def image(n: int, *tags: str, kind: Kind = Kind.IMAGE, age_days: int = 0) -> Image:
    return Image(REPO, "123456789012", d(n), tags, NOW - timedelta(days=age_days), kind=kind)


def buildx(index: int, amd: int, arm: int, att1: int, att2: int) -> tuple[IndexEntry, ...]:
    return (
        IndexEntry(d(amd), "linux/amd64", Kind.IMAGE),
        IndexEntry(d(arm), "linux/arm64", Kind.IMAGE),
        IndexEntry(d(att1), "unknown/unknown", Kind.ATTESTATION, d(amd)),
        IndexEntry(d(att2), "unknown/unknown", Kind.ATTESTATION, d(arm)),
    )


def test_a_buildx_tag_becomes_its_two_platform_images_under_its_tag():
    images = [image(1, "v1", kind=Kind.INDEX), image(2), image(3), image(4), image(5)]
    resolved = resolve(images, {d(1): buildx(1, 2, 3, 4, 5)})
    assert [i.label for i in resolved.images] == [
        "team/api:v1 (linux/amd64)",
        "team/api:v1 (linux/arm64)",
    ]
    assert {i.index_digest for i in resolved.images} == {d(1)}
    assert resolved.artifacts == {Kind.ATTESTATION: 2}
    assert resolved.indexes == 1
    assert resolved.unreadable == ()


def test_artifacts_are_counted_apart_and_plain_images_stay_as_they_are():
    images = [
        image(1, "v1", kind=Kind.INDEX),
        image(2),
        image(3),
        image(6, "sha256-x.sig", kind=Kind.SIGNATURE),
        image(7, kind=Kind.SBOM),
        image(8, "1.2.3", kind=Kind.HELM_CHART),
        image(9, "plain"),
        image(10, "wasm", kind=Kind.ARTIFACT),
    ]
    entries = (
        IndexEntry(d(2), "linux/amd64", Kind.IMAGE),
        IndexEntry(d(3), "linux/arm64", Kind.IMAGE),
    )
    resolved = resolve(images, {d(1): entries})
    assert [i.label for i in resolved.images] == [
        "team/api:v1 (linux/amd64)",
        "team/api:v1 (linux/arm64)",
        "team/api:plain",
    ]
    assert artifact_counts(resolved.artifacts) == [
        (Kind.SIGNATURE, 1),
        (Kind.SBOM, 1),
        (Kind.HELM_CHART, 1),
        (Kind.ARTIFACT, 1),
    ]


def test_the_same_platform_image_under_two_tags_is_judged_once_under_both():
    images = [
        image(1, "v1", kind=Kind.INDEX, age_days=3),
        image(11, "latest", kind=Kind.INDEX, age_days=1),
        image(2),
    ]
    one = (IndexEntry(d(2), "linux/amd64", Kind.IMAGE),)
    resolved = resolve(images, {d(1): one, d(11): one})
    assert len(resolved.images) == 1
    only = resolved.images[0]
    assert only.index_tags == ("latest", "v1")  # the newest index first
    assert only.index_digest == d(11)
    assert only.label == "team/api:latest (linux/amd64)"


def test_an_unreadable_index_leaves_its_images_in_scope_unlabelled():
    images = [image(1, "v1", kind=Kind.INDEX), image(2), image(3)]
    problem = Problem("AccessDenied", "no ecr:BatchGetImage")
    resolved = resolve(images, {d(1): problem})
    assert [i.label for i in resolved.images] == [
        f"team/api@{d(2)[:19]}",
        f"team/api@{d(3)[:19]}",
    ]
    assert resolved.unreadable == ((images[0], problem),)
    assert resolved.indexes == 0


def test_an_index_not_read_at_all_is_unreadable_too():
    resolved = resolve([image(1, "v1", kind=Kind.INDEX)], {})
    assert [(i.digest, p.code) for i, p in resolved.unreadable] == [(d(1), "NotRead")]


def test_a_platform_image_that_is_tagged_keeps_its_own_tag_first():
    images = [image(1, "v1", kind=Kind.INDEX), image(2, "v1-amd64")]
    resolved = resolve(images, {d(1): (IndexEntry(d(2), "linux/amd64", Kind.IMAGE),)})
    assert resolved.images[0].label == "team/api:v1-amd64 (linux/amd64)"


def test_indexes_of():
    images = [image(1, kind=Kind.INDEX), image(2)]
    assert indexes_of(images) == [images[0]]


@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.sampled_from(list(Kind))),
        max_size=25,
        unique_by=lambda t: t[0],
    ),
    st.dictionaries(
        st.integers(0, 30),
        st.lists(
            st.tuples(st.integers(0, 30), st.sampled_from([Kind.IMAGE, Kind.ATTESTATION])),
            max_size=5,
        ),
        max_size=6,
    ),
)
def test_every_manifest_is_accounted_for_once(manifests, listed):
    """Each manifest is an image to judge, a counted artifact or an index: never two,
    never none; and only images are ever returned for scanning."""
    images = [image(n, kind=kind) for n, kind in manifests]
    entries = {
        d(n): tuple(IndexEntry(d(m), "linux/amd64", k) for m, k in children)
        for n, children in listed.items()
    }
    resolved = resolve(images, entries)
    indexes = sum(1 for i in images if i.kind is Kind.INDEX)
    assert len(resolved.images) + sum(resolved.artifacts.values()) + indexes == len(images)
    assert all(i.kind is Kind.IMAGE for i in resolved.images)
    assert len({i.digest for i in resolved.images}) == len(resolved.images)
