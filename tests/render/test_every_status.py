"""Every :class:`ImageStatus` has words in every report format (pip-audit's "every
enum value maps to a formatter" guard): a status added to the model and forgotten by
a renderer fails here, not in a user's pipeline."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console

from ecrscan.core.model import ImageStatus, ReportResult
from ecrscan.core.problem import Problem
from ecrscan.core.view import View
from ecrscan.render.common import HINT_NO_SCAN, verdict_text
from ecrscan.render.formats import FORMATTERS, Format
from tests.support.report_samples import NOW, THRESHOLDS, report

PROBLEMS = {
    ImageStatus.ERROR: Problem("AccessDeniedException", "not allowed"),
    ImageStatus.NOT_AN_IMAGE: Problem("NotAnImage", "a Helm chart, not a container image"),
}


def result_of(status: ImageStatus) -> ReportResult:
    one = report("charts/api", ("1.2.3",), None, status=status, error=PROBLEMS.get(status))
    return ReportResult(images=(one,), thresholds=THRESHOLDS, generated_at=NOW)


def text(rendered: object) -> str:
    if isinstance(rendered, str):
        return rendered
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(rendered)
    return out.getvalue()


@pytest.mark.parametrize("status", list(ImageStatus))
def test_every_status_has_a_verdict_of_its_own(status: ImageStatus) -> None:
    words = verdict_text(result_of(status).images[0])
    assert words
    if status is not ImageStatus.ERROR:
        assert not words.startswith("error"), words


@pytest.mark.parametrize("fmt", list(FORMATTERS[ReportResult]))
@pytest.mark.parametrize("status", list(ImageStatus))
def test_every_status_renders_in_every_format(status: ImageStatus, fmt: Format) -> None:
    rendered = text(FORMATTERS[ReportResult][fmt](result_of(status), View()))
    assert rendered.strip()
    judged = status in (ImageStatus.OK, ImageStatus.BREACH)
    if fmt is Format.SARIF:  # findings are results; an image not judged a notification
        assert ("charts/api" in rendered) is not judged
    elif fmt is Format.JUNIT:  # an image not judged is an <error> (or skipped), never a pass
        assert "charts/api" in rendered
        if status is ImageStatus.NOT_SCANNABLE:  # a registry report accepts it: skipped
            assert "<skipped " in rendered and 'skipped="1"' in rendered
            assert 'type="not_scannable"' not in rendered
        else:
            assert (f'type="{status.value}"' in rendered) is not judged
    elif fmt is not Format.CSV:  # the CSV lists findings: a row per finding, none here
        assert "charts/api" in rendered


@pytest.mark.parametrize(
    "fmt", [f for f in FORMATTERS[ReportResult] if f not in (Format.CSV, Format.TABLE)]
)
def test_not_an_image_says_what_it_is_and_never_to_rescan(fmt: Format) -> None:
    rendered = text(FORMATTERS[ReportResult][fmt](result_of(ImageStatus.NOT_AN_IMAGE), View()))
    assert "a Helm chart, not a container image" in rendered
    assert HINT_NO_SCAN not in rendered and "rescan" not in rendered


def test_not_an_image_in_the_table() -> None:
    rendered = text(
        FORMATTERS[ReportResult][Format.TABLE](result_of(ImageStatus.NOT_AN_IMAGE), View())
    )
    assert "not an image" in rendered
    assert "a Helm chart, not a container image" in rendered
    assert "rescan" not in rendered


@pytest.mark.parametrize("strict", [True, False])
def test_junit_not_scannable_is_an_error_when_strict_or_asked_for_by_reference(strict) -> None:
    """Skipped in a registry-wide report; an <error> with --strict, or when the image was
    asked for by reference (report --image, scan), as the exit code says (3)."""
    result = result_of(ImageStatus.NOT_SCANNABLE)
    if not strict:
        result = dataclasses.replace(result, references=True)
    rendered = text(FORMATTERS[ReportResult][Format.JUNIT](result, View(strict=strict)))
    assert 'type="not_scannable"' in rendered and 'errors="1"' in rendered
    assert "<skipped " not in rendered and 'skipped="0"' in rendered
