"""The ``ecrscan`` console script: the command group with every command, and ``main``."""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

import click

from ecrscan.cli.app import AppContext
from ecrscan.cli.fixes import fixes
from ecrscan.cli.group import cli
from ecrscan.cli.options import env_source
from ecrscan.cli.output import WRITING
from ecrscan.cli.report import report
from ecrscan.cli.repos import repos
from ecrscan.cli.rescan import rescan_cmd
from ecrscan.cli.scan import scan_cmd
from ecrscan.core.exits import EXIT_BREACH, EXIT_INCOMPLETE, EXIT_OK
from ecrscan.engine.runner import GRACE_SECONDS
from ecrscan.render.controls import escape_controls

cli.add_command(repos)
cli.add_command(rescan_cmd)
cli.add_command(report)
cli.add_command(scan_cmd)
cli.add_command(fixes)

__all__ = ["cli", "main"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def main() -> None:
    """The console script.  Exit 1 means "thresholds breached" and nothing else: Click's
    own exit 1 (a broken pipe) and any unexpected exception (a bug) exit 3, the latter
    with one line on stderr (the traceback with -v or ECRSCAN_DEBUG=1).

    SIGINT and SIGTERM stop the run: nothing new starts, the calls in flight may finish,
    and the command writes the partial record and exits 3; a second signal exits at once
    (130 or 143).  A signal while the record is written does not cut it (see
    ``output.write_stdout``): the exit code stays the record's."""
    app = AppContext()
    with _stop_on_signals(app):
        code = _run(app)
        if app.stop.is_set():
            # Calls abandoned after the grace may still hold worker threads, which the
            # interpreter would wait for: the record is written, so leave now (a signal
            # meanwhile is still the run's, never the start-up handler's).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    sys.exit(code)


def _run(app: AppContext) -> int:
    try:
        code = cli.main(prog_name="ecrscan", obj=app, standalone_mode=False)
    except click.UsageError as exc:
        # one line, whatever the option: what is wrong, where it came from, where help is
        source = env_source(getattr(exc, "param", None))
        origin = f" (set by the environment variable {source})" if source else ""
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(
            escape_controls(f"ecrscan: usage error: {exc.format_message()}{origin}{hint}"), err=True
        )
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("ecrscan: error: interrupted: the work is incomplete", err=True)
        return EXIT_INCOMPLETE
    except SystemExit as exc:
        # Without standalone mode, Click only calls sys.exit itself when stdout or stderr
        # is a closed pipe (`ecrscan report | head`), with 1: the output is incomplete.
        if exc.code == EXIT_BREACH:
            _say_closed()
            return EXIT_INCOMPLETE
        return exc.code if isinstance(exc.code, int) else EXIT_INCOMPLETE
    except Exception as exc:  # the last line of defence: a bug exits 3
        if app.verbose or os.environ.get("ECRSCAN_DEBUG", "").strip() not in ("", "0"):
            traceback.print_exc()
            hint = ""
        else:
            hint = " (-v or ECRSCAN_DEBUG=1 shows the traceback)"
        click.echo(
            f"ecrscan: internal error: {type(exc).__name__}: {exc}; this is a bug, "
            f"please report it{hint}",
            err=True,
        )
        return EXIT_INCOMPLETE
    return code if isinstance(code, int) else EXIT_OK


CLOSED_OUTPUT = "ecrscan: error: the output was closed before the whole record was written\n"


def _say_closed() -> None:
    """One line on stderr for a closed output, unless stderr is the closed pipe too."""
    with suppress(OSError):
        os.write(2, CLOSED_OUTPUT.encode())


@contextmanager
def _stop_on_signals(app: AppContext) -> Iterator[None]:
    """While the command runs, the first SIGINT/SIGTERM stops it gracefully (the run's
    stop request) and the second ends the process at once."""

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if app.stop.is_set():
            os.write(2, f"ecrscan: {name} again: exiting now, without a record\n".encode())
            os._exit(128 + signum)
        app.stop.set(name)
        if WRITING.is_set():
            message = (
                f"ecrscan: {name}: the record is being written: it is finished first "
                f"({name} again exits at once)"
            )
        else:
            message = (
                f"ecrscan: {name}: starting nothing new; the calls in flight get up to "
                f"{GRACE_SECONDS:g} s, then the partial record is written ({name} again "
                "exits at once)"
            )
        os.write(2, f"{message}\n".encode())

    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
