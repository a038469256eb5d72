"""The registry walk rescan and report share: list the repositories, list each one's
images, narrow them, inspect each image, and report progress as it goes.

:func:`walk_registry` runs on a :class:`~ecrscan.engine.runner.BoundedRunner`: each
repository's listing and each image's inspection is one call in the runner's window,
handed back in completion order.  A repository whose listing fails is a value
(:class:`RepositoryFailed`), never an exception that stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ecrscan.core.errors import AwsError, ErrorKind, FatalError
from ecrscan.core.model import Image, ImageLookup, Listed, Repository
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.problem import Problem
from ecrscan.engine.ports import EcrReads
from ecrscan.engine.runner import BoundedRunner, Event, ProgressCallback, not_reached

Result = TypeVar("Result")


def list_repositories(gateway: EcrReads, repo_filter: RepositoryFilter) -> list[Repository]:
    """Every repository (all pages) whose name the filter keeps, sorted by name."""
    return listed_repositories(gateway, repo_filter)[0]


def listed_repositories(
    gateway: EcrReads, repo_filter: RepositoryFilter
) -> tuple[list[Repository], Listed]:
    """:func:`list_repositories`, and how many there were before and after the filter."""
    try:
        everything = list(gateway.repositories())
    except AwsError as exc:
        raise FatalError(exc.problem) from exc
    repos = sorted((r for r in everything if repo_filter.matches(r.name)), key=lambda r: r.name)
    return repos, Listed(len(everything), len(repos))


def named_repositories(
    gateway: EcrReads, names: Sequence[str]
) -> tuple[list[Repository], dict[str, Problem]]:
    """Look repositories up by name; a missing or forbidden one becomes a failed entry
    (so it is reported rather than silently absent)."""
    found: list[Repository] = []
    errors: dict[str, Problem] = {}
    for name in names:
        try:
            found.extend(gateway.repositories(names=[name]))
        except AwsError as exc:
            if exc.kind in (ErrorKind.REPOSITORY_NOT_FOUND, ErrorKind.ACCESS_DENIED):
                found.append(Repository(name=name, registry_id=gateway.registry_id or ""))
                errors[name] = exc.problem
            else:
                raise FatalError(exc.problem) from exc
    return found, errors


@dataclass(frozen=True, slots=True)
class RepositoryFailed:
    """A repository whose images could not be listed (access denied, deleted during the
    run, unreachable): the walk goes on with the others."""

    repository: Repository
    problem: Problem


@dataclass(frozen=True, slots=True)
class NotReached:
    """What a stopped run did not get to: a repository's listing (``image`` None) or
    one image's inspection."""

    repository: Repository
    image: Image | None = None


@dataclass(frozen=True, slots=True)
class ImageDone(Generic[Result]):
    """One image inspected: what ``inspect`` returned for it."""

    repository: Repository
    image: Image
    result: Result


def walk_registry(
    runner: BoundedRunner[Any],
    repositories: Sequence[Repository],
    list_images: Callable[[Repository], ImageLookup],
    narrow: Callable[[Repository, ImageLookup], list[Image]],
    inspect: Callable[[Image], Result],
    notify: ProgressCallback,
) -> Iterator[RepositoryFailed | ImageDone[Result] | NotReached]:
    """List every repository's images (``list_images``, in the runner), keep the ones
    ``narrow`` returns (called in this thread: it may record what it leaves out), and
    ``inspect`` each (in the runner); yield a value per failed repository and per image.

    ``inspect`` must return its errors as values.  Progress: ``IMAGES_FOUND`` per
    listing, ``IMAGE_CHECKED`` per image, ``REPOSITORY_DONE`` when a repository's last
    image (or its failed or empty listing) is done.  When the runner's run is stopped,
    what it did not get to comes back as :class:`NotReached`.
    """
    open_images: dict[tuple[str, str], int] = {}
    for repo in repositories:
        runner.submit((repo, None), list_images, repo)
    for (repo, image), future in runner.completed():
        key = (repo.registry_id, repo.name)
        if not_reached(future):
            yield NotReached(repo, image)
            continue
        if image is not None:
            notify(Event.IMAGE_CHECKED, 1)
            yield ImageDone(repo, image, future.result())
            open_images[key] -= 1
            if open_images[key] == 0:
                notify(Event.REPOSITORY_DONE, 1)
            continue
        try:
            lookup = future.result()
        except AwsError as exc:
            notify(Event.REPOSITORY_DONE, 1)
            yield RepositoryFailed(repo, exc.problem)
            continue
        images = narrow(repo, lookup)
        notify(Event.IMAGES_FOUND, len(images))
        open_images[key] = len(images)
        if not images:
            notify(Event.REPOSITORY_DONE, 1)
        for item in images:
            runner.submit((repo, item), inspect, item)
