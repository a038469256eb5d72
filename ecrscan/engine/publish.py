"""Publishing with change tracking, the flow ``report --publish`` (``--only-changed``)
and the reporter function share.

Every breach (:func:`publish_all`), or only what changed since the last notification:
:func:`publish_changes` for a run's reports (the state table read in batches, one
message for the whole batch), :func:`publish_change` for one scan event (one record
read).  Both decide and claim through :class:`~ecrscan.engine.notify.ChangeNotifier`,
so a claim is put back when publishing fails and the error is raised again.  What a
message says is the caller's (``compose``): the engine does not render.

The AWS side comes in as :mod:`ecrscan.engine.ports` protocols: a
:class:`~ecrscan.engine.ports.StateStore` and a
:class:`~ecrscan.engine.ports.Publisher`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta

from ecrscan.core.model import ImageReport
from ecrscan.engine.notify import Batch, ChangeNotifier, Settled
from ecrscan.engine.ports import Message, Publisher, StateStore


@dataclass(frozen=True)
class Published:
    """What one run published: the decisions (``batch``) and SNS's message ids (none:
    nothing worth a message)."""

    batch: Batch
    message_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishedChange:
    """What one scan event published: the decision, and the message ids (``None``:
    the change was not worth a message, nothing was composed)."""

    settled: Settled
    message_ids: tuple[str, ...] | None = None


def publish_all(publisher: Publisher, messages: Sequence[Message]) -> tuple[str, ...]:
    """Publish ``messages`` (no call for none); their ids."""
    if not messages:
        return ()
    return tuple(publisher.publish(messages))


def publish_changes(
    reports: Sequence[ImageReport],
    region: str,
    *,
    store: StateStore,
    publisher: Publisher,
    now: datetime,
    state_ttl: relativedelta,
    compose: Callable[[Batch], Sequence[Message]],
) -> Published:
    """Decide and claim the change of every judged image of ``reports`` against
    ``store``, then publish what ``compose`` makes of the batch (nothing when it makes
    no message).  When publishing fails the claims are put back and the error raised."""
    notifier = ChangeNotifier(store, now, state_ttl)

    def send(batch: Batch) -> tuple[str, ...]:
        return publish_all(publisher, compose(batch))

    batch, ids = notifier.many(reports, region, send)
    return Published(batch, ids)


def publish_change(
    report: ImageReport,
    region: str,
    *,
    store: StateStore,
    publisher: Publisher,
    now: datetime,
    state_ttl: relativedelta,
    compose: Callable[[Settled], Sequence[Message]],
) -> PublishedChange:
    """One image: decide and claim its change against ``store``; when it is worth a
    message, publish what ``compose`` makes of it."""
    notifier = ChangeNotifier(store, now, state_ttl)

    def send(settled: Settled) -> tuple[str, ...]:
        return publish_all(publisher, compose(settled))

    settled, ids = notifier.one(report, region, send)
    return PublishedChange(settled, ids)
