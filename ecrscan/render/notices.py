"""Notices worded for the user: what an image scope (in use, pulled within) left out, in
one line each; the JSON output lists every item.  Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ecrscan.core.artifacts import Kind
from ecrscan.core.coverage import Coverage, RepoScope
from ecrscan.core.model import Listed, ReportResult, RescanResult
from ecrscan.core.words import agree, plural

MAX_NAMED = 5  # references named per notice; the JSON lists them all


def all_notices(result: RescanResult | ReportResult, summaries: bool = True) -> tuple[str, ...]:
    """The run's notices, then the scope's one-line summaries (without the counts of
    ``--in-use`` and ``--pulled-within`` unless ``summaries``: a line that says why
    the scope is empty (:func:`empty_cause`) tells them)."""
    if result.coverage is None:
        return result.notices
    scoped = scope_notices(result.coverage, result.scopes, result.listed)
    if not summaries:
        scoped = [n for n in scoped if not n.startswith(("--in-use ", "--pulled-within "))]
    return (*result.notices, *scoped)


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


def scope_notices(
    coverage: Coverage, scopes: Sequence[RepoScope], listed: Listed | None = None
) -> list[str]:
    """One-line summaries of what ``--in-use`` and ``--pulled-within`` left out."""
    notices: list[str] = []
    present = [s for s in scopes if not s.missing]
    if coverage.in_use is not None:
        notices += _in_use_notices(coverage, scopes, present, listed)
    if coverage.pulled_within is not None:
        never = sum(s.never_pulled for s in present)
        stale = sum(s.not_pulled_recently for s in present)
        notices.append(
            f"--pulled-within {coverage.pulled_within}: left out {plural(never, 'image')} "
            f"never pulled and {stale} not pulled within {coverage.pulled_within}"
        )
    return notices


def _in_use_notices(
    coverage: Coverage,
    scopes: Sequence[RepoScope],
    present: Sequence[RepoScope],
    repositories: Listed | None,
) -> list[str]:
    listed = sum(s.listed for s in present)
    in_use = listed - sum(s.not_in_use for s in present)
    read = f"--in-use {coverage.in_use}: {plural(coverage.task_definitions, 'task definition')}"
    if not coverage.task_definitions:
        notices = [f"--in-use {coverage.in_use}: no task definition found, so no image is in use"]
    elif present:
        notices = [
            f"{read} read; {in_use} of {plural(listed, 'image')} in "
            f"{plural(len(present), 'repository')} {agree(in_use, 'is')} in use"
        ]
    else:
        kept = repositories.kept if repositories is not None else 0
        notices = [f"{read} read; none uses an image of the {_repositories(kept)} listed"]
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


def empty_cause(
    result: RescanResult | ReportResult, include: str | None = None, exclude: Sequence[str] = ()
) -> str:
    """What left a run with no image, naming the repository options given (``include``
    and ``exclude``: --filter and --exclude) and the image scope's."""
    listed, coverage, where = result.listed, result.coverage, _where(result)
    if listed is None:
        return "no image in scope"
    if not listed.repositories:
        return f"there is no repository {where}"
    given = [f"--filter {include!r}"] if include else []
    given += [f"--exclude {', '.join(map(repr, exclude))}"] if exclude else []
    options, keep = " and ".join(given), agree(len(given), "keeps")
    if not listed.kept and listed.repositories == 1:
        return f"{options} {agree(len(given), 'does')} not keep the only repository {where}"
    if not listed.kept:
        return f"{options} {keep} none of the {_repositories(listed.repositories)} {where}"
    scoped = _scope_cause(coverage, result.scopes, listed.kept)
    if scoped:
        return scoped
    if not given:
        return f"the {_repositories(listed.kept)} {where} {agree(listed.kept, 'holds')} no image"
    they = "it holds" if listed.kept == 1 else "they hold"
    return (
        f"{options} {keep} {listed.kept} of {_repositories(listed.repositories)} {where}, "
        f"and {they} no image"
    )


def _scope_cause(coverage: Coverage | None, scopes: Sequence[RepoScope], kept: int) -> str:
    """What ``--in-use`` or ``--pulled-within`` left out ("" when they were not given or
    left out nothing)."""
    if coverage is None:
        return ""
    present = [s for s in scopes if not s.missing]
    images = sum(s.listed - s.not_in_use for s in present)
    if coverage.in_use is not None and not coverage.task_definitions:
        return (
            f"--in-use {coverage.in_use} found no task definition, so no image is in use "
            f"({_repositories(kept)} listed)"
        )
    if coverage.in_use is not None and not images:
        return (
            f"--in-use {coverage.in_use} read "
            f"{plural(coverage.task_definitions, 'task definition')}, and none uses an image "
            f"of the {_repositories(kept)} listed"
        )
    if coverage.pulled_within is not None and images:
        what = "in use" if coverage.in_use is not None else "listed"
        return (
            f"--pulled-within {coverage.pulled_within} left out each of the "
            f"{plural(images, 'image')} {what}"
        )
    return ""


def _where(result: RescanResult | ReportResult) -> str:
    if result.region:
        return f"in {result.region}"
    targets = len(result.coverage.targets) if result.coverage is not None else 0
    return f"in the {plural(targets, 'account/region target')}" if targets else "in the registry"


def _repositories(n: int) -> str:
    return plural(n, "repository")


def _named(names: Iterable[str]) -> str:
    items = list(names)
    shown = ", ".join(items[:MAX_NAMED])
    more = len(items) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")
