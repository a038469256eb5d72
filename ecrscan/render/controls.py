"""Control characters from AWS or event data, made visible before they reach a terminal.

A repository name, tag or message can carry C0/C1 control characters (ESC, CSI, BEL,
CR ...): printed raw, they would move the cursor, retitle the window or hide text
(terminal injection).  :func:`escape_controls` writes each as ``\\xNN``; line feeds and
tabs are kept.  The table and markdown formats and every notice and error on stderr pass
through it; JSON, SARIF and JUnit escape them in their encoders already.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from rich.console import Console, ConsoleOptions
from rich.segment import Segment

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """``text`` with every C0/C1 control character and DEL, but ``\\n`` and ``\\t``,
    written as ``\\xNN``."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class Escaped:
    """A rich renderable printed with the control characters of its text escaped (the
    styles rich adds are not text: they are kept)."""

    def __init__(self, renderable: Any) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        for segment in console.render(self.renderable, options):
            if segment.control:
                yield segment
            else:
                yield Segment(escape_controls(segment.text), segment.style)
