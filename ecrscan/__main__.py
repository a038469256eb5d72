"""The console script and ``python -m ecrscan``.

Its first act, before the command line's imports (most of a second), is to make SIGINT
and SIGTERM end the process with one line and 128 + the signal: a signal at start-up
leaves no traceback and no silent exit.  The run then installs its own handlers (the
first signal stops it gracefully, see ``ecrscan.cli.main``).  Standard library only."""

from __future__ import annotations

import os
import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def main() -> None:
    for number in STOP_SIGNALS:
        signal.signal(number, _exit_before_the_run)
    from ecrscan.cli import main as run

    try:
        run()
    except SystemExit as done:
        # The record is written and the exit code decided: a signal while the
        # interpreter shuts down ends it at once, with that code.
        code = done.code if isinstance(done.code, int) else 0
        for number in STOP_SIGNALS:
            signal.signal(number, lambda signum, frame: os._exit(code))
        raise


def _exit_before_the_run(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    os.write(2, f"ecrscan: {name} before the run started: exiting, nothing was done\n".encode())
    os._exit(128 + signum)


if __name__ == "__main__":
    main()
