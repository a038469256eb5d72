"""The scan-date cache in the DynamoDB state table (the images function's store; the
CLI's is :mod:`ecrscan.cli.scandates`).

One item per image, beside the notification records of
:mod:`ecrscan.aws.dynamodb` and keyed apart from them:

===============  ====  ===========================================================
attribute        type  meaning
===============  ====  ===========================================================
``pk``           S     ``scan-date/<partition>/<account>/<region>/<repository>@<digest>``
``completedAt``  S     the last completed scan read (ISO 8601, UTC)
``pushedAt``     S     the image's push time then
``expiresAt``    N     ``completedAt`` plus the job's expiry (epoch seconds): the
                       table's TTL attribute; the entry vouches for nothing after it
===============  ====  ===========================================================

Reads are BatchGetItem (100 keys a call, consistent); writes BatchWriteItem (25 items
a call, unconditional: the last writer wins), the unprocessed ones asked again.  A
refused or failed call becomes a notice: the run reads what it could not recall.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dateutil.relativedelta import relativedelta

from ecrscan.aws.dynamodb import KEY, TTL_ATTRIBUTE, StateStore
from ecrscan.aws.errors import AwsError
from ecrscan.core.scancache import CachedScan, ScanKey, partition_of

PREFIX = "scan-date"


def item_key(key: ScanKey) -> str:
    """The ``pk`` of an image's scan date."""
    return f"{PREFIX}/{partition_of(key.region)}/{key.text}"


class ScanDateTable:
    """The scan-date cache in the state table of ``store``; entries expire ``ttl``
    after their scan."""

    def __init__(self, store: StateStore, ttl: relativedelta) -> None:
        self.store = store
        self.ttl = ttl

    @property
    def location(self) -> str:
        return f"dynamodb:{self.store.table}"

    def recall(self, keys: Sequence[ScanKey]) -> tuple[dict[ScanKey, CachedScan], list[str]]:
        wanted = {item_key(k): k for k in keys}
        found: dict[ScanKey, CachedScan] = {}
        try:
            for item in self.store.items(list(wanted)):
                entry = _entry(item)
                key = wanted.get(item.get(KEY, {}).get("S", ""))
                if entry is not None and key is not None:
                    found[key] = entry
        except AwsError as exc:
            return {}, [f"scan-date cache {self.location} could not be read ({exc.problem})"]
        return found, []

    def remember(self, entries: Mapping[ScanKey, CachedScan], now: datetime) -> list[str]:
        try:
            self.store.put_many([self._item(k, e) for k, e in sorted(entries.items())])
        except AwsError as exc:
            return [f"scan-date cache {self.location} could not be written ({exc.problem})"]
        return []

    def _item(self, key: ScanKey, entry: CachedScan) -> dict[str, Any]:
        return {
            KEY: {"S": item_key(key)},
            "completedAt": {"S": entry.completed_at.astimezone(UTC).isoformat()},
            "pushedAt": {"S": entry.pushed_at.astimezone(UTC).isoformat()},
            TTL_ATTRIBUTE: {"N": str(int((entry.completed_at + self.ttl).timestamp()))},
        }


def _entry(item: Mapping[str, Any]) -> CachedScan | None:
    """The entry of an item; ``None`` for one this version cannot read (then read)."""
    try:
        completed = datetime.fromisoformat(item["completedAt"]["S"])
        pushed = datetime.fromisoformat(item["pushedAt"]["S"])
    except (KeyError, TypeError, ValueError):
        return None
    if completed.tzinfo is None or pushed.tzinfo is None:
        return None
    return CachedScan(completed, pushed)
