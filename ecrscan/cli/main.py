"""The ``ecrscan`` console script: the command group with every command, and ``main``."""

from __future__ import annotations

import os
import sys
import traceback

import click

from ecrscan.cli.app import EXIT_BREACH, EXIT_INCOMPLETE, EXIT_OK, AppContext, cli
from ecrscan.cli.report import report
from ecrscan.cli.repos import repos
from ecrscan.cli.rescan import rescan_cmd

cli.add_command(repos)
cli.add_command(rescan_cmd)
cli.add_command(report)

__all__ = ["cli", "main"]


def main() -> None:
    """The console script.  Exit 1 means "thresholds breached" and nothing else: Click's
    own exit 1 (Ctrl-C, a broken pipe) and any unexpected exception (a bug) exit 3, the
    latter with one line on stderr (the traceback with -v or ECRSCAN_DEBUG=1)."""
    app = AppContext()
    try:
        code = cli.main(prog_name="ecrscan", obj=app, standalone_mode=False)
    except click.UsageError as exc:
        # one line, whatever the option: what is wrong and where help is
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        click.echo(f"ecrscan: usage error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("ecrscan: error: interrupted: the work is incomplete", err=True)
        sys.exit(EXIT_INCOMPLETE)
    except SystemExit as exc:
        # Without standalone mode, Click only calls sys.exit itself when stdout or stderr
        # is a closed pipe (`ecrscan report | head`), with 1: the output is incomplete.
        sys.exit(EXIT_INCOMPLETE if exc.code == EXIT_BREACH else exc.code)
    except Exception as exc:
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
        sys.exit(EXIT_INCOMPLETE)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
