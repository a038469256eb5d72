"""``--publish``: the report to SNS, every breach in one message (split when too big),
or with ``--only-changed`` only what changed since the last notification, claimed in
the state table the reporter function shares (:mod:`ecrscan.engine.notify`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import click

from ecrscan.cli.app import AppContext, log
from ecrscan.cli.gate import GateOptions
from ecrscan.cli.output import warn
from ecrscan.core.errors import AwsError
from ecrscan.core.model import ImageReport, ReportResult
from ecrscan.core.notify import Change
from ecrscan.core.problem import Problem
from ecrscan.core.words import plural
from ecrscan.engine import publish as engine_publish
from ecrscan.engine.notify import Batch
from ecrscan.engine.ports import Message
from ecrscan.engine.publish import publish_all
from ecrscan.render.controls import escape_controls
from ecrscan.render.sns import SnsMessage, build_messages


def publish_report(
    app: AppContext, result: ReportResult, gate: GateOptions, region: str
) -> ReportResult:
    """``--publish``: one SNS message listing every breaching image (split when too
    large; none when nothing breaches, unless ``--publish-always``), or only the
    changes with ``--only-changed``; SNS's refusal is recorded in the result."""
    if gate.only_changed:
        return publish_changes(app, result, gate, region)
    messages = _messages(result, gate.publish_always)
    if not messages:
        log.info("nothing breaches: no SNS message published")
        return result
    problem = send_to_sns(app, gate.topic_arn, region, messages)
    return dataclasses.replace(result, publish_error=problem)


def send_to_sns(
    app: AppContext, topic_arn: str, region: str, messages: Sequence[SnsMessage]
) -> Problem | None:
    """Publish ``messages``; SNS's refusal (or a transport error) as a value, so the
    report still says what it found (the run's last line names it: :func:`finish`)."""
    try:
        _send(app, topic_arn, region, messages)
    except AwsError as exc:
        return exc.problem
    return None


def _send(app: AppContext, topic_arn: str, region: str, messages: Sequence[SnsMessage]) -> int:
    ids = publish_all(_Topic(app, topic_arn, region), messages)
    warn(app, f"published {plural(len(ids), 'SNS message')} to {topic_arn}")
    return len(ids)


class _Topic:
    """The run's SNS topic (an :class:`~ecrscan.engine.ports.Publisher`), its client
    built only when there is something to publish."""

    def __init__(self, app: AppContext, topic_arn: str, region: str) -> None:
        self.app, self.arn, self.region = app, topic_arn, region

    def publish(self, messages: Iterable[Message]) -> list[str]:
        from ecrscan.aws.clients import MESSAGING  # botocore: only when publishing
        from ecrscan.aws.sns import SnsTopic

        client = self.app.client("sns", MESSAGING, region=self.region)
        return SnsTopic(client, self.arn).publish(messages)


def publish_changes(
    app: AppContext, result: ReportResult, gate: GateOptions, region: str
) -> ReportResult:
    """``--only-changed``: of the images the report judged, publish the new or changed
    breaches and the images back within thresholds (one message, split when too big),
    after claiming each in the state table; when publishing fails the claims are put
    back.  A table that cannot be read: every breach is published, with a warning."""
    try:
        published = engine_publish.publish_changes(
            result.images,
            result.region or "",
            store=app.state_store(gate.table, gate.table_region(region)),
            publisher=_Topic(app, gate.topic_arn, region),
            now=app.clock(),
            state_ttl=gate.state_ttl.delta,
            compose=lambda batch: _messages(result, gate.publish_always, batch),
        )
    except AwsError as exc:
        return dataclasses.replace(result, publish_error=exc.problem)
    if published.message_ids:
        sent = plural(len(published.message_ids), "SNS message")
        warn(app, f"published {sent} to {gate.topic_arn}")
    else:
        log.info("nothing changed since the last notification: no SNS message published")
    _tell(app, published.batch, gate.table)
    return result


def _messages(result: ReportResult, always: bool, batch: Batch | None = None) -> list[SnsMessage]:
    """The SNS messages of ``result``: every breach, or with a ``batch`` that compared
    with the state table only its changes (a batch with no state to compare with sends
    what ``--publish`` alone sends)."""
    changed: Sequence[ImageReport] | None = None
    resolved: Sequence[ImageReport] = ()
    if batch is not None and not batch.everything:
        changed = batch.reports(Change.NEW, Change.CHANGED)
        resolved = batch.reports(Change.RESOLVED)
    return build_messages(
        result.images,
        result.thresholds,
        changed=changed,
        resolved=resolved,
        always=always,
        region=result.region,
        generated_at=result.generated_at,
    )


def _tell(app: AppContext, batch: Batch, table: str) -> None:
    """What was published and what was not, and any trouble with the table (a warning
    on stderr, also with ``--quiet``: the alerts went out without it)."""
    if batch.problem is not None:
        caution(
            f"the state table {table} could not be read ({batch.problem}): every breach "
            "was published, as --publish does"
        )
    else:
        unrecorded = [s for s in batch.settled if s.problem is not None]
        if unrecorded:
            caution(
                f"the state of {plural(len(unrecorded), 'image')} could not be recorded in "
                f"{table} ({unrecorded[0].problem}): published without a record"
            )
    counts = ", ".join(
        f"{batch.count(change)} {word}"
        for change, word in (
            (Change.NEW, "new"),
            (Change.CHANGED, "changed"),
            (Change.RESOLVED, "back within thresholds"),
            (Change.UNCHANGED, "unchanged (not published)"),
        )
    )
    warn(app, f"--only-changed: {counts}")


def caution(message: str) -> None:
    click.echo(f"ecrscan: warning: {escape_controls(message)}", err=True)
