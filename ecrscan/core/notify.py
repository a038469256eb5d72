"""Notify on change (pure): what is remembered about each breaching image, and whether
a new verdict about it is worth a message.

The reporter function (``NOTIFY_ON=change``) and ``report --publish --only-changed``
keep one :class:`Record` per breaching image in a state table, under :func:`state_key`
(``account/region/repository@digest``).  A record holds the :class:`Fingerprint` of
what was last notified (verdict and severity counts, plus a digest of the counted
finding ids when the findings were read), when, when it stops counting (``state_ttl``
after the notification: an unchanged breach is notified again once the record has
expired) and a version number that every claim increments (the conditional writes
compare it).

:func:`decide` is the whole rule; nothing here reads a clock or does I/O: ``now`` is
passed in.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from dateutil.relativedelta import relativedelta

from ecrscan.core.model import Finding, ImageReport, ImageStatus
from ecrscan.core.severity import Severity

BREACH = ImageStatus.BREACH.value
OK = ImageStatus.OK.value
_RANK = {s.value: i for i, s in enumerate(Severity)}
_FINDINGS_PREFIX = "findings="
FINDINGS_DIGEST_CHARS = 32  # hex characters of SHA-256 kept
# How long a notification counts (``--state-ttl``, ``NOTIFY_STATE_TTL``): an unchanged
# breach is notified again after this long.
DEFAULT_STATE_TTL = "30d"


class Change(enum.Enum):
    """How an image's verdict compares with what was last notified about it."""

    NEW = "new"  # breaches, and nothing (live) was notified before
    CHANGED = "changed"  # breaches differently from what was notified
    RESOLVED = "resolved"  # was notified as breaching, is within thresholds now
    UNCHANGED = "unchanged"  # breaches exactly as notified: no message
    NONE = "none"  # within thresholds and nothing notified, or not assessed: no message

    @property
    def publishes(self) -> bool:
        return self in (Change.NEW, Change.CHANGED, Change.RESOLVED)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What a notification said about one image: its verdict (an
    :class:`~ecrscan.core.model.ImageStatus` value), its non-zero severity counts in
    severity order, and the digest of its counted finding ids (``None``: not read)."""

    status: str
    counts: tuple[tuple[str, int], ...] = ()
    findings: str | None = None

    @property
    def breach(self) -> bool:
        return self.status == BREACH

    @property
    def within(self) -> bool:
        return self.status == OK

    @property
    def text(self) -> str:
        """The stored form: ``breach;CRITICAL=1,HIGH=3`` (``;findings=<hex>`` when known)."""
        parts = [self.status, ",".join(f"{name}={n}" for name, n in self.counts)]
        if self.findings is not None:
            parts.append(_FINDINGS_PREFIX + self.findings)
        return ";".join(parts)

    @classmethod
    def parse(cls, text: str) -> Fingerprint:
        """The fingerprint :attr:`text` wrote; ``ValueError`` for anything else."""
        status, _, rest = text.partition(";")
        counts_text, _, findings_text = rest.partition(";")
        if not status or (findings_text and not findings_text.startswith(_FINDINGS_PREFIX)):
            raise ValueError(f"not a notification fingerprint: {text!r}")
        counts: dict[str, int] = {}
        for part in filter(None, counts_text.split(",")):
            name, sep, number = part.partition("=")
            if not sep or not number.isdigit():
                raise ValueError(f"not a notification fingerprint: {text!r}")
            counts[name] = int(number)
        findings = findings_text.removeprefix(_FINDINGS_PREFIX) if findings_text else None
        return cls(status, _ordered(counts), findings)

    def same_as(self, other: Fingerprint) -> bool:
        """The same verdict and counts, and the same findings where both know them (a
        run that did not read the findings does not count as a change)."""
        if (self.status, self.counts) != (other.status, other.counts):
            return False
        return self.findings is None or other.findings is None or self.findings == other.findings


@dataclass(frozen=True, slots=True)
class Record:
    """The state table's memory of one image: what was last notified and until when it
    counts.  ``image`` is a label for people reading the table."""

    key: str
    version: int
    fingerprint: Fingerprint
    notified_at: datetime
    expires_at: datetime
    image: str = ""

    def live(self, now: datetime) -> bool:
        """Whether the record still counts (an expired one is as good as absent; the
        table deletes expired items only some time later)."""
        return now < self.expires_at


def state_key(account: str, region: str, repository: str, digest: str) -> str:
    """The record key of one image: ``account/region/repository@digest`` (the digest
    lower-cased: the same image has one key whatever case an event wrote it in)."""
    return f"{account}/{region}/{repository}@{digest.lower()}"


def report_key(report: ImageReport, default_region: str = "") -> str:
    """:func:`state_key` of a judged image (its account and region as the report
    recorded them, else the registry id and ``default_region``)."""
    image = report.image
    account = report.account or image.registry_id
    return state_key(account, report.region or default_region, image.repository, image.digest)


def fingerprint(report: ImageReport) -> Fingerprint:
    """The fingerprint of a judged image: its verdict, the counts the thresholds saw
    and, when its findings were read, the digest of the counted ones."""
    findings = None if report.findings is None else findings_digest(report.findings)
    return Fingerprint(report.status.value, _ordered(report.counts), findings)


def findings_digest(findings: Iterable[Finding]) -> str:
    """A digest of the sorted ids (with their package) of the findings that count
    (ignored ones left out)."""
    ids = sorted({f"{f.id} {f.package}" for f in findings if f.ignored is None})
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()[:FINDINGS_DIGEST_CHARS]


def decide(previous: Record | None, current: Fingerprint, now: datetime) -> Change:
    """The decision table (an expired record counts as absent):

    ==================  ===============  =========
    previous            current          change
    ==================  ===============  =========
    none or expired     breach           NEW
    live, same          breach           UNCHANGED
    live, different     breach           CHANGED
    live                within           RESOLVED
    none or expired     within           NONE
    any                 not assessed     NONE
    ==================  ===============  =========
    """
    known = previous if previous is not None and previous.live(now) else None
    if current.breach:
        if known is None:
            return Change.NEW
        return Change.UNCHANGED if known.fingerprint.same_as(current) else Change.CHANGED
    if current.within and known is not None:
        return Change.RESOLVED
    return Change.NONE


def claimed(
    seen: Record | None,
    key: str,
    current: Fingerprint,
    now: datetime,
    state_ttl: relativedelta,
    image: str = "",
) -> Record:
    """The record that claims a notification of ``current``: the next version after
    ``seen`` (the record read, live or not), counting until ``now + state_ttl``."""
    version = (seen.version if seen is not None else 0) + 1
    return Record(key, version, current, now, now + state_ttl, image)


def restored(seen: Record, claim: Record) -> Record:
    """``seen`` written back over ``claim`` (a notification that could not be sent),
    with a version after the claim's, so versions only ever grow."""
    return replace(seen, version=claim.version + 1)


def _ordered(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """Non-zero counts, severities in their order, any other name after them."""
    kept = [(name, n) for name, n in counts.items() if n]
    return tuple(sorted(kept, key=lambda item: (_RANK.get(item[0], len(_RANK)), item[0])))
