"""Diagnostics on stderr: the log handler of a command, redacted, at the verbosity of
``-v`` (which may also come after the command)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from ecrscan.core.redact import RedactingFilter

log = logging.getLogger("ecrscan")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (CliRunner swaps it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ assigns it
        pass


def configure_logging(ctx: click.Context, verbose: int) -> None:
    """Diagnostics to stderr, every record redacted (``-vv`` logs botocore's requests,
    whose headers carry the session token and access key id); undone when the command
    ends, so a process running several commands (tests) does not pile up handlers."""
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    botocore_log = logging.getLogger("botocore")
    levels = (log.level, botocore_log.level)
    root.addHandler(handler)
    set_verbosity(verbose)

    def undo() -> None:
        root.removeHandler(handler)
        log.setLevel(levels[0])
        botocore_log.setLevel(levels[1])

    ctx.call_on_close(undo)


def set_verbosity(verbose: int) -> None:
    """``-v``: INFO (the AWS calls made); ``-vv``: DEBUG, with botocore's request log."""
    log.setLevel(
        logging.INFO if verbose == 1 else logging.DEBUG if verbose >= 2 else logging.WARNING
    )
    if verbose >= 2:
        logging.getLogger("botocore").setLevel(logging.DEBUG)
