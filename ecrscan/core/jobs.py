"""Per-repository scan jobs: the SQS message format (sending them is
:func:`ecrscan.aws.sqs.send_jobs`).

A job is one SQS message whose body is a JSON object::

    {"repositoryName": "team/api",          # required
     "registryId": "123456789012",          # optional: the registry (account) id
     "expiry": "7d",                        # optional: overrides the images function's
                                            #   ECR_IMAGES_DURATION_DELTA
     "images": [{"imageDigest": "sha256:..."}, {"imageTag": "latest"}],
                                            # optional: only these images
     "roleArn": "arn:aws:iam::210987654321:role/ecrscan-audit"}
                                            # optional: assume this role to reach the
                                            #   registry (another account); the images
                                            #   function only accepts the roles listed
                                            #   in its ECS_DISCOVERY_ROLES

The repositories function and ``ecrscan rescan --via-queue`` produce jobs with
:func:`job_body` (:func:`repository_jobs`: one per repository; :func:`image_jobs`: the
exact images in-use discovery found, at most :data:`IMAGES_PER_JOB` a job) and
:func:`~ecrscan.aws.sqs.send_jobs`; the images function reads them with
:func:`parse_job`.  Every key but ``repositoryName`` is optional, so older producers'
jobs stay valid.  Every malformed body is a :class:`JobError` (a ``ValueError``) that
says what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ecrscan.core import boundedjson
from ecrscan.core.durations import DurationError, parse_duration
from ecrscan.core.model import Repository
from ecrscan.core.targets import check_regions, parse_role_arn

IMAGES_PER_JOB = 100  # one DescribeImages call (100 ids at most) per job
_KEYS = ("repositoryName", "registryId", "expiry", "images", "roleArn", "region")
_IMAGE_ID_KEYS = ("imageDigest", "imageTag")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class JobError(ValueError):
    """A job body that cannot be used."""


@dataclass(frozen=True, slots=True)
class Job:
    repository_name: str
    registry_id: str | None = None
    expiry: str | None = None  # None: the consumer's default
    images: tuple[dict[str, str], ...] = ()  # empty: every image of the repository
    role_arn: str | None = None  # assume this role to reach the registry
    region: str | None = None  # the registry's region (None: the consumer's own)


@dataclass(frozen=True, slots=True)
class FailedJob:
    """A job the queue did not accept, with the queue's reason."""

    body: str
    code: str
    message: str
    sender_fault: bool


@dataclass(frozen=True, slots=True)
class SendReport:
    """What sending jobs did: how many the queue accepted, each one it did not."""

    sent: int
    failed: tuple[FailedJob, ...] = ()
    retried: int = 0  # entries sent again after SQS reported them as failed

    @property
    def ok(self) -> bool:
        return not self.failed


def job_body(
    repository_name: str,
    registry_id: str | None = None,
    expiry: str | None = None,
    images: Sequence[dict[str, str]] | None = None,
    role_arn: str | None = None,
    region: str | None = None,
) -> str:
    """The JSON body of one job (optional keys only when given)."""
    body: dict[str, Any] = {"repositoryName": repository_name}
    if registry_id:
        body["registryId"] = registry_id
    if expiry:
        body["expiry"] = expiry
    if images:
        body["images"] = [dict(i) for i in images]
    if role_arn:
        body["roleArn"] = role_arn
    if region:
        body["region"] = region
    return json.dumps(body, separators=(",", ":"))


def repository_jobs(
    repositories: Iterable[Repository],
    expiry: str | None = None,
    role_arn: str | None = None,
    region: str | None = None,
) -> list[str]:
    """One job body per repository (what the repositories function and
    ``ecrscan rescan --via-queue`` send), reached through ``role_arn`` in ``region``
    when given."""
    return [
        job_body(r.name, r.registry_id or None, expiry, role_arn=role_arn, region=region)
        for r in repositories
    ]


def image_jobs(
    repository: Repository,
    digests: Iterable[str],
    expiry: str | None = None,
    role_arn: str | None = None,
) -> list[str]:
    """Jobs for exactly these images of one repository, by digest (sorted, at most
    :data:`IMAGES_PER_JOB` a job); none for no digests."""
    ordered = sorted(set(digests))
    return [
        job_body(
            repository.name,
            repository.registry_id or None,
            expiry,
            [{"imageDigest": d} for d in ordered[start : start + IMAGES_PER_JOB]],
            role_arn,
        )
        for start in range(0, len(ordered), IMAGES_PER_JOB)
    ]


def parse_job(body: object) -> Job:
    """Parse and validate one job body; raise :class:`JobError` saying what is wrong."""
    try:
        if not isinstance(body, (str, bytes, bytearray)):
            raise TypeError(
                f"the JSON object must be str, bytes or bytearray, not {type(body).__name__}"
            )
        data = boundedjson.loads(body)
    except TypeError as exc:
        raise JobError(f"job body is not valid JSON ({exc}): {_excerpt(body)}") from None
    except boundedjson.JSONLimitError as exc:
        raise JobError(f"job body is {exc}: {_excerpt(body)}") from None
    if not isinstance(data, dict):
        raise JobError(f"job body must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise JobError(f"job body has unknown keys {unknown} (allowed: {', '.join(_KEYS)})")
    name = data.get("repositoryName")
    if not isinstance(name, str) or not name.strip():
        raise JobError("job body needs a non-empty string repositoryName")
    registry_id = data.get("registryId")
    if registry_id is not None and (not isinstance(registry_id, str) or not registry_id):
        raise JobError(f"registryId must be a non-empty string, got {registry_id!r}")
    expiry = data.get("expiry")
    if expiry is not None:
        if not isinstance(expiry, str):
            raise JobError(f"expiry must be a duration string such as '7d', got {expiry!r}")
        try:
            parse_duration(expiry)
        except DurationError as exc:
            raise JobError(f"bad expiry in job for {name}: {exc}") from None
    role_arn = data.get("roleArn")
    if role_arn is not None:
        try:
            role_arn = parse_role_arn(role_arn if isinstance(role_arn, str) else "").arn
        except ValueError:
            raise JobError(
                f"roleArn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), "
                f"got {data['roleArn']!r}"
            ) from None
    return Job(
        repository_name=name.strip(),
        registry_id=registry_id,
        expiry=expiry,
        images=_image_ids(data.get("images")),
        role_arn=role_arn,
        region=_region(data.get("region")),
    )


def _region(value: Any) -> str | None:
    if value is None:
        return None
    try:
        (region,) = check_regions([value if isinstance(value, str) else ""])
    except ValueError:
        raise JobError(
            f"region must be an AWS region name such as eu-west-1, got {value!r}"
        ) from None
    return region


def _image_ids(value: Any) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise JobError('images must be a list of image ids such as {"imageDigest": "sha256:..."}')
    ids = []
    for item in value:
        if (
            not isinstance(item, dict)
            or not item
            or set(item) - set(_IMAGE_ID_KEYS)
            or not all(isinstance(v, str) and v for v in item.values())
        ):
            raise JobError(
                f"bad image id {item!r}: expected an object with imageDigest and/or "
                "imageTag strings"
            )
        digest = item.get("imageDigest")
        if digest is not None and not _DIGEST.fullmatch(digest):
            raise JobError(
                f"bad image id {item!r}: imageDigest must be sha256: followed by 64 "
                "lowercase hex digits"
            )
        ids.append(dict(item))
    return tuple(ids)


def _excerpt(body: Any, limit: int = 120) -> str:
    text = repr(body)
    return text if len(text) <= limit else text[: limit - 3] + "..."
