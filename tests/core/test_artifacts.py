"""What each manifest is (ecrscan.core.artifacts): images, indexes and artifacts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrscan.core.artifacts import (
    Kind,
    NotAnIndex,
    classify,
    parse_index,
    platform_text,
)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
HEX = "ab" * 32
SUBJECT = f"sha256:{HEX}"


@pytest.mark.parametrize(
    ("manifest", "artifact", "subject", "tags", "kind"),
    [
        (OCI_INDEX, None, None, ["v1"], Kind.INDEX),
        (DOCKER_LIST, None, None, ["v1"], Kind.INDEX),
        ("Application/VND.oci.image.index.v1+json ", None, None, [], Kind.INDEX),
        (OCI_MANIFEST, OCI_CONFIG, None, ["v1"], Kind.IMAGE),
        (DOCKER_MANIFEST, DOCKER_CONFIG, None, [], Kind.IMAGE),
        (DOCKER_MANIFEST, None, None, [], Kind.IMAGE),  # older answers omit the type
        (None, None, None, [], Kind.IMAGE),
        (
            OCI_MANIFEST,
            "application/vnd.cncf.helm.config.v1+json",
            None,
            ["1.2.3"],
            Kind.HELM_CHART,
        ),
        (OCI_MANIFEST, OCI_CONFIG, None, [f"sha256-{HEX}.sig"], Kind.SIGNATURE),
        (OCI_MANIFEST, OCI_CONFIG, None, [f"sha256-{HEX}.att"], Kind.ATTESTATION),
        (OCI_MANIFEST, OCI_CONFIG, None, [f"sha256-{HEX}.sbom"], Kind.SBOM),
        (OCI_MANIFEST, OCI_CONFIG, None, [f"sha256-{HEX[:10]}.sig"], Kind.IMAGE),  # not cosign's
        (OCI_MANIFEST, "application/spdx+json", SUBJECT, [], Kind.SBOM),
        (OCI_MANIFEST, "application/vnd.cyclonedx+json", SUBJECT, [], Kind.SBOM),
        (OCI_MANIFEST, "application/vnd.cncf.notary.signature", SUBJECT, [], Kind.SIGNATURE),
        (
            OCI_MANIFEST,
            "application/vnd.dev.cosign.artifact.sig.v1+json",
            SUBJECT,
            [],
            Kind.SIGNATURE,
        ),
        (OCI_MANIFEST, "application/vnd.in-toto+json", SUBJECT, [], Kind.ATTESTATION),
        (OCI_MANIFEST, "application/vnd.wasm.config.v0+json", None, ["v1"], Kind.ARTIFACT),
        (OCI_MANIFEST, "application/vnd.example.thing+json", SUBJECT, [], Kind.ARTIFACT),
        (OCI_MANIFEST, OCI_CONFIG, SUBJECT, [], Kind.ARTIFACT),  # a referrer is no image
    ],
)
def test_classify(manifest, artifact, subject, tags, kind):
    assert classify(manifest, artifact, subject, tags) is kind


def test_only_images_are_scannable():
    assert [k for k in Kind if k.scannable] == [Kind.IMAGE]


@given(
    st.one_of(st.none(), st.text(), st.integers()),
    st.one_of(st.none(), st.text(), st.integers()),
    st.one_of(st.none(), st.text()),
    st.lists(st.one_of(st.text(), st.none(), st.integers()), max_size=4),
)
def test_classify_never_raises(manifest, artifact, subject, tags):
    assert isinstance(classify(manifest, artifact, subject, tags), Kind)


def buildx_index() -> str:
    """What `docker buildx build --platform linux/amd64,linux/arm64 --push` writes."""
    amd, arm = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": amd,
                    "size": 1,
                    "platform": {"architecture": "amd64", "os": "linux"},
                },
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": arm,
                    "size": 1,
                    "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
                },
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": "sha256:" + "3" * 64,
                    "size": 1,
                    "annotations": {
                        "vnd.docker.reference.digest": amd,
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                    "platform": {"architecture": "unknown", "os": "unknown"},
                },
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": "sha256:" + "4" * 64,
                    "size": 1,
                    "annotations": {
                        "vnd.docker.reference.digest": arm,
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                    "platform": {"architecture": "unknown", "os": "unknown"},
                },
            ],
        }
    )


def test_a_buildx_index_lists_two_platform_images_and_two_attestations():
    entries = parse_index(buildx_index())
    assert [(e.platform, e.kind) for e in entries] == [
        ("linux/amd64", Kind.IMAGE),
        ("linux/arm64/v8", Kind.IMAGE),
        ("unknown/unknown", Kind.ATTESTATION),
        ("unknown/unknown", Kind.ATTESTATION),
    ]
    assert entries[2].subject == entries[0].digest
    assert entries[3].subject == entries[1].digest


def test_platform_images_come_first_and_junk_entries_are_dropped():
    text = json.dumps(
        {
            "manifests": [
                {"digest": "sha256:a", "platform": {"os": "unknown", "architecture": "unknown"}},
                "not an entry",
                {"no": "digest"},
                {
                    "digest": "sha256:b",
                    "mediaType": DOCKER_MANIFEST,
                    "platform": {"os": "windows", "architecture": "amd64"},
                },
                {"digest": "sha256:c", "mediaType": OCI_INDEX},
            ]
        }
    )
    assert [(e.digest, e.kind) for e in parse_index(text)] == [
        ("sha256:b", Kind.IMAGE),
        ("sha256:a", Kind.ATTESTATION),
        ("sha256:c", Kind.INDEX),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "no 'manifests' list"),
        ('{"manifests": {}}', "no 'manifests' list"),
        ("[" * 100_000, "not JSON"),
        (json.dumps({"manifests": [{"digest": "x"}] * 1001}), "more than 1000"),
        ("x" * (4 * 1024 * 1024 + 1), "larger than"),
    ],
)
def test_what_is_not_an_index_is_one_error(text, message):
    with pytest.raises(NotAnIndex, match=message):
        parse_index(text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(), c, max_size=3),
        max_leaves=20,
    )
)
def test_parse_index_raises_only_not_an_index(document):
    try:
        entries = parse_index(json.dumps(document))
    except NotAnIndex:
        return
    assert all(isinstance(e.kind, Kind) for e in entries)


def test_platform_text():
    assert platform_text({"os": "linux", "architecture": "arm", "variant": "v7"}) == "linux/arm/v7"
    assert platform_text({"os": "linux", "architecture": 5}) == "linux"
    assert platform_text(None) == ""
