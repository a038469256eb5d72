"""Notices worded for the user: what an image scope (in use, pulled within) left out, in
one line each; the JSON output lists every item.  Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ecrscan.core.artifacts import Kind
from ecrscan.core.coverage import Coverage, RepoScope
from ecrscan.core.model import ReportResult, RescanResult
from ecrscan.core.words import plural

MAX_NAMED = 5  # references named per notice; the JSON lists them all


def all_notices(result: RescanResult | ReportResult) -> tuple[str, ...]:
    """The run's notices, then the scope's one-line summaries."""
    if result.coverage is None:
        return result.notices
    return (*result.notices, *scope_notices(result.coverage, result.scopes))


ARTIFACT_NOUNS = {  # in the order they are told
    Kind.SIGNATURE: "signature",
    Kind.ATTESTATION: "attestation",
    Kind.SBOM: "SBOM",
    Kind.HELM_CHART: "Helm chart",
    Kind.ARTIFACT: "other artifact",
    Kind.INDEX: "image index",
    Kind.IMAGE: "image",
}


def artifacts_text(counts: Mapping[Kind, int]) -> str:
    """What a run counted apart, in words: ``"4 signatures, 4 attestations, 2 SBOMs, 1
    Helm chart: not images"``; "" when there was none."""
    parts = [
        plural(counts[kind], noun) for kind, noun in ARTIFACT_NOUNS.items() if counts.get(kind)
    ]
    return f"{', '.join(parts)}: not images" if parts else ""


def scope_notices(coverage: Coverage, scopes: Sequence[RepoScope]) -> list[str]:
    """One-line summaries of what ``--in-use`` and ``--pulled-within`` left out."""
    notices: list[str] = []
    present = [s for s in scopes if not s.missing]
    if coverage.in_use is not None:
        notices += _in_use_notices(coverage, scopes, present)
    if coverage.pulled_within is not None:
        never = sum(s.never_pulled for s in present)
        stale = sum(s.not_pulled_recently for s in present)
        notices.append(
            f"--pulled-within {coverage.pulled_within}: left out {plural(never, 'image')} "
            f"never pulled and {stale} not pulled within {coverage.pulled_within}"
        )
    return notices


def _in_use_notices(
    coverage: Coverage, scopes: Sequence[RepoScope], present: Sequence[RepoScope]
) -> list[str]:
    listed = sum(s.listed for s in present)
    in_use = listed - sum(s.not_in_use for s in present)
    notices = [
        f"--in-use {coverage.in_use}: {plural(coverage.task_definitions, 'task definition')} "
        f"read; {in_use} of {plural(listed, 'image')} in "
        f"{plural(len(present), 'repository')} {'is' if in_use == 1 else 'are'} in use"
    ]
    if coverage.skipped:
        notices.append(
            f"--in-use: {plural(len(coverage.skipped), 'referenced image')} skipped (not in "
            f"ECR, or not parseable): {_named(n.image for n in coverage.skipped)}"
        )
    if coverage.out_of_scope:
        notices.append(
            f"--in-use: {plural(len(coverage.out_of_scope), 'referenced image')} out of scope "
            f"(other accounts or regions): {_named(n.image for n in coverage.out_of_scope)}"
        )
    references = [ref for s in scopes for ref in unmatched_references(s)]
    if references:
        notices.append(
            f"--in-use: {plural(len(references), 'reference')} "
            f"{'matches' if len(references) == 1 else 'match'} no image: {_named(references)}"
        )
    return notices


def unmatched_references(scope: RepoScope) -> list[str]:
    """``repo:tag`` / ``repo@digest`` for each reference no image carries; a missing
    repository is named once."""
    if scope.missing:
        return [f"{scope.repository} (no such repository)"]
    return [f"{scope.repository}:{t}" for t in scope.unmatched_tags] + [
        f"{scope.repository}@{d}" for d in scope.unmatched_digests
    ]


def _named(names: Iterable[str]) -> str:
    items = list(names)
    shown = ", ".join(items[:MAX_NAMED])
    more = len(items) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")
