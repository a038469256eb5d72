"""The verdict of ``report`` (and ``report --event``): the options that judge, write and
publish it (thresholds, ignore file, format, output, SNS, notify on change), the verdict
on stderr and the exit code.  Publishing itself is :mod:`ecrscan.cli.publish`."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ecrscan.cli.app import AppContext, ConfigError, conclude
from ecrscan.cli.facts import FACT_OPTIONS, GATE_OPTIONS, gates_of
from ecrscan.cli.options import Decorator, checked, collect, env_option, output_options, stack
from ecrscan.cli.output import coverage_incomplete, warn
from ecrscan.core.durations import Duration
from ecrscan.core.exits import EXIT_INCOMPLETE
from ecrscan.core.facts import Facts
from ecrscan.core.feeds import EpssTable, KevCatalog
from ecrscan.core.ignore import IgnoreFileError, IgnoreRule, load_ignore_file
from ecrscan.core.model import ImageReport, ImageStatus, ReportResult
from ecrscan.core.notify import DEFAULT_STATE_TTL
from ecrscan.core.severity import Severity
from ecrscan.core.thresholds import ThresholdError, Thresholds
from ecrscan.core.view import View, complete, exit_code
from ecrscan.core.words import plural
from ecrscan.engine.report import ReportSettings
from ecrscan.render.common import (
    HINT_NO_SCAN,
    HINT_NO_SCAN_WAITED,
    NOTHING_TO_REPORT,
    headline,
    image_label,
    thresholds_text,
)
from ecrscan.render.formats import NEEDS_FINDINGS, Format

MAX_LISTED = 10  # images named per group in the "incomplete" message
EMPTY_HINT = "--allow-empty accepts an empty scope"
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,256})$")
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_TABLE_ARN = re.compile(
    r"^arn:aws[a-z-]*:dynamodb:([a-z0-9-]+):(\d{12}):table/[A-Za-z0-9_.-]{3,255}$"
)
_DEFAULT_STATE_TTL = Duration.parse(DEFAULT_STATE_TTL)


@dataclass(frozen=True)
class GateOptions:
    """How a report is judged, written and published, as the options gave it."""

    threshold_specs: tuple[str, ...] = ()
    fail_on: str | None = None
    ignore_file: Path | None = None
    details: bool = False
    fmt: str = Format.TABLE.value
    output: Path | None = None
    publish_: bool = False
    publish_always: bool = False
    sns_topic_arn: str | None = None
    only_breaches: bool = False
    severity: str | None = None
    ignore_unfixed: bool = False
    only_changed: bool = False
    state_table: str | None = None
    state_ttl: Duration = _DEFAULT_STATE_TTL
    epss_table: EpssTable | None = None  # --epss-file, parsed
    kev_catalog: KevCatalog | None = None  # --kev-file, parsed
    fail_on_kev: bool = False  # the gates on what matters
    min_epss: float | None = None
    exploitable: bool = False

    def view(self, command: str, allow_empty: bool = False, strict: bool = False) -> View:
        """How ``command``'s report is judged and listed (``--allow-empty``,
        ``--only-breaches``, ``--severity``, ``--strict``), beside the engine's result."""
        floor = Severity.parse(self.severity) if self.severity else None
        return View(command, allow_empty, self.only_breaches, floor, strict)

    @property
    def format(self) -> Format:
        return Format(self.fmt.lower())

    @property
    def on_screen(self) -> bool:
        """A table on a terminal: its title and caption give the verdict and thresholds."""
        return self.format is Format.TABLE and self.output is None and sys.stdout.isatty()

    def thresholds(self) -> Thresholds:
        return resolve_thresholds(self.fail_on, self.threshold_specs)

    def ignore_rules(self) -> tuple[IgnoreRule, ...]:
        if self.ignore_file is None:
            return ()
        try:
            return load_ignore_file(self.ignore_file)
        except IgnoreFileError as exc:
            raise click.BadParameter(str(exc), param_hint="'--ignore-file'") from None

    def topic_region(self) -> str | None:
        """The SNS topic's region when publishing is wanted, else ``None``; with
        ``--only-changed``, its state table checked too (usage errors, no AWS call)."""
        wanted = self.publish_ or self.publish_always
        if self.only_changed or (wanted and self.table):
            check_only_changed(self.only_changed, wanted, self.state_table)
        return publish_region(self.sns_topic_arn, wanted)

    def table_region(self, topic_region: str) -> str:
        """The state table's region: its ARN's, else the topic's (where the stack keeps
        both)."""
        match = _TABLE_ARN.match(self.table)
        return match.group(1) if match else topic_region

    @property
    def table(self) -> str:
        return (self.state_table or "").strip()

    @property
    def topic_arn(self) -> str:
        return (self.sns_topic_arn or "").strip()

    def report_settings(
        self, thresholds: Thresholds, rules: tuple[IgnoreRule, ...], **settings: Any
    ) -> ReportSettings:
        """The engine's settings: how to judge and what to read, from these options
        (``thresholds`` and ``rules`` checked beforehand) and ``settings``."""
        return ReportSettings(
            thresholds=thresholds,
            ignore_rules=rules,
            details=self.details,
            needs_findings=self.format in NEEDS_FINDINGS,
            facts=Facts(self.epss_table, self.kev_catalog),
            gates=gates_of(self.fail_on_kev, self.min_epss, self.exploitable, self),
            **settings,
        )


def level_option(decl: str, env: str, help: str) -> Decorator:
    """An option naming one severity level."""
    levels = click.Choice([s.value for s in Severity], case_sensitive=False)
    return env_option(decl, env=env, type=levels, metavar="LEVEL", help=help)


# How findings are judged: thresholds, accepted findings (``fixes`` too).
JUDGING = (
    env_option(
        "--threshold",
        "threshold_specs",
        multiple=True,
        env="ECRSCAN_THRESHOLD",
        env_note="space-separated",
        metavar="LEVEL=N",
        help="Tolerate N findings at LEVEL, or off (repeatable).",
    ),
    level_option(
        "--fail-on",
        "ECRSCAN_FAIL_ON",
        "0 at LEVEL and up, off below.",
    ),
    env_option(
        "--ignore-file",
        env="ECRSCAN_IGNORE_FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="FILE",
        help="Accepted findings (TOML); lists findings as --details.",
    ),
)
_DETAILS = env_option(
    "--details", env="ECRSCAN_DETAILS", is_flag=True, help="Findings of breaching images."
)
# How the report is published and what it lists.
_PUBLISHING = (
    env_option(
        "--publish",
        "publish_",
        env="ECRSCAN_PUBLISH",
        is_flag=True,
        help="Publish breaches to SNS.",
    ),
    env_option(
        "--publish-always",
        env="ECRSCAN_PUBLISH_ALWAYS",
        is_flag=True,
        help="Publish even when nothing breaches.",
    ),
    env_option(
        "--sns-topic-arn",
        env="ECR_SNS_REPORT_TOPIC_ARN",
        metavar="ARN",
        help="The SNS topic.",
    ),
    env_option(
        "--only-changed",
        env="ECRSCAN_ONLY_CHANGED",
        is_flag=True,
        help="Publish only what changed since the last notification.",
    ),
    env_option(
        "--state-table",
        env="ECRSCAN_STATE_TABLE",
        metavar="TABLE",
        help="The DynamoDB table of --only-changed (name or ARN).",
    ),
    env_option(
        "--state-ttl",
        env=("ECRSCAN_STATE_TTL", "NOTIFY_STATE_TTL"),
        metavar="DURATION",
        default=DEFAULT_STATE_TTL,
        show_default=True,
        callback=checked(Duration.parse),
        help="Re-publish an unchanged breach after it.",
    ),
    env_option(
        "--only-breaches",
        env="ECRSCAN_ONLY_BREACHES",
        is_flag=True,
        help="List only the images that breach or were not assessed.",
    ),
    level_option(
        "--severity",
        "ECRSCAN_SEVERITY",
        "List only LEVEL and up.",
    ),
)
IGNORE_UNFIXED = env_option(
    "--ignore-unfixed",
    env="ECRSCAN_IGNORE_UNFIXED",
    is_flag=True,
    help="Unfixed findings do not count; lists as --details.",
)


def gate_options(command: str) -> Decorator:
    """The options of :class:`GateOptions` (how a report is judged, written and
    published), reaching ``command`` as ``gate``; ``--format``/``--output`` read the
    command's own environment variables first."""
    return stack(
        *JUDGING,
        _DETAILS,
        *FACT_OPTIONS,
        *GATE_OPTIONS,
        output_options(ReportResult, command),
        *_PUBLISHING,
        IGNORE_UNFIXED,
        collect(GateOptions, "gate"),
    )


def resolve_thresholds(fail_on: str | None, specs: Sequence[str]) -> Thresholds:
    """Defaults <- env CRITICAL/HIGH/MEDIUM/LOW; --fail-on replaces them; --threshold
    overrides single levels."""
    try:
        base = Thresholds.from_env(os.environ)
    except ThresholdError as exc:
        raise ConfigError(str(exc)) from None
    if fail_on:
        base = base.fail_on(Severity.parse(fail_on))
    try:
        return base.with_overrides(specs)
    except ThresholdError as exc:
        # with the option itself, so that the error names ECRSCAN_THRESHOLD when set there
        ctx = click.get_current_context(silent=True)
        params = ctx.command.params if ctx else ()
        param = next((p for p in params if p.name == "threshold_specs"), None)
        raise click.BadParameter(str(exc), ctx, param, param_hint="'--threshold'") from None


def check_only_changed(only_changed: bool, publishing: bool, table: str | None) -> None:
    """``--only-changed`` needs ``--publish`` and a ``--state-table`` (a name or ARN), and
    ``--publish`` with a ``--state-table`` needs ``--only-changed`` (which of the two
    was meant is unclear): usage errors otherwise."""
    if not only_changed:
        raise click.UsageError(
            "--state-table is used only with --only-changed: add --only-changed to publish "
            "only what changed (or drop --state-table / unset ECRSCAN_STATE_TABLE)"
        )
    if not publishing:
        raise click.UsageError(
            "--only-changed decides what --publish sends: add --publish (or --publish-always)"
        )
    name = (table or "").strip()
    if not name:
        raise click.UsageError(
            "--only-changed needs a state table: pass --state-table or set ECRSCAN_STATE_TABLE "
            "(the stack output NotifyStateTableName)"
        )
    if not (_TABLE_NAME.match(name) or _TABLE_ARN.match(name)):
        raise click.BadParameter(
            f"{name!r} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -) or table ARN",
            param_hint="'--state-table'",
        )


def publish_region(topic_arn: str | None, wanted: bool) -> str | None:
    """The topic's region when publishing is wanted (``None`` otherwise); a usage error
    when there is no topic or its ARN is malformed."""
    if not wanted:
        return None
    if not topic_arn:
        raise click.UsageError(
            "--publish needs a topic: pass --sns-topic-arn or set ECR_SNS_REPORT_TOPIC_ARN"
        )
    match = _TOPIC_ARN.match(topic_arn.strip())
    if not match:
        raise click.BadParameter(
            f"{topic_arn!r} is not a standard SNS topic ARN "
            "(arn:aws:sns:<region>:<account>:<name>; FIFO topics are not supported)",
            param_hint="'--sns-topic-arn'",
        )
    return match.group(1)


def finish(
    app: AppContext,
    result: ReportResult,
    view: View,
    waited: bool,
    topic: str | None = None,
    empty: str = "",
    shown: bool = False,
) -> None:
    """The verdict on stderr (unless ``shown`` on the terminal already), and the exit
    code the result decided (with ``view``); ``topic``: the SNS topic the report was
    published to, named if that failed; ``empty``: "nothing to report: " and what left
    no image to report, if nothing was."""
    code = exit_code(result, view)
    if result.nothing_reported and not view.allow_empty:
        conclude(code, f"{empty or NOTHING_TO_REPORT} ({EMPTY_HINT})")
    if not shown:
        warn(app, f"{headline(result, view)} (thresholds: {thresholds_text(result)})", wrap=True)
    if code != EXIT_INCOMPLETE:
        conclude(code)
    elif not complete(result, view):
        conclude(code, incomplete_message(result, waited, topic))
    else:
        conclude(code, f"the report was not published to {topic}: {result.publish_error}")


def incomplete_message(result: ReportResult, waited: bool, topic: str | None = None) -> str:
    """Why the audit is incomplete, naming the images (at most ``MAX_LISTED`` a group)
    and the SNS ``topic`` the report was not published to."""
    groups = (
        (
            ImageStatus.PENDING,
            "scan still pending"
            + (" (the wait was stopped)" if result.interrupted else "")
            + (" after --timeout" if waited and not result.interrupted else "")
            + ("" if waited else " (use --wait)"),
        ),
        (
            ImageStatus.NO_SCAN,
            "never scanned (" + (HINT_NO_SCAN_WAITED if waited else HINT_NO_SCAN) + ")",
        ),
        (ImageStatus.SCAN_FAILED, "scan failed"),
        (ImageStatus.ERROR, "could not be read"),
        (ImageStatus.NOT_SCANNABLE, "not scannable by ECR"),
        (ImageStatus.NOT_AN_IMAGE, "not an image"),
    )
    parts = [f"interrupted by {result.interrupted}"] if result.interrupted else []
    for status, label in groups:
        names = [_name(r) for r in result.images if r.status is status]
        if names:
            parts.append(f"{label}: {_listing(names)}")
    if result.repository_errors:
        names = [f"{name} ({problem})" for name, problem in result.repository_errors]
        parts.append(f"repositories not read: {_listing(names)}")
    targets = coverage_incomplete(result.coverage)
    if targets:
        parts.append(targets)
    if result.publish_error is not None:
        parts.append(f"the report was not published to {topic} ({result.publish_error})")
    if result.breached:
        n = len(result.breached)
        parts.append(f"{plural(n, 'image')} {'breaches' if n == 1 else 'breach'} thresholds")
    return "incomplete audit: " + "; ".join(parts)


def _name(report: ImageReport) -> str:
    if report.status is ImageStatus.NOT_AN_IMAGE and report.error is not None:
        return f"{report.reference or image_label(report)} ({report.error.message})"
    label = image_label(report) if report.image.platform else report.reference
    label = label or image_label(report)
    digest = report.image.digest
    if digest and digest[:19] not in label:  # an untagged image's label names it already
        label += f" ({digest[:19]})"
    if report.status is ImageStatus.ERROR and report.error is not None:
        label += f" [{report.error.code}]"
    if report.status is ImageStatus.NOT_SCANNABLE and report.state is not None:
        label += f" [{report.state.description or report.state.status}]"
    return label


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")
