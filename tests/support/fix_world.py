"""A registry for ``ecrscan fixes`` (issue 20's done-when): one package's CVE breaches
alone in N images and together with another package's in M more; a third package has
findings below the threshold only.  Basic findings, set on moto's backend."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.support.cli_report import image
from tests.support.registry import FakeRegistry

ALONE, TOGETHER = 3, 2  # N and M


def basic(cve: str, severity: str, package: str, version: str) -> dict[str, Any]:
    return {
        "name": cve,
        "severity": severity,
        "uri": f"https://nvd.nist.gov/vuln/detail/{cve}",
        "attributes": [
            {"key": "package_name", "value": package},
            {"key": "package_version", "value": version},
            {"key": "CVSS3_SCORE", "value": "7.5"},
        ],
    }


def enhanced(cve: str, severity: str, package: str, version: str, n: int = 0) -> dict[str, Any]:
    """An ECR enhanced finding (Amazon Inspector's shape) of ``package`` at ``version``."""
    return {
        "awsAccountId": "123456789012",
        "findingArn": f"arn:aws:inspector2:us-east-1:123456789012:finding/{package}{n}",
        "severity": severity,
        "status": "ACTIVE",
        "type": "PACKAGE_VULNERABILITY",
        "title": f"{cve} - {package}",
        "fixAvailable": "YES",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": cve,
            "source": "NVD",
            "vulnerablePackages": [
                {"name": package, "version": version, "fixedInVersion": version + ".1"}
            ],
        },
    }


OPENSSL = basic("CVE-2026-1001", "HIGH", "openssl", "3.0.2")
ZLIB = basic("CVE-2026-2002", "HIGH", "zlib", "1.2.11")
BASH = basic("CVE-2026-3003", "LOW", "bash", "5.1")


def seed(registry: FakeRegistry, alone: int = ALONE, together: int = TOGETHER) -> None:
    """``alone`` images breaching through openssl only, ``together`` through openssl and
    zlib, each with a LOW bash finding; one clean image."""
    plans = [[OPENSSL, BASH]] * alone + [[OPENSSL, ZLIB, BASH]] * together + [[]]
    for i, findings in enumerate(plans):
        counts = Counter(f["severity"] for f in findings)
        image(registry, f"svc{i:02d}", "v1", dict(counts), findings=list(findings))
