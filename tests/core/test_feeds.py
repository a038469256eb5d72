"""The EPSS and KEV catalogues: FIRST's CSV and CISA's JSON parse to what they say;
anything else is one FeedError naming the line or entry, never a partial table."""

from __future__ import annotations

import gzip
import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrscan.core.feeds import (
    Epss,
    EpssTable,
    FeedError,
    KevCatalog,
    KevEntry,
    decode_feed,
    parse_epss,
    parse_kev,
)

FIRST = (
    "#model_version:v2025.03.14,score_date:2026-12-06T00:00:00Z\n"
    "cve,epss,percentile\n"
    "CVE-1999-0001,0.0046,0.7385\n"
    "CVE-2021-44228,0.94358,0.99957\n"
)
KEV = {
    "title": "CISA Catalog of Known Exploited Vulnerabilities",
    "catalogVersion": "2026.12.05",
    "dateReleased": "2026-12-05T18:00:00.000Z",
    "count": 2,
    "vulnerabilities": [
        {
            "cveID": "CVE-2021-44228",
            "vendorProject": "Apache",
            "product": "Log4j2",
            "vulnerabilityName": "Apache Log4j2 Remote Code Execution Vulnerability",
            "dateAdded": "2021-12-10",
            "shortDescription": "...",
            "requiredAction": "Apply updates per vendor instructions.",
            "dueDate": "2021-12-24",
            "knownRansomwareCampaignUse": "Known",
            "notes": "",
            "cwes": ["CWE-20", "CWE-400", "CWE-502"],
        },
        {
            "cveID": "CVE-2025-0002",
            "dateAdded": "2026-11-20",
            "dueDate": "2026-12-11",
            "knownRansomwareCampaignUse": "Unknown",
        },
    ],
}


def test_firsts_csv_with_its_comment_line():
    table = parse_epss(FIRST)
    assert len(table) == 2
    assert table.get("CVE-2021-44228") == Epss(0.94358, 0.99957)
    assert table.get("cve-1999-0001") == Epss(0.0046, 0.7385)  # ids in any case
    assert table.get("CVE-2020-0001") is None
    assert table.about == "model_version:v2025.03.14,score_date:2026-12-06T00:00:00Z"


def test_gzipd_with_a_bom_and_crlf_and_without_the_comment_or_percentile():
    text = "\ufeffcve,epss\r\nCVE-2021-44228,0.9\r\n\r\n"
    table = parse_epss(decode_feed(gzip.compress(text.encode()), 1000))
    assert table.get("CVE-2021-44228") == Epss(0.9, None)


def test_columns_are_found_by_name():
    table = parse_epss("percentile,cve,epss\n0.5,CVE-2021-44228,0.25\n")
    assert table.get("CVE-2021-44228") == Epss(0.25, 0.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no header line"),
        ("#only a comment\n", "no header line"),
        ("<html><body>404</body></html>\n", "line 1: the header names no 'cve' and 'epss'"),
        ("cve,epss,percentile\n", "no scores after the header"),
        ("cve,epss,percentile\nCVE-2021-44228,0.9\n", "line 2: 2 columns, the header has 3"),
        ("cve,epss,percentile\nGHSA-xxxx,0.9,0.1\n", "line 2: 'GHSA-XXXX' is not a CVE id"),
        ("cve,epss,percentile\nCVE-2021-44228,high,0.1\n", "line 2: epss 'high' is not a number"),
        ("cve,epss,percentile\nCVE-2021-44228,1.5,0.1\n", "epss '1.5' is not a number from 0"),
        ("cve,epss,percentile\nCVE-2021-44228,nan,0.1\n", "epss 'nan' is not a number"),
        ("cve,epss,percentile\nCVE-2021-44228,,0.1\n", "line 2: epss '' is not a number"),
        ("cve,epss,percentile\nCVE-2021-44228,0.1,-1\n", "percentile '-1' is not a number"),
        (
            "cve,epss,percentile\nCVE-2021-44228,0.1,0.1\ncve-2021-44228,0.2,0.2\n",
            "CVE-2021-44228 is listed twice",
        ),
    ],
)
def test_a_malformed_epss_file_is_one_error(text, message):
    with pytest.raises(FeedError, match=None) as caught:
        parse_epss(text)
    assert message in str(caught.value)


def test_cisas_catalogue():
    catalog = parse_kev(json.dumps(KEV))
    assert len(catalog) == 2 and catalog.version == "2026.12.05"
    entry = catalog.get("cve-2021-44228")
    assert entry == KevEntry("CVE-2021-44228", date(2021, 12, 10), date(2021, 12, 24), "Known")
    assert entry is not None and entry.ransomware_known
    assert catalog.get("CVE-2025-0002") == KevEntry(
        "CVE-2025-0002", date(2026, 11, 20), date(2026, 12, 11), "Unknown"
    )
    assert catalog.get("CVE-2020-0001") is None


def _kev_with(**changes: object) -> str:
    entry = {**KEV["vulnerabilities"][1], **changes}  # type: ignore[index]
    return json.dumps({"vulnerabilities": [entry]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not CISA's KEV JSON: not valid JSON"),
        ("[1, 2]", "no 'vulnerabilities' list"),
        ('{"vulnerabilities": {}}', "no 'vulnerabilities' list"),
        ('{"vulnerabilities": [3]}', "vulnerabilities[0]: not an object"),
        (_kev_with(cveID="ALAS-2024-1"), "vulnerabilities[0]: cveID 'ALAS-2024-1' is not"),
        (_kev_with(cveID=None), "cveID 'None' is not a CVE id"),
        (_kev_with(dateAdded="yesterday"), "(CVE-2025-0002): dateAdded 'yesterday' is not a date"),
        (_kev_with(dueDate=20261211), "dueDate '20261211' is not a date"),
        (_kev_with(knownRansomwareCampaignUse=True), "knownRansomwareCampaignUse is not a string"),
        ('{"vulnerabilities": [[[[[[[[[[1]]]]]]]]]]}', "nested deeper than"),
    ],
)
def test_a_malformed_kev_file_is_one_error(text, message):
    with pytest.raises(FeedError) as caught:
        parse_kev(text)
    assert message in str(caught.value)


def test_a_missing_ransomware_field_is_unknown():
    entry = {
        k: v for k, v in KEV["vulnerabilities"][1].items() if k != "knownRansomwareCampaignUse"
    }  # type: ignore[union-attr]
    catalog = parse_kev(json.dumps({"vulnerabilities": [entry]}))
    found = catalog.get("CVE-2025-0002")
    assert found is not None and found.ransomware == "Unknown" and not found.ransomware_known


@pytest.mark.parametrize(
    ("data", "limit", "message"),
    [
        (b"x" * 11, 10, "larger than 10 bytes"),
        (gzip.compress(b"0" * 5000), 4096, "inflates to more than 4096 bytes"),
        (gzip.compress(b"cve,epss\n")[:-6], 1000, "a truncated gzip file"),
        (b"\x1f\x8bnot gzip at all", 1000, "not a valid gzip file"),
        (b"cve,epss\n\xff\xfe", 1000, "not UTF-8 text (byte 9)"),
    ],
)
def test_decoding_is_bounded_and_checked(data, limit, message):
    with pytest.raises(FeedError) as caught:
        decode_feed(data, limit)
    assert message in str(caught.value)


# -- properties ----------------------------------------------------------------------

cve_ids = st.builds(
    lambda year, number: f"CVE-{year}-{number:04d}",
    st.integers(1999, 2030),
    st.integers(1, 10**7),
)
probabilities = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(cve_ids, st.tuples(probabilities, st.none() | probabilities), max_size=40))
def test_epss_written_as_first_does_reads_back(scores):
    lines = ["#model_version:v1", "cve,epss,percentile"]
    lines += [f"{cve},{s!r},{'' if p is None else repr(p)}" for cve, (s, p) in scores.items()]
    if not scores:
        with pytest.raises(FeedError):
            parse_epss("\n".join(lines))
        return
    table = parse_epss("\n".join(lines))
    assert len(table) == len(scores)
    for cve, (score, percentile) in scores.items():
        assert table.get(cve.lower()) == Epss(score, percentile)
    same = EpssTable.of({cve: Epss(s, p) for cve, (s, p) in scores.items()})
    assert all(same.get(cve) == table.get(cve) for cve in scores)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
def test_any_text_is_a_table_or_a_feed_error(text):
    for parse, kind in ((parse_epss, EpssTable), (parse_kev, KevCatalog)):
        try:
            assert isinstance(parse(text), kind)
        except FeedError as exc:
            assert str(exc) and "\n" not in str(exc)  # one line for the usage error


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        cve_ids,
        st.tuples(st.dates(), st.dates(), st.sampled_from(["Known", "Unknown"])),
        max_size=30,
    )
)
def test_kev_written_as_cisa_does_reads_back(entries):
    document = {
        "vulnerabilities": [
            {
                "cveID": cve,
                "dateAdded": a.isoformat(),
                "dueDate": d.isoformat(),
                "knownRansomwareCampaignUse": r,
            }
            for cve, (a, d, r) in entries.items()
        ]
    }
    catalog = parse_kev(json.dumps(document))
    assert len(catalog) == len(entries)
    for cve, (added, due, ransomware) in entries.items():
        assert catalog.get(cve) == KevEntry(cve, added, due, ransomware)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_decode_or_fail_as_a_feed_error(data):
    for blob in (data, gzip.compress(data)):
        try:
            text = decode_feed(blob, 300)
        except FeedError:
            continue
        assert len(text.encode("utf-8")) <= 300 + 3  # a dropped BOM at most
