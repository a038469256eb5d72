"""One repository's listing for the registry walk (``rescan`` and registry-wide
``report``): its manifests, resolved into the images a scanner can judge.

:func:`list_repository` lists the repository's images (or looks up the given ids),
reads the entries of its image indexes (only when it has any: one ``BatchGetImage`` per
100 indexes) and :func:`~ecrscan.core.manifests.resolve`\\ s them: the images to judge
(each platform image of an index labelled with the index's tags and platform), the
artifacts counted by kind, and a notice per index that could not be read (its images
stay in scope, unlabelled).  An id naming an index stands for its platform images; an
id naming an artifact is kept, so the caller can skip it with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ecrscan.core.artifacts import IndexEntry, Kind
from ecrscan.core.manifests import indexes_of, platform_digests, resolve
from ecrscan.core.model import Image, ImageLookup, Repository
from ecrscan.core.problem import Problem
from ecrscan.engine.ports import EcrReads

Entries = dict[str, tuple[IndexEntry, ...] | Problem]


def list_repository(
    gateway: EcrReads, repo: Repository, ids: Sequence[dict[str, str]] = ()
) -> ImageLookup:
    """The images of ``repo`` to judge (or those the ids name), with the artifacts
    counted and a notice per unreadable index.  AWS errors of the listing raise."""
    if ids:
        return _by_ids(gateway, repo, ids)
    images = tuple(gateway.images(repo))
    indexes = indexes_of(images)
    entries: Entries = gateway.index_entries(repo, indexes) if indexes else {}
    resolved = resolve(images, entries)
    return ImageLookup(
        resolved.images,
        artifacts=resolved.artifacts,
        notices=_unreadable(repo, resolved.unreadable),
    )


def _by_ids(gateway: EcrReads, repo: Repository, ids: Sequence[dict[str, str]]) -> ImageLookup:
    """The images the ids name; an index's platform images in its place (looked up by
    digest); an artifact kept as it is, for the caller to skip."""
    lookup = gateway.find_images(repo, ids)
    indexes = indexes_of(lookup.images)
    if not indexes:
        return lookup
    entries: Entries = gateway.index_entries(repo, indexes)
    named = {image.digest for image in lookup.images}
    listed = [e for index in entries.values() if not isinstance(index, Problem) for e in index]
    wanted = [{"imageDigest": d} for d in platform_digests(listed) if d not in named]
    platforms = gateway.find_images(repo, wanted).images if wanted else ()
    artifacts = [i for i in lookup.images if i.kind is not Kind.INDEX and not i.kind.scannable]
    images = [i for i in lookup.images if i.kind.scannable or i.kind is Kind.INDEX]
    resolved = resolve((*images, *platforms), entries)
    return replace(
        lookup,
        images=(*resolved.images, *artifacts),
        notices=_unreadable(repo, resolved.unreadable),
    )


def _unreadable(repo: Repository, unreadable: Sequence[tuple[Image, Problem]]) -> tuple[str, ...]:
    return tuple(
        f"{repo.name}: could not read the image index {index.label} ({problem}); its "
        "platform images are listed by digest"
        for index, problem in unreadable
    )
