"""Lambda test doubles: a fake context, SQS events, log lines."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.support.env import REGION


class FakeContext:
    """What Lambda passes as ``context``; ``remaining_ms`` is returned call by call (the
    last value repeats)."""

    function_name = "ecrscan-test"
    aws_request_id = "request-1"

    def __init__(self, *remaining_ms: int) -> None:
        self._remaining = list(remaining_ms or (900_000,))
        self.calls = 0

    def get_remaining_time_in_millis(self) -> int:
        self.calls += 1
        return self._remaining.pop(0) if len(self._remaining) > 1 else self._remaining[0]


class CountingSession:
    """A real boto3 session that counts the clients built from it."""

    def __init__(self) -> None:
        self.session = boto3.session.Session()
        self.built: list[str] = []

    def client(self, service: str, **kwargs: Any) -> Any:
        self.built.append(service)
        return self.session.client(service, **kwargs)

    @property
    def region_name(self) -> str | None:
        return self.session.region_name


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"handle-{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:ecrscan-jobs",
                "awsRegion": REGION,
            }
            for i, body in enumerate(bodies)
        ]
    }


def failures(response: dict[str, Any]) -> list[str]:
    assert set(response) == {"batchItemFailures"}
    return [f["itemIdentifier"] for f in response["batchItemFailures"]]


def log_lines(capsys) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
