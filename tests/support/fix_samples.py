"""A hand-built report whose fix plan has a known order, for the html tests of
``ecrscan fixes`` and of the report's "Top fixes": openssl clears two breaching images
alone (of three it is in), zlib one (of two), bash none (its one image is within
thresholds)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ecrscan.core.feeds import KevEntry
from ecrscan.core.fixplan import FixPlan, make_plan
from ecrscan.core.model import Finding, ReportResult
from tests.support.report_samples import (
    CRITICAL_OPENSSL,
    HIGH_ZLIB,
    MEDIUM_BASH,
    NOW,
    REGION,
    THRESHOLDS,
    hostile_result,
    report,
)

KEV = KevEntry("CVE-2024-1111", date(2026, 11, 20), date(2026, 12, 11), "Known")
OPENSSL = replace(CRITICAL_OPENSSL, kev=KEV, epss=0.912)
OPENSSL_HIGH = Finding(
    id="CVE-2024-4444",
    severity=HIGH_ZLIB.severity,
    package=OPENSSL.package,
    version=OPENSSL.version,
    fixed_in="3.0.14-1",
)
ORDER = ["openssl", "zlib", "bash"]  # the plan's rows, best first


def fix_result() -> ReportResult:
    images = (
        report("team/a", ("1",), (OPENSSL,)),  # cleared by openssl
        report("team/b", ("1",), (OPENSSL_HIGH, HIGH_ZLIB)),  # by neither alone
        report("team/c", ("1",), (OPENSSL_HIGH,)),  # cleared by openssl
        report("team/d", ("1",), (HIGH_ZLIB,)),  # cleared by zlib
        report("team/e", ("1",), (MEDIUM_BASH,)),  # within thresholds
    )
    return ReportResult(images, THRESHOLDS, NOW, region=REGION, details=True)


def fix_plan() -> FixPlan:
    return make_plan(fix_result())


def hostile_plan() -> FixPlan:
    """The plan of :func:`~tests.support.report_samples.hostile_result`: markup in
    package names, versions, CVE ids and repositories."""
    return make_plan(hostile_result())
