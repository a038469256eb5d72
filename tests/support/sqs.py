"""SQS helpers: drain a queue, a queue client that fails some sends."""

from __future__ import annotations

from typing import Any


class FlakySqs:
    """Wraps a real (moto) SQS client: entries whose body is in ``failures`` are
    reported as failed (and not sent) while their count lasts."""

    def __init__(
        self, client: Any, failures: dict[str, int] | None = None, sender_fault: bool = False
    ) -> None:
        self.client = client
        self.failures = dict(failures or {})
        self.sender_fault = sender_fault
        self.calls: list[list[dict[str, str]]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        self.calls.append(Entries)
        passing, failed = [], []
        for entry in Entries:
            if self.failures.get(entry["MessageBody"], 0) > 0:
                self.failures[entry["MessageBody"]] -= 1
                failed.append(
                    {
                        "Id": entry["Id"],
                        "SenderFault": self.sender_fault,
                        "Code": "InternalError",
                        "Message": "injected failure",
                    }
                )
            else:
                passing.append(entry)
        response: dict[str, Any] = {"Successful": [], "Failed": failed}
        if passing:
            real = self.client.send_message_batch(QueueUrl=QueueUrl, Entries=passing)
            response["Successful"] = real.get("Successful", [])
            response["Failed"] += real.get("Failed", [])
        return response


def drain(client: Any, url: str) -> list[str]:
    bodies = []
    while True:
        got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return bodies
        for message in got:
            bodies.append(message["Body"])
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
