"""From a repository's manifests to the images a scanner can judge (pure: no I/O).

A repository pushed by today's tools holds image indexes, the platform images they
list, buildx attestation manifests, cosign signatures, OCI 1.1 referrers and other
artifacts.  :func:`resolve` turns the manifests ``DescribeImages`` listed (each with its
:class:`~ecrscan.core.artifacts.Kind`) and the entries of the indexes among them into:

* the images to scan and judge: single-platform images as they are, and each platform
  image of an index labelled with the index's tags and its platform;
* the artifacts, counted by kind (attestations named by an index count as attestations
  even though ``DescribeImages`` alone cannot tell them from images);
* the indexes whose manifest could not be read: their images stay in scope, unlabelled,
  and the caller says why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from ecrscan.core.artifacts import IndexEntry, Kind
from ecrscan.core.model import Image
from ecrscan.core.problem import Problem


@dataclass(frozen=True, slots=True)
class Resolved:
    """What :func:`resolve` made of one repository's manifests."""

    images: tuple[Image, ...]
    artifacts: Mapping[Kind, int] = field(default_factory=dict)
    indexes: int = 0  # image indexes resolved into their platform images
    unreadable: tuple[tuple[Image, Problem], ...] = ()  # indexes whose entries are unknown


def platform_digests(entries: Iterable[IndexEntry]) -> list[str]:
    """The digests of the platform images among an index's entries (not its
    attestations), each once, in the index's order."""
    return list(dict.fromkeys(e.digest for e in entries if e.kind is Kind.IMAGE))


def indexes_of(images: Iterable[Image]) -> list[Image]:
    """The image indexes among ``images`` (whose entries the caller reads)."""
    return [image for image in images if image.kind is Kind.INDEX]


def resolve(
    images: Sequence[Image], entries: Mapping[str, tuple[IndexEntry, ...] | Problem]
) -> Resolved:
    """The images of one repository to scan and judge, given the entries of each index
    (by index digest; a :class:`Problem` where the index could not be read).

    A platform image listed by several indexes (the same build tagged twice) is judged
    once, under the tags of all of them (newest index first)."""
    platforms: dict[str, tuple[str, list[Image]]] = {}  # digest -> (platform, indexes)
    attestations: set[str] = set()
    unreadable: list[tuple[Image, Problem]] = []
    indexes = sorted(indexes_of(images), key=newest_first)
    for index in indexes:
        listed = entries.get(index.digest)
        if isinstance(listed, Problem) or listed is None:
            unreadable.append((index, listed or Problem("NotRead", "index not read")))
            continue
        for entry in listed:
            if entry.kind is Kind.IMAGE:
                platforms.setdefault(entry.digest, (entry.platform, []))[1].append(index)
            elif entry.kind is Kind.ATTESTATION:
                attestations.add(entry.digest)
    artifacts: Counter[Kind] = Counter()
    kept: list[Image] = []
    for image in images:
        if image.kind is Kind.INDEX:
            continue
        if image.digest in attestations and image.digest not in platforms:
            artifacts[Kind.ATTESTATION] += 1
        elif not image.kind.scannable:
            artifacts[image.kind] += 1
        elif image.digest in platforms:
            kept.append(_platform_image(image, *platforms[image.digest]))
        else:
            kept.append(image)
    resolved = len(indexes) - len(unreadable)
    return Resolved(tuple(kept), dict(artifacts), resolved, tuple(unreadable))


def _platform_image(image: Image, platform: str, indexes: list[Image]) -> Image:
    tags: list[str] = []
    for index in indexes:
        tags.extend(tag for tag in index.tags if tag not in tags)
    return replace(
        image,
        platform=platform or "unknown platform",
        index_digest=indexes[0].digest,
        index_tags=tuple(tags),
    )


def newest_first(image: Image) -> tuple[float, str]:
    """Sort key: the most recently pushed image first (then by digest)."""
    pushed = image.pushed_at.timestamp() if image.pushed_at else 0.0
    return (-pushed, image.digest)


def artifact_counts(counts: Mapping[Kind, int]) -> list[tuple[Kind, int]]:
    """The artifact counts in a stable order (the order of :class:`Kind`), zeros left out."""
    return [(kind, counts[kind]) for kind in Kind if counts.get(kind)]
