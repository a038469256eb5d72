"""The live progress bar on stderr, fed by the engine's progress callback."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from ecrscan.engine.runner import Event


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
