"""What an image reference names, as images to judge: the image itself, or for a tag
(or digest) naming an image index its platform images (never its attestations).

``docker buildx build --push`` leaves an index under the tag; ECR refuses to scan an
index, and says to use the digest of a platform image.  :func:`images_of` reads the
index (one BatchGetImage), looks its platform images up (one DescribeImages) and labels
them with the reference's tag and their platform (``team/api:v1 (linux/arm64)``)
through :func:`ecrscan.core.manifests.resolve`.
"""

from __future__ import annotations

from dataclasses import replace

from ecrscan.core.artifacts import Kind
from ecrscan.core.errors import AwsError, ErrorKind
from ecrscan.core.imageref import ImageRef
from ecrscan.core.manifests import indexes_of, newest_first, platform_digests, resolve
from ecrscan.core.model import Image, Repository
from ecrscan.core.problem import Problem
from ecrscan.engine.ports import EcrReads


def images_of(gateway: EcrReads, ref: ImageRef) -> tuple[Image, ...]:
    """The images ``ref`` names: one image (or artifact: the caller says it is not an
    image), or the platform images of the index it names, ordered by platform.  Raises
    :class:`AwsError` when the reference names nothing, or its index cannot be read or
    lists no platform image."""
    image = gateway.image_by_reference(ref)
    if image.kind is not Kind.INDEX:
        return (image,)
    repository = Repository(name=image.repository, registry_id=image.registry_id)
    listed = gateway.index_entries(repository, [image]).get(image.digest)
    if not isinstance(listed, tuple):
        problem = listed or Problem("NotRead", "the index was not read")
        raise AwsError(ErrorKind.OTHER, _about_index(ref, problem), "batch_get_image")
    digests = platform_digests(listed)
    if not digests:
        problem = Problem("EmptyIndex", f"{ref}: the image index lists no platform image")
        raise AwsError(ErrorKind.OTHER, problem, "batch_get_image")
    lookup = gateway.find_images(repository, [{"imageDigest": d} for d in digests])
    found = (*lookup.images, *lookup.missing)  # a missing one: an error row of its own
    index = replace(image, tags=_asked_first(image.tags, ref.tag))
    platforms = resolve((index, *found), {image.digest: listed}).images
    return tuple(sorted(platforms, key=lambda i: (i.platform, i.digest)))


def _asked_first(tags: tuple[str, ...], tag: str | None) -> tuple[str, ...]:
    """The index's tags, the one the reference gave first (it labels the rows)."""
    if not tag or tag not in tags:
        return tags
    return (tag, *(t for t in tags if t != tag))


def _about_index(ref: ImageRef, problem: Problem) -> Problem:
    return Problem(problem.code, f"{ref}: its image index could not be read ({problem.message})")


MAX_INDEXES = 100  # the indexes one BatchGetImage reads


def platform_images(gateway: EcrReads, repository: Repository) -> dict[str, Image]:
    """The platform images of ``repository``'s image indexes, labelled with their
    index's tags and platform, by digest: one listing of the repository and at most one
    BatchGetImage (its newest :data:`MAX_INDEXES` indexes).  What the reporter function
    names an untagged platform image by (``team/api:v1 (linux/arm64)``)."""
    images = list(gateway.images(repository))
    indexes = sorted(indexes_of(images), key=newest_first)[:MAX_INDEXES]
    if not indexes:
        return {}
    entries = gateway.index_entries(repository, indexes)
    others = [image for image in images if image.kind is not Kind.INDEX]
    platforms = resolve([*indexes, *others], entries).images  # only the indexes read
    return {image.digest: image for image in platforms if image.platform}
