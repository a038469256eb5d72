"""Issue 19: every terminal table fits the width it is printed at (80, 60, 120 columns)
and shows every identifier (account, region, repository, tag, digest, finding id) whole on
one line, in every layout."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from ecrscan.render.formats import render
from tests.support.wide_ids import LAYOUTS, Layout

WIDTHS = (80, 60, 120)


def printed(layout: Layout, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(render("table", layout.result))
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_no_line_is_wider_than_the_width(layout: Layout, width: int) -> None:
    lines = printed(layout, width)
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, "\n".join(lines)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_every_identifier_is_whole_on_one_line(layout: Layout, width: int) -> None:
    lines = printed(layout, width)
    missing = sorted({i for i in layout.ids if not any(i in line for line in lines)})
    assert layout.ids and not missing, "\n".join(lines)
