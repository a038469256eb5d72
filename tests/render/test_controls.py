from __future__ import annotations

from ecrscan.cli.app import AppContext
from ecrscan.cli.output import error, warn
from ecrscan.render.controls import escape_controls


def test_c0_c1_and_del_are_escaped_line_feeds_tabs_and_text_kept():
    assert escape_controls("a\x1b[2Jb\x07\r\x00\x7f\x9b") == "a\\x1b[2Jb\\x07\\x0d\\x00\\x7f\\x9b"
    assert escape_controls("team/api:v1\n\tnaïve ✓") == "team/api:v1\n\tnaïve ✓"


def test_notices_and_errors_on_stderr_are_escaped(capsys):
    warn(AppContext(), "repository app\x1b]0;x\x07 skipped")
    error("repository app\x1b[2J: AccessDenied")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "app\\x1b]0;x\\x07 skipped" in err and "app\\x1b[2J: AccessDenied" in err
