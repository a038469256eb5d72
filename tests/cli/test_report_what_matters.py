"""The gates on what matters (``--fail-on-kev``, ``--min-epss``, ``--exploitable``) on
``report`` and ``scan``: each changes the exit code the issue says, each verdict names
the rule that made it, and a gate that cannot work is exit 2 before any AWS call."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from ecrscan.cli.app import AppContext
from tests.support.cli_report import CountingSessions, image, invoke
from tests.support.inspector_fake import FakeInspector
from tests.support.registry import FakeRegistry

ECR = botocore.session.get_session().get_service_model("ecr")
KEV_JSON = {
    "vulnerabilities": [
        {"cveID": "CVE-2025-0002", "dateAdded": "2026-11-20", "dueDate": "2026-12-11"},
    ],
}
HIGH_KEV = {
    "name": "CVE-2025-0002",
    "severity": "HIGH",
    "attributes": [
        {"key": "package_name", "value": "openssl"},
        {"key": "package_version", "value": "3.0.2"},
    ],
}
ENHANCED: dict[str, Any] = {
    "awsAccountId": "123456789012",
    "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/abc123",
    "severity": "HIGH",
    "title": "CVE-2023-29491 - ncurses",
    "status": "ACTIVE",
    "type": "PACKAGE_VULNERABILITY",
    "fixAvailable": "YES",
    "exploitAvailable": "NO",
    "packageVulnerabilityDetails": {
        "vulnerabilityId": "CVE-2023-29491",
        "source": "NVD",
        "vulnerablePackages": [{"name": "ncurses", "version": "6.2", "packageManager": "OS"}],
    },
}


def kev_file(tmp_path: Path) -> Path:
    path = tmp_path / "known_exploited_vulnerabilities.json"
    path.write_text(json.dumps(KEV_JSON))
    return path


def record(out: Path) -> dict[str, Any]:
    [image_record] = json.loads(out.read_text())["images"]
    return image_record  # type: ignore[no-any-return]


def enhanced(registry: FakeRegistry, **changes: Any) -> None:
    finding = copy.deepcopy(ENHANCED) | changes
    report = ParamValidator().validate(finding, ECR.shape_for("EnhancedImageScanFinding"))
    assert not report.has_errors(), report.generate_report()
    registry.set_scan_type("ENHANCED")
    image(registry, "app", "v1", {"HIGH": 1}, enhanced_findings=[finding], status="ACTIVE")


# -- --fail-on-kev -----------------------------------------------------------------------


def test_fail_on_kev_turns_a_high_finding_under_fail_on_critical_into_a_breach(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    image(registry, "app", "v1", {"HIGH": 1}, findings=[HIGH_KEV])
    out = tmp_path / "r.json"
    args = ["report", "--fail-on", "CRITICAL", "--kev-file", str(kev_file(tmp_path))]
    plain = invoke([*args, "--format", "json", "-o", str(out)])
    assert plain.exit_code == 0, plain.output
    assert record(out)["reasons"] == [] and record(out)["status"] == "ok"

    gated = invoke([*args, "--fail-on-kev", "--format", "json", "-o", str(out)])
    assert gated.exit_code == 1, gated.output
    verdict = record(out)
    assert verdict["status"] == "breach" and verdict["breaches"] == []
    assert verdict["reasons"] == ["KEV: CVE-2025-0002, due 2026-12-11"]
    assert verdict["verdict"] == "breach: KEV: CVE-2025-0002, due 2026-12-11"

    table = invoke([*args, "--fail-on-kev"])  # the table names the rule too
    assert table.exit_code == 1
    assert "KEV: CVE-2025-0002, due 2026-12-11" in " ".join(table.stdout.split())
    markdown = invoke([*args, "--fail-on-kev", "--format", "markdown"])
    assert "KEV: CVE-2025-0002, due 2026-12-11" in markdown.stdout


def test_fail_on_kev_from_the_environment(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", {"HIGH": 1}, findings=[HIGH_KEV])
    env = {
        "ECRSCAN_FAIL_ON": "CRITICAL",
        "ECRSCAN_KEV_FILE": str(kev_file(tmp_path)),
        "ECRSCAN_FAIL_ON_KEV": "true",
    }
    result = invoke(["report"], env=env)
    assert result.exit_code == 1, result.output
    assert "KEV: CVE-2025-0002" in result.stderr + result.stdout


def test_an_accepted_kev_finding_does_not_breach(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", {"HIGH": 1}, findings=[HIGH_KEV])
    ignore = tmp_path / "ignore.toml"
    ignore.write_text('[[ignore]]\nid = "CVE-2025-0002"\nreason = "not reachable"\n')
    args = ["report", "--fail-on", "CRITICAL", "--kev-file", str(kev_file(tmp_path))]
    result = invoke([*args, "--fail-on-kev", "--ignore-file", str(ignore)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["report", "scan"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-on-kev"], "--fail-on-kev needs CISA's catalogue: pass --kev-file"),
        (["--fail-on-kev", "--kev-file", "{bad}"], "not CISA's KEV JSON"),
        (["--min-epss", "1.5"], "'1.5' is not a number from 0 to 1"),
        (["--min-epss", "nan"], "'nan' is not a number from 0 to 1"),
    ],
)
def test_a_gate_that_cannot_work_is_exit_2_before_any_call(
    command: str, args: list[str], message: str, tmp_path: Path
) -> None:
    bad = tmp_path / "kev.json"
    bad.write_text("{")
    args = [str(bad) if a == "{bad}" else a for a in args]
    sessions = CountingSessions()
    refs = ["app:v1"] if command == "scan" else []
    result = invoke([command, *refs, *args], app=AppContext(session_factory=sessions))
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert sessions.created == 0


def test_scan_takes_fail_on_kev(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.create_repo("app")
    registry.push("app", "v1")  # moto's scan: CVE-9999-9999, HIGH
    kev = tmp_path / "kev.json"
    kev.write_text(
        json.dumps(
            {
                "vulnerabilities": [
                    {"cveID": "CVE-9999-9999", "dateAdded": "2026-01-02", "dueDate": "2026-02-03"}
                ]
            }
        )
    )
    args = ["scan", "app:v1", "--fail-on", "CRITICAL", "--kev-file", str(kev), "--timeout", "30s"]
    assert invoke(args).exit_code == 0
    result = invoke([*args, "--fail-on-kev"])
    assert result.exit_code == 1, result.output
    assert "KEV: CVE-9999-9999, due 2026-02-03" in " ".join((result.stdout + result.stderr).split())


def test_the_event_replay_refuses_the_gates(tmp_path: Path) -> None:
    sessions = CountingSessions()
    result = invoke(
        ["report", "--event", str(tmp_path / "event.json"), "--exploitable"],
        app=AppContext(session_factory=sessions),
    )
    assert result.exit_code == 2, result.output
    assert "--exploitable" in result.stderr and sessions.created == 0


# -- --min-epss and --exploitable on an enhanced registry ----------------------------------


def test_min_epss_leaves_out_a_finding_inspector_scores_below_it(
    registry: FakeRegistry, inspector: FakeInspector, tmp_path: Path
) -> None:
    enhanced(registry)
    inspector.epss = {"CVE-2023-29491": 0.02}
    out = tmp_path / "r.json"
    args = ["report", "--fail-on", "HIGH", "--format", "json", "-o", str(out)]
    assert invoke(args).exit_code == 1  # without the gate
    assert inspector.calls("ListFindings") == 0

    assert invoke([*args, "--min-epss", "0.01"]).exit_code == 1  # 0.02 is not below 0.01
    assert record(out)["reasons"] == ["HIGH 1 > 0"]
    result = invoke([*args, "--min-epss", "0.1"])
    assert result.exit_code == 0, result.output
    assert inspector.calls("ListFindings") == 2  # Inspector's EPSS, read in bulk
    verdict = record(out)
    [finding] = verdict["findings"]
    assert (finding["epss"], finding["ignored"]) == (0.02, "EPSS 0.02 below 0.1 (--min-epss)")
    assert verdict["counts"]["HIGH"] == 0 and verdict["raw_counts"]["HIGH"] == 1

    by_env = invoke(args, env={"ECRSCAN_MIN_EPSS": "0.1"})
    assert by_env.exit_code == 0, by_env.output


def test_min_epss_counts_a_finding_with_no_score_and_says_so(
    registry: FakeRegistry, inspector: FakeInspector, tmp_path: Path
) -> None:
    enhanced(registry)  # Inspector has no EPSS for it
    out = tmp_path / "r.json"
    result = invoke(["report", "--min-epss", "0.5", "--format", "json", "-o", str(out)])
    assert result.exit_code == 1, result.output
    notices = json.loads(out.read_text())["notices"]
    assert "--min-epss: 1 finding with no EPSS score counted" in notices


def test_exploitable_counts_only_findings_with_an_exploit(
    registry: FakeRegistry, inspector: FakeInspector, tmp_path: Path
) -> None:
    enhanced(registry)  # exploitAvailable NO
    out = tmp_path / "r.json"
    args = ["report", "--fail-on", "HIGH", "--format", "json", "-o", str(out)]
    assert invoke(args).exit_code == 1
    result = invoke([*args, "--exploitable"])
    assert result.exit_code == 0, result.output
    [finding] = record(out)["findings"]
    assert finding["ignored"] == "no exploit available (--exploitable)"
    assert invoke(args, env={"ECRSCAN_EXPLOITABLE": "1"}).exit_code == 0


def test_exploitable_breaches_on_a_finding_with_an_exploit(
    registry: FakeRegistry, inspector: FakeInspector, tmp_path: Path
) -> None:
    enhanced(registry, exploitAvailable="YES")
    out = tmp_path / "r.json"
    result = invoke(["report", "--exploitable", "--format", "json", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert record(out)["reasons"] == ["HIGH 1 > 0"]


def test_exploitable_counts_basic_findings_with_a_notice(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    image(registry, "app", "v1", {"HIGH": 1}, findings=[HIGH_KEV])
    out = tmp_path / "r.json"
    result = invoke(["report", "--exploitable", "--format", "json", "-o", str(out)])
    assert result.exit_code == 1, result.output
    notices = json.loads(out.read_text())["notices"]
    assert "--exploitable: 1 finding with no word on exploits (basic scans) counted" in notices
