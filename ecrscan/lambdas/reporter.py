"""The reporter function (EventBridge): evaluates a scan-complete event against the
thresholds and publishes to SNS when something changed: a new or different breach, or
an image back within its thresholds (``NOTIFY_ON=change``, remembered in the state
table), or on every breach (``NOTIFY_ON=always``); and, if asked, on a failed scan."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from weakref import WeakKeyDictionary

from dateutil.relativedelta import relativedelta

from ecrscan.aws import sns
from ecrscan.core.durations import parse_duration
from ecrscan.core.errors import AwsError
from ecrscan.core.events import ScanEvent, image_report, parse_scan_event, wants_notification
from ecrscan.core.model import Image, ImageReport, ImageStatus, Repository
from ecrscan.core.notify import DEFAULT_STATE_TTL, Change
from ecrscan.core.thresholds import Thresholds
from ecrscan.engine.notify import CONTENDED, Settled
from ecrscan.engine.ports import Message
from ecrscan.engine.publish import publish_all, publish_change
from ecrscan.engine.references import platform_images
from ecrscan.lambdas import runtime
from ecrscan.lambdas.gates import gate_settings, judged
from ecrscan.lambdas.runtime import ConfigurationError
from ecrscan.render.sns import SnsMessage, event_messages

CHANGE, ALWAYS = "change", "always"


@dataclass(frozen=True)
class NotifySettings:
    """``NOTIFY_ON``, ``NOTIFY_STATE_TABLE`` and ``NOTIFY_STATE_TTL``, checked."""

    mode: str
    table: str
    state_ttl: relativedelta

    @property
    def on_change(self) -> bool:
        return self.mode == CHANGE


def notify_settings(env: Mapping[str, str]) -> NotifySettings:
    """Read and check the notification settings (each variable is read, whatever the
    mode, so a bad value fails before it matters)."""
    mode = (env.get("NOTIFY_ON") or CHANGE).strip().lower()
    table = (env.get("NOTIFY_STATE_TABLE") or "").strip()
    state_ttl_text = (env.get("NOTIFY_STATE_TTL") or DEFAULT_STATE_TTL).strip()
    if mode not in (CHANGE, ALWAYS):
        raise ConfigurationError(f"NOTIFY_ON must be change or always, got {mode!r}")
    try:
        state_ttl = parse_duration(state_ttl_text)
    except ValueError as exc:
        raise ConfigurationError(f"NOTIFY_STATE_TTL: {exc}") from None
    if mode == CHANGE and not table:
        raise ConfigurationError(
            "NOTIFY_ON=change needs NOTIFY_STATE_TABLE, the DynamoDB table that remembers "
            "what was notified (or set NOTIFY_ON=always to publish every breach)"
        )
    return NotifySettings(mode, table, state_ttl)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Evaluate one ``ECR Image Scan`` / ``Inspector2 Scan`` event and publish to SNS
    what is worth a message.

    Thresholds come from ``CRITICAL``, ``HIGH``, ``MEDIUM``, ``LOW`` (a whole number or
    ``off``; default 0), the topic from ``ECR_SNS_REPORT_TOPIC_ARN``.  With
    ``NOTIFY_ON=change`` (the default) a breach is published when it is new or its
    counts changed, or when its record in ``NOTIFY_STATE_TABLE`` is older than
    ``NOTIFY_STATE_TTL`` (30d), and a "back within thresholds" message when a breaching
    image no longer breaches; ``NOTIFY_ON=always`` publishes every breach.  A failed
    scan is published (``NOTIFY_ON_SCAN_FAILURE``) whatever the mode.  A malformed or
    unsupported event raises :class:`ecrscan.core.events.EventError`.

    With a gate on what matters (``ECRSCAN_FAIL_ON_KEV``, ``ECRSCAN_MIN_EPSS``,
    ``ECRSCAN_EXPLOITABLE``; catalogues from ``ECRSCAN_KEV_FILE``,
    ``ECRSCAN_EPSS_FILE``), a completed scan is judged on its findings
    (:mod:`ecrscan.lambdas.gates`) and the message names the rule of the verdict.
    """
    env = runtime.environ()
    runtime.call_timeout(env)
    scan = parse_scan_event(event)
    try:
        thresholds = Thresholds.from_env(env)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    gate = gate_settings(env)
    notify_failures = runtime.flag(env.get("NOTIFY_ON_SCAN_FAILURE"), "NOTIFY_ON_SCAN_FAILURE")
    topic_arn = env.get("ECR_SNS_REPORT_TOPIC_ARN")
    settings = notify_settings(env)

    report, notices = judged(scan, image_report(scan, thresholds), thresholds, gate)
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
    if gate:
        result["reasons"] = list(report.reasons)
        result["notices"] = list(notices)
    if settings.on_change and report.status in (ImageStatus.BREACH, ImageStatus.OK):
        _notify_on_change(context, scan, report, thresholds, settings, topic_arn, result)
    elif wants_notification(report, notify_failures):
        messages = event_messages(scan, named(context, scan, report), thresholds)
        _record(result, publish_all(_Topic(topic_arn), messages))
    runtime.log(context, "INFO", "scan event evaluated", **result)
    return result


def _notify_on_change(
    context: Any,
    scan: ScanEvent,
    report: ImageReport,
    thresholds: Thresholds,
    settings: NotifySettings,
    topic_arn: str | None,
    result: dict[str, Any],
) -> None:
    """Publish what changed since the state table's record (claimed before, restored
    when publishing fails); publish anyway, and warn, when the table cannot be used."""

    def compose(settled: Settled) -> list[SnsMessage]:
        resolved = settled.change is Change.RESOLVED
        return event_messages(scan, named(context, scan, report), thresholds, resolved=resolved)

    published = publish_change(
        report,
        scan.region,
        store=runtime.connections.state_store(settings.table),
        publisher=_Topic(topic_arn),
        now=runtime.clock(),
        state_ttl=settings.state_ttl,
        compose=compose,
    )
    settled, message_ids = published.settled, published.message_ids
    result["change"] = settled.change.value
    if settled.problem is not None:
        what = "contended" if settled.problem.code == CONTENDED else "unreachable"
        result["state"] = f"{what}: {settled.problem}"
        runtime.log(
            context,
            "WARNING",
            "notification state table not used: notified without it",
            table=settings.table,
            key=settled.key,
            problem=str(settled.problem),
            change=settled.change.value,
        )
    if message_ids is not None:
        _record(result, message_ids)


# Per warm container (its connections): (region, registry id, repository) -> the
# repository's platform images by digest, for later events; the least recently used
# repository goes first past MAX_CACHED.
Platforms = OrderedDict[tuple[str, str, str], dict[str, Image]]
_PLATFORMS: WeakKeyDictionary[Any, Platforms] = WeakKeyDictionary()
MAX_CACHED = 64


def named(context: Any, scan: ScanEvent, report: ImageReport) -> ImageReport:
    """The report of an untagged platform image named by its index's tags and platform
    (``team/api:v1 (linux/arm64)``) when one listing of the repository and at most one
    BatchGetImage find its index (cached per warm container); else as the event named
    it (by digest).  Called only when a message is composed."""
    if scan.tags or not scan.digest:
        return report
    connections = runtime.connections
    cache = _PLATFORMS.setdefault(connections, OrderedDict())
    key = (scan.region, scan.registry_id, scan.repository)
    known = cache.get(key)
    if known is None or scan.digest not in known:
        repository = Repository(name=scan.repository, registry_id=scan.registry_id)
        try:
            target = connections.home(scan.region or None)
            known = platform_images(connections.ecr(target, scan.registry_id or None), repository)
        except AwsError as exc:
            runtime.log(context, "INFO", "image index not resolved", problem=str(exc.problem))
            return report
        except Exception as exc:  # a name is never worth losing the notification
            runtime.log(context, "WARNING", "image index not resolved", problem=repr(exc))
            return report
        cache[key] = known
        while len(cache) > MAX_CACHED:
            cache.popitem(last=False)
    cache.move_to_end(key)
    found = known.get(scan.digest)
    if found is None:
        return report
    image = replace(
        report.image,
        platform=found.platform,
        index_digest=found.index_digest,
        index_tags=found.index_tags,
    )
    return replace(report, image=image)


class _Topic:
    """``ECR_SNS_REPORT_TOPIC_ARN`` (an :class:`~ecrscan.engine.ports.Publisher`),
    checked when there is something to publish."""

    def __init__(self, topic_arn: str | None) -> None:
        self.arn = topic_arn

    def publish(self, messages: Iterable[Message]) -> list[str]:
        if not self.arn:
            raise ConfigurationError("ECR_SNS_REPORT_TOPIC_ARN is not set: nowhere to publish")
        return sns.SnsTopic(runtime.connections.client("sns"), self.arn).publish(messages)


def _record(result: dict[str, Any], message_ids: Sequence[str]) -> None:
    result["published"] = len(message_ids)
    result["messageIds"] = list(message_ids)
