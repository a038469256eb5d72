"""The reporter function (EventBridge): evaluates a scan-complete event against the
thresholds and publishes to SNS on a breach (and, if asked, on a failed scan)."""

from __future__ import annotations

from typing import Any

from ecrscan.aws import sns
from ecrscan.core.events import image_report, parse_scan_event, wants_notification
from ecrscan.core.thresholds import Thresholds
from ecrscan.lambdas import runtime
from ecrscan.lambdas.runtime import ConfigurationError
from ecrscan.render.sns import event_messages


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Evaluate one ``ECR Image Scan`` / ``Inspector2 Scan`` event; publish to SNS on a
    breach, and on a failed scan when ``NOTIFY_ON_SCAN_FAILURE`` is true.

    Thresholds come from ``CRITICAL``, ``HIGH``, ``MEDIUM``, ``LOW`` (a whole number or
    ``off``; default 0), the topic from ``ECR_SNS_REPORT_TOPIC_ARN``.  A malformed or
    unsupported event raises :class:`ecrscan.core.events.EventError`.
    """
    env = runtime.environ()
    scan = parse_scan_event(event)
    try:
        thresholds = Thresholds.from_env(env)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    notify_failures = runtime.flag(env.get("NOTIFY_ON_SCAN_FAILURE"), "NOTIFY_ON_SCAN_FAILURE")
    topic_arn = env.get("ECR_SNS_REPORT_TOPIC_ARN")

    report = image_report(scan, thresholds)
    result: dict[str, Any] = {
        "repository": scan.repository,
        "digest": scan.digest,
        "tags": list(scan.tags),
        "scanStatus": scan.status,
        "status": report.status.value,
        "breaches": [
            {"severity": b.severity.value, "count": b.count, "threshold": b.threshold}
            for b in report.breaches
        ],
        "published": 0,
    }
    if wants_notification(report, notify_failures):
        if not topic_arn:
            raise ConfigurationError("ECR_SNS_REPORT_TOPIC_ARN is not set: nowhere to publish")
        messages = event_messages(scan, report, thresholds)
        message_ids = sns.publish(runtime.clients.sns(), topic_arn, messages)
        result["published"] = len(message_ids)
        result["messageIds"] = message_ids
    runtime.log(context, "INFO", "scan event evaluated", **result)
    return result
