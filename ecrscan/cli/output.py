"""Where things go: the report to stdout or ``--output``, notices and errors to stderr."""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import shutil
import stat
import sys
import tempfile
import textwrap
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console

from ecrscan.cli.app import AppContext, IncompleteError, log
from ecrscan.core.coverage import Coverage
from ecrscan.core.words import calls_text, plural
from ecrscan.render.controls import Escaped, escape_controls
from ecrscan.render.coverage import STAGES
from ecrscan.render.formats import PAGES, Format

TEMPORARY_RANDOM = 8  # the characters tempfile.mkstemp adds to a name

# Set while the record is being written: a first signal then lets the write finish (the
# signal handler reads it to say so).
WRITING = threading.Event()


def emit(output: Path | None, rendered: Any) -> None:
    """Write a string (JSON, CSV ...) or a rich renderable to ``output`` or stdout.

    A file is written atomically: to a temporary file in the same directory, then
    renamed over ``output``, so a failed or interrupted run leaves the old file or a
    complete new one, never half of one.  A symbolic link is followed: its target is
    written, the link stays.  A FIFO or a device (``/dev/stdout``, ``/dev/null``) is
    written through, as a shell redirection does: renaming over it would replace it.
    A rich renderable (the table format) is printed with the control characters of its
    text escaped.  While it writes, :data:`WRITING` is set."""
    WRITING.set()
    try:
        _emit(output, rendered)
    finally:
        WRITING.clear()


def _emit(output: Path | None, rendered: Any) -> None:
    if not isinstance(rendered, str):
        rendered = Escaped(rendered)
    if output is not None:
        try:
            write_output(output, rendered)
        except OSError as exc:
            raise IncompleteError(f"cannot write {output}: {exc.strerror or exc}") from None
        return
    if not isinstance(rendered, str):
        printer = console(sys.stdout, terminal=sys.stdout.isatty())
        with printer.capture() as captured:
            printer.print(rendered)
        rendered = captured.get()
    write_stdout(rendered)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def check_destination(fmt: Format, output: Path | None) -> None:
    """A page (``--format html``) goes to a file or a pipe: on a terminal it would be a
    screenful of markup, so that is a usage error (before any AWS call)."""
    if fmt in PAGES and output is None and stdout_is_terminal():
        raise click.UsageError(
            f"--format {fmt.value} writes a page for a browser, not for a terminal: "
            f"add -o FILE (e.g. -o report.{fmt.value}) or redirect stdout"
        )


def write_stdout(text: str) -> None:
    """``text`` on stdout, whole.  An unbuffered stdout (PYTHONUNBUFFERED=1) hands text
    straight to the raw stream, whose write may take only part of it (a pipe write that a
    signal interrupts returns after 64 KiB) and the text layer drops the rest: so the
    bytes go to the binary stream here, until every one is taken."""
    stream = sys.stdout
    binary = getattr(stream, "buffer", None)
    if binary is None:  # not a file (a StringIO)
        stream.write(text)
        stream.flush()
        return
    stream.flush()
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if codecs.lookup(encoding).name == "ascii":  # as click.echo does: never fail on a name
        encoding = "utf-8"
    data = memoryview(text.encode(encoding, errors="replace"))
    while data:
        taken = binary.write(data)
        if taken is None:  # a non-blocking stdout that is full: wait for room
            select.select([], [binary], [])
            continue
        data = data[taken:]
    binary.flush()


DEFAULT_WIDTH = 80  # a table printed to no terminal, COLUMNS unset


def table_width(environ: Mapping[str, str], terminal: bool) -> int | None:
    """The width a table is laid out for: ``COLUMNS`` when it is set (a positive
    number), else the terminal's (``None``: rich asks the terminal), else 80."""
    columns = environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if terminal else DEFAULT_WIDTH


def console(stream: TextIO, terminal: bool = False, color: bool = True) -> Console:
    """The console a table is printed with, to ``stream`` (see :func:`table_width`)."""
    width = table_width(os.environ, terminal)
    return Console(file=stream, width=width, no_color=not color)


def write_output(path: Path, rendered: Any) -> None:
    """``path``'s final target (links followed) written through when it is an existing
    node that is not a regular file, else atomically."""
    try:
        mode = os.stat(path).st_mode  # through links, /proc's too (/dev/stdout in a pipeline)
    except FileNotFoundError:
        mode = stat.S_IFREG  # a new file
    if stat.S_ISREG(mode):
        write_atomically(Path(os.path.realpath(path)), rendered)
    else:
        with open(path, "w", encoding="utf-8") as stream:
            _render(stream, rendered)


def write_atomically(path: Path, rendered: Any) -> None:
    directory = path.absolute().parent
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(path, directory))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            _render(stream, rendered)
            stream.flush()
            os.fsync(stream.fileno())
        if path.exists():  # keep the file's permissions, as an in-place write would
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _render(stream: TextIO, rendered: Any) -> None:
    if isinstance(rendered, str):
        stream.write(rendered)
    else:
        console(stream, color=False).print(rendered)


def name_limit(directory: Path) -> int:
    """The longest file name, in bytes, ``directory``'s file system takes (255 when it
    cannot tell)."""
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _temporary_prefix(path: Path, directory: Path) -> str:
    """``.NAME.`` with NAME shortened so that the temporary name (the prefix and
    mkstemp's 8 random characters) fits wherever ``path``'s own name fits."""
    room = name_limit(directory) - len(".") - len(".") - TEMPORARY_RANDOM
    stem = path.name
    while len(os.fsencode(stem)) > room:
        stem = stem[:-1]
    return f".{stem}."


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def warn(app: AppContext, message: str, wrap: bool = False) -> None:
    """A notice on stderr (not with ``--quiet``); ``wrap``: over several lines, to
    stay within the width (see :func:`table_width`; a terminal's own, else 80)."""
    if app.quiet:
        return
    line = f"ecrscan: {escape_controls(message)}"
    if wrap:
        width = table_width(os.environ, sys.stderr.isatty()) or shutil.get_terminal_size()[0]
        line = textwrap.fill(
            line, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
        )
    click.echo(line, err=True)


def error(message: str) -> None:
    """An error on stderr (also with ``--quiet``)."""
    click.echo(f"ecrscan: error: {escape_controls(message)}", err=True)


def log_calls(gateways: Iterable[Any]) -> None:
    """``-v``: the AWS calls the gateways made, per operation."""
    total: Counter[str] = Counter()
    for gateway in gateways:
        total.update(gateway.calls)
    log.info("AWS calls: %s", calls_text(total))


def coverage_errors(coverage: Coverage | None) -> None:
    """Name every failed target and unreadable task definition on stderr; stop with
    exit 3 (nothing written) when no target could be audited at all."""
    if coverage is None:
        return
    failed = [(t, stage, problem) for t in coverage.failed_targets for stage, problem in t.errors]
    if coverage.nothing_audited:
        if len(coverage.targets) == 1 and len(failed) == 1:
            raise IncompleteError(str(failed[0][2]))
        raise IncompleteError(
            "no account/region could be audited: "
            + "; ".join(f"{t.label}: {STAGES[stage]}: {problem}" for t, stage, problem in failed)
        )
    for target, stage, problem in failed:
        role = f" (role {target.role_arn})" if target.role_arn else ""
        error(f"{target.label}{role}: {STAGES[stage]} failed: {problem}")
    for arn, problem in coverage.unreadable:
        error(f"task definition {arn}: {problem}")


def coverage_incomplete(coverage: Coverage | None) -> str:
    """The coverage part of an "incomplete" message ("" when the targets are whole)."""
    if coverage is None:
        return ""
    parts = []
    if coverage.failed_targets:
        parts.append(f"{plural(len(coverage.failed_targets), 'account/region target')} failed")
    if coverage.unreadable:
        parts.append(f"{plural(len(coverage.unreadable), 'task definition')} unreadable")
    return ", ".join(parts)
