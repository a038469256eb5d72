"""In use: which ECR images ECS task definitions reference (pure; the ECS reads are in
:mod:`ecrscan.engine.discovery`).

:func:`classify_image` sorts one container ``image`` string into ECR of this account and
region, ECR of another region, ECR of another account, not ECR (Docker Hub short names
such as ``nginx:1.25``, ``ghcr.io``, ECR Public, any other registry) or unparseable;
:func:`build_in_use` turns task definition references into an :class:`InUseSet` value:
per (account, region, repository) the tags and digests referenced, and the references it
skipped or found out of scope, each with a reason; :func:`select_images` keeps the images
of a repository that a reference names.

Docker's rule decides what is a registry host: a first path part with a dot or a colon,
or ``localhost``; a reference without one is a Docker Hub image.  ECR hosts are parsed by
:func:`ecrscan.core.imageref.parse_image_ref`.  Tags are resolved to digests later (by the
engine, through the ECR gateway): a tag names whatever image carries it *now*.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field

from ecrscan.core.coverage import Location, SkippedImage
from ecrscan.core.imageref import ImageRef, parse_image_ref
from ecrscan.core.model import Image
from ecrscan.core.problem import Problem

DOCKER_HUB = "docker.io"
DEFAULT_PLATFORM = "linux/amd64"  # what ECS runs a task definition naming no platform on
_DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
_ECR_PUBLIC_HOST = "public.ecr.aws"


@dataclass(frozen=True, slots=True)
class Classified:
    """One container image string, classified.  ``ref`` is set for the ECR locations;
    ``registry`` is the registry host (``docker.io`` for Docker Hub short names);
    ``reason`` explains NOT_ECR and INVALID."""

    text: str
    location: Location
    registry: str = ""
    ref: ImageRef | None = None
    reason: str = ""


def classify_image(text: str, *, account: str, region: str) -> Classified:
    """Classify one container ``image`` string as seen from ``account`` in ``region``."""
    raw = (text or "").strip()
    first, slash, _ = raw.partition("/")
    if not raw:
        return Classified(raw, Location.INVALID, reason="empty image reference")
    if not (slash and _is_registry_host(first)):
        return Classified(raw, Location.NOT_ECR, DOCKER_HUB, reason="Docker Hub image")
    host = first.lower()
    if host in _DOCKER_HUB_HOSTS:
        return Classified(raw, Location.NOT_ECR, DOCKER_HUB, reason="Docker Hub image")
    if host == _ECR_PUBLIC_HOST:
        return Classified(raw, Location.NOT_ECR, host, reason="ECR Public image")
    if not _claims_private_ecr(host):
        return Classified(raw, Location.NOT_ECR, host, reason=f"registry {host} is not ECR")
    host = host.removesuffix(":443")  # the same registry as without the port
    try:
        ref = parse_image_ref(host + raw[len(first) :])
    except ValueError as exc:
        return Classified(raw, Location.INVALID, host, reason=str(exc))
    if ref.registry_id is None:  # a look-alike such as <ecr host>.example.com
        return Classified(raw, Location.NOT_ECR, host, reason=f"registry {host} is not ECR")
    if ref.registry_id != account:
        return Classified(raw, Location.OTHER_ACCOUNT, host, ref)
    if ref.region != region:
        return Classified(raw, Location.OTHER_REGION, host, ref)
    return Classified(raw, Location.THIS_REGISTRY, host, ref)


def _is_registry_host(part: str) -> bool:
    """Docker's rule for the first path part of a reference."""
    return "." in part or ":" in part or part == "localhost"


def _claims_private_ecr(host: str) -> bool:
    """Hosts that say they are private ECR registries (parsed strictly afterwards)."""
    return ".dkr.ecr" in host or ".dkr-ecr" in host


# -- the in-use set ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class RepoKey:
    account: str
    region: str
    repository: str


@dataclass(frozen=True, slots=True)
class RepoUse:
    """What ECS references in one repository: tags, digests and the task definitions."""

    tags: frozenset[str] = frozenset()
    digests: frozenset[str] = frozenset()
    task_definitions: frozenset[str] = frozenset()
    # (tag or digest, platform): the platform a task definition runs of what the tag
    # (digest) names, should it be an image index (its ``runtimePlatform``)
    platforms: frozenset[tuple[str, str]] = frozenset()

    def __or__(self, other: RepoUse) -> RepoUse:
        return RepoUse(
            self.tags | other.tags,
            self.digests | other.digests,
            self.task_definitions | other.task_definitions,
            self.platforms | other.platforms,
        )


@dataclass(frozen=True, slots=True)
class InUseSet:
    """The result of in-use discovery (one target, or several merged).

    ``skipped``: not ECR or unparseable (listed, never audited).  ``out_of_scope``: ECR
    images in an account without a role or in a region not requested.  ``failures``:
    task definitions that could not be read; the set is then incomplete.
    """

    repositories: Mapping[RepoKey, RepoUse] = field(default_factory=dict)
    skipped: tuple[SkippedImage, ...] = ()
    out_of_scope: tuple[SkippedImage, ...] = ()
    failures: tuple[tuple[str, Problem], ...] = ()
    task_definitions: int = 0  # task definitions read

    @property
    def incomplete(self) -> bool:
        return bool(self.failures)

    def for_target(self, account: str, region: str) -> dict[str, RepoUse]:
        """Repository name -> use, for the repositories of one account and region."""
        return {
            key.repository: use
            for key, use in sorted(self.repositories.items())
            if key.account == account and key.region == region
        }


def merge_in_use(sets: Iterable[InUseSet]) -> InUseSet:
    """One set from several (e.g. one per target): uses united, skipped images of the
    same text and reason listed once with all their task definitions."""
    repositories: dict[RepoKey, RepoUse] = {}
    skipped: list[SkippedImage] = []
    out_of_scope: list[SkippedImage] = []
    failures: list[tuple[str, Problem]] = []
    count = 0
    for one in sets:
        for key, use in one.repositories.items():
            repositories[key] = repositories.get(key, RepoUse()) | use
        skipped.extend(one.skipped)
        out_of_scope.extend(one.out_of_scope)
        failures.extend(one.failures)
        count += one.task_definitions
    return InUseSet(
        dict(sorted(repositories.items())),
        _merge_skipped(skipped),
        _merge_skipped(out_of_scope),
        tuple(failures),
        count,
    )


def _merge_skipped(items: Iterable[SkippedImage]) -> tuple[SkippedImage, ...]:
    merged: dict[tuple[str, Location, str], set[str]] = defaultdict(set)
    for item in items:
        merged[(item.image, item.location, item.reason)].update(item.task_definitions)
    return tuple(
        SkippedImage(image, location, reason, tuple(sorted(arns)))
        for (image, location, reason), arns in sorted(
            merged.items(), key=lambda kv: (kv[0][0], kv[0][1].value, kv[0][2])
        )
    )


@dataclass(frozen=True, slots=True)
class ScopeHints:
    """How to bring an out-of-scope image into scope, in the caller's words (the CLI
    names its options, a Lambda function its settings).  Templates that may use
    ``{account}`` and ``{region}`` (the image's); empty: no advice."""

    account: str = ""  # an ECR registry of an account the run does not cover
    region: str = ""  # an ECR registry of a covered account, in a region not covered


NO_HINTS = ScopeHints()


def build_in_use(
    references: Mapping[str, Iterable[str]],
    *,
    account: str,
    region: str,
    role_accounts: Set[str] = frozenset(),
    regions: Set[str] | None = None,
    hints: ScopeHints = NO_HINTS,
    platforms: Mapping[str, str] | None = None,
) -> InUseSet:
    """Pure: an :class:`InUseSet` from task definition ARN -> container images.

    An ECR image is in scope when its account is ``account`` or one of
    ``role_accounts`` and its region is one of ``regions`` (default: ``region`` only);
    the reason of one out of scope ends with the caller's ``hints``.  ``platforms``:
    task definition ARN -> the platform it runs (:func:`task_platform`; default
    linux/amd64), which picks the platform image of a tag naming an image index.
    """
    in_scope_regions = set(regions) if regions else {region}
    in_scope_accounts = {account, *role_accounts}
    uses: dict[RepoKey, RepoUse] = {}
    skipped: list[SkippedImage] = []
    out_of_scope: list[SkippedImage] = []
    for arn, images in references.items():
        for text in images:
            item = classify_image(text, account=account, region=region)
            if item.ref is None:
                skipped.append(SkippedImage(item.text, item.location, item.reason, (arn,)))
                continue
            ref = item.ref
            reason = _out_of_scope_reason(ref, in_scope_accounts, in_scope_regions, hints)
            if reason:
                out_of_scope.append(SkippedImage(item.text, item.location, reason, (arn,)))
                continue
            key = RepoKey(ref.registry_id or "", ref.region or "", ref.repository)
            name = ref.digest or ref.tag or ""
            use = RepoUse(
                frozenset({ref.tag} if ref.tag and not ref.digest else ()),
                frozenset({ref.digest} if ref.digest else ()),
                frozenset({arn}),
                frozenset({(name, (platforms or {}).get(arn, DEFAULT_PLATFORM))} if name else ()),
            )
            uses[key] = uses.get(key, RepoUse()) | use
    return InUseSet(
        dict(sorted(uses.items())),
        _merge_skipped(skipped),
        _merge_skipped(out_of_scope),
        (),
        len(references),
    )


def _out_of_scope_reason(
    ref: ImageRef, accounts: Set[str], regions: Set[str], hints: ScopeHints
) -> str:
    if ref.registry_id not in accounts:
        reason, hint = f"ECR registry of account {ref.registry_id}: out of scope", hints.account
    elif ref.region not in regions:
        reason, hint = f"ECR registry in region {ref.region}: out of scope", hints.region
    else:
        return ""
    advice = hint.format(account=ref.registry_id, region=ref.region)
    return f"{reason} ({advice})" if advice else reason


# -- selecting a repository's images -------------------------------------------------


def select_images(images: Iterable[Image], in_use_for_repo: RepoUse) -> list[Image]:
    """The images whose digest is referenced or which carry a referenced tag, in the
    order given; of a referenced image index, the platform image each task definition
    runs (:func:`pick_platform`)."""
    listed = list(images)
    chosen = {image.digest for image in listed if _referenced(image, in_use_for_repo)}
    for name, wanted in sorted(in_use_for_repo.platforms):
        of_index = [i for i in listed if i.platform and name in (i.index_digest, *i.index_tags)]
        picked = pick_platform(of_index, wanted)
        if picked is not None:
            chosen.add(picked.digest)
    return [image for image in listed if image.digest in chosen]


def pick_platform(images: Sequence[Image], wanted: str) -> Image | None:
    """The platform image a task running ``wanted`` pulls: that platform (or a variant
    of it: linux/arm64 runs linux/arm64/v8), else linux/amd64, else the first."""
    ordered = sorted(images, key=lambda i: (i.platform, i.digest))
    exact = [i for i in ordered if i.platform == wanted]
    variant = [i for i in ordered if i.platform.startswith(wanted + "/")]
    default = [i for i in ordered if i.platform == DEFAULT_PLATFORM]
    for candidates in (exact, variant, default, ordered):
        if candidates:
            return candidates[0]
    return None


_OS = {"LINUX": "linux"}  # every WINDOWS_SERVER_* family is windows
_ARCH = {"X86_64": "amd64", "ARM64": "arm64"}


def task_platform(runtime_platform: object) -> str:
    """A task definition's ``runtimePlatform`` as ``os/arch`` (linux/amd64 when absent:
    what ECS runs a task definition that names none on)."""
    found = runtime_platform if isinstance(runtime_platform, Mapping) else {}
    family = str(found.get("operatingSystemFamily") or "LINUX").upper()
    os_name = "windows" if family.startswith("WINDOWS") else _OS.get(family, "linux")
    arch = _ARCH.get(str(found.get("cpuArchitecture") or "X86_64").upper(), "amd64")
    return f"{os_name}/{arch}"


def unmatched(images: Iterable[Image], in_use_for_repo: RepoUse) -> RepoUse:
    """The referenced tags and digests no image carries (deleted, never pushed, or the
    tag moved away): worth reporting, since a task that starts would fail to pull."""
    tags: set[str] = set()
    digests: set[str] = set()
    for image in images:
        tags.update(image.tags, image.index_tags)  # an index's tag: its platform images
        digests.update((image.digest, image.index_digest))
    return RepoUse(
        in_use_for_repo.tags - tags,
        in_use_for_repo.digests - digests,
        in_use_for_repo.task_definitions,
    )


def _referenced(image: Image, use: RepoUse) -> bool:
    return image.digest in use.digests or not use.tags.isdisjoint(image.tags)
