"""The one wording of what a run counted apart (render.notices.artifacts_text)."""

from __future__ import annotations

from ecrscan.core.artifacts import Kind
from ecrscan.render.notices import artifacts_text


def test_the_issue_s_example_in_its_order() -> None:
    counts = {Kind.SBOM: 2, Kind.HELM_CHART: 1, Kind.ATTESTATION: 4, Kind.SIGNATURE: 4}
    assert artifacts_text(counts) == (
        "4 signatures, 4 attestations, 2 SBOMs, 1 Helm chart: not images"
    )


def test_singular_zero_and_other_artifacts() -> None:
    assert artifacts_text({Kind.SIGNATURE: 1, Kind.SBOM: 0, Kind.ARTIFACT: 3}) == (
        "1 signature, 3 other artifacts: not images"
    )
    assert artifacts_text({}) == ""
