"""A seeded registry for the scan-date cache's tests: mostly fresh images, a few due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.support.registry import FakeRegistry

REPOS = ("alpha", "beta", "gamma")


def seed(registry: FakeRegistry, now: datetime, per_repo: int = 10) -> dict[str, tuple[str, str]]:
    """``per_repo`` images in each of :data:`REPOS`, pushed 60 days before ``now``: the
    first of each repository never scanned, the second scanned 30 days ago, the rest
    scanned 1 to 3 days ago.  Returns name -> (repository, digest)."""
    images: dict[str, tuple[str, str]] = {}
    pushed = now - timedelta(days=60)
    for repo in REPOS:
        registry.create_repo(repo)
        for i in range(per_repo):
            digest = registry.push(repo, tag=f"v{i}", seed=f"{repo}:{i}")
            registry.set_pushed_at(repo, digest, pushed)
            images[f"{repo}-{i}"] = (repo, digest)
            if i == 0:
                registry.never_scanned(repo, digest)
                continue
            age = timedelta(days=30) if i == 1 else timedelta(days=1 + i % 3, hours=i)
            registry.set_scan(repo, digest, completed_at=now - age, counts={"HIGH": 1})
    return images


def reads(gateway: Any) -> int:
    """The scan-state reads (DescribeImageScanFindings) the gateway sent so far."""
    return int(gateway.calls["describe_image_scan_findings"])


def starts(gateway: Any) -> int:
    return int(gateway.calls["start_image_scan"])
