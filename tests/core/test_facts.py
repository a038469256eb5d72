"""Findings carry what the user's catalogues know of their CVE; the scanner's own EPSS
is kept, and a finding no catalogue lists is unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from ecrscan.core.facts import NO_FACTS, Facts, with_scanner_epss
from ecrscan.core.feeds import Epss, EpssTable, KevCatalog, KevEntry
from ecrscan.core.model import Finding
from ecrscan.core.severity import Severity

LOG4J = KevEntry("CVE-2021-44228", date(2021, 12, 10), date(2021, 12, 24), "Known")
FACTS = Facts(
    EpssTable.of({"CVE-2021-44228": Epss(0.94358, 0.99957), "CVE-2023-0464": Epss(0.001, 0.4)}),
    KevCatalog({"CVE-2021-44228": LOG4J}),
)


def test_a_listed_cve_gets_its_epss_and_kev_entry():
    finding = Finding(id="cve-2021-44228", severity=Severity.LOW, package="log4j-core")
    enriched = FACTS.finding(finding)
    assert (enriched.epss, enriched.epss_percentile, enriched.kev) == (0.94358, 0.99957, LOG4J)
    assert (enriched.id, enriched.package, enriched.severity) == (
        "cve-2021-44228",
        "log4j-core",
        Severity.LOW,
    )


def test_the_scanners_epss_wins_over_the_file():
    finding = Finding(id="CVE-2023-0464", severity=Severity.HIGH, epss=0.2)
    assert FACTS.finding(finding).epss == 0.2
    assert FACTS.finding(finding).kev is None


def test_an_unlisted_finding_is_the_same_object():
    finding = Finding(id="GHSA-abcd-efgh-ijkl", severity=Severity.HIGH)
    assert FACTS.finding(finding) is finding
    assert FACTS.findings([finding]) == (finding,)


def test_one_catalogue_alone():
    finding = Finding(id="CVE-2021-44228", severity=Severity.HIGH)
    only_kev = Facts(kev=FACTS.kev).finding(finding)
    assert (only_kev.kev, only_kev.epss) == (LOG4J, None)
    only_epss = Facts(epss=FACTS.epss).finding(finding)
    assert (only_epss.kev, only_epss.epss) == (None, 0.94358)
    assert not NO_FACTS and FACTS and Facts(kev=KevCatalog())


def test_inspectors_epss_by_finding_arn_fills_only_findings_without_one():
    scored = Finding(id="CVE-1", severity=Severity.HIGH, arn="arn:f/1", epss=0.3)
    bare = Finding(id="CVE-2", severity=Severity.HIGH, arn="arn:f/2")
    basic = Finding(id="CVE-3", severity=Severity.HIGH)  # no ARN: never matched
    scores = {"arn:f/1": 0.9, "arn:f/2": 0.7, "": 0.5}
    assert with_scanner_epss([scored, bare, basic], scores) == (
        scored,
        replace(bare, epss=0.7),
        basic,
    )
