"""Every output says which rule made a breach: a threshold (``HIGH 1 > 0``) or a gate on
what matters (``KEV: CVE-…, due …``), in the JSON ``reasons`` and in every text."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

from ecrscan.core.feeds import KevEntry
from ecrscan.core.judge import Gates, judge
from ecrscan.core.model import Finding, ImageStatus, ReportResult
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds
from ecrscan.render.formats import Format, render
from ecrscan.render.sns import build_messages
from tests.support.report_samples import NOW, REGION, report
from tests.support.sns import body

KEV = KevEntry("CVE-2025-0002", date(2026, 11, 20), date(2026, 12, 11))
REASON = "KEV: CVE-2025-0002, due 2026-12-11"
CRITICAL_ONLY = Thresholds().fail_on(Severity.CRITICAL)


def kev_breach() -> ReportResult:
    """An image whose one HIGH finding is within ``--fail-on CRITICAL`` but KEV-listed."""
    finding = Finding(id="CVE-2025-0002", severity=Severity.HIGH, package="openssl", kev=KEV)
    verdict = judge(CRITICAL_ONLY, Gates(fail_on_kev=True), findings=[finding])
    image = report("team/web", ("2.0",), verdict.findings, thresholds=CRITICAL_ONLY)
    assert image.status is ImageStatus.OK  # the thresholds alone: within them
    image = replace(image, status=ImageStatus.BREACH, reasons=verdict.reasons)
    return ReportResult(images=(image,), thresholds=CRITICAL_ONLY, generated_at=NOW, details=True)


def test_json_gives_the_reasons_and_the_verdict_names_them() -> None:
    [record] = json.loads(str(render(Format.JSON, kev_breach())))["images"]
    assert record["reasons"] == [REASON] and record["breaches"] == []
    assert record["verdict"] == f"breach: {REASON}"


def test_a_threshold_breach_without_recorded_reasons_gives_its_own() -> None:
    image = report("team/api", ("1",), (Finding(id="CVE-1", severity=Severity.CRITICAL),))
    result = ReportResult(images=(image,), thresholds=Thresholds(), generated_at=NOW)
    [record] = json.loads(str(render(Format.JSON, result)))["images"]
    assert record["reasons"] == ["CRITICAL 1 > 0"]


def test_markdown_and_junit_name_the_rule() -> None:
    for fmt in (Format.MARKDOWN, Format.JUNIT):
        assert REASON in str(render(fmt, kev_breach())), fmt


def test_sns_names_the_rule_in_the_text_and_the_email() -> None:
    result = kev_breach()
    [message] = build_messages(result.images, CRITICAL_ONLY, region=REGION, generated_at=NOW)
    text = body(message)
    assert f"): {REASON}\n" in text["default"]
    assert f"  breach:  {REASON}\n" in text["email"]
