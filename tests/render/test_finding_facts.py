"""The facts of one finding in the JSON record: the issue's names beside the old ones,
and the KEV entry as dates and CISA's ransomware word."""

from __future__ import annotations

import json
from datetime import date

from ecrscan.core.feeds import KevEntry
from ecrscan.core.model import Finding
from ecrscan.core.severity import Severity
from ecrscan.render.json import finding_record


def test_every_fact_of_a_finding_is_in_its_record():
    finding = Finding(
        id="CVE-2025-0002",
        severity=Severity.HIGH,
        package="openssl",
        version="3.0.2-0ubuntu1",
        fixed_in="3.0.2-0ubuntu1.18",
        fix_available="YES",
        exploit_available="YES",
        epss=0.42,
        epss_percentile=0.97,
        kev=KevEntry("CVE-2025-0002", date(2026, 11, 20), date(2026, 12, 11), "Known"),
        remediation="apt-get install openssl",
    )
    record = json.loads(json.dumps(finding_record(finding)))
    assert {k: record[k] for k in FACTS} == {
        "package": "openssl",
        "installed_version": "3.0.2-0ubuntu1",
        "fixed_version": "3.0.2-0ubuntu1.18",
        "fix_available": "YES",
        "exploit_available": "YES",
        "epss": 0.42,
        "epss_percentile": 0.97,
        "kev": {"date_added": "2026-11-20", "due_date": "2026-12-11", "ransomware": "Known"},
        "remediation": "apt-get install openssl",
    }
    # the older names stay (fields are only ever added)
    assert (record["version"], record["fixed_in"]) == ("3.0.2-0ubuntu1", "3.0.2-0ubuntu1.18")


FACTS = (
    "package",
    "installed_version",
    "fixed_version",
    "fix_available",
    "exploit_available",
    "epss",
    "epss_percentile",
    "kev",
    "remediation",
)


def test_unknown_facts_are_null():
    record = finding_record(Finding(id="CVE-2025-0002", severity=Severity.LOW))
    assert all(record[k] is None for k in FACTS)
