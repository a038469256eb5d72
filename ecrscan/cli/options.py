"""Options shared by several commands, each defined once, with their checks: every
value that can be wrong without AWS is refused here (exit 2) before any call.

Every option has an environment variable, named at the end of its help by
:func:`env_option`.  Option groups that travel together reach the command as one value
(:class:`Selection`), collected by :func:`collect`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from ecrscan.cli.output import name_limit
from ecrscan.core.control import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from ecrscan.core.durations import parse_timeout
from ecrscan.core.imageref import parse_image_ref
from ecrscan.render.formats import Format, formats_for

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def given_on_command_line(param: click.Parameter, args: Sequence[str] | None = None) -> bool:
    """Whether one of ``param``'s flags is among the command-line arguments (Click 8.4
    records a value's source only after its callback has run)."""
    words = sys.argv[1:] if args is None else args
    return any(_is_flag(word, flag) for word in words for flag in param.opts)


def _is_flag(word: str, flag: str) -> bool:
    if flag.startswith("--"):
        return word == flag or word.startswith(flag + "=")
    return word == flag or (word.startswith(flag) and not word.startswith("--"))


def env_source(param: click.Parameter | None, args: Sequence[str] | None = None) -> str:
    """The environment variable a bad value of ``param`` came from ("" when it was given
    on the command line, or has none set)."""
    if param is None or not param.envvar or given_on_command_line(param, args):
        return ""
    names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
    return next((name for name in names if os.environ.get(name, "").strip()), "")


def env_option(
    *decls: str, env: str | Sequence[str], help: str, env_note: str = "", **kwargs: Any
) -> Decorator:
    """``click.option`` read from ``env`` too (the first variable set wins), which its
    help names: "... Env: A, else B (note)."."""
    names = [env] if isinstance(env, str) else list(env)
    note = f" ({env_note})" if env_note else ""
    if kwargs.get("is_flag"):
        kwargs.setdefault("type", FLAG)
    return click.option(
        *decls,
        envvar=names[0] if len(names) == 1 else names,
        help=f"{help} Env: {', else '.join(names)}{note}.",
        **kwargs,
    )


class Flag(click.types.BoolParamType):
    """An on/off value (a flag's environment variable) whose error says what is accepted
    (Click's lists an empty string among its "recognized values")."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if self.str_to_bool(value) is None:
            self.fail(f"{value!r} is not on or off: use {ON_OFF}", param, ctx)
        return super().convert(value, param, ctx)


ON_OFF = "1, true, yes, on or 0, false, no, off"
FLAG = Flag()


def stack(*decorators: Decorator) -> Decorator:
    """Several decorators as one, applied as if written top to bottom."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


def collect(cls: type, name: str, partial: bool = False) -> Decorator:
    """Pass the options named like the fields of the dataclass ``cls`` to the command as
    one ``cls`` value, keyword ``name``; ``partial``: a command without some of these
    options gets the fields' defaults for them."""
    fields = [f.name for f in dataclasses.fields(cls)]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wanted = [f for f in fields if f in kwargs] if partial else fields
            kwargs[name] = cls(**{field: kwargs.pop(field) for field in wanted})
            return func(*args, **kwargs)

        return wrapper

    return decorate


def checked(check: Callable[[Any], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback that turns ``check``'s ``ValueError`` into a usage error on the option."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None

    return callback


allow_empty_option = env_option(
    "--allow-empty",
    env="ECRSCAN_ALLOW_EMPTY",
    is_flag=True,
    help="An empty scope (no image to check) exits 0, not 3.",
)


def concurrency_option(help_text: str) -> Decorator:
    return env_option(
        "--concurrency",
        env="ECRSCAN_CONCURRENCY",
        type=click.IntRange(1, MAX_CONCURRENCY),
        metavar="N",
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help=help_text,
    )


def check_output_path(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """The ``--output`` destination, checked before any AWS call: ``None`` for stdout
    (no option, or ``-``); otherwise a path whose target (links followed) is a writable
    FIFO or device, or a file whose name fits the file system, not a directory, in an
    existing directory where a file can be created (tried, then removed)."""
    if value is None or value == "-":
        return None
    problem = output_problem(value)
    if problem:
        raise click.BadParameter(problem, ctx=ctx, param=param)
    return Path(value)


def output_problem(value: str) -> str:
    """Why ``value`` cannot receive the output ("" when it can)."""
    if not value.strip():
        return "empty path (give a file name, or - for stdout)"
    target = Path(os.path.realpath(value))  # a link's target is what gets written
    parent = target.parent
    size, limit = len(os.fsencode(target.name)), name_limit(parent)
    if size > limit:
        return f"file name too long: {size} bytes (the limit is {limit})"
    try:  # through links: /dev/stdout's target in a pipeline, "pipe:[N]", is no path
        mode: int | None = os.stat(value).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # a directory that cannot be entered, a file as a directory
        return f"cannot use {value!r}: {exc.strerror or exc}"
    if mode is not None and stat.S_ISDIR(mode):
        return f"{value!r} is a directory"
    if mode is not None and stat.S_ISSOCK(mode):
        return f"{value!r} is a socket (give a file, a FIFO or a device)"
    if mode is not None and not stat.S_ISREG(mode):  # a FIFO or a device: written through
        return "" if os.access(value, os.W_OK) else f"cannot write {value!r}: permission denied"
    if not parent.is_dir():
        return f"directory {str(parent)!r} does not exist"
    try:
        handle, probe = tempfile.mkstemp(dir=parent, prefix=".ecrscan-", suffix=".probe")
    except OSError as exc:
        return f"cannot write in {str(parent)!r}: {exc.strerror or exc}"
    os.close(handle)
    os.unlink(probe)
    return ""


def output_options(
    kind: type,
    command: str,
    output_help: str = "Write to FILE, not stdout (replaced whole).",
) -> Decorator:
    """``--format`` (the formats the render registry has for results of type ``kind``)
    and ``--output``; their environment variables are the command's
    (``ECRSCAN_<COMMAND>_FORMAT``), else the ones every command shares.

    A value of the shared ``ECRSCAN_FORMAT`` this command cannot write is passed over
    with a notice, so one variable can serve commands whose formats differ."""
    formats = formats_for(kind)
    format_envvars = (f"ECRSCAN_{command.upper()}_FORMAT", "ECRSCAN_FORMAT")
    output_envvars = (f"ECRSCAN_{command.upper()}_OUTPUT", "ECRSCAN_OUTPUT")
    names = [f.value for f in formats]
    format_help = f"{names[0]} (default); {'|'.join(names[1:])}."  # one line, 7 formats

    def check_format(ctx: click.Context, param: click.Parameter, value: str) -> str:
        text = str(value).strip().lower()
        if text in names:
            return text
        shared = format_envvars[-1]
        if os.environ.get(shared, "").strip().lower() == text and not given_on_command_line(param):
            command = ctx.command_path.split()[-1]
            if not getattr(ctx.find_root().obj, "quiet", False):  # -q: no notices
                click.echo(
                    f"ecrscan: {shared}={value} does not apply to {command} "
                    f"({', '.join(names)}): using {Format.TABLE.value}",
                    err=True,
                )
            return Format.TABLE.value
        raise click.BadParameter(f"{value!r} is not one of {', '.join(names)}", ctx, param)

    return stack(
        env_option(
            "--format",
            "fmt",
            env=format_envvars,
            metavar=f"[{'|'.join(names)}]" if len(names) < 3 else "FORMAT",
            default=Format.TABLE.value,
            callback=check_format,
            help=format_help,
        ),
        env_option(
            "--output",
            "-o",
            "output",
            env=output_envvars,
            metavar="FILE",
            callback=check_output_path,
            help=output_help,
        ),
    )


class TimeoutParam(click.ParamType[float]):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        try:
            return parse_timeout(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


image_refs_callback = checked(lambda values: tuple(parse_image_ref(v) for v in values))
