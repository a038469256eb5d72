"""The notification state table's contract in memory (``ecrscan.engine.ports.StateStore``):
versioned records and conditional writes, with knobs for the races and refusals moto does
not reach."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ecrscan.core.errors import AwsError, ErrorKind
from ecrscan.core.notify import Record
from ecrscan.core.problem import Problem


def failure(kind: ErrorKind, code: str) -> AwsError:
    return AwsError(kind, Problem(code, "m"), "test")


@dataclass
class MemoryStore:
    """The StateStore's contract, in a dict; ``steal`` bumps the version before every
    claim (somebody else always wins), ``refuse`` fails the writes after the first
    ``writes_ok``."""

    records: dict[str, Record] = field(default_factory=dict)
    steal: bool = False
    refuse: AwsError | None = None
    writes_ok: int = 99
    writes: int = 0

    def read(self, key: str) -> Record | None:
        return self.records.get(key)

    def read_many(self, keys: Iterable[str]) -> dict[str, Record]:
        return {k: self.records[k] for k in keys if k in self.records}

    def _check(self, key: str, expected: int | None) -> None:
        self.writes += 1
        if self.refuse is not None and self.writes > self.writes_ok:
            raise self.refuse
        if self.steal and key in self.records:
            self.records[key] = replace(self.records[key], version=self.records[key].version + 1)
        current = self.records.get(key)
        if (current.version if current else None) != expected:
            raise failure(ErrorKind.CONDITION_FAILED, "ConditionalCheckFailedException")

    def put(self, record: Record, expected: int | None) -> None:
        self._check(record.key, expected)
        self.records[record.key] = record

    def delete(self, key: str, expected: int) -> None:
        self._check(key, expected)
        del self.records[key]
