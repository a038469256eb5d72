"""Progress on stderr: a live bar on a terminal, fed by the engine's progress
callback, and plain lines about awaited scans where there is none (CI logs)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from ecrscan.engine.runner import Event
from ecrscan.engine.wait import WaitUpdate
from ecrscan.render.controls import escape_controls


class ProgressDisplay:
    """A context manager whose :meth:`callback` the engine calls; silent when disabled."""

    def __init__(self, console: Console | None, *, scans: bool = True) -> None:
        self._scans = scans  # show the "scans started" row (rescan); report starts none
        self._progress: Progress | None = None
        self._tasks: dict[str, Any] = {}
        if console is not None:
            self._progress = Progress(
                TextColumn("{task.description:<16}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )

    @classmethod
    def for_terminal(
        cls, enabled: bool = True, stream: Any = None, *, scans: bool = True
    ) -> ProgressDisplay:
        """A bar on stderr when it is a terminal and ``enabled``; otherwise a no-op."""
        stream = stream or sys.stderr
        if enabled and hasattr(stream, "isatty") and stream.isatty():
            return cls(Console(file=stream), scans=scans)
        return cls(None, scans=scans)

    @property
    def active(self) -> bool:
        return self._progress is not None

    def __enter__(self) -> ProgressDisplay:
        if self._progress is not None:
            self._progress.start()
            self._tasks = {
                "repos": self._progress.add_task("repositories", total=None),
                "images": self._progress.add_task("images checked", total=0),
            }
            if self._scans:
                self._tasks["scans"] = self._progress.add_task("scans started", total=None)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def note(self, message: str) -> None:
        """One line on stderr, above the bar while it shows."""
        if self._progress is not None:
            self._progress.console.print(message, markup=False, highlight=False)
        else:
            click.echo(escape_controls(message), err=True)

    def callback(self, event: Event, amount: int) -> None:
        progress = self._progress
        if progress is None:
            return
        if event is Event.REPOSITORIES:
            progress.update(self._tasks["repos"], total=amount)
        elif event is Event.REPOSITORY_DONE:
            progress.advance(self._tasks["repos"], amount)
        elif event is Event.IMAGES_FOUND:
            task = self._tasks["images"]
            current = progress.tasks[task].total or 0
            progress.update(task, total=current + amount)
        elif event is Event.IMAGE_CHECKED:
            progress.advance(self._tasks["images"], amount)
        elif event is Event.SCAN_STARTED and "scans" in self._tasks:
            progress.advance(self._tasks["scans"], amount)


class WaitLines:
    """Progress of awaited scans as plain lines on stderr, for logs without a terminal
    (CI): one line when an image's scan status changes, and at least one every
    :data:`QUIET_SECONDS` while it waits, e.g.
    ``ecrscan: team/api:v1 IN_PROGRESS 45s, timeout in 14min``."""

    QUIET_SECONDS = 30.0

    def __init__(self, enabled: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self._clock = clock
        self._last: dict[str, tuple[str, float]] = {}  # label -> (status, when printed)

    def __call__(self, update: WaitUpdate) -> None:
        if not self.enabled:
            return
        now = self._clock()
        status, printed = self._last.get(update.label, ("", -self.QUIET_SECONDS))
        quiet_long = now - printed >= self.QUIET_SECONDS
        if not (status != update.status or update.done or quiet_long):
            return
        self._last[update.label] = (update.status, now)
        if update.done:
            text = f"{update.label} {update.status} after {span(update.waited)}"
        else:
            text = (
                f"{update.label} {update.status} {span(update.waited)}, "
                f"timeout in {span(update.remaining)}"
            )
        click.echo(f"ecrscan: {escape_controls(text)}", err=True)


def span(seconds: float) -> str:
    """``45s``, ``14min``, ``1h5min``: a wait in the units of the duration grammar."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes}min" + (f"{rest}s" if rest and minutes < 5 else "")
    hours, rest = divmod(whole, 3600)
    return f"{hours}h" + (f"{rest // 60}min" if rest >= 60 else "")
