from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
from rich.console import Console

from ecrscan.core.fixplan import FixPlan
from ecrscan.core.model import (
    Finding,
    ImageStatus,
    QueuedJobs,
    ReportResult,
    RepositoryListing,
    RescanResult,
    ScanState,
)
from ecrscan.core.problem import Problem
from ecrscan.core.severity import Severity
from ecrscan.render.common import image_uri, scan_age
from ecrscan.render.formats import FORMATTERS, NEEDS_FINDINGS, Format, formats_for, render
from ecrscan.render.markdown import report_markdown
from tests.support.report_samples import (
    CRITICAL_OPENSSL,
    IGNORED_HIGH,
    NOW,
    THRESHOLDS,
    ok_result,
    report,
    sample_result,
)


def sarif_schema() -> dict:
    """SARIF 2.1.0's JSON schema, as OASIS publishes it (kept in tests/data)."""
    path = Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json"
    return json.loads(path.read_text())


def by_repository(items, key="repository"):
    return {item[key]: item for item in items}


# -- the format registry --------------------------------------------------------------


def test_every_format_has_a_report_formatter():
    assert set(FORMATTERS[ReportResult]) == set(Format)
    assert formats_for(ReportResult) == tuple(Format)
    assert [f.value for f in Format] == [
        "table",
        "json",
        "markdown",
        "sarif",
        "junit",
        "csv",
        "html",
    ]


def test_one_registry_serves_every_command():
    assert set(FORMATTERS) == {RepositoryListing, RescanResult, QueuedJobs, ReportResult, FixPlan}
    assert formats_for(RescanResult) == (Format.TABLE, Format.JSON)
    assert formats_for(FixPlan) == (
        Format.TABLE,
        Format.JSON,
        Format.MARKDOWN,
        Format.CSV,
        Format.HTML,
    )
    assert formats_for(RepositoryListing) == (Format.TABLE, Format.JSON)
    assert formats_for(QueuedJobs) == (Format.JSON,)
    for kind, formatters in FORMATTERS.items():
        assert formatters, kind
        assert all(callable(f) for f in formatters.values())
    with pytest.raises(KeyError):
        render(Format.SARIF, RepositoryListing(()))


@pytest.mark.parametrize("fmt", list(Format))
def test_every_format_renders_the_sample(fmt):
    out = render(fmt, sample_result())
    if fmt is Format.TABLE:
        assert not isinstance(out, str)
        text = console_text(out)
    else:
        assert isinstance(out, str) and out.endswith("\n")
        text = out
    assert "team/web" in text
    # the string value selects the same formatter as the member
    assert type(render(Format(fmt.value), sample_result())) is type(out)


def test_needs_findings_is_the_listing_formats():
    assert frozenset({Format.SARIF, Format.CSV, Format.HTML}) == NEEDS_FINDINGS


# -- table ----------------------------------------------------------------------------


def console_text(renderable) -> str:
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def test_table_rows_totals_and_details():
    text = console_text(render(Format.TABLE, sample_result()))
    lines = text.splitlines()
    row = next(line for line in lines if "team/web:2.0" in line and "│" in line)
    assert "30h" in row and row.rstrip(" │").endswith("breach")
    assert "  team/web:2.0 (a5cb1ff62f8e): breach: CRITICAL 1 > 0, HIGH 2 > 0" in lines
    worker = next(line for line in lines if line.startswith("│ team/worker"))
    assert worker.rstrip(" │").endswith("ok")
    assert "  team/worker:stable (cbee185a7574): ok, 1 ignored" in lines
    assert any(line.startswith("  legacy/app") and "no scan (run" in line for line in lines)
    assert any("team/broken" in line and "AccessDeniedException" in line for line in lines)
    assert "5 images, 2 ok, 1 breach, 1 no scan, 1 error" in text
    assert "thresholds: CRITICAL 0, HIGH 0, MEDIUM 2, LOW 0" in text
    # --details: one findings table per breaching image only
    assert "CVE-2024-1111" in text and "3.0.13-1" in text
    assert "CVE-2023-1234" not in text  # team/worker does not breach


def test_table_total_counts_only_the_rows_that_show_counts():
    """Issue 19: a failed scan's row is blank, so its counts are not in the TOTAL."""
    counted = report("team/app", ("1",), (CRITICAL_OPENSSL,))
    failed = replace(
        report("team/old", ("2",), (CRITICAL_OPENSSL,)), status=ImageStatus.SCAN_FAILED
    )
    text = console_text(render(Format.TABLE, ReportResult((counted, failed), THRESHOLDS, NOW)))
    cells = [
        line.split("│") for line in text.splitlines() if line.startswith(("│ team", "│ TOTAL"))
    ]
    old = next(c for c in cells if "team/old" in c[1])
    total = next(c for c in cells if "TOTAL" in c[1])
    assert [c.strip() for c in old[4:8]] == ["", "", "", ""]  # CRITICAL .. LOW: blank
    assert [c.strip() for c in total[4:8]] == ["1", "0", "0", "0"]


def test_table_details_marks_ignored_findings():
    breaching = report("team/app", ("1",), (CRITICAL_OPENSSL, IGNORED_HIGH))
    result = ReportResult((breaching,), THRESHOLDS, NOW, details=True)
    text = console_text(render(Format.TABLE, result))
    assert "ignored: not reachable: no XML parsing" in text


def test_table_without_details_has_no_findings():
    text = console_text(render(Format.TABLE, sample_result(details=False)))
    assert "CVE-2024-1111" not in text


def test_table_lists_repository_errors():
    result = replace(
        ok_result(), repository_errors=(("team/secret", Problem("AccessDenied", "no")),)
    )
    text = console_text(render(Format.TABLE, result))
    assert any("team/secret" in line and "AccessDenied: no" in line for line in text.splitlines())


# -- JSON -----------------------------------------------------------------------------


def test_json_document_field_by_field():
    doc = json.loads(render(Format.JSON, sample_result()))
    assert doc["schema_version"] == 1
    assert doc["command"] == "report"
    assert doc["generated_at"] == "2026-11-26T12:00:00+00:00"
    assert doc["region"] == "us-east-1"
    assert (doc["complete"], doc["exit_code"], doc["details"]) == (False, 3, True)
    assert doc["thresholds"] == {
        "CRITICAL": 0,
        "HIGH": 0,
        "MEDIUM": 2,
        "LOW": 0,
        "INFORMATIONAL": None,
        "UNDEFINED": None,
        "UNTRIAGED": None,
    }
    totals = doc["totals"]
    assert {
        k: totals[k]
        for k in ("images", "ok", "breach", "no_scan", "pending", "scan_failed", "error", "ignored")
    } == {
        "images": 5,
        "ok": 2,
        "breach": 1,
        "no_scan": 1,
        "pending": 0,
        "scan_failed": 0,
        "error": 1,
        "ignored": 1,
    }
    assert totals["counts"]["HIGH"] == 2 and totals["raw_counts"]["HIGH"] == 3
    assert doc["notices"] == [] and doc["repository_errors"] == []
    assert [i["repository"] for i in doc["images"]] == [
        "team/api",
        "team/web",
        "team/worker",
        "legacy/app",
        "team/broken",
    ]

    images = by_repository(doc["images"])
    web = images["team/web"]
    assert web["registry_id"] == "123456789012"
    assert web["reference"] == "team/web:2.0"
    assert web["uri"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web@{web['digest']}"
    assert web["digest"].startswith("sha256:") and len(web["digest"]) == 71
    assert web["tags"] == ["2.0"]
    assert web["pushed_at"] == "2026-11-23T12:00:00+00:00"
    assert web["last_scan_at"] == "2026-11-25T06:00:00+00:00"
    assert web["scan_status"] == "COMPLETE"
    assert web["status"] == "breach"
    assert web["counts"] == {
        "CRITICAL": 1,
        "HIGH": 2,
        "MEDIUM": 1,
        "LOW": 0,
        "INFORMATIONAL": 0,
        "UNDEFINED": 0,
        "UNTRIAGED": 0,
    }
    assert web["breaches"] == [
        {"severity": "CRITICAL", "count": 1, "threshold": 0},
        {"severity": "HIGH", "count": 2, "threshold": 0},
    ]
    assert web["error"] is None
    assert web["findings"][0] == {
        "id": "CVE-2024-1111",
        "severity": "CRITICAL",
        "package": "openssl",
        "version": "3.0.1-1",
        "fixed_in": "3.0.13-1",
        "score": 9.8,
        "fix_available": "YES",
        "title": CRITICAL_OPENSSL.title,
        "description": CRITICAL_OPENSSL.description,
        "url": "https://nvd.nist.gov/vuln/detail/CVE-2024-1111",
        "arn": CRITICAL_OPENSSL.arn,
        "ignored": None,
        "installed_version": "3.0.1-1",
        "fixed_version": "3.0.13-1",
        "exploit_available": None,
        "epss": None,
        "epss_percentile": None,
        "kev": None,
        "remediation": None,
    }
    assert web["findings"][2]["score"] is None and web["findings"][2]["fixed_in"] is None

    worker = images["team/worker"]
    assert worker["status"] == "ok"
    assert worker["counts"]["HIGH"] == 0 and worker["raw_counts"]["HIGH"] == 1
    assert worker["findings"][0]["ignored"] == "not reachable: no XML parsing"

    legacy = images["legacy/app"]
    assert (legacy["status"], legacy["scan_status"], legacy["findings"]) == (
        "no_scan",
        "NEVER_SCANNED",
        None,
    )
    assert legacy["last_scan_at"] is None and legacy["tags"] == []

    broken = images["team/broken"]
    assert broken["status"] == "error" and broken["scan_status"] is None
    assert broken["error"] == {
        "code": "AccessDeniedException",
        "message": 'not allowed <here> & "there"',
    }


def test_json_repository_errors_and_notices():
    result = replace(
        ok_result(),
        notices=("2 ignore entries expired",),
        repository_errors=(("team/secret", Problem("AccessDenied", "no")),),
    )
    doc = json.loads(render(Format.JSON, result))
    assert doc["notices"] == ["2 ignore entries expired"]
    assert doc["repository_errors"] == [
        {"repository": "team/secret", "code": "AccessDenied", "message": "no"}
    ]
    assert (doc["complete"], doc["exit_code"]) == (False, 3)


def test_json_of_a_clean_run():
    doc = json.loads(render(Format.JSON, ok_result()))
    assert (doc["complete"], doc["exit_code"], doc["totals"]["ok"]) == (True, 0, 1)


# -- Markdown -------------------------------------------------------------------------


def test_markdown_heading_table_and_details():
    text = render(Format.MARKDOWN, sample_result())
    lines = text.splitlines()
    assert lines[0] == ("## ⚠️ ecrscan: audit incomplete: 2 of 5 images not assessed, 1 breaching")
    header = next(line for line in lines if line.startswith("| image |"))
    assert header == (
        "| image | digest | scanned | CRITICAL | HIGH | MEDIUM | LOW | INFORMATIONAL | verdict |"
    )
    web = next(line for line in lines if line.startswith("| `team/web:2.0`"))
    assert web.count("|") == header.count("|")
    assert "| **1** | **2** | 1 |" in web and "❌ breach: CRITICAL 1 > 0, HIGH 2 > 0" in web
    assert text.count("<details>") == text.count("</details>") == 3
    assert "<summary>✅ team/worker:stable: 2 findings, 1 ignored</summary>" in text
    assert "~~CVE-2023-1234~~" in text and "ignored: not reachable: no XML parsing" in text
    # HTML and pipes from AWS text are escaped; links keep their URL
    assert 'openssl &lt;buffer> overflow \\| "quoted" &amp; more' in text
    assert "[CVE-2024-1111](https://nvd.nist.gov/vuln/detail/CVE-2024-1111)" in text
    assert "not allowed &lt;here> &amp;" in text
    for line in lines:
        if line.startswith("| ") and "CVE-2024-1111 - openssl" in line:
            assert line.replace("\\|", "").count("|") == 8


@pytest.mark.parametrize(
    ("result", "heading"),
    [
        (ok_result(), "## ✅ ecrscan: the 1 image is within thresholds"),
        (
            ReportResult((report("team/web", ("2.0",), (CRITICAL_OPENSSL,)),), THRESHOLDS, NOW),
            "## ❌ ecrscan: 1 of 1 image breaches thresholds",
        ),
    ],
)
def test_markdown_verdict_headings(result, heading):
    assert render(Format.MARKDOWN, result).splitlines()[0] == heading


def test_markdown_caps_findings_per_image():
    many = tuple(Finding(f"CVE-2024-{i:04}", Severity.LOW) for i in range(30))
    result = ReportResult((report("team/big", ("1",), many),), THRESHOLDS, NOW, details=True)
    text = report_markdown(result, max_findings=10)
    assert text.count("| LOW | CVE-2024-") == 10
    assert "… and 20 more" in text


# -- SARIF ----------------------------------------------------------------------------


def test_sarif_is_valid_against_the_schema():
    doc = json.loads(render(Format.SARIF, sample_result()))
    jsonschema.validate(doc, sarif_schema(), cls=jsonschema.Draft4Validator)
    assert doc["version"] == "2.1.0"


def test_sarif_schema_check_can_fail():
    doc = json.loads(render(Format.SARIF, sample_result()))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, sarif_schema(), cls=jsonschema.Draft4Validator)


def test_sarif_rules_results_levels_and_suppressions():
    run = json.loads(render(Format.SARIF, sample_result()))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "ecrscan"
    # one rule per vulnerability id (CVE-2022-0001 is in three images)
    assert [r["id"] for r in rules] == sorted(
        [
            "CVE-2022-0001",
            "CVE-2020-9999",
            "CVE-2024-1111",
            "CVE-2024-2222",
            "CVE-2024-3333",
            "CVE-2023-1234",
        ]
    )
    rule = {r["id"]: r for r in rules}
    assert rule["CVE-2024-1111"]["properties"]["security-severity"] == "9.8"
    assert rule["CVE-2024-1111"]["helpUri"] == "https://nvd.nist.gov/vuln/detail/CVE-2024-1111"
    assert rule["CVE-2024-1111"]["defaultConfiguration"]["level"] == "error"
    assert rule["CVE-2024-3333"]["properties"]["security-severity"] == "7.0"  # HIGH, no score
    assert "security-severity" not in rule["CVE-2020-9999"]["properties"]  # informational
    # one result per finding and image: 2 + 4 + 2
    results = run["results"]
    assert len(results) == 8
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {(r["ruleId"], r["properties"]["repository"]): r["level"] for r in results}
    assert levels[("CVE-2024-1111", "team/web")] == "error"
    assert levels[("CVE-2024-2222", "team/web")] == "error"
    assert levels[("CVE-2022-0001", "team/web")] == "warning"
    assert levels[("CVE-2020-9999", "team/api")] == "note"
    ignored = [r for r in results if "suppressions" in r]
    assert len(ignored) == 1 and ignored[0]["ruleId"] == "CVE-2023-1234"
    assert ignored[0]["suppressions"] == [
        {"kind": "external", "status": "accepted", "justification": "not reachable: no XML parsing"}
    ]
    location = results[0]["locations"][0]
    digest = results[0]["properties"]["digest"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == (
        f"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api@{digest}"
    )
    assert location["logicalLocations"][0]["name"] == "team/api:1.4.2"
    fingerprints = [r["partialFingerprints"]["ecrscanFinding/v1"] for r in results]
    assert len(set(fingerprints)) == len(results)
    # images that could not be assessed are notifications, and the run is not successful
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert any("legacy/app" in n and "no scan" in n for n in notes)
    assert any("team/broken" in n and "AccessDeniedException" in n for n in notes)


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        (Severity.CRITICAL, "error"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "note"),
        (Severity.INFORMATIONAL, "note"),
        (Severity.UNDEFINED, "note"),
        (Severity.UNTRIAGED, "note"),
    ],
)
def test_sarif_level_per_severity(severity, level):
    result = ReportResult((report("r", ("t",), (Finding("X-1", severity),)),), THRESHOLDS, NOW)
    run = json.loads(render(Format.SARIF, result))["runs"][0]
    assert run["results"][0]["level"] == level
    assert run["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] == level


def test_sarif_clean_run_is_valid_and_successful():
    doc = json.loads(render(Format.SARIF, ok_result()))
    jsonschema.validate(doc, sarif_schema(), cls=jsonschema.Draft4Validator)
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_image_uri_without_region_stays_a_uri_reference():
    image = report("team/api", ("1",), ())
    assert image_uri(replace(image, region=""), None) == (
        f"team/api@sha256%3A{image.image.digest.partition(':')[2]}"
    )
    assert image_uri(replace(image, region="cn-north-1")).startswith(
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/api@sha256:"
    )


# -- JUnit ----------------------------------------------------------------------------


def test_junit_parses_back():
    root = ET.fromstring(render(Format.JUNIT, sample_result()).encode())
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "1", "2")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("timestamp") == "2026-11-26T12:00:00"
    cases = {case.get("classname"): case for case in suite.iter("testcase")}
    assert set(cases) == {"team/api", "team/web", "team/worker", "legacy/app", "team/broken"}
    assert cases["team/api"].find("failure") is None and cases["team/api"].find("error") is None
    failure = cases["team/web"].find("failure")
    assert failure is not None
    assert failure.get("message") == "breach: CRITICAL 1 > 0, HIGH 2 > 0"
    assert "CRITICAL: 1 (threshold 0)  BREACH" in failure.text
    assert "CVE-2024-1111 openssl 3.0.1-1 (fixed in 3.0.13-1)" in failure.text
    worker_out = cases["team/worker"].find("system-out").text
    assert "[ignored: not reachable: no XML parsing]" in worker_out
    assert cases["legacy/app"].find("error").get("type") == "no_scan"
    broken = cases["team/broken"].find("error")
    assert broken.get("type") == "error"
    assert broken.get("message") == 'error: AccessDeniedException: not allowed <here> & "there"'


@pytest.mark.parametrize("status", [ImageStatus.PENDING, ImageStatus.SCAN_FAILED])
def test_junit_pending_and_failed_scans_are_errors(status):
    state = ScanState(
        status="IN_PROGRESS" if status is ImageStatus.PENDING else "FAILED",
        description="UnsupportedImageError",
    )
    result = ReportResult(
        (report("team/x", ("1",), None, state=state, status=status),), THRESHOLDS, NOW
    )
    root = ET.fromstring(render(Format.JUNIT, result))
    error = root.find("testsuite/testcase/error")
    assert error is not None and error.get("type") == status.value


def test_junit_survives_control_characters_and_repository_errors():
    nasty = Finding("CVE-1", Severity.HIGH, package="pkg\x00\x1b[31m", ignored=None)
    result = ReportResult(
        (report("team/x", ("1",), (nasty,)),),
        THRESHOLDS,
        NOW,
        repository_errors=(("team/secret", Problem("AccessDenied", "no \x07 way")),),
    )
    root = ET.fromstring(render(Format.JUNIT, result))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "1")
    assert "pkg\ufffd\ufffd[31m" in root.find("testsuite/testcase/failure").text
    repo_case = next(c for c in root.iter("testcase") if c.get("classname") == "team/secret")
    assert "AccessDenied" in repo_case.find("error").get("message")


# -- CSV ------------------------------------------------------------------------------


def test_csv_parses_back():
    rows = list(csv.DictReader(io.StringIO(render(Format.CSV, sample_result()))))
    assert list(rows[0]) == [
        "repository",
        "tags",
        "digest",
        "id",
        "severity",
        "package",
        "version",
        "fixed_in",
        "score",
        "ignored_reason",
        "platform",
        "index_digest",
    ]
    assert len(rows) == 8  # one per finding and image; no rows for unread images
    assert [r["repository"] for r in rows].count("team/web") == 4
    first_web = next(r for r in rows if r["repository"] == "team/web")
    assert first_web["id"] == "CVE-2024-1111" and first_web["severity"] == "CRITICAL"
    assert (first_web["package"], first_web["version"], first_web["fixed_in"]) == (
        "openssl",
        "3.0.1-1",
        "3.0.13-1",
    )
    assert first_web["score"] == "9.8" and first_web["ignored_reason"] == ""
    api = next(r for r in rows if r["repository"] == "team/api")
    assert api["tags"] == "1.4.2;latest" and api["digest"].startswith("sha256:")
    ignored = [r for r in rows if r["ignored_reason"]]
    assert [(r["id"], r["ignored_reason"]) for r in ignored] == [
        ("CVE-2023-1234", "not reachable: no XML parsing")
    ]


def test_csv_quotes_awkward_values():
    odd = Finding("CVE-1", Severity.LOW, package='a,b "c"', ignored="line one\nline two")
    result = ReportResult((report("team/x", ("1", "2"), (odd,)),), THRESHOLDS, NOW)
    [row] = list(csv.DictReader(io.StringIO(render(Format.CSV, result))))
    assert (row["package"], row["ignored_reason"], row["tags"]) == (
        'a,b "c"',
        "line one\nline two",
        "1;2",
    )


# -- shared helpers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds_ago", "text"),
    [
        (30, "now"),
        (59 * 60, "59min"),
        (3600, "1h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (9 * 86400 + 5, "9d"),
    ],
)
def test_scan_age(seconds_ago, text):
    state = ScanState(status="COMPLETE", completed_at=NOW - timedelta(seconds=seconds_ago))
    assert scan_age(state, NOW) == text
    assert scan_age(None, NOW) == ""
