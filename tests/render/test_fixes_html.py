"""Issue 20, items 3 and 4: ``fixes --format html`` and the report page's "Top fixes",
read back with ``html.parser``: nothing loaded, the style and script allowed by their
hashes alone, every value escaped, the rows in the plan's rank order with their images,
CVEs linked as the report page links them, KEV and EPSS marked."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ecrscan.core.fixplan import make_plan
from ecrscan.core.model import Finding, ReportResult
from ecrscan.core.view import View
from ecrscan.render.fixes import plan_headline
from ecrscan.render.fixes_html import TOP_FIXES, fixes_html, report_page
from ecrscan.render.formats import Format, render
from tests.support.fix_samples import ORDER, fix_plan, fix_result, hostile_plan
from tests.support.html_page import LOADING, URL_ATTRIBUTES, Page, parse
from tests.support.report_samples import HOSTILE_REPO, MEDIUM_BASH, NOW, THRESHOLDS, report

VIEW = View(command="fixes")


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def table_rows(page: Page, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of the table ``table_id`` (a cell's own text,
    then its elements')."""
    rows: list[list[str]] = []
    inside = False
    for element in page.elements[page.elements.index(page.by_id(table_id)) :]:
        if element.tag == "tbody":
            inside = True
        elif element.tag == "table" and inside:
            break
        elif inside and element.tag == "tr":
            rows.append([])
        elif inside and element.tag == "td":
            rows[-1].append(element.text)
        elif inside and rows and rows[-1]:
            rows[-1][-1] += element.text
    return rows


def test_html_is_a_format_of_the_plan() -> None:
    out = render(Format.HTML, fix_plan(), VIEW)
    assert isinstance(out, str) and out.startswith("<!DOCTYPE html>\n")
    assert out.endswith("</html>\n")


@pytest.mark.parametrize("make", [fix_plan, hostile_plan])
def test_the_page_loads_nothing_and_its_policy_hashes_match(make) -> None:
    page = parse(fixes_html(make(), VIEW))
    for element in page.elements:
        if element.tag in LOADING:
            assert not set(element.attrs) & URL_ATTRIBUTES, (element.tag, element.attrs)
        assert not any(name.startswith("on") for name in element.attrs), element
    (style,) = page.all("style")
    (script,) = page.all("script")
    assert "src" not in script.attrs
    (meta,) = [
        m for m in page.all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    policy = meta.attrs["content"] or ""
    assert policy.startswith("default-src 'none';")
    assert f"style-src {sha256(style.text)};" in policy
    assert f"script-src {sha256(script.text)};" in policy
    assert "unsafe-inline" not in policy and "http" not in policy


def test_hostile_packages_versions_and_repositories_stay_text() -> None:
    document = fixes_html(hostile_plan(), VIEW)
    page = parse(document)
    assert len(page.all("script")) == 1 and not page.all("img") and not page.all("b")
    assert not page.all("pkg") and len(page.all("style")) == 1
    text = page.text
    for value in ("<pkg onload=x>", "1.0'\" → </code><img src=//evil.example/x.png>"):
        assert value in text, value
    assert HOSTILE_REPO in text and 'CVE-2025-0001"><b>' in text
    assert "notice <script>alert(6)</script>" in text and "repository repo<x>" in text
    hrefs = [a.attrs.get("href") or "" for a in page.all("a")]
    assert not any(h.lower().startswith("javascript:") for h in hrefs)
    assert "https://nvd.nist.gov/vuln/detail/CVE-2025-0002" in hrefs  # a real CVE id


def test_verdict_rows_in_rank_order_and_their_marks() -> None:
    plan = fix_plan()
    page = parse(fixes_html(plan, VIEW))
    assert page.all("header")[0].attrs["class"] == "verdict breach"
    headline = plan_headline(plan, VIEW)
    assert headline.startswith("3 package upgrades; 3 of 4 breaching images cleared")
    assert headline in page.text
    assert page.all("title")[0].text == f"ecrscan fixes: {headline}"
    rows = table_rows(page, "fix-table")
    assert [row[0] for row in rows] == ["1", "2", "3"]  # rank
    assert [row[1] for row in rows] == ORDER
    assert rows[0][2:7] == ["3.0.1-1 → 3.0.14-1", "2", "3", "?", "CRITICAL"]
    assert rows[1][2:6] == ["1.2.11 → ?", "1", "2", "?"]
    assert rows[0][8] == "EPSS 0.912KEV" and rows[1][8] == ""
    links = {a.text: a.attrs["href"] for a in page.all("a") if a.text.startswith("CVE-")}
    assert links["CVE-2024-4444"] == "https://nvd.nist.gov/vuln/detail/CVE-2024-4444"
    assert page.by_id("fix-table").attrs["class"] == "sortable"


def test_each_row_lists_its_images() -> None:
    page = parse(fixes_html(fix_plan(), VIEW))
    anchors = [a.attrs["href"] for a in page.all("a") if (a.attrs["href"] or "")[:1] == "#"]
    assert anchors == ["#fix-0", "#fix-1", "#fix-2"]
    details = page.all("details")
    assert [d.attrs["id"] for d in details] == ["fix-0", "fix-1", "fix-2"]
    summaries = [e.text for e in page.all("summary")]
    assert summaries[0] == "openssl 3.0.1-1 → 3.0.14-1: 3 images, 2 cleared"
    cells = [e.text for e in page.all("td")]
    start = cells.index("team/a:1")
    assert cells[start + 2 : start + 5] == ["123456789012/us-east-1", "yes", "yes"]
    ids = [e.attrs["id"] for e in page.elements if "id" in e.attrs]
    assert len(ids) == len(set(ids))


def test_an_empty_plan_says_so() -> None:
    result = ReportResult((report("team/a", ("1",), ()),), THRESHOLDS, NOW)
    page = parse(fixes_html(make_plan(result), VIEW))
    assert "no package upgrade to plan" in page.text
    assert not page.all("details") and not [e for e in page.elements if e.tag == "tbody"]


def test_the_report_page_shows_the_top_fixes_in_rank_order() -> None:
    result = fix_result()
    page = parse(report_page(result, View(), make_plan(result)))
    section = page.by_id("top-fixes")
    assert page.elements.index(section) < page.elements.index(page.by_id("images"))
    codes = [e.text for e in page.elements[page.elements.index(section) :] if e.tag == "code"]
    assert codes[:6] == [
        "openssl",
        "3.0.1-1 → 3.0.14-1",
        "zlib",
        "1.2.11 → ?",
        "bash",
        "5.1 → ?",
    ]
    cells = [e.text for e in page.all("td") if e.attrs.get("class") == "num"]
    assert cells[:3] == ["2", "3", ""]  # breaches cleared, images affected, in use


def test_the_report_page_shows_at_most_the_top_rows() -> None:
    findings = tuple(
        Finding(
            id=f"CVE-2026-{i:04d}", severity=MEDIUM_BASH.severity, package=f"p{i:02d}", version="1"
        )
        for i in range(TOP_FIXES + 5)
    )
    result = ReportResult((report("team/a", ("1",), findings),), THRESHOLDS, NOW)
    page = parse(report_page(result, View(), make_plan(result)))
    section = page.elements.index(page.by_id("top-fixes"))
    rows = [e for e in page.elements[section : page.elements.index(page.by_id("images"))]]
    assert sum(1 for e in rows if e.tag == "tr") == 1 + TOP_FIXES  # the heading row too


def test_the_report_page_has_no_top_fixes_without_a_fix() -> None:
    result = ReportResult((report("team/a", ("1",), ()),), THRESHOLDS, NOW)
    document = report_page(result, View(), make_plan(result))
    assert 'id="top-fixes"' not in document and 'id="images"' in document
