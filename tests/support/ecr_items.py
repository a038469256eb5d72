"""DescribeImages items and digests for gateway-level ECR tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ecrscan.core.model import Repository

ACCOUNT = "123456789012"


REPO = Repository(name="team/api", registry_id=ACCOUNT)


PUSHED = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def image_item(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "registryId": ACCOUNT,
        "repositoryName": REPO.name,
        "imageDigest": digest(n),
        "imageTags": [f"v{n}"],
        "imagePushedAt": PUSHED,
        "imageSizeInBytes": 1000 + n,
        **extra,
    }
