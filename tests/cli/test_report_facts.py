"""``report`` and ``scan`` with ``--epss-file`` and ``--kev-file``: each finding of the
JSON record carries its package, versions, fix, exploit, EPSS and KEV facts; a file that
cannot be used is exit 2 before any AWS call (no session is created)."""

from __future__ import annotations

import gzip
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator

from ecrscan.cli import main
from ecrscan.cli.app import AppContext
from ecrscan.core.feeds import EPSS_MAX_BYTES, KEV_MAX_BYTES
from tests.support.cli_report import CountingSessions, image, invoke
from tests.support.env import REGION
from tests.support.inspector_fake import FakeInspector
from tests.support.registry import FakeRegistry

NOW = datetime.now(UTC)
ECR = botocore.session.get_session().get_service_model("ecr")
EPSS_CSV = (
    "#model_version:v2025.03.14,score_date:2026-12-06T00:00:00Z\n"
    "cve,epss,percentile\n"
    "CVE-9999-9999,0.91,0.998\n"
    "CVE-2023-29491,0.00043,0.11\n"
)
KEV_JSON = {
    "catalogVersion": "2026.12.05",
    "vulnerabilities": [
        {
            "cveID": "CVE-9999-9999",
            "dateAdded": "2026-11-20",
            "dueDate": "2026-12-11",
            "knownRansomwareCampaignUse": "Known",
        }
    ],
}
ENHANCED = {
    "awsAccountId": "123456789012",
    "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/abc123",
    "severity": "HIGH",
    "score": 7.8,
    "title": "CVE-2023-29491 - ncurses",
    "status": "ACTIVE",
    "type": "PACKAGE_VULNERABILITY",
    "fixAvailable": "YES",
    "exploitAvailable": "YES",
    "remediation": {"recommendation": {"text": "Upgrade ncurses"}},
    "packageVulnerabilityDetails": {
        "vulnerabilityId": "CVE-2023-29491",
        "source": "NVD",
        "vulnerablePackages": [
            {
                "name": "ncurses",
                "version": "6.2",
                "release": "4.el8",
                "epoch": 0,
                "fixedInVersion": "0:6.2-4.el8_9.1",
                "packageManager": "OS",
            }
        ],
    },
}


def feeds(tmp_path: Path) -> tuple[Path, Path]:
    epss = tmp_path / "epss_scores-current.csv.gz"
    epss.write_bytes(gzip.compress(EPSS_CSV.encode()))
    kev = tmp_path / "known_exploited_vulnerabilities.json"
    kev.write_text(json.dumps(KEV_JSON))
    return epss, kev


def findings_of(out: Path) -> list[dict[str, Any]]:
    [record] = json.loads(out.read_text())["images"]
    findings: list[dict[str, Any]] = record["findings"]
    return findings


def test_basic_findings_from_moto_carry_the_files_epss_and_kev(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    registry.create_repo("app")
    digest = registry.push("app", "v1")
    # moto's own basic scan: one finding, CVE-9999-9999 in moto_fake 9.9.9, CVSS2 7.5
    registry.client.start_image_scan(repositoryName="app", imageId={"imageDigest": digest})
    epss, kev = feeds(tmp_path)
    out = tmp_path / "r.json"
    result = invoke(
        ["report", "--image", "app:v1", "--format", "json", "-o", str(out)],
        env={"ECRSCAN_EPSS_FILE": str(epss), "ECRSCAN_KEV_FILE": str(kev)},
    )
    assert result.exit_code == 1, result.output  # the HIGH finding breaches the defaults
    [finding] = findings_of(out)
    assert {k: finding[k] for k in FACT_KEYS} == {
        "id": "CVE-9999-9999",
        "package": "moto_fake",
        "installed_version": "9.9.9",
        "version": "9.9.9",
        "fixed_version": None,
        "fix_available": None,  # basic scans say nothing of fixes
        "exploit_available": None,
        "score": 7.5,
        "epss": 0.91,
        "epss_percentile": 0.998,
        "kev": {"date_added": "2026-11-20", "due_date": "2026-12-11", "ransomware": "Known"},
    }


FACT_KEYS = (
    "id",
    "package",
    "installed_version",
    "version",
    "fixed_version",
    "fix_available",
    "exploit_available",
    "score",
    "epss",
    "epss_percentile",
    "kev",
)


def test_a_file_makes_the_findings_read(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", {"LOW": 1}, findings=[_basic("CVE-9999-9999", "LOW")])
    _, kev = feeds(tmp_path)
    out = tmp_path / "r.json"
    args = ["report", "--fail-on", "CRITICAL", "--format", "json", "-o", str(out)]
    assert invoke(args).exit_code == 0
    [record] = json.loads(out.read_text())["images"]
    assert record["findings"] is None  # counts only: findings not read
    assert invoke([*args, "--kev-file", str(kev)]).exit_code == 0
    [finding] = findings_of(out)
    assert finding["kev"]["due_date"] == "2026-12-11" and finding["epss"] is None


def test_enhanced_findings_carry_the_scanners_facts(registry: FakeRegistry, tmp_path: Path) -> None:
    report = ParamValidator().validate(ENHANCED, ECR.shape_for("EnhancedImageScanFinding"))
    assert not report.has_errors(), report.generate_report()
    registry.set_scan_type("ENHANCED")
    image(registry, "app", "v1", {"HIGH": 1}, enhanced_findings=[ENHANCED], status="ACTIVE")
    epss, kev = feeds(tmp_path)
    out = tmp_path / "r.json"
    result = invoke(
        [
            *("report", "--details", "--epss-file", str(epss), "--kev-file", str(kev)),
            *("--format", "json", "-o", str(out)),
        ]
    )
    assert result.exit_code == 1, result.output
    [finding] = findings_of(out)
    assert {k: finding[k] for k in FACT_KEYS} == {
        "id": "CVE-2023-29491",
        "package": "ncurses",
        "installed_version": "6.2-4.el8",
        "version": "6.2-4.el8",
        "fixed_version": "0:6.2-4.el8_9.1",
        "fix_available": "YES",
        "exploit_available": "YES",
        "score": 7.8,
        "epss": 0.00043,  # ECR's enhanced findings carry none: the file's
        "epss_percentile": 0.11,
        "kev": None,  # not in the catalogue
    }
    assert finding["remediation"] == "Upgrade ncurses"


def test_without_files_the_facts_are_null(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", {"LOW": 1}, findings=[_basic("CVE-9999-9999", "LOW")])
    out = tmp_path / "r.json"
    args = ["report", "--details", "--fail-on", "CRITICAL", "--format", "json", "-o", str(out)]
    assert invoke(args).exit_code == 0
    [finding] = findings_of(out)
    assert (finding["epss"], finding["epss_percentile"], finding["kev"]) == (None, None, None)


def _basic(cve: str, severity: str) -> dict[str, Any]:
    return {
        "name": cve,
        "severity": severity,
        "attributes": [
            {"key": "package_name", "value": "openssl"},
            {"key": "package_version", "value": "3.0.2"},
            {"key": "CVSS3_SCORE", "value": "3.1"},
        ],
    }


# -- files that cannot be used: exit 2, no AWS call ------------------------------------


def _oversized(path: Path, limit: int) -> None:
    with open(path, "wb") as handle:
        handle.truncate(limit + 1)  # sparse: refused by its size, never read


BAD_FILES = [
    ("--epss-file", lambda p: p.write_text("<html>Not Found</html>\n"), "the header names no"),
    ("--epss-file", lambda p: p.write_text("cve,epss\nCVE-2021-44228,2\n"), "line 2: epss '2'"),
    ("--epss-file", lambda p: p.write_bytes(gzip.compress(b"cve,epss\n")[:-4]), "truncated gzip"),
    ("--epss-file", lambda p: _oversized(p, EPSS_MAX_BYTES), "larger than"),
    ("--epss-file", lambda p: None, "cannot read it: No such file or directory"),
    ("--kev-file", lambda p: p.write_text('{"vulnerabilities": [{"cveID": "x"}]}'), "cveID 'x'"),
    ("--kev-file", lambda p: p.write_text("{"), "not CISA's KEV JSON: not valid JSON"),
    ("--kev-file", lambda p: _oversized(p, KEV_MAX_BYTES), "larger than"),
    ("--kev-file", lambda p: p.write_text("{}"), "cannot read it: Not a directory"),
]


@pytest.mark.parametrize("command", ["report", "scan"])
@pytest.mark.parametrize(("option", "make", "message"), BAD_FILES)
def test_a_file_that_cannot_be_used_is_a_usage_error_before_any_call(
    command: str, option: str, make: Any, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "feed"
    make(path)
    if "Not a directory" in message:
        path = path / "kev.json"  # under a file: unreadable, even for root
    sessions = CountingSessions()
    args = [command, option, str(path)] + (["app:v1"] if command == "scan" else [])
    result = invoke(args, app=AppContext(session_factory=sessions))
    assert result.exit_code == 2, result.output
    assert message in result.stderr and str(path) in result.stderr
    assert option in result.stderr
    assert sessions.created == 0


def test_a_bad_file_from_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kev.json"
    path.write_text("[]")
    monkeypatch.setenv("ECRSCAN_KEV_FILE", str(path))
    monkeypatch.setattr(sys, "argv", ["ecrscan", "report"])
    with pytest.raises(SystemExit) as info:
        main()  # the console script: one line naming the variable
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "ECRSCAN_KEV_FILE" in err and "no 'vulnerabilities' list" in err
    assert len(err.strip().splitlines()) == 1


def test_scan_takes_the_files_too(registry: FakeRegistry, tmp_path: Path) -> None:
    image(registry, "app", "v1", None)
    epss, kev = feeds(tmp_path)
    out = tmp_path / "r.json"
    client = boto3.client("ecr", region_name=REGION)
    assert client.describe_images(repositoryName="app")["imageDetails"]
    result = invoke(
        [
            *("scan", "app:v1", "--epss-file", str(epss), "--kev-file", str(kev)),
            *("--timeout", "30s", "--format", "json", "-o", str(out)),
        ]
    )
    assert result.exit_code == 1, result.output  # moto's scan: CVE-9999-9999, HIGH
    [finding] = findings_of(out)
    assert finding["kev"]["ransomware"] == "Known" and finding["epss"] == 0.91
    assert NOW - timedelta(days=1) < datetime.fromisoformat(
        json.loads(out.read_text())["generated_at"]
    )


# -- enhanced registries: Amazon Inspector's EPSS, read in bulk --------------------------


def test_an_enhanced_registrys_epss_comes_from_inspector(
    registry: FakeRegistry, inspector: FakeInspector, tmp_path: Path
) -> None:
    registry.set_scan_type("ENHANCED")
    image(registry, "app", "v1", {"HIGH": 1}, enhanced_findings=[ENHANCED], status="ACTIVE")
    inspector.epss = {"CVE-2023-29491": 0.52}
    epss, _ = feeds(tmp_path)
    out = tmp_path / "r.json"
    args = ["report", "--format", "json", "-o", str(out)]
    assert invoke(args).exit_code == 1
    assert inspector.calls("ListFindings") == 0  # findings not read: no EPSS read either
    assert invoke([*args, "--epss-file", str(epss)]).exit_code == 1
    assert inspector.calls("ListFindings") == 1  # one page for the registry
    [finding] = findings_of(out)
    # Inspector's score wins over the file's (0.00043), and has no percentile
    assert (finding["epss"], finding["epss_percentile"]) == (0.52, None)
    assert finding["exploit_available"] == "YES"


def test_inspectors_epss_denied_is_a_notice_and_the_file_fills_in(
    registry: FakeRegistry, inspector: FakeInspector, tmp_path: Path
) -> None:
    registry.set_scan_type("ENHANCED")
    image(registry, "app", "v1", {"HIGH": 1}, enhanced_findings=[ENHANCED], status="ACTIVE")
    inspector.epss = {"CVE-2023-29491": 0.52}
    inspector.deny = frozenset({"ListFindings"})
    epss, _ = feeds(tmp_path)
    out = tmp_path / "r.json"
    result = invoke(["report", "--epss-file", str(epss), "--format", "json", "-o", str(out)])
    assert result.exit_code == 1, result.output  # judged as before
    document = json.loads(out.read_text())
    [notice] = [n for n in document["notices"] if "EPSS" in n]
    assert "AccessDeniedException" in notice and "inspector2:ListFindings" in notice
    [finding] = findings_of(out)
    assert (finding["epss"], finding["epss_percentile"]) == (0.00043, 0.11)
    assert document["images"][0]["scan_status"] == "ACTIVE"
