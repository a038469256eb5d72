from __future__ import annotations

from dataclasses import replace

import pytest

from ecrscan.core.findings import count_findings, findings_from_page, parse_severity
from ecrscan.core.model import Finding
from ecrscan.core.severity import Severity

BASIC_PAGE = {
    "repositoryName": "team/api",
    "imageScanFindings": {
        "findingSeverityCounts": {"HIGH": 1, "MEDIUM": 1},
        "findings": [
            {
                "name": "CVE-2023-0464",
                "description": "A security vulnerability in OpenSSL.",
                "uri": "https://security-tracker.debian.org/tracker/CVE-2023-0464",
                "severity": "HIGH",
                "attributes": [
                    {"key": "package_version", "value": "1.1.1n-0+deb11u4"},
                    {"key": "package_name", "value": "openssl"},
                    {"key": "CVSS2_VECTOR", "value": "AV:N/AC:L/Au:N/C:P/I:P/A:P"},
                    {"key": "CVSS2_SCORE", "value": "7.5"},
                ],
            },
            {
                "name": "CVE-2022-1234",
                "severity": "MEDIUM",
                "attributes": [
                    {"key": "package_name", "value": "bash"},
                    {"key": "CVSS2_SCORE", "value": "4.3"},
                    {"key": "CVSS3_SCORE", "value": "5.5"},
                ],
            },
        ],
    },
}

ENHANCED_FINDING = {
    "awsAccountId": "123456789012",
    "description": "In ncurses, a stack overflow.",
    "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/abc123",
    "severity": "CRITICAL",
    "score": 9.8,
    "title": "CVE-2023-29491 - ncurses",
    "fixAvailable": "YES",
    "exploitAvailable": "NO",
    "status": "ACTIVE",
    "type": "PACKAGE_VULNERABILITY",
    "packageVulnerabilityDetails": {
        "vulnerabilityId": "CVE-2023-29491",
        "source": "NVD",
        "sourceUrl": "https://nvd.nist.gov/vuln/detail/CVE-2023-29491",
        "cvss": [
            {"baseScore": 7.8, "scoringVector": "CVSS:3.1/...", "source": "NVD", "version": "3.1"},
        ],
        "vulnerablePackages": [
            {
                "name": "ncurses",
                "version": "6.2",
                "release": "4.20200222.el8",
                "epoch": 0,
                "fixedInVersion": "0:6.2-4.20200222.el8_9.1",
                "packageManager": "OS",
            },
            {"name": "ncurses-libs", "version": "6.2"},
        ],
    },
}


def test_basic_findings_map_every_field():
    findings = findings_from_page(BASIC_PAGE)
    assert findings == [
        Finding(
            id="CVE-2023-0464",
            severity=Severity.HIGH,
            package="openssl",
            version="1.1.1n-0+deb11u4",
            score=7.5,
            url="https://security-tracker.debian.org/tracker/CVE-2023-0464",
            description="A security vulnerability in OpenSSL.",
        ),
        # CVSS3 wins over CVSS2 when both are given.
        Finding(id="CVE-2022-1234", severity=Severity.MEDIUM, package="bash", score=5.5),
    ]


def test_enhanced_finding_maps_every_field():
    page = {"imageScanFindings": {"enhancedFindings": [ENHANCED_FINDING]}}
    [finding] = findings_from_page(page)
    assert finding == Finding(
        id="CVE-2023-29491",
        severity=Severity.CRITICAL,
        package="ncurses",
        version="6.2-4.20200222.el8",
        fixed_in="0:6.2-4.20200222.el8_9.1",
        score=9.8,
        fix_available="YES",
        title="CVE-2023-29491 - ncurses",
        url="https://nvd.nist.gov/vuln/detail/CVE-2023-29491",
        description="In ncurses, a stack overflow.",
        arn="arn:aws:inspector2:us-east-1:123456789012:finding/abc123",
        exploit_available="NO",
    )


def test_enhanced_exploit_remediation_and_an_epss_score_where_the_finding_has_one():
    item = {
        **ENHANCED_FINDING,
        "exploitAvailable": "yes",
        "remediation": {"recommendation": {"text": "Upgrade ncurses to 6.2-4.el8_9.1"}},
        "epss": {"score": 0.00443},  # Inspector's ListFindings carries it; ECR's does not
    }
    [finding] = findings_from_page({"imageScanFindings": {"enhancedFindings": [item]}})
    assert (finding.exploit_available, finding.epss, finding.remediation) == (
        "YES",
        0.00443,
        "Upgrade ncurses to 6.2-4.el8_9.1",
    )
    assert finding.epss_percentile is None and finding.kev is None


@pytest.mark.parametrize(
    ("extra", "epss", "remediation"),
    [
        ({"epss": {"score": 1.5}}, None, ""),  # not a probability
        ({"epss": {"score": "n/a"}}, None, ""),
        ({"epss": 0.3}, None, ""),  # not Inspector's shape
        ({"remediation": {"recommendation": {"text": "None Provided"}}}, None, ""),
    ],
)
def test_enhanced_facts_that_make_no_sense_are_left_empty(extra, epss, remediation):
    item = {**ENHANCED_FINDING, **extra}
    [finding] = findings_from_page({"imageScanFindings": {"enhancedFindings": [item]}})
    assert (finding.epss, finding.remediation) == (epss, remediation)


def test_a_package_remediation_wins_over_the_findings_text():
    details = ENHANCED_FINDING["packageVulnerabilityDetails"]
    package = {**details["vulnerablePackages"][0], "remediation": "dnf update ncurses"}
    item = {
        **ENHANCED_FINDING,
        "remediation": {"recommendation": {"text": "Upgrade"}},
        "packageVulnerabilityDetails": {**details, "vulnerablePackages": [package]},
    }
    [finding] = findings_from_page({"imageScanFindings": {"enhancedFindings": [item]}})
    assert finding.remediation == "dnf update ncurses"


def test_a_fixed_version_without_fix_available_means_a_fix_is_available():
    item = {k: v for k, v in ENHANCED_FINDING.items() if k != "fixAvailable"}
    [finding] = findings_from_page({"imageScanFindings": {"enhancedFindings": [item]}})
    assert (finding.fix_available, finding.fixed_in) == ("YES", "0:6.2-4.20200222.el8_9.1")


def test_basic_findings_say_nothing_of_fixes_or_exploits():
    for finding in findings_from_page(BASIC_PAGE):
        assert finding.fix_available == finding.fixed_in == finding.exploit_available == ""
        assert finding.epss is None and finding.kev is None


def test_enhanced_score_falls_back_to_the_newest_cvss_base_score():
    item = dict(ENHANCED_FINDING)
    del item["score"]
    item["packageVulnerabilityDetails"] = {
        **ENHANCED_FINDING["packageVulnerabilityDetails"],
        "cvss": [
            {"baseScore": 5.0, "version": "2.0"},
            {"baseScore": 7.8, "version": "3.1"},
            {"baseScore": 6.1, "version": "3.0"},
        ],
    }
    [finding] = findings_from_page({"imageScanFindings": {"enhancedFindings": [item]}})
    assert finding.score == 7.8


def test_enhanced_score_details_before_cvss_list():
    item = {**ENHANCED_FINDING, "scoreDetails": {"cvss": {"score": 8.8}}}
    del item["score"]
    [finding] = findings_from_page({"imageScanFindings": {"enhancedFindings": [item]}})
    assert finding.score == 8.8


def test_enhanced_epoch_and_not_available_fix():
    item = {
        "findingArn": "arn:x",
        "severity": "HIGH",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": "CVE-1",
            "vulnerablePackages": [
                {
                    "name": "glibc",
                    "version": "2.28",
                    "release": "1",
                    "epoch": 2,
                    "fixedInVersion": "NotAvailable",
                }
            ],
        },
    }
    [finding] = findings_from_page({"imageScanFindings": {"enhancedFindings": [item]}})
    assert (finding.version, finding.fixed_in) == ("2:2.28-1", "")


def test_basic_and_enhanced_on_one_page_basic_first():
    page = {
        "imageScanFindings": {
            "findings": BASIC_PAGE["imageScanFindings"]["findings"],
            "enhancedFindings": [ENHANCED_FINDING],
        }
    }
    assert [f.id for f in findings_from_page(page)] == [
        "CVE-2023-0464",
        "CVE-2022-1234",
        "CVE-2023-29491",
    ]


@pytest.mark.parametrize(
    "page",
    [
        {},
        {"imageScanFindings": None},
        {"imageScanFindings": {}},
        {"imageScanFindings": {"findings": None, "enhancedFindings": None}},
        {"imageScanFindings": {"findings": "garbage"}},
    ],
)
def test_pages_without_findings(page):
    assert findings_from_page(page) == []


def test_missing_fields_never_raise():
    page = {
        "imageScanFindings": {
            "findings": [{}, {"attributes": [{"key": "CVSS2_SCORE", "value": "n/a"}, {}]}],
            "enhancedFindings": [{}, {"packageVulnerabilityDetails": {"vulnerablePackages": []}}],
        }
    }
    findings = findings_from_page(page)
    assert len(findings) == 4
    assert all(f.severity is Severity.UNDEFINED for f in findings)
    assert all(f.score is None and f.package == "" and f.id == "" for f in findings)


def test_enhanced_id_falls_back_to_title_then_arn():
    page = {
        "imageScanFindings": {
            "enhancedFindings": [
                {"title": "GHSA-xxxx - lodash", "findingArn": "arn:1", "severity": "LOW"},
                {"findingArn": "arn:2", "severity": "LOW"},
            ]
        }
    }
    assert [f.id for f in findings_from_page(page)] == ["GHSA-xxxx - lodash", "arn:2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CRITICAL", Severity.CRITICAL),
        ("high", Severity.HIGH),
        ("INFORMATIONAL", Severity.INFORMATIONAL),
        ("UNTRIAGED", Severity.UNTRIAGED),
        ("SEVERE", Severity.UNDEFINED),
        ("", Severity.UNDEFINED),
        (None, Severity.UNDEFINED),
        (3, Severity.UNDEFINED),
    ],
)
def test_parse_severity(text, expected):
    assert parse_severity(text) is expected


def test_count_findings_leaves_out_ignored_unless_asked():
    findings = [
        Finding("A", Severity.HIGH),
        Finding("B", Severity.HIGH),
        Finding("C", Severity.LOW),
        Finding("D", Severity.CRITICAL, ignored="accepted risk"),
        Finding("E", Severity.HIGH, ignored="false positive"),
    ]
    assert count_findings(findings) == {"HIGH": 2, "LOW": 1}
    assert count_findings(findings, include_ignored=True) == {"CRITICAL": 1, "HIGH": 3, "LOW": 1}
    assert list(count_findings(findings, include_ignored=True)) == ["CRITICAL", "HIGH", "LOW"]
    assert count_findings([]) == {}
    assert count_findings([replace(findings[3], ignored=None)]) == {"CRITICAL": 1}
