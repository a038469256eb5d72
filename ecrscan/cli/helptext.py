"""How ``--help`` is laid out: at most 80 columns whatever the terminal, text wrapped
between words only (never at a hyphen inside a value such as ``eu-west-1``, never inside
a long word), each command's help ending with its examples, the global options it also
takes and the docs page that explains the rest (IAM, exit codes, formats).

``ecrscan`` alone prints the short help (usage, commands, where the rest is) on stdout
and exits 0, as ``pip`` does, instead of the whole help as a usage error.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import Any

import click

WIDTH = 80  # the widest help line, on any terminal
COLUMN = 22  # the widest option column before its help moves to the next line
_BRACKETS = re.compile(r"\[[^\]\n]*\]")
_KEEP = "\xa0"  # a space textwrap does not break at
_SPACES = re.compile(r"[ \t\n]+")


def wrap(text: str, width: int, indent: str = "") -> str:
    """``text`` wrapped at ``width`` (``indent`` included) between words only; a
    paragraph whose first line is ``\\b`` is kept as written, as Click does."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = block.splitlines()
        if lines[0].strip() == "\b":
            paragraphs.append("\n".join(indent + line for line in lines[1:]))
            continue
        lead = indent + " " * (len(lines[0]) - len(lines[0].lstrip()))
        # a bracketed note ("[default: 30d]") stays on one line
        joined = _BRACKETS.sub(lambda m: m.group().replace(" ", _KEEP), " ".join(lines))
        paragraphs.append(
            textwrap.fill(
                " ".join(_SPACES.split(joined.strip())),
                width,
                initial_indent=lead,
                subsequent_indent=lead,
                break_on_hyphens=False,
                break_long_words=False,
            ).replace(_KEEP, " ")
        )
    return "\n\n".join(paragraphs)


class Formatter(click.HelpFormatter):
    """Click's formatter, wrapping with :func:`wrap`, never wider than :data:`WIDTH`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.width = min(self.width, WIDTH - 2)

    def write_text(self, text: str) -> None:
        self.write(wrap(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(
        self, rows: Sequence[tuple[str, str]], col_max: int = COLUMN, col_spacing: int = 2
    ) -> None:
        rows = list(rows)
        first_col = min(max(len(first) for first, _ in rows), col_max) + col_spacing
        lead = " " * (self.current_indent + first_col)
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + lead)
            lines = wrap(second, max(self.width - first_col - self.current_indent, 20)).split("\n")
            self.write("\n".join([lines[0], *(lead + line if line else "" for line in lines[1:])]))
            self.write("\n")


class Context(click.Context):
    formatter_class = Formatter

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_content_width", WIDTH)
        super().__init__(*args, **kwargs)


def _global_options(ctx: click.Context) -> str:
    root = ctx.find_root().command
    names = [
        max(param.opts, key=len)
        for param in root.params
        if isinstance(param, click.Option) and param.name not in ("help", "version")
    ]
    return ", ".join(names)


class Command(click.Command):
    """A command whose help ends with ``examples`` (three), the global options it also
    takes, and its ``docs`` page."""

    context_class = Context

    def __init__(self, *args: Any, examples: Sequence[str], docs: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.examples = tuple(examples)
        self.docs = docs

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Examples"):
            for example in self.examples:
                formatter.write(f"{'':>{formatter.current_indent}}{example}\n")
        formatter.write_paragraph()
        formatter.write_text(
            "The global options of 'ecrscan --help' go after the command too. "
            f"Docs: {self.docs}; exit codes: docs/exit-codes.md; IAM: docs/iam.md."
        )


class Group(click.Group):
    """The command group: its command list says each command's first sentence in full
    (wrapped, never cut), and without arguments it prints the short help."""

    context_class = Context

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, command.get_short_help_str(limit=1000))
            for name, command in self.commands.items()
            if not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:
            click.echo(self.short_help_text(ctx))
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def short_help_text(self, ctx: click.Context) -> str:
        """Usage, the group's first paragraph, the commands, and where the rest is."""
        formatter = ctx.make_formatter()
        self.format_usage(ctx, formatter)
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(click.utils.make_default_short_help(self.help or "", 1000))
        self.format_commands(ctx, formatter)
        formatter.write_paragraph()
        formatter.write_text(
            "'ecrscan --help' shows the global options, 'ecrscan COMMAND --help' a "
            "command's options."
        )
        return formatter.getvalue().rstrip("\n")
