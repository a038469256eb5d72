"""The scan-date cache's rules: what a remembered scan date can vouch for (pure).

``rescan`` reads every image's scan state (DescribeImageScanFindings) to decide whether
it is due.  Scan dates only move forward, so an image whose last *completed* scan was
two days ago cannot become due under ``--expiry 7d`` for five more days: the cache
remembers, per (partition, account, region, endpoint, repository, digest), that date and
the image's push time, and :func:`vouch` says when the remembered date settles the
decision without a read.

The cache only ever makes ecrscan read more than needed, never decide differently:

* it vouches only for a scan that stays fresh for :data:`SAFETY_MARGIN` more (1 h)
  under the run's own ``--expiry`` (a shorter ``--expiry`` vouches for less, and an
  image within the margin of becoming due is read).  The decision itself needs no
  margin (the run judges the remembered date against the same ``now`` a read would
  be judged against); the margin keeps an image about to become due from being
  settled by a date that a scan since may have moved;
* an image pushed again since (its push time differs from the remembered one, or is
  newer than the remembered scan), an archived or not-an-image manifest, or a date in
  the future is read;
* only completed scans that were read are remembered (a scan this run starts has not
  completed); the stores key by account, region and endpoint (a different one finds
  nothing), and the engine consults the cache on BASIC registries only.

No I/O and no clock here: callers pass ``now``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta

from ecrscan.core.model import Image, ImageResult, ScanState

SAFETY_MARGIN = timedelta(hours=1)  # a vouched scan stays fresh at least this long
KEEP = timedelta(days=400)  # entries whose scan is older than this are dropped
SOURCE = "cache"  # ScanState.source of a state the cache vouched for
FORMAT = "ecrscan-scan-dates"
VERSION = 1


class CacheUnreadable(ValueError):
    """A cache document this version cannot read (corrupt, another format or store)."""


@dataclass(frozen=True, slots=True, order=True)
class ScanKey:
    """One image of one registry (the store adds the partition and endpoint)."""

    account: str
    region: str
    repository: str
    digest: str

    @property
    def text(self) -> str:
        return f"{self.account}/{self.region}/{self.repository}@{self.digest}"


@dataclass(frozen=True, slots=True)
class CachedScan:
    """The last completed scan of an image, and the image's push time then."""

    completed_at: datetime
    pushed_at: datetime


def partition_of(region: str) -> str:
    """The AWS partition of a region name."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso"):
        return "aws-iso-b" if region.startswith("us-isob-") else "aws-iso"
    return "aws"


def key_of(image: Image, region: str) -> ScanKey:
    return ScanKey(image.registry_id, region, image.repository, image.digest)


def vouch(
    cached: CachedScan | None,
    image: Image,
    now: datetime,
    expiry: relativedelta,
    margin: timedelta = SAFETY_MARGIN,
) -> ScanState | None:
    """The state to decide ``image`` on without reading it, or ``None``: read it."""
    if cached is None or image.summary is not None or image.pushed_at is None:
        return None
    if not image.kind.scannable or (image.image_status or "ACTIVE").upper() != "ACTIVE":
        return None
    if image.pushed_at != cached.pushed_at or image.pushed_at > cached.completed_at:
        return None  # pushed again since the remembered scan
    if cached.completed_at > now:
        return None  # a date from the future: a clock to distrust
    if cached.completed_at <= (now - expiry) + margin:
        return None  # due, or due within the margin: read
    return ScanState("COMPLETE", cached.completed_at, source=SOURCE)


def entry_of(result: ImageResult) -> CachedScan | None:
    """What a result read from AWS lets the cache remember: a completed scan with its
    date, of an image with a push time no later than it (``None``: nothing)."""
    state, image = result.state, result.image
    if state is None or state.source == SOURCE or (state.status or "").upper() != "COMPLETE":
        return None
    if state.completed_at is None or image.pushed_at is None or not image.kind.scannable:
        return None
    if image.pushed_at > state.completed_at:
        return None
    return CachedScan(state.completed_at, image.pushed_at)


def prune(entries: Mapping[str, CachedScan], now: datetime) -> dict[str, CachedScan]:
    """The entries still worth keeping (a scan within :data:`KEEP` of ``now``)."""
    return {k: v for k, v in entries.items() if v.completed_at > now - KEEP}


# -- the file document ------------------------------------------------------------------


def store_header(partition: str, account: str, region: str, endpoint: str) -> dict[str, str]:
    """What a file of the cache is for (checked on every load)."""
    return {
        "format": FORMAT,
        "partition": partition,
        "account": account,
        "region": region,
        "endpoint": endpoint,
    }


def dump(header: Mapping[str, str], entries: Mapping[str, CachedScan]) -> str:
    """The JSON text of one file: the header, and each image's two dates (UTC)."""
    document: dict[str, Any] = {**header, "version": VERSION}
    document["entries"] = {
        key: [_iso(entries[key].completed_at), _iso(entries[key].pushed_at)]
        for key in sorted(entries)
    }
    return json.dumps(document, separators=(",", ":")) + "\n"


def load(text: str, header: Mapping[str, str]) -> dict[str, CachedScan]:
    """The entries of a file's text; :class:`CacheUnreadable` unless it is a document of
    this version for exactly the store ``header`` names."""
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("version") != VERSION:
            raise CacheUnreadable("not a scan-date cache of this version")
        for name, value in header.items():
            if document.get(name) != value:
                raise CacheUnreadable(f"written for another {name}")
        return {
            str(key): CachedScan(_parse(completed), _parse(pushed))
            for key, (completed, pushed) in document["entries"].items()
        }
    except CacheUnreadable:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CacheUnreadable(f"corrupt ({type(exc).__name__})") from None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a date without a time zone")
    return value
