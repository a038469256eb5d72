"""The one fan-out over targets: run a piece of work once per (account, region) target,
and turn an AWS failure of one target into a value instead of stopping the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ecrscan.aws.errors import problem_of
from ecrscan.core.targets import Target, TargetFailure

T = TypeVar("T")


def run_per_target(
    targets: Sequence[Target], work: Callable[[Target], T]
) -> tuple[list[tuple[Target, T]], list[TargetFailure]]:
    """Call ``work(target)`` for each target in turn; an AWS error in one (anything
    carrying a :class:`~ecrscan.core.model.Problem`, a ``ClientError``, an unreachable
    endpoint) becomes a :class:`TargetFailure` and the others still run.  Other
    exceptions propagate."""
    done: list[tuple[Target, T]] = []
    failures: list[TargetFailure] = []
    for target in targets:
        try:
            done.append((target, work(target)))
        except Exception as exc:
            problem = problem_of(exc)
            if problem is None:
                raise
            failures.append(TargetFailure(target.account, target.region, problem, target.role_arn))
    return done, failures
