"""Publishing to SNS (the messages are built by :mod:`ecrscan.render.sns`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ecrscan.aws.errors import AwsError, ErrorKind, client_error
from ecrscan.core.problem import Problem


class Publishable(Protocol):
    @property
    def subject(self) -> str: ...

    @property
    def message(self) -> str: ...


def publish(sns_client: Any, topic_arn: str, messages: Iterable[Publishable]) -> list[str]:
    """Publish each message to ``topic_arn`` with ``MessageStructure="json"``; returns
    SNS's message ids in order.  SNS's refusal, or a transport error, raises
    :class:`~ecrscan.aws.errors.AwsError` (the messages before it were published)."""
    ids = []
    for message in messages:
        try:
            response = sns_client.publish(
                TopicArn=topic_arn,
                Subject=message.subject,
                Message=message.message,
                MessageStructure="json",
            )
        except ClientError as exc:
            raise client_error(exc, "publish") from exc
        except BotoCoreError as exc:
            problem = Problem(type(exc).__name__, str(exc))
            raise AwsError(ErrorKind.NETWORK, problem, "publish") from exc
        ids.append(response["MessageId"])
    return ids


class SnsTopic:
    """One SNS topic as the engine publishes to it
    (:class:`ecrscan.engine.ports.Publisher`): :func:`publish` through ``sns_client``."""

    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self.client = sns_client
        self.arn = topic_arn

    def publish(self, messages: Iterable[Publishable]) -> list[str]:
        return publish(self.client, self.arn, messages)
