"""What the engine needs from AWS, as :class:`typing.Protocol`\\ s: ``ecrscan.aws``
implements them structurally (it never imports the engine), the adapters (``cli``,
``lambdas``) build the implementations and hand them to the engine."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ecrscan.core.jobs import SendReport
from ecrscan.core.notify import Record

# -- flows: job queueing and publishing with change tracking ---------------------------
# (engine/queue.py, engine/publish.py, engine/notify.py)


class JobSender(Protocol):
    """A jobs queue (:class:`ecrscan.aws.sqs.JobQueue`): send job bodies, every one
    accounted for in the report (sent, or failed with the queue's reason)."""

    def send(self, bodies: Iterable[str]) -> SendReport: ...


class Message(Protocol):
    """One notification (:class:`ecrscan.render.sns.SnsMessage`)."""

    @property
    def subject(self) -> str: ...

    @property
    def message(self) -> str: ...


class Publisher(Protocol):
    """A notification topic (:class:`ecrscan.aws.sns.SnsTopic`): publish the messages
    in order and return their ids; a refusal raises (the ones before it were sent)."""

    def publish(self, messages: Iterable[Message]) -> list[str]: ...


class StateStore(Protocol):
    """The notification state table (:class:`ecrscan.aws.dynamodb.StateStore`):
    consistent reads, writes conditional on the version read (``None``: no record);
    a lost race raises an error of kind ``CONDITION_FAILED``."""

    def read(self, key: str) -> Record | None: ...

    def read_many(self, keys: Iterable[str]) -> dict[str, Record]: ...

    def put(self, record: Record, expected: int | None) -> None: ...

    def delete(self, key: str, expected: int) -> None: ...
