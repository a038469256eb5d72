"""The html format, read back with ``html.parser``: one self-contained page (nothing
loaded from anywhere, style and script allowed by their hashes alone), charts as SVG,
every value from AWS or a file escaped, advisories linked, the finding facts marked,
and the "top fixes" seam empty unless given rows."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest

from ecrscan.core.feeds import KevEntry
from ecrscan.core.model import Finding, ReportResult, ScanState
from ecrscan.core.severity import Severity
from ecrscan.core.view import View
from ecrscan.render.charts import AGE_BUCKETS, NO_SCAN_LABEL, age_bars
from ecrscan.render.formats import PAGES, Format, render
from ecrscan.render.html import report_html
from tests.support.html_page import LOADING, URL_ATTRIBUTES, Page, parse
from tests.support.report_samples import (
    CRITICAL_OPENSSL,
    HOSTILE_REPO,
    HOSTILE_TAG,
    MEDIUM_BASH,
    NOW,
    THRESHOLDS,
    hostile_result,
    report,
    sample_result,
)


def csp(page: Page) -> str:
    (meta,) = [
        m for m in page.all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    return meta.attrs["content"] or ""


def card_values(page: Page) -> dict[str, str]:
    names, values = page.all("dt"), page.all("dd")
    return {name.text: value.text for name, value in zip(names, values, strict=True)}


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_html_is_a_registered_page_format_that_reads_findings() -> None:
    out = render(Format.HTML, sample_result())
    assert isinstance(out, str) and out.startswith("<!DOCTYPE html>\n")
    assert Format.HTML in PAGES


@pytest.mark.parametrize("make", [sample_result, hostile_result])
def test_the_page_loads_nothing(make) -> None:
    page = parse(report_html(make()))
    for element in page.elements:
        if element.tag in LOADING:
            names = set(element.attrs) & URL_ATTRIBUTES
            assert not names, (element.tag, element.attrs)
    assert not page.all("link") and not page.all("img") and not page.all("iframe")
    (style,) = page.all("style")
    assert "url(" not in style.text and "@import" not in style.text
    (script,) = page.all("script")  # ours, inline
    assert "src" not in script.attrs
    # the policy allows nothing but that style and that script
    policy = csp(page)
    assert policy.startswith("default-src 'none';")
    assert f"style-src {sha256(style.text)};" in policy
    assert f"script-src {sha256(script.text)};" in policy
    assert "unsafe-inline" not in policy and "http" not in policy


def test_verdict_totals_and_two_svg_charts() -> None:
    page = parse(report_html(sample_result()))
    header = page.all("header")[0]
    assert header.attrs["class"] == "verdict incomplete"
    assert "audit incomplete: 2 of 5 images not assessed, 1 breaching" in page.text
    assert "CRITICAL 0, HIGH 0, MEDIUM 2, LOW 0" in page.text
    cards = [e.text for e in page.all("dt")]
    assert cards[:3] == ["images", "ok", "breach"]
    svgs = page.all("svg")
    assert len(svgs) == 2
    titles = [e.text for e in page.all("title")][1:]  # the page's own title first
    assert titles[0] == "Findings by severity" and "CRITICAL: 1" in titles
    assert "Images by scan age" in titles and "1 to 7 days: 3" in titles
    assert len(page.all("rect")) == 5 + 6  # 5 severities; 5 ages and "no scan date"


def test_image_table_is_sortable_and_filterable() -> None:
    page = parse(report_html(sample_result()))
    assert page.by_id("image-table").attrs["class"] == "sortable"
    assert "hidden" in page.by_id("image-filter").attrs  # shown by the script
    rows = [e for e in page.all("tr") if "data-status" in e.attrs]
    assert [r.attrs["data-status"] for r in rows] == ["ok", "breach", "ok", "no_scan", "error"]
    anchors = [a.attrs["href"] for a in page.all("a") if (a.attrs["href"] or "")[:1] == "#"]
    assert anchors == ["#f-0", "#f-1", "#f-2"]  # the images with findings listed
    assert [d.attrs["id"] for d in page.all("details")] == ["f-0", "f-1", "f-2"]
    assert "open" in page.by_id("f-1").attrs  # the breaching image's findings are open


def test_every_value_is_escaped() -> None:
    document = report_html(hostile_result())
    page = parse(document)
    assert len(page.all("script")) == 1 and not page.all("img") and not page.all("b")
    assert not page.all("i") and not page.all("pkg") and len(page.all("style")) == 1
    for element in page.elements:
        assert not any(name.startswith("on") for name in element.attrs), element
    text = page.text
    for value in (HOSTILE_REPO, HOSTILE_TAG, "<pkg onload=x>", "1.0'\"", "<i>waived</i> & done"):
        assert value in text, value
    # control characters are shown, never written
    assert "\x1b" not in document and "\x07" not in document
    assert "\\x1b[31mred\\x1b[0m </td></tr></table><script>alert(2)</script>" in text
    assert "\\x1b]0;title\\x07 <script>alert(5)</script>" in text
    assert "notice <script>alert(6)</script>" in text and "repository repo<x>" in text
    hrefs = [a.attrs.get("href") or "" for a in page.all("a")]
    assert not any(h.lower().startswith("javascript:") for h in hrefs)
    assert 'https://example.com/a"onmouseover="alert(4)' in hrefs  # one attribute, whole
    assert "https://github.com/advisories/GHSA-xxxx-yyyy-zzzz" not in hrefs  # not a GHSA id


def test_advisory_links() -> None:
    findings = (
        Finding(id="CVE-2024-99999", severity=Severity.HIGH),
        Finding(id="GHSA-2222-3333-4444", severity=Severity.HIGH),
        Finding(id="ALAS-2024-1", severity=Severity.HIGH),
        CRITICAL_OPENSSL,
    )
    result = ReportResult((report("team/app", ("1",), findings),), THRESHOLDS, NOW)
    links = {a.text: a.attrs["href"] for a in parse(report_html(result)).all("a") if a.text}
    assert links["CVE-2024-99999"] == "https://nvd.nist.gov/vuln/detail/CVE-2024-99999"
    assert links["GHSA-2222-3333-4444"] == "https://github.com/advisories/GHSA-2222-3333-4444"
    assert "ALAS-2024-1" not in links
    assert links["CVE-2024-1111"] == CRITICAL_OPENSSL.url  # the finding's own URI first


def test_finding_facts_are_marked() -> None:
    kev = KevEntry("CVE-2025-0002", date(2026, 11, 20), date(2026, 12, 11), "Known")
    finding = Finding(
        id="CVE-2025-0002",
        severity=Severity.HIGH,
        package="openssl",
        version="3.0.2",
        fixed_in="3.0.2-1",
        fix_available="YES",
        exploit_available="YES",
        epss=0.42,
        epss_percentile=0.97,
        kev=kev,
    )
    unfixed = Finding(id="CVE-2025-0003", severity=Severity.LOW, fix_available="NO")
    result = ReportResult((report("team/app", ("1",), (finding, unfixed)),), THRESHOLDS, NOW)
    page = parse(report_html(result))
    tags = [(e.attrs["class"], e.text) for e in page.all("span") if "tag" in e.attrs["class"]]
    assert ("tag kev", "KEV due 2026-12-11") in tags
    assert ("tag exploit", "exploit") in tags and ("tag fix", "fix") in tags
    assert ("tag nofix", "no fix") in tags
    kev_titles = [e.attrs.get("title") for e in page.all("span") if e.text == "KEV due 2026-12-11"]
    assert kev_titles == ["CISA KEV: added 2026-11-20, due 2026-12-11, known ransomware use"]
    assert "0.42 (p97)" in page.text
    # the image row sums them; the cards count them over the report
    assert ("tag kev", "KEV 1") in tags and ("tag exploit", "exploit 1") in tags
    cards = card_values(page)
    assert (cards["KEV findings"], cards["exploit available"], cards["fix available"]) == (
        "1",
        "1",
        "1",
    )


def test_top_fixes_is_drawn_only_when_given() -> None:
    assert 'id="top-fixes"' not in report_html(sample_result())
    rows = [
        {
            "package": "<openssl>",
            "installed_version": "3.0.2",
            "fixed_version": "3.0.13",
            "breaches_cleared": 31,
            "images_affected": 40,
            "images_in_use": 12,
            "severity": "CRITICAL",
            "cves": [f"CVE-2025-000{i}" for i in range(7)],
            "kev": True,
            "epss_max": 0.9,
            "images": [],
        }
    ]
    page = parse(report_html(sample_result(), top_fixes=rows))
    section = page.by_id("top-fixes")
    assert section.tag == "section"
    assert "<openssl>" in page.text and "3.0.2 → 3.0.13" in page.text
    cells = [e.text for e in page.all("td") if e.attrs.get("class") == "num"]
    assert cells[:3] == ["31", "40", "12"]
    assert "and 2 more" in page.text and "EPSS 0.9" in page.text
    assert page.elements.index(section) < page.elements.index(page.by_id("images"))
    assert 'id="top-fixes"' in report_html(sample_result(), top_fixes=[])  # an empty plan


def test_view_narrows_the_listing_not_the_totals() -> None:
    view = View(only_breaches=True, min_severity=Severity.HIGH)
    page = parse(report_html(sample_result(), view))
    rows = [e for e in page.all("tr") if "data-status" in e.attrs]
    assert [r.attrs["data-status"] for r in rows] == ["breach", "no_scan", "error"]
    assert "2 more within thresholds, not listed (--only-breaches)" in page.text
    assert "CVE-2022-0001" not in page.text  # MEDIUM: below --severity HIGH
    assert "CVE-2024-1111" in page.text
    cards = card_values(page)
    assert cards["images"] == "5"


@pytest.mark.parametrize(
    ("result", "state"),
    [
        (ReportResult((report("a", ("1",), (MEDIUM_BASH,)),), THRESHOLDS, NOW), "ok"),
        (ReportResult((report("a", ("1",), (CRITICAL_OPENSSL,)),), THRESHOLDS, NOW), "breach"),
        (ReportResult((), THRESHOLDS, NOW), "incomplete"),
        (
            ReportResult((report("a", ("1",), ()),), THRESHOLDS, NOW, interrupted="SIGINT"),
            "incomplete",
        ),
    ],
)
def test_verdict_banner(result: ReportResult, state: str) -> None:
    page = parse(report_html(result))
    assert page.all("header")[0].attrs["class"] == f"verdict {state}"
    assert page.all("title")[0].text.startswith("ecrscan report: ")


def test_scan_age_buckets() -> None:
    def aged(days: float | None):
        state = None if days is None else ScanState("COMPLETE", NOW - timedelta(days=days))
        return replace(report("a", ("1",), ()), state=state)

    images = [aged(d) for d in (0.5, 1, 6.9, 7, 29, 30, 89, 90, 400, None)]
    bars = age_bars(images, NOW)
    assert [b.label for b in bars] == [label for _, label, _ in AGE_BUCKETS] + [NO_SCAN_LABEL]
    assert [b.value for b in bars] == [1, 2, 2, 2, 2, 1]
    assert [b.value for b in age_bars(images[:1], NOW)] == [1, 0, 0, 0, 0]  # no empty "none"


def test_ids_are_unique() -> None:
    ids = [e.attrs["id"] for e in parse(report_html(sample_result())).elements if "id" in e.attrs]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*", i or "") for i in ids)


def test_several_accounts_and_regions() -> None:
    one = report("team/app", ("1",), (MEDIUM_BASH,))
    images = [replace(one, account=f"11111111111{i}", region="eu-west-1") for i in range(4)]
    page = parse(report_html(ReportResult(tuple(images), THRESHOLDS, NOW)))
    assert "4 accounts/regions" in page.all("header")[0].text + page.text
    headings = [e.text for e in page.all("button")]
    assert "account/region" in headings
    assert "111111111113/eu-west-1" in [e.text for e in page.all("td")]
    two = parse(report_html(ReportResult(tuple(images[:2]), THRESHOLDS, NOW)))
    assert "111111111110/eu-west-1, 111111111111/eu-west-1" in two.text
    single = parse(report_html(ReportResult(tuple(images[:1]), THRESHOLDS, NOW)))
    assert "account/region" not in [e.text for e in single.all("button")]
