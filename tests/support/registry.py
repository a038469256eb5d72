"""A test registry on moto with scan states set explicitly.

moto's DescribeImages never returns scan fields, and its DescribeImageScanFindings
raises ScanNotFoundException until StartImageScan ran, then answers with a fake HIGH
finding.  ``FakeRegistry.set_scan`` makes each image's state explicit instead: it sets
moto's ``last_scan`` (which drives the ScanNotFound answer and its calendar-day scan
quota) and stores the exact DescribeImageScanFindings response for that image.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecr.models import ecr_backends

MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def manifest(seed: str) -> str:
    layer = "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1000,
                "digest": layer,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 2000,
                    "digest": layer,
                }
            ],
        }
    )


class FakeRegistry:
    def __init__(
        self, client: Any, region: str = "us-east-1", account: str = DEFAULT_ACCOUNT_ID
    ) -> None:
        self.client = client
        self.region = region
        self.account = account

    @property
    def backend(self) -> Any:
        return ecr_backends[self.account][self.region]

    def create_repo(self, name: str) -> None:
        self.client.create_repository(repositoryName=name)

    def push(self, repo: str, tag: str | None = "latest", seed: str | None = None) -> str:
        params: dict[str, Any] = {
            "repositoryName": repo,
            "imageManifest": manifest(seed or f"{repo}:{tag}"),
            "imageManifestMediaType": MEDIA_TYPE,
        }
        if tag:
            params["imageTag"] = tag
        return self.client.put_image(**params)["image"]["imageId"]["imageDigest"]

    def _image(self, repo: str, digest: str) -> Any:
        return self.backend.repositories[repo]._get_image(None, digest)

    def set_pushed_at(self, repo: str, digest: str, when: datetime) -> None:
        self._image(repo, digest).image_pushed_at = int(when.timestamp())

    def set_scan(
        self,
        repo: str,
        digest: str,
        status: str = "COMPLETE",
        completed_at: datetime | None = None,
        counts: dict[str, int] | None = None,
        findings: list[dict[str, Any]] | None = None,
        enhanced_findings: list[dict[str, Any]] | None = None,
        description: str = "",
    ) -> None:
        """Make DescribeImageScanFindings for (repo, digest) answer exactly this."""
        image = self._image(repo, digest)
        when = completed_at or datetime.now(UTC)
        # moto's StartImageScan refuses a second scan on the same calendar day
        # (naive local date), so last_scan is stored naive.
        image.last_scan = when.astimezone().replace(tzinfo=None)
        scan_findings: dict[str, Any] = {"findingSeverityCounts": dict(counts or {})}
        if completed_at is not None:
            scan_findings["imageScanCompletedAt"] = completed_at.timestamp()
        if findings is not None:
            scan_findings["findings"] = findings
        if enhanced_findings is not None:
            scan_findings["enhancedFindings"] = enhanced_findings
        response = {
            "registryId": self.account,
            "repositoryName": repo,
            "imageId": {"imageDigest": digest},
            "imageScanStatus": {"status": status, "description": description or status},
            "imageScanFindings": scan_findings,
        }
        image.scan_finding_results[json.dumps({"imageDigest": digest})] = response

    def never_scanned(self, repo: str, digest: str) -> None:
        image = self._image(repo, digest)
        image.last_scan = None
        image.scan_finding_results.clear()

    def set_scan_type(self, scan_type: str) -> None:
        self.client.put_registry_scanning_configuration(scanType=scan_type, rules=[])
