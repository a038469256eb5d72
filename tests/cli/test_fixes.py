"""Issue 20, item 3: ``ecrscan fixes`` ranks package upgrades by the breaches each clears
alone, over report's scope and options, at no more calls than ``report --details``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ecrscan.cli.app import AppContext
from tests.support.calls import CallCounter
from tests.support.cli_report import CountingSessions, image, invoke
from tests.support.fix_world import ALONE, TOGETHER, enhanced, seed
from tests.support.inspector_fake import FakeInspector
from tests.support.registry import FakeRegistry


def plan(args: list[str], tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    out = tmp_path / "fixes.json"
    result = invoke(["fixes", *args, "--format", "json", "-o", str(out)])
    return result, json.loads(out.read_text())


def test_the_package_breaching_alone_clears_n_and_affects_n_plus_m(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    seed(registry)
    result, document = plan(["--fail-on", "HIGH"], tmp_path)
    assert result.exit_code == 0, result.output  # a plan, not a gate: breaches exit 0
    rows = {r["package"]: r for r in document["fixes"]}
    # ties on breaches cleared: more images affected first
    assert [r["package"] for r in document["fixes"]] == ["openssl", "bash", "zlib"]
    assert (rows["openssl"]["breaches_cleared"], rows["openssl"]["images_affected"]) == (
        ALONE,
        ALONE + TOGETHER,
    )
    assert (rows["zlib"]["breaches_cleared"], rows["zlib"]["images_affected"]) == (0, TOGETHER)
    # all its findings are below the threshold: it clears nothing
    assert (rows["bash"]["breaches_cleared"], rows["bash"]["images_affected"]) == (0, 5)
    assert rows["openssl"] | {"images": []} == {
        "package": "openssl",
        "installed_version": "3.0.2",
        "fixed_version": None,  # basic scans name none
        "breaches_cleared": ALONE,
        "images_affected": ALONE + TOGETHER,
        "images_in_use": None,  # no --in-use, no Inspector record
        "severity": "HIGH",
        "cves": ["CVE-2026-1001"],
        "kev": False,
        "epss_max": None,
        "images": [],
    }
    cleared = [i["repository"] for i in rows["openssl"]["images"] if i["cleared"]]
    assert cleared == ["svc00", "svc01", "svc02"]
    assert document["command"] == "fixes" and document["exit_code"] == 0
    assert document["complete"] is True and document["totals"]["breach"] == ALONE + TOGETHER
    assert document["totals"]["cleared_by_one"] == ALONE


def test_thresholds_decide_what_a_package_clears(registry: FakeRegistry, tmp_path: Path) -> None:
    seed(registry)
    # two HIGH findings tolerated: nothing breaches, nothing to clear
    _, document = plan(["--fail-on", "HIGH", "--threshold", "HIGH=2"], tmp_path)
    assert {r["package"]: r["breaches_cleared"] for r in document["fixes"]} == {
        "openssl": 0,
        "zlib": 0,
        "bash": 0,
    }
    # LOW counts too (the defaults): bash breaches with the others, clears nothing alone
    _, document = plan([], tmp_path)
    assert {r["package"]: r["breaches_cleared"] for r in document["fixes"]} == {
        "openssl": 0,
        "zlib": 0,
        "bash": 0,
    }


def test_an_ignored_package_is_no_row_and_its_images_clear_by_the_other(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    seed(registry)
    ignore = tmp_path / "ignore.toml"
    ignore.write_text('[[ignore]]\nid = "CVE-2026-2002"\nreason = "not reachable"\n')
    _, document = plan(["--fail-on", "HIGH", "--ignore-file", str(ignore)], tmp_path)
    rows = {r["package"]: r["breaches_cleared"] for r in document["fixes"]}
    assert rows == {"openssl": ALONE + TOGETHER, "bash": 0}


def test_fixes_costs_no_more_calls_than_report_details(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    seed(registry)
    counted = {}
    for command in (["report", "--details"], ["fixes"]):
        calls = CallCounter()
        out = tmp_path / "out.json"
        args = [*command, "--fail-on", "HIGH", "--format", "json", "-o", str(out)]
        invoke(args, app=AppContext(session_factory=calls))
        counted[command[0]] = calls.calls
    assert counted["report"]["DescribeImageScanFindings"] == ALONE + TOGETHER + 1
    assert counted["fixes"] == counted["report"]


def test_csv_and_markdown_list_the_rows(registry: FakeRegistry, tmp_path: Path) -> None:
    seed(registry)
    out = tmp_path / "fixes.csv"
    assert invoke(["fixes", "--fail-on", "HIGH", "--format", "csv", "-o", str(out)]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["package"], r["breaches_cleared"], r["images_affected"]) for r in rows] == [
        ("openssl", "3", "5"),
        ("bash", "0", "5"),
        ("zlib", "0", "2"),
    ]
    out = tmp_path / "fixes.md"
    args = ["fixes", "--fail-on", "HIGH", "--format", "markdown", "-o", str(out)]
    assert invoke(args).exit_code == 0
    text = out.read_text()
    assert "| `openssl` | 3.0.2 |  | 3 | 5 | ? | HIGH |" in text
    assert "3 of 5 breaching images cleared by one upgrade" in text


def test_an_unreadable_image_leaves_the_plan_incomplete(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    seed(registry, alone=1, together=0)
    result = invoke(["fixes", "--image", "svc00:v1", "--image", "gone:v1"])
    assert result.exit_code == 3, result.output
    assert "incomplete audit" in result.stderr


def test_usage_errors_exit_2_before_any_call(tmp_path: Path) -> None:
    sessions = CountingSessions()
    for args in (
        ["fixes", "--threshold", "HIGH=x"],
        ["fixes", "--format", "sarif"],
        ["fixes", "--kev-file", str(tmp_path / "missing.json")],
        ["fixes", "--image", "app:v1", "--all-regions"],
    ):
        result = invoke(args, app=AppContext(session_factory=sessions))
        assert result.exit_code == 2, (args, result.output)
    assert sessions.created == 0


def test_images_in_use_come_from_inspectors_in_use_count(
    registry: FakeRegistry, inspector: FakeInspector, tmp_path: Path
) -> None:
    registry.set_scan_type("ENHANCED")
    openssl = enhanced("CVE-2026-1001", "HIGH", "openssl", "3.0.2")
    zlib = enhanced("CVE-2026-2002", "HIGH", "zlib", "1.2.11", 1)
    bash = enhanced("CVE-2026-3003", "LOW", "bash", "5.1", 2)
    running = image(
        registry, "running", "v1", {"HIGH": 1}, enhanced_findings=[openssl], status="ACTIVE"
    )
    idle = image(
        registry, "idle", "v1", {"HIGH": 2}, enhanced_findings=[openssl, zlib], status="ACTIVE"
    )
    image(registry, "unknown", "v1", {"LOW": 1}, enhanced_findings=[bash], status="ACTIVE")
    inspector.in_use = {running: 2, idle: 0}
    result, document = plan(["--fail-on", "HIGH"], tmp_path)
    assert result.exit_code == 0, result.output
    rows = {r["package"]: r for r in document["fixes"]}
    assert {p: (r["images_affected"], r["images_in_use"]) for p, r in rows.items()} == {
        "openssl": (2, 1),  # running: inUseCount 2; idle: 0
        "zlib": (1, 0),
        "bash": (1, None),  # Inspector gave no inUseCount
    }
    assert rows["openssl"]["fixed_version"] == "3.0.2.1"
    assert rows["openssl"]["breaches_cleared"] == 1  # idle breaches through zlib too
