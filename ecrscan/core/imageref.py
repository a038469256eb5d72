"""Image references as users type them: a pure parser, no I/O.

Accepted forms::

    repo                      the tag ``latest`` (as ``docker pull`` does)
    repo:tag
    repo@sha256:<64 hex>
    repo:tag@sha256:<64 hex>  the digest decides; the tag is kept for display
    <account>.dkr.ecr.<region>.amazonaws.com/repo[:tag|@digest]

Repository names may be nested (``team/app/api``).  A registry host must be a private
ECR host: ``<12-digit account>.dkr.ecr[-fips].<region>.amazonaws.com`` (``.com.cn`` in
China), or the dual-stack ``<account>.dkr-ecr[-fips].<region>.on.aws``; its account and
region are used.  Ports, other registries and ECR Public are rejected.  Errors are
:class:`ImageRefError` (a ``ValueError``) with a message that names the reference and
the rule it broke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_TAG = "latest"

_REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]+"
_ECR_HOST = re.compile(
    rf"^(?P<account>[0-9]{{12}})\."
    rf"(?:dkr\.ecr(?:-fips)?\.(?P<region>{_REGION})\.amazonaws\.com(?:\.cn)?"
    rf"|dkr-ecr(?:-fips)?\.(?P<region_ds>{_REGION})\.on\.aws)$"
)
# ECR's repository name pattern (CreateRepository), one or more slash-separated parts.
_REPOSITORY = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_FORMS = "repo[:tag], repo@sha256:<digest> or <account>.dkr.ecr.<region>.amazonaws.com/repo[:tag]"


class ImageRefError(ValueError):
    """Text that is not an ECR image reference."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One parsed reference.  ``digest`` wins over ``tag`` when both are given;
    ``registry_id`` and ``region`` are ``None`` unless the reference was a full URI."""

    repository: str
    tag: str | None = None
    digest: str | None = None
    registry_id: str | None = None
    region: str | None = None
    text: str = ""  # what the user typed

    def __str__(self) -> str:
        return self.text or self.short()

    def short(self) -> str:
        """``repo:tag@digest`` without the registry host."""
        out = self.repository
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_image_ref(text: str) -> ImageRef:
    """Parse ``text``; raise :class:`ImageRefError` when it is not an ECR image
    reference."""
    raw = (text or "").strip()
    if not raw:
        raise ImageRefError(f"empty image reference (expected {_FORMS})")
    if not raw.isprintable():
        raise ImageRefError(
            f"invalid image reference {raw!r}: it contains a control character "
            "(a line break, tab or escape)"
        )
    if "://" in raw:
        raise ImageRefError(f"invalid image reference {raw!r}: drop the URL scheme ({_FORMS})")

    registry_id = region = None
    path = raw
    first, slash, rest = raw.partition("/")
    if slash and _looks_like_host(first):
        registry_id, region = _parse_host(raw, first)
        path = rest

    digest = None
    if "@" in path:
        path, _, digest = path.partition("@")
        if not _DIGEST.fullmatch(digest):
            raise ImageRefError(
                f"invalid image reference {raw!r}: digest {digest!r} is not "
                "sha256: followed by 64 lowercase hex digits"
            )

    tag = None
    head, colon, maybe_tag = path.rpartition(":")
    if colon and "/" not in maybe_tag:
        path, tag = head, maybe_tag
        if not _TAG.fullmatch(tag):
            raise ImageRefError(
                f"invalid image reference {raw!r}: tag {tag!r} must be 1-300 letters, digits, "
                "'_', '.' or '-', not starting with '.' or '-'"
            )

    _check_repository(raw, path)
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageRef(path, tag, digest, registry_id, region, raw)


def _looks_like_host(part: str) -> bool:
    """Docker's rule: a first path part with a dot or a colon, or ``localhost``, is a host.
    ECR repository names may contain dots too, so only hosts that claim to be AWS or
    another registry count; ``my.team/app`` stays a repository name."""
    return bool(
        ":" in part
        or part == "localhost"
        or _ECR_HOST.fullmatch(part)
        or part.endswith((".amazonaws.com", ".amazonaws.com.cn", ".on.aws", ".ecr.aws"))
        or part in ("docker.io", "ghcr.io", "quay.io", "gcr.io", "registry.k8s.io")
    )


def _parse_host(raw: str, host: str) -> tuple[str, str]:
    if ":" in host:
        raise ImageRefError(
            f"invalid image reference {raw!r}: registry host {host!r} has a port; "
            "ECR hosts take none"
        )
    if host == "public.ecr.aws" or host.endswith(".ecr.aws"):
        raise ImageRefError(
            f"invalid image reference {raw!r}: ECR Public ({host}) has no scan findings; "
            "name a private ECR repository"
        )
    match = _ECR_HOST.fullmatch(host)
    if not match:
        raise ImageRefError(
            f"invalid image reference {raw!r}: {host!r} is not a private ECR registry host "
            "(<12-digit account>.dkr.ecr.<region>.amazonaws.com)"
        )
    return match["account"], match["region"] or match["region_ds"]


def _check_repository(raw: str, name: str) -> None:
    if not name:
        raise ImageRefError(f"invalid image reference {raw!r}: no repository name ({_FORMS})")
    if not 2 <= len(name) <= 256:
        raise ImageRefError(
            f"invalid image reference {raw!r}: repository name must be 2-256 characters"
        )
    if not _REPOSITORY.fullmatch(name):
        hint = " (repository names are lowercase)" if name != name.lower() else ""
        raise ImageRefError(
            f"invalid image reference {raw!r}: {name!r} is not a valid ECR repository name"
            f"{hint}: lowercase letters and digits, separated by '.', '_', '-' or '/'"
        )
