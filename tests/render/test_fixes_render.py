"""Issue 20, item 3: the ``fixes`` table fits 80, 60 and 120 columns with every package
and version whole on one line; JSON, CSV and Markdown carry the same rows."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from ecrscan.core.feeds import KevEntry
from ecrscan.core.fixplan import FixPlan, make_plan
from ecrscan.core.model import Finding, Image, ImageReport, ImageStatus, ReportResult
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import Thresholds
from ecrscan.core.view import View
from ecrscan.render.formats import render

NOW = datetime(2026, 12, 7, tzinfo=UTC)
GATE = Thresholds().fail_on(Severity.HIGH)
PACKAGES = (
    ("linux-libc-dev-amd64-cross", "5.15.0-1053.58~20.04.1+aws2", "5.15.0-1060.66"),
    ("openssl", "1:3.0.2-0ubuntu1.10", "1:3.0.2-0ubuntu1.15"),
    ("github.com/golang-jwt/jwt/v4", "v4.4.2", ""),
)
KEV = KevEntry("CVE-2026-0001", date(2026, 11, 1), date(2026, 12, 1), "Known")


def plan(in_use: bool = True) -> FixPlan:
    reports = []
    for i, (package, version, fixed) in enumerate(PACKAGES):
        findings = tuple(
            Finding(
                id=f"CVE-2026-{i}{n:03d}",
                severity=Severity.CRITICAL if n == 0 else Severity.HIGH,
                package=package,
                version=version,
                fixed_in=fixed,
                epss=0.5 + n / 100,
                kev=KEV if i == 0 else None,
            )
            for n in range(5)
        )
        reports.append(
            ImageReport(
                image=Image(
                    repository=f"team/service-{i}",
                    registry_id="123456789012",
                    digest="sha256:" + "a" * 64,
                ),
                state=None,
                status=ImageStatus.BREACH,
                counts={"CRITICAL": 1, "HIGH": 4},
                findings=findings,
            )
        )
    result = ReportResult(images=tuple(reports), thresholds=GATE, generated_at=NOW)
    return make_plan(result, in_use_scope=in_use)


@pytest.mark.parametrize("width", (80, 60, 120))
@pytest.mark.parametrize("in_use", (True, False))
def test_the_table_fits_and_shows_every_package_and_version_whole(width: int, in_use: bool) -> None:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(render("table", plan(in_use)))
    lines = out.getvalue().splitlines()
    assert all(len(line) <= width for line in lines), "\n".join(lines)
    ids = {text for row in PACKAGES for text in row if text}
    missing = {i for i in ids if not any(i in line for line in lines)}
    assert not missing, "\n".join(lines)


def test_every_format_carries_the_rows() -> None:
    fixes = plan()
    document = json.loads(str(render("json", fixes, View("fixes"))))
    # every row clears one image of as many: by name
    assert [r["package"] for r in document["fixes"]] == sorted(p for p, _, _ in PACKAGES)
    row = document["fixes"][1]
    assert (row["package"], row["kev"], row["epss_max"], row["images_in_use"]) == (
        "linux-libc-dev-amd64-cross",
        True,
        0.54,
        1,
    )
    assert row["fixed_version"] == "5.15.0-1060.66" and row["severity"] == "CRITICAL"
    assert len(row["cves"]) == 5 and row["images"][0]["cleared"] is True
    assert document["exit_code"] == 0  # breaches are the plan's input, not its failure
    csv_text = str(render("csv", fixes))
    assert csv_text.splitlines()[2].split(",")[:5] == [
        "linux-libc-dev-amd64-cross",
        "5.15.0-1053.58~20.04.1+aws2",
        "5.15.0-1060.66",
        "1",
        "1",
    ]
    markdown = str(render("markdown", fixes))
    assert "| `github.com/golang-jwt/jwt/v4` | v4.4.2 |  | 1 | 1 | 1 | CRITICAL |" in markdown
