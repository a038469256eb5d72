"""What a run covered, for the ``rescan`` and ``report`` outputs (pure functions).

JSON: ``account``, ``targets`` and ``scope`` (documented in the README, "JSON output"):
every target with its errors, and with ``--in-use`` / ``--pulled-within`` every image
reference that was skipped, out of scope, unmatched or unreadable, and per repository
what the scope left out.  Tables: a "not audited" table listing the same items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import RenderableType
from rich.table import Table

from ecrscan.core.coverage import Coverage, RepoScope, SkippedImage
from ecrscan.core.problem import Problem
from ecrscan.render.fit import Fitted

STAGES = {"credentials": "credentials (STS)", "discovery": "ECS discovery", "audit": "ECR"}


def multi_target(coverage: Coverage | None) -> bool:
    return coverage is not None and len(coverage.targets) > 1


def single_account(coverage: Coverage | None) -> str | None:
    accounts = {t.account for t in coverage.targets} if coverage else set()
    return accounts.pop() if len(accounts) == 1 and "" not in accounts else None


def scope_title(coverage: Coverage | None) -> str:
    """``, in use (ecs), pulled within 30d``: the image scope for a table title."""
    if coverage is None:
        return ""
    parts = [f"in use ({coverage.in_use})"] if coverage.in_use else []
    parts += [f"pulled within {coverage.pulled_within}"] if coverage.pulled_within else []
    return "".join(f", {part}" for part in parts)


def problem_record(problem: Problem) -> dict[str, str]:
    return {"code": problem.code, "message": problem.message}


def targets_document(
    coverage: Coverage | None, totals: Mapping[tuple[str, str], Mapping[str, int]] | None = None
) -> list[dict[str, Any]] | None:
    """Every target with its errors and, given ``totals``, its counters (``region`` ""
    is an account whose regions were never known: its credentials failed first)."""
    if coverage is None:
        return None
    return [
        {
            "account": t.account or None,
            "region": t.region,
            "role_arn": t.role_arn or None,
            "complete": not t.errors,
            "errors": [{"stage": stage, **problem_record(p)} for stage, p in t.errors],
            **({"totals": dict(totals.get((t.account, t.region), {}))} if totals else {}),
        }
        for t in coverage.targets
    ]


def scope_record(scope: RepoScope | None) -> dict[str, Any] | None:
    """Per repository: what the image scope left out; ``None`` without a scope."""
    if scope is None:
        return None
    return {
        "listed": scope.listed,
        "excluded": scope.excluded,
        "not_in_use": scope.not_in_use,
        "never_pulled": scope.never_pulled,
        "not_pulled_recently": scope.not_pulled_recently,
        "unmatched_tags": list(scope.unmatched_tags),
        "unmatched_digests": list(scope.unmatched_digests),
        "task_definitions": list(scope.task_definitions),
    }


def scope_document(
    coverage: Coverage | None, scopes: Sequence[RepoScope], per_repository: bool = False
) -> dict[str, Any] | None:
    """The run's image scope: options, totals and every reference not audited;
    ``None`` when the run had neither ``--in-use`` nor ``--pulled-within``.  With
    ``per_repository`` (``report``, which has no repository records) also the
    :func:`scope_record` of each repository, under ``repositories``."""
    if coverage is None or (coverage.in_use is None and coverage.pulled_within is None):
        return None
    present = [s for s in scopes if not s.missing]
    document: dict[str, Any] = {
        "in_use": coverage.in_use,
        "pulled_within": coverage.pulled_within,
        "task_definitions": coverage.task_definitions if coverage.in_use else None,
        "listed": sum(s.listed for s in present),
        "excluded": sum(s.excluded for s in present),
        "not_in_use": sum(s.not_in_use for s in present),
        "never_pulled": sum(s.never_pulled for s in present),
        "not_pulled_recently": sum(s.not_pulled_recently for s in present),
        "skipped": [_note(n) for n in coverage.skipped],
        "out_of_scope": [_note(n) for n in coverage.out_of_scope],
        "unmatched": [
            {
                "account": s.registry_id or None,
                "region": s.region or None,
                "repository": s.repository,
                "repository_missing": s.missing,
                "tags": list(s.unmatched_tags),
                "digests": list(s.unmatched_digests),
                "task_definitions": list(s.task_definitions),
            }
            for s in scopes
            if s.missing or s.unmatched
        ],
        "unreadable_task_definitions": [
            {"task_definition": arn, **problem_record(p)} for arn, p in coverage.unreadable
        ],
    }
    if per_repository:
        document["repositories"] = [
            {
                "account": s.registry_id or None,
                "region": s.region or None,
                "repository": s.repository,
                **(scope_record(s) or {}),
            }
            for s in present
        ]
    return document


def _note(note: SkippedImage) -> dict[str, Any]:
    return {
        "image": note.image,
        "location": note.location,
        "reason": note.reason,
        "task_definitions": list(note.task_definitions),
    }


def not_audited_table(
    coverage: Coverage | None, scopes: Sequence[RepoScope]
) -> RenderableType | None:
    """One row per target that failed, task definition not read, image reference
    skipped, out of scope or unmatched; ``None`` when there is nothing to list."""
    if coverage is None:
        return None
    rows: list[tuple[str, str, str, str]] = []
    for target in coverage.failed_targets:
        for stage, problem in target.errors:
            rows.append(("target failed", target.label, f"{STAGES[stage]}: {problem}", ""))
    for arn, problem in coverage.unreadable:
        rows.append(("task definition unreadable", arn, str(problem), ""))
    for kind, notes in (("skipped", coverage.skipped), ("out of scope", coverage.out_of_scope)):
        for note in notes:
            rows.append((kind, note.image, note.reason, _task_definitions(note.task_definitions)))
    for scope in scopes:
        if scope.missing:
            rows.append(
                (
                    "unmatched",
                    f"{scope.repository}",
                    "no such repository",
                    _task_definitions(scope.task_definitions),
                )
            )
            continue
        for ref in [f":{t}" for t in scope.unmatched_tags] + [
            f"@{d}" for d in scope.unmatched_digests
        ]:
            rows.append(
                (
                    "unmatched",
                    scope.repository + ref,
                    "no image carries this reference",
                    _task_definitions(scope.task_definitions),
                )
            )
    if not rows:
        return None
    table = Table(title="not audited", title_justify="left")
    table.add_column("what")
    table.add_column("image / target")
    table.add_column("why", overflow="fold")
    table.add_column("task definitions")
    for row in rows:
        table.add_row(*row, style="red" if row[0].startswith(("target", "task")) else None)
    return Fitted(table)


def _task_definitions(arns: Sequence[str]) -> str:
    """``family:revision`` of the first ARN, and how many more."""
    if not arns:
        return ""
    first = arns[0].rpartition("/")[2]
    return first + (f" +{len(arns) - 1} more" if len(arns) > 1 else "")
