"""``ecrscan fixes``: which package upgrades clear the most threshold breaches.

The same scope, options and engine as ``report --details`` (the report's option groups
and :func:`~ecrscan.cli.report.report_plan`): every finding of every image judged is
read, and nothing more.  The plan is :mod:`ecrscan.core.fixplan`.  ``fixes`` is not a
gate: it exits 0 when the plan covers the whole scope, 3 when the report under it is
incomplete (as ``report`` says), never 1 (docs/commands/fixes.md).
"""

from __future__ import annotations

import dataclasses

import click

from ecrscan.cli.app import AppContext, conclude
from ecrscan.cli.facts import FACT_OPTIONS, GATE_OPTIONS
from ecrscan.cli.gate import (
    EMPTY_HINT,
    IGNORE_UNFIXED,
    JUDGING,
    GateOptions,
    incomplete_message,
)
from ecrscan.cli.group import command_setup
from ecrscan.cli.helptext import Command
from ecrscan.cli.options import Decorator, collect, concurrency_option, output_options, stack
from ecrscan.cli.output import check_destination, emit, warn
from ecrscan.cli.report import ReportScope, build, report_plan, report_scope_options
from ecrscan.cli.selection import Selection, selection_options
from ecrscan.core.exits import EXIT_INCOMPLETE
from ecrscan.core.fixplan import FixPlan, make_plan, plan_exit_code
from ecrscan.render.common import NOTHING_TO_REPORT
from ecrscan.render.fixes import plan_headline
from ecrscan.render.formats import render
from ecrscan.render.notices import empty_cause


def plan_options(command: str, kind: type) -> Decorator:
    """The options that judge as ``report`` judges (thresholds, ignore file, the
    catalogues, the gates on what matters, ``--ignore-unfixed``), and
    ``--format``/``--output`` for results of type ``kind``, reaching ``command`` as
    ``gate``: a command that plans from a report and publishes nothing (it reads every
    finding, so has no ``--details``)."""
    return stack(
        *JUDGING,
        *FACT_OPTIONS,
        *GATE_OPTIONS,
        output_options(kind, command),
        IGNORE_UNFIXED,
        collect(GateOptions, "gate", partial=True),
    )


@click.command(
    "fixes",
    cls=Command,
    examples=(
        "ecrscan fixes --fail-on HIGH --latest",
        "ecrscan fixes --in-use ecs --kev-file kev.json --format json -o fixes.json",
        "ecrscan fixes --organization --all-regions --format markdown",
    ),
    docs="docs/commands/fixes.md",
)
@selection_options
@report_scope_options
@plan_options("fixes", FixPlan)
@concurrency_option("Parallel AWS calls.")
@command_setup
def fixes(
    app: AppContext,
    selection: Selection,
    scope: ReportScope,
    concurrency: int,
    gate: GateOptions,
) -> None:
    """Rank package upgrades by the threshold breaches each clears alone."""
    check_destination(gate.format, gate.output)  # exit 2 before any AWS call
    gate = dataclasses.replace(gate, details=True)  # every finding, as report --details
    settings, plan = report_plan(app, selection, scope, gate, concurrency)
    result = build(app, settings, plan, scope.allow_empty)
    fix_plan = make_plan(result, plan.in_use is not None, settings.gates)
    view = gate.view("fixes", scope.allow_empty, scope.strict)
    emit(gate.output, render(gate.format, fix_plan, view))
    code = plan_exit_code(fix_plan, view)
    if result.nothing_reported and not view.allow_empty:
        empty = "nothing to report: " + empty_cause(result, selection.include, selection.exclude)
        conclude(code, f"{empty or NOTHING_TO_REPORT} ({EMPTY_HINT})")
    if not gate.on_screen:
        warn(app, plan_headline(fix_plan, view), wrap=True)
    if code == EXIT_INCOMPLETE:
        conclude(code, incomplete_message(result, scope.wait))
    conclude(code)
