"""The notification state gateway: the DynamoDB calls of "notify on change".

One item per breaching image, keyed by ``pk`` (:func:`ecrscan.core.notify.state_key`);
its attributes are the :class:`~ecrscan.core.notify.Record` fields:

========================  ====  ===============================================
attribute                 type  meaning
========================  ====  ===============================================
``pk``                    S     ``account/region/repository@digest``
``version``               N     incremented by every claim; writes are conditional on it
``fingerprint``           S     what was notified (``breach;CRITICAL=1,HIGH=3``)
``image``                 S     a label for people (``team/api:v1``)
``notifiedAt``            S     when (ISO 8601, UTC)
``expiresAt``             N     when the record stops counting (epoch seconds); the
                                table's TTL attribute
========================  ====  ===============================================

The scan-date cache keeps its own items in the same table, keyed apart
(:mod:`ecrscan.aws.scandates`, through :meth:`StateStore.items` and
:meth:`StateStore.put_many`).

Reads are consistent (GetItem, BatchGetItem 100 keys a call with its unprocessed keys
asked again).  Writes are conditional (``attribute_not_exists(pk)`` for a first claim,
``version = :seen`` otherwise): a lost race raises :class:`~ecrscan.aws.errors.AwsError`
of kind ``CONDITION_FAILED``.  Writes go through a client with botocore's retries off
and are retried only when throttled (refused, so certainly not carried out): after a
server or connection error nobody knows whether the write happened, and a blind retry
would fail its condition against its own write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ecrscan.aws.clients import NO_RETRIES
from ecrscan.aws.errors import AwsError, ErrorKind
from ecrscan.aws.gateway import THROTTLING_ONLY, Gateway
from ecrscan.aws.throttle import BudgetSpent
from ecrscan.core.notify import Fingerprint, Record
from ecrscan.core.problem import Problem

KEY = "pk"
TTL_ATTRIBUTE = "expiresAt"
BATCH_GET_KEYS = 100  # BatchGetItem takes at most 100 keys a call
BATCH_WRITE_ITEMS = 25  # BatchWriteItem takes at most 25 items a call
MALFORMED = "MalformedStateRecord"


class StateStore(Gateway):
    """The notification state table ``table`` (a name or an ARN) of one region."""

    SERVICE = "dynamodb"

    def __init__(self, session: Any, table: str, **options: Any) -> None:
        super().__init__(session, **options)
        self.table = table
        self._write = self._client(session, NO_RETRIES)

    # -- reads ----------------------------------------------------------------------

    def read(self, key: str) -> Record | None:
        """The record of ``key`` (GetItem, consistent), ``None`` when there is none."""
        response = self._call(
            self._read, "get_item", TableName=self.table, Key=_key(key), ConsistentRead=True
        )
        item = response.get("Item")
        return record_of(item) if item else None

    def read_many(self, keys: Iterable[str]) -> dict[str, Record]:
        """The records of ``keys`` that exist (BatchGetItem, consistent, 100 keys a call;
        the keys DynamoDB leaves unprocessed are asked again, backing off through the
        throttle gate, until its attempts are spent)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Record] = {}
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            for item in self._batch(wanted[start : start + BATCH_GET_KEYS]):
                record = record_of(item)
                found[record.key] = record
        return found

    def items(self, keys: Sequence[str]) -> Iterator[Mapping[str, Any]]:
        """The raw items of ``keys`` that exist (as :meth:`read_many`, unparsed: the
        scan-date cache's items, :mod:`ecrscan.aws.scandates`)."""
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            yield from self._batch(wanted[start : start + BATCH_GET_KEYS])

    def put_many(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Write ``items`` unconditionally (BatchWriteItem, 25 a call; the last writer
        wins), the items DynamoDB leaves unprocessed sent again through the gate."""
        for start in range(0, len(items), BATCH_WRITE_ITEMS):
            pending: list[Any] = [
                {"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_ITEMS]
            ]
            started, attempt = self.throttle.now(), 0
            while pending:
                attempt += 1
                request = {self.table: pending}
                response = self._call(self._read, "batch_write_item", RequestItems=request)
                pending = response.get("UnprocessedItems", {}).get(self.table, [])
                if pending:
                    self._again(attempt, started, "batch_write_item", f"{len(pending)} items")

    def _again(self, attempt: int, started: float, operation: str, left: str) -> None:
        """Back off before sending what DynamoDB left unprocessed, or raise ``THROTTLED``
        when the gate's attempts or time are spent."""
        try:
            self.throttle.retry_or_raise(attempt, started)
        except BudgetSpent as spent:
            problem = Problem("Unprocessed", f"{left} left unprocessed ({spent})")
            raise AwsError(ErrorKind.THROTTLED, problem, operation) from None

    def _batch(self, keys: Sequence[str]) -> Iterator[Mapping[str, Any]]:
        pending: list[Mapping[str, Any]] = [_key(k) for k in keys]
        started = self.throttle.now()
        attempt = 0
        while pending:
            attempt += 1
            request = {self.table: {"Keys": pending, "ConsistentRead": True}}
            response = self._call(self._read, "batch_get_item", RequestItems=request)
            yield from response.get("Responses", {}).get(self.table, [])
            pending = response.get("UnprocessedKeys", {}).get(self.table, {}).get("Keys", [])
            if pending:
                try:
                    self.throttle.retry_or_raise(attempt, started)
                except BudgetSpent as spent:
                    problem = Problem("UnprocessedKeys", f"{len(pending)} keys unread ({spent})")
                    raise AwsError(ErrorKind.THROTTLED, problem, "batch_get_item") from None

    # -- conditional writes ---------------------------------------------------------

    def put(self, record: Record, expected: int | None) -> None:
        """Write ``record`` if the stored one still has version ``expected`` (``None``:
        if there is none)."""
        if expected is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = _version_is(expected)
        self._write_if(condition, "put_item", Item=item_of(record))

    def delete(self, key: str, expected: int) -> None:
        """Delete the record of ``key`` if it still has version ``expected``."""
        self._write_if(_version_is(expected), "delete_item", Key=_key(key))

    def _write_if(self, condition: dict[str, Any], operation: str, **params: Any) -> None:
        """One conditional write, retried on throttling only (a refused condition is
        the answer, not a failure to retry)."""
        self._call(
            self._write,
            operation,
            retry=THROTTLING_ONLY,
            TableName=self.table,
            **params,
            **condition,
        )


def _key(key: str) -> dict[str, Any]:
    return {KEY: {"S": key}}


def _version_is(version: int) -> dict[str, Any]:
    return {
        "ConditionExpression": "version = :seen",
        "ExpressionAttributeValues": {":seen": {"N": str(version)}},
    }


def item_of(record: Record) -> dict[str, Any]:
    """The DynamoDB item of a record."""
    return {
        KEY: {"S": record.key},
        "version": {"N": str(record.version)},
        "fingerprint": {"S": record.fingerprint.text},
        "image": {"S": record.image},
        "notifiedAt": {"S": record.notified_at.astimezone(UTC).isoformat()},
        TTL_ATTRIBUTE: {"N": str(int(record.expires_at.timestamp()))},
    }


def record_of(item: Mapping[str, Any]) -> Record:
    """The record of a DynamoDB item; an item this version cannot read raises
    :class:`AwsError` (kind ``OTHER``, code :data:`MALFORMED`), which callers treat
    like an unreachable table (they notify without it)."""
    try:
        return Record(
            key=item[KEY]["S"],
            version=int(item["version"]["N"]),
            fingerprint=Fingerprint.parse(item["fingerprint"]["S"]),
            notified_at=datetime.fromisoformat(item["notifiedAt"]["S"]),
            expires_at=datetime.fromtimestamp(int(item[TTL_ATTRIBUTE]["N"]), UTC),
            image=item.get("image", {}).get("S", ""),
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        key = item.get(KEY, {}).get("S", "?") if isinstance(item, Mapping) else "?"
        problem = Problem(MALFORMED, f"state record {key!r} cannot be read ({exc!r})")
        raise AwsError(ErrorKind.OTHER, problem, "read") from None
