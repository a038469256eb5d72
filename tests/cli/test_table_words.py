"""Issue 19: the words the report table shares with stderr: the verdict and thresholds
once and within the width, an untagged image's digest once, the table's width rule."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ecrscan.cli.app import AppContext, IncompleteError
from ecrscan.cli.gate import finish, incomplete_message
from ecrscan.cli.output import table_width
from ecrscan.core.model import ImageStatus
from ecrscan.core.view import DEFAULT_VIEW
from tests.support.wide_ids import STATUSES, report_result


@pytest.mark.parametrize(
    ("environ", "terminal", "width"),
    [
        ({}, False, 80),
        ({}, True, None),  # the terminal's own width
        ({"COLUMNS": "132"}, False, 132),
        ({"COLUMNS": "60"}, True, 60),
        ({"COLUMNS": "wide"}, False, 80),
        ({"COLUMNS": "0"}, False, 80),
    ],
)
def test_table_width_is_columns_else_the_terminal_else_80(
    environ: dict[str, str], terminal: bool, width: int | None
) -> None:
    assert table_width(environ, terminal) == width


def _result():  # type: ignore[no-untyped-def]
    return report_result((("123456789012", "ap-southeast-2"),))


def test_the_verdict_on_stderr_fits_80_columns(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(IncompleteError):
        finish(AppContext(), _result(), DEFAULT_VIEW, waited=False)
    lines = capsys.readouterr().err.splitlines()
    said = " ".join(line.strip() for line in lines)
    assert "thresholds: CRITICAL 0, HIGH 0, MEDIUM 0, LOW 0; off:" in said
    assert "audit incomplete: 2 of 4 images not assessed" in said
    assert max(len(line) for line in lines) <= 80, lines


def test_the_verdict_is_not_repeated_when_the_table_shows_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(IncompleteError, match=r"^incomplete audit: "):  # still said, once
        finish(AppContext(), _result(), DEFAULT_VIEW, waited=False, shown=True)
    assert capsys.readouterr().err == ""


def test_an_untagged_image_is_named_by_its_digest_once() -> None:
    result = _result()
    untagged = next(r for r in result.images if not r.image.tags)
    assert untagged.status is ImageStatus.NO_SCAN and STATUSES
    message = incomplete_message(replace(result, images=(untagged,)), waited=False)
    short = untagged.image.digest[:19]
    assert f"{untagged.image.repository}@{short}" in message
    assert message.count(short) == 1, message
