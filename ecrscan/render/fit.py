"""Tables that fit the width they are printed at without cutting an identifier (pure).

Every column is one of three kinds, told apart by how it was added:

- ``no_wrap=True``: an identifier or a number, never wrapped nor cut;
- ``overflow="fold"``: free text (a reason, a message), wrapped anywhere it must be;
- anything else: identifiers separated by spaces (``repo:tag1, tag2``), wrapped only
  between them, so each stays whole on one line.

:class:`Fitted` takes the layouts of one table, widest first, and prints the first whose
columns fit the width once free text and lists are wrapped, then the last one without
lines (columns two spaces apart); when none does, the last layout as records (the first
cell as a heading line, the others as ``header value`` words below it), which fit any
width an identifier fits in.  Titles and captions wrap at the width, not the table's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from copy import copy as shallow_copy

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

UNBOUNDED = 10_000
TEXT_FLOOR = 16  # free text is not squeezed narrower than this


class Fitted:
    """The first of ``layouts`` (widest first) that fits, else the last as records."""

    def __init__(self, *layouts: Table) -> None:
        self.layouts = layouts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for table in (*self.layouts, _borderless(self.layouts[-1])):
            if fit(console, options, table):
                # the title and caption wrap at the width, not at the table's
                title, caption = table.title, table.caption
                table.title = table.caption = None
                if title:
                    yield _text(console, title, "table.title")
                yield table
                if caption:
                    yield _text(console, caption, "table.caption")
                return
        yield from records(console, options, self.layouts[-1])


def _borderless(table: Table) -> Table:
    """``table`` without lines: columns two spaces apart (the last layout but one)."""
    borderless = shallow_copy(table)  # the same columns and rows
    borderless.box, borderless.pad_edge, borderless.show_edge = None, False, False
    borderless.header_style = "bold underline"
    return borderless


def fit(console: Console, options: ConsoleOptions, table: Table) -> bool:
    """Fix the width of every column of ``table`` so that it fits ``options.max_width``
    with no identifier wrapped or cut; ``False`` (``table`` unchanged) when it cannot."""
    ranges = [_range(console, options, column, table.show_footer) for column in table.columns]
    padding = sum(table._get_padding_width(i) for i in range(len(table.columns)))
    room = options.max_width - table._extra_width - padding
    if sum(low for low, _ in ranges) > room:
        return False
    widths = [high for _, high in ranges]
    for _ in range(sum(widths) - room):  # narrow the widest column that can be, by one
        i = max((i for i, w in enumerate(widths) if w > ranges[i][0]), key=widths.__getitem__)
        widths[i] -= 1
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    return True


def _kind(column: Column) -> str:
    if column.no_wrap:
        return "id"
    return "text" if column.overflow == "fold" else "list"


def _range(
    console: Console, options: ConsoleOptions, column: Column, footer: bool
) -> tuple[int, int]:
    """The narrowest and widest content width of ``column`` (header, cells, footer)."""
    unbounded = options.update_width(UNBOUNDED)
    cells = [column.header, *column.cells, *([column.footer] if footer else [])]
    measures = [Measurement.get(console, unbounded, cell) for cell in cells]
    high = max((m.maximum for m in measures), default=1)
    kind = _kind(column)
    if kind == "id":
        return high, high
    low = max((m.minimum for m in measures), default=1)
    return (min(low, TEXT_FLOOR, high) if kind == "text" else low), high


def records(console: Console, options: ConsoleOptions, table: Table) -> Iterator[Text]:
    """``table`` as lines: its title, per row the first cell on a line of its own and
    the other non-empty cells as ``header value`` below it, then its caption."""
    if table.title:
        yield _text(console, table.title, "table.title")
    headers = [_plain(console, c.header).replace("\n", " ") for c in table.columns]
    rows = list(zip(*(list(c.cells) for c in table.columns), strict=True))
    if table.show_footer:
        rows.append(tuple(c.footer for c in table.columns))
    for row in rows:
        yield from _record(console, headers, row)
    if table.caption:
        yield _text(console, table.caption, "table.caption")


def _record(
    console: Console, headers: Sequence[str], row: Sequence[RenderableType]
) -> Iterator[Text]:
    first = _text(console, row[0], "bold")
    if first.plain:
        yield first
    pairs = []
    for header, cell in zip(headers[1:], row[1:], strict=True):
        value = _text(console, cell, "")
        if value.plain:
            pairs.append(Text.assemble((f"{header} ", "dim"), value) if header else value)
    if pairs:
        line = Text("  ")
        line.append(Text(", ").join(pairs))
        yield line


def _text(console: Console, renderable: RenderableType, style: str) -> Text:
    if isinstance(renderable, Text):
        text = renderable.copy()
    else:
        text = console.render_str(str(renderable))
    text.stylize(style)
    text.overflow = "fold"
    return text


def _plain(console: Console, renderable: RenderableType) -> str:
    return _text(console, renderable, "").plain
