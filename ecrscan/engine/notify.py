"""Notify on change: the protocol the reporter function and ``report --publish
--only-changed`` share.

For each judged image: read its record (consistently), :func:`~ecrscan.core.notify.decide`,
and when the change is worth a message *claim* it with a conditional write (a new record
conditional on there being none, or on the version read; a resolve deletes the record
conditional on the version).  Only a claim that succeeded is published, so of two
invocations racing for the same change exactly one publishes; the loser re-reads and
decides again (at most :data:`TRIES` times).  When publishing fails after the claim,
the records are put back as they were (conditional on the claimed version) and the
error is raised again, so the caller fails and the alert is retried, not lost.

The state table is a convenience, never a gate: when it cannot be used (access denied,
throttled past the retries, unreachable, a record this version cannot read, or a race
lost :data:`TRIES` times) the image is published anyway, as if it had no record, and
the problem is returned so the caller can warn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from dateutil.relativedelta import relativedelta

from ecrscan.core.errors import AwsError, ErrorKind
from ecrscan.core.model import ImageReport, ImageStatus
from ecrscan.core.notify import (
    Change,
    Fingerprint,
    Record,
    claimed,
    decide,
    fingerprint,
    report_key,
    restored,
)
from ecrscan.core.problem import Problem
from ecrscan.engine.ports import StateStore

TRIES = 3  # decisions per image before a lost race counts as a problem
CONTENDED = "StateContended"
T = TypeVar("T")
# The verdicts the state is about; any other (not assessed) never reads or writes it.
JUDGED = frozenset({ImageStatus.BREACH, ImageStatus.OK})


@dataclass(frozen=True, slots=True)
class Claim:
    """A notification claimed in the table: the record read before (to put back) and
    the record written (``None``: the record was deleted, a resolve)."""

    key: str
    seen: Record | None
    written: Record | None


@dataclass(frozen=True, slots=True)
class Settled:
    """What was decided for one image, the claim that backs it, and why the state
    table could not be used (``problem``: the image is published without a claim)."""

    key: str
    report: ImageReport
    change: Change
    claim: Claim | None = None
    problem: Problem | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """What one run decided, image by image.  ``problem`` is set when the table could
    not be read at all: then every breach is published (:attr:`everything`)."""

    settled: tuple[Settled, ...]
    problem: Problem | None = None

    @property
    def everything(self) -> bool:
        return self.problem is not None

    @property
    def to_publish(self) -> tuple[Settled, ...]:
        return tuple(s for s in self.settled if s.change.publishes)

    def reports(self, *changes: Change) -> tuple[ImageReport, ...]:
        return tuple(s.report for s in self.settled if s.change in changes)

    def count(self, change: Change) -> int:
        return sum(1 for s in self.settled if s.change is change)

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every reason the table could not be used, the run's then each image's."""
        own = [s.problem for s in self.settled if s.problem is not None]
        return (self.problem, *own) if self.problem is not None else tuple(own)


class ChangeNotifier:
    """Decide, claim, publish and (on failure) restore, against one state store, at
    one moment ``now``; records claimed count until ``now + state_ttl``."""

    def __init__(
        self, store: StateStore, now: datetime, state_ttl: relativedelta, *, tries: int = TRIES
    ) -> None:
        self.store = store
        self.now = now
        self.state_ttl = state_ttl
        self.tries = tries

    def one(
        self, report: ImageReport, region: str, publish: Callable[[Settled], T]
    ) -> tuple[Settled, T | None]:
        """The reporter function's path: one image, GetItem.  ``publish`` is called
        only when the change is worth a message; its exception (after the claim is put
        back) is raised again."""
        key = report_key(report, region)
        current = fingerprint(report)
        try:
            seen = self.store.read(key) if report.status in JUDGED else None
        except AwsError as exc:
            settled = Settled(key, report, decide(None, current, self.now), problem=exc.problem)
        else:
            settled = self._settle(key, report, current, seen)
        if not settled.change.publishes:
            return settled, None
        return settled, self._publish((settled,), lambda: publish(settled))

    def many(
        self, reports: Sequence[ImageReport], region: str, publish: Callable[[Batch], T]
    ) -> tuple[Batch, T]:
        """A run's path: every judged image (the first report of each digest), records
        read with BatchGetItem, a claim per change; ``publish`` is called once with the
        whole batch (it decides what to send, also when nothing changed).  When the table
        cannot be read, every breach is settled as ``NEW`` without a claim."""
        unique: dict[str, ImageReport] = {}
        for report in reports:
            if report.status in JUDGED:
                unique.setdefault(report_key(report, region), report)
        try:
            records = self.store.read_many(unique)
        except AwsError as exc:
            settled = [
                Settled(key, r, decide(None, fingerprint(r), self.now)) for key, r in unique.items()
            ]
            batch = Batch(tuple(settled), exc.problem)
        else:
            settled = [
                self._settle(key, r, fingerprint(r), records.get(key)) for key, r in unique.items()
            ]
            batch = Batch(tuple(settled))
        return batch, self._publish(batch.settled, lambda: publish(batch))

    # -- the protocol -----------------------------------------------------------------

    def _settle(
        self, key: str, report: ImageReport, current: Fingerprint, seen: Record | None
    ) -> Settled:
        """Decide on ``seen`` and claim the change; after a lost race read again and
        decide again, at most :attr:`tries` times in all."""
        change = Change.NONE
        for attempt in range(self.tries):
            if attempt:
                try:
                    seen = self.store.read(key)
                except AwsError as exc:
                    return Settled(key, report, change, problem=exc.problem)
            change = decide(seen, current, self.now)
            if not change.publishes:
                return Settled(key, report, change)
            try:
                claim = self._claim(key, report, current, seen, change)
            except AwsError as exc:
                if exc.kind is ErrorKind.CONDITION_FAILED:
                    continue
                return Settled(key, report, change, problem=exc.problem)
            return Settled(key, report, change, claim)
        lost = Problem(CONTENDED, f"{key} changed under {self.tries} claims in a row")
        return Settled(key, report, change, problem=lost)

    def _claim(
        self,
        key: str,
        report: ImageReport,
        current: Fingerprint,
        seen: Record | None,
        change: Change,
    ) -> Claim:
        expected = seen.version if seen is not None else None
        if change is Change.RESOLVED:
            assert seen is not None and expected is not None  # decide() saw a live record
            self.store.delete(key, expected)
            return Claim(key, seen, None)
        record = claimed(seen, key, current, self.now, self.state_ttl, report.image.label)
        self.store.put(record, expected)
        return Claim(key, seen, record)

    def _publish(self, settled: Sequence[Settled], send: Callable[[], T]) -> T:
        """``send()``; when it fails, put back every claim and raise its error (with a
        note for each claim that could not be put back)."""
        try:
            return send()
        except BaseException as exc:
            for item in settled:
                if item.claim is not None:
                    problem = self._restore(item.claim)
                    if problem is not None:
                        exc.add_note(f"notification state of {item.key} not restored: {problem}")
            raise

    def _restore(self, claim: Claim) -> Problem | None:
        """Undo a claim, unless another claim followed it; the problem when the table
        refused."""
        try:
            if claim.written is None:  # a resolve deleted the record: write it back
                assert claim.seen is not None
                self.store.put(restored(claim.seen, claim.seen), None)
            elif claim.seen is None:
                self.store.delete(claim.key, claim.written.version)
            else:
                self.store.put(restored(claim.seen, claim.written), claim.written.version)
        except AwsError as exc:
            return None if exc.kind is ErrorKind.CONDITION_FAILED else exc.problem
        return None
