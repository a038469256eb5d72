"""The two exploit catalogues a user may hand ecrscan, parsed (bytes in, values out),
and read from a file with a bound (:func:`load_epss`, :func:`load_kev`: the command
line's ``--epss-file``/``--kev-file`` and the reporter function's
``ECRSCAN_EPSS_FILE``/``ECRSCAN_KEV_FILE``; the only I/O here, as the ignore file's).

* EPSS, FIRST's daily CSV (``epss_scores-current.csv.gz``): optional ``#`` comment
  lines (FIRST writes ``#model_version:v2025.03.14,score_date:2026-05-18T00:00:00Z``),
  a header naming at least ``cve`` and ``epss`` (FIRST's is ``cve,epss,percentile``),
  then one row per CVE.  Scores and percentiles are probabilities, 0 to 1.
* KEV, CISA's Known Exploited Vulnerabilities catalogue (JSON):
  ``{"vulnerabilities": [{"cveID", "dateAdded", "dueDate",
  "knownRansomwareCampaignUse", ...}]}``.

Either may be gzip'd (the magic bytes tell).  Both are bounded: the file, and what it
inflates to, may not exceed a limit, and a bad file is a :class:`FeedError` naming
the line or entry, never a partial table.
"""

from __future__ import annotations

import os
import re
import stat
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

from ecrscan.core import boundedjson

EPSS_MAX_BYTES = 64 * 1024 * 1024  # FIRST's CSV is ~10 MB inflated (~300,000 CVEs)
KEV_MAX_BYTES = 16 * 1024 * 1024  # CISA's catalogue is ~1.5 MB
GZIP_MAGIC = b"\x1f\x8b"
CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)
_KEV_DEPTH = 8  # {"vulnerabilities": [{"cwes": [...]}]} and some room


class FeedError(ValueError):
    """A catalogue that cannot be used: the message says what and where (one line)."""


def decode_feed(data: bytes, limit: int) -> str:
    """``data`` (gzip'd or not) as text: at most ``limit`` bytes inflated, UTF-8 (a BOM
    is dropped)."""
    if len(data) > limit:
        raise FeedError(f"larger than {limit} bytes")
    if data[:2] == GZIP_MAGIC:
        data = _gunzip(data, limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FeedError(f"not UTF-8 text (byte {exc.start})") from None
    return text.removeprefix("\ufeff")


def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=31)  # gzip framing
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise FeedError(f"not a valid gzip file ({exc})") from None
    if len(out) > limit:
        raise FeedError(f"inflates to more than {limit} bytes")
    if not inflater.eof:
        raise FeedError("a truncated gzip file")
    return out


# -- EPSS ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Epss:
    """One CVE's EPSS: the probability of exploitation in the next 30 days and its
    percentile among all scored CVEs (``None`` where the source gives none)."""

    score: float
    percentile: float | None = None


class EpssTable:
    """EPSS by CVE id, compact: ~300,000 scores in sorted arrays (a dict of records
    would take several times the memory).  ``ids`` are upper-case and distinct;
    ``percentiles`` hold -1 where there is none."""

    def __init__(
        self, ids: list[str], scores: array[float], percentiles: array[float], about: str = ""
    ) -> None:
        order = sorted(range(len(ids)), key=ids.__getitem__)
        self._ids = [ids[i] for i in order]
        self._scores = array("d", (scores[i] for i in order))
        self._percentiles = array("d", (percentiles[i] for i in order))
        self.about = about  # FIRST's comment line (model version, score date), if any

    @classmethod
    def of(cls, scores: Mapping[str, Epss], about: str = "") -> EpssTable:
        ids = [cve.upper() for cve in scores]
        return cls(
            ids,
            array("d", (e.score for e in scores.values())),
            array("d", (-1.0 if e.percentile is None else e.percentile for e in scores.values())),
            about,
        )

    def __len__(self) -> int:
        return len(self._ids)

    def duplicate(self) -> str | None:
        """A CVE id listed more than once (``None``: all distinct)."""
        return next((a for a, b in pairwise(self._ids) if a == b), None)

    def get(self, cve: str) -> Epss | None:
        key = cve.strip().upper()
        at = bisect_left(self._ids, key)
        if at == len(self._ids) or self._ids[at] != key:
            return None
        percentile = self._percentiles[at]
        return Epss(self._scores[at], None if percentile < 0 else percentile)


def parse_epss(text: str) -> EpssTable:
    """FIRST's EPSS CSV as a table; :class:`FeedError` for anything else."""
    lines = text.splitlines()
    about = ""
    at = 0
    while at < len(lines) and (lines[at].startswith("#") or not lines[at].strip()):
        about = about or lines[at].lstrip("#").strip()
        at += 1
    if at == len(lines):
        raise FeedError("no header line (FIRST's is 'cve,epss,percentile')")
    header = [name.strip().lower() for name in lines[at].split(",")]
    if "cve" not in header or "epss" not in header:
        raise FeedError(
            f"line {at + 1}: the header names no 'cve' and 'epss' columns "
            f"(FIRST's is 'cve,epss,percentile'): {lines[at][:80]!r}"
        )
    ids, scores, percentiles = _epss_rows(lines, at + 1, header)
    if not ids:
        raise FeedError("no scores after the header")
    table = EpssTable(ids, scores, percentiles, about)
    twice = table.duplicate()
    if twice is not None:
        raise FeedError(f"{twice} is listed twice")
    return table


def _epss_rows(
    lines: list[str], first: int, header: list[str]
) -> tuple[list[str], array[float], array[float]]:
    """The rows from ``lines[first]`` on (one loop, no call per row: FIRST's file has
    ~300,000 of them)."""
    width = len(header)
    cve_at, score_at = header.index("cve"), header.index("epss")
    percentile_at = header.index("percentile") if "percentile" in header else None
    ids: list[str] = []
    scores, percentiles = array("d"), array("d")
    is_cve = CVE.fullmatch
    for number in range(first, len(lines)):
        line = lines[number]
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split(",")
        if len(cells) != width:
            raise FeedError(f"line {number + 1}: {len(cells)} columns, the header has {width}")
        cve = cells[cve_at].strip().upper()
        if not is_cve(cve):
            raise FeedError(f"line {number + 1}: {cve[:40]!r} is not a CVE id")
        ids.append(cve)
        scores.append(_probability(cells[score_at], number + 1, "epss"))
        text = "" if percentile_at is None else cells[percentile_at].strip()
        percentiles.append(_probability(text, number + 1, "percentile") if text else -1.0)
    return ids, scores, percentiles


def _probability(text: str, number: int, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:  # NaN too
        raise FeedError(f"line {number}: {name} {text.strip()[:40]!r} is not a number from 0 to 1")
    return value


# -- KEV -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KevEntry:
    """One CVE of CISA's KEV catalogue: when it was added, the remediation due date
    CISA set, and ``knownRansomwareCampaignUse`` (``Known`` or ``Unknown``)."""

    cve: str
    date_added: date
    due_date: date
    ransomware: str = "Unknown"

    @property
    def ransomware_known(self) -> bool:
        return self.ransomware.lower() == "known"


@dataclass(frozen=True)
class KevCatalog:
    """KEV entries by CVE id; ``version`` and ``released``: the catalogue's
    ``catalogVersion`` and ``dateReleased``, when it gives them."""

    entries: Mapping[str, KevEntry] = field(default_factory=dict)
    version: str = ""
    released: str = ""

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, cve: str) -> KevEntry | None:
        return self.entries.get(cve.strip().upper())


def parse_kev(text: str) -> KevCatalog:
    """CISA's KEV JSON as a catalogue; :class:`FeedError` for anything else."""
    try:
        document = boundedjson.loads(text, max_bytes=KEV_MAX_BYTES, max_depth=_KEV_DEPTH)
    except boundedjson.JSONLimitError as exc:
        raise FeedError(f"not CISA's KEV JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("vulnerabilities"), list):
        raise FeedError("not CISA's KEV JSON: no 'vulnerabilities' list")
    entries: dict[str, KevEntry] = {}
    for number, item in enumerate(document["vulnerabilities"], start=1):
        entry = _kev_entry(item, number)
        entries.setdefault(entry.cve, entry)  # a CVE listed twice: its first entry
    return KevCatalog(
        entries, _string(document.get("catalogVersion")), _string(document.get("dateReleased"))
    )


def _kev_entry(item: Any, number: int) -> KevEntry:
    where = f"vulnerabilities[{number - 1}]"
    if not isinstance(item, dict):
        raise FeedError(f"{where}: not an object")
    cve = item.get("cveID")
    if not isinstance(cve, str) or not CVE.fullmatch(cve.strip()):
        raise FeedError(f"{where}: cveID {str(cve)[:40]!r} is not a CVE id")
    where = f"{where} ({cve.strip()})"
    ransomware = item.get("knownRansomwareCampaignUse", "Unknown")
    if not isinstance(ransomware, str):
        raise FeedError(f"{where}: knownRansomwareCampaignUse is not a string")
    return KevEntry(
        cve=cve.strip().upper(),
        date_added=_date(item.get("dateAdded"), where, "dateAdded"),
        due_date=_date(item.get("dueDate"), where, "dueDate"),
        ransomware=ransomware.strip() or "Unknown",
    )


def _date(value: Any, where: str, name: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise FeedError(f"{where}: {name} {str(value)[:40]!r} is not a date (YYYY-MM-DD)")


def _string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


# -- the files ---------------------------------------------------------------------

T = TypeVar("T")


def read_bounded(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path`` (a larger file is refused, before reading
    it when its size is known); :class:`FeedError` when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise FeedError(f"larger than {limit} bytes ({info.st_size} bytes)")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise FeedError(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise FeedError(f"larger than {limit} bytes")
    return data


def _loader(label: str, limit: int, parse: Callable[[str], T]) -> Callable[[Path | None], T | None]:
    def load(path: Path | None) -> T | None:
        if path is None:
            return None
        try:
            return parse(decode_feed(read_bounded(path, limit), limit))
        except FeedError as exc:
            raise FeedError(f"{label} {path}: {exc}") from None

    return load


load_epss: Callable[[Path | None], EpssTable | None] = _loader(
    "EPSS file", EPSS_MAX_BYTES, parse_epss
)
load_kev: Callable[[Path | None], KevCatalog | None] = _loader("KEV file", KEV_MAX_BYTES, parse_kev)
