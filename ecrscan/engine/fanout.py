"""The one fan-out over targets: run a piece of work once per (account, region) target,
side by side up to a bound, and turn an AWS failure of one target into a value instead
of stopping the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ecrscan.core.errors import problem_of
from ecrscan.core.targets import Target, TargetFailure

T = TypeVar("T")


def run_per_target(
    targets: Sequence[Target], work: Callable[[Target], T], parallel: int = 1
) -> tuple[list[tuple[Target, T]], list[TargetFailure]]:
    """Call ``work(target)`` for each target, at most ``parallel`` at a time; results
    come back in the targets' order.  An AWS error in one (anything carrying a
    :class:`~ecrscan.core.problem.Problem`, a ``ClientError``, an unreachable endpoint)
    becomes a :class:`TargetFailure` and the others still run.  Other exceptions
    propagate (once every started target has finished)."""

    def attempt(target: Target) -> tuple[T | None, TargetFailure | None]:
        try:
            return work(target), None
        except Exception as exc:
            problem = problem_of(exc)
            if problem is None:
                raise
            failure = TargetFailure(target.account, target.region, problem, target.role_arn)
            return None, failure

    if parallel <= 1 or len(targets) <= 1:
        outcomes = [attempt(target) for target in targets]
    else:
        with ThreadPoolExecutor(
            max_workers=min(parallel, len(targets)), thread_name_prefix="ecrscan-target"
        ) as pool:
            outcomes = list(pool.map(attempt, targets))
    done: list[tuple[Target, T]] = []
    failures: list[TargetFailure] = []
    for target, (result, failure) in zip(targets, outcomes, strict=True):
        if failure is not None:
            failures.append(failure)
        else:
            done.append((target, result))  # type: ignore[arg-type]
    return done, failures
