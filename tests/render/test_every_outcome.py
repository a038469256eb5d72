"""Every :class:`Outcome` of a rescan has its counter, its JSON value and its words in
every rescan format, and only ``failed`` and ``not_started`` make a run incomplete: an
outcome added to the model and forgotten by a counter or a renderer fails here."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from rich.console import Console

from ecrscan.core.model import (
    Decision,
    Image,
    ImageResult,
    Outcome,
    Repository,
    RepositoryResult,
    RescanResult,
    ScanType,
    Verdict,
)
from ecrscan.core.summary import SUMMARY_COLUMNS, summarize
from ecrscan.core.view import View, exit_code
from ecrscan.render.formats import FORMATTERS, Format

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
INCOMPLETE = {Outcome.FAILED, Outcome.NOT_STARTED}
COUNTER = {Outcome.SKIPPED: "skipped"}  # the others are counted under their own value


def result_of(outcome: Outcome) -> RescanResult:
    image = Image(repository="team/api", registry_id="123456789012", digest="sha256:" + "a" * 64)
    one = ImageResult(image, None, Verdict(Decision.DUE, "never scanned"), outcome, "why")
    repo = Repository(name="team/api", registry_id="123456789012")
    return RescanResult(
        repositories=(RepositoryResult(repo, (one,)),),
        started_at=NOW,
        expiry="7d",
        dry_run=outcome is Outcome.PLANNED,
        scan_type=ScanType.BASIC,
    )


def text(rendered: object, width: int) -> str:
    if isinstance(rendered, str):
        return rendered
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(rendered)
    return out.getvalue()


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_is_counted_once_and_only_failures_are_incomplete(
    outcome: Outcome,
) -> None:
    result = result_of(outcome)
    total = summarize(result)["TOTAL"]
    counter = COUNTER.get(outcome, outcome.value)
    assert counter in SUMMARY_COLUMNS
    assert total[counter] == 1
    outcome_counters = [c for c in SUMMARY_COLUMNS if c not in ("images", "due", "fresh")]
    assert sum(total[c] for c in outcome_counters) == 1
    assert result.incomplete is (outcome in INCOMPLETE)
    assert exit_code(result, View("rescan")) == (3 if outcome in INCOMPLETE else 0)


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_renders_in_every_rescan_format(outcome: Outcome) -> None:
    result = result_of(outcome)
    for fmt in FORMATTERS[RescanResult]:
        rendered = FORMATTERS[RescanResult][fmt](result, View("rescan"))
        if fmt is Format.JSON:
            document = json.loads(text(rendered, 200))
            assert document["images"][0]["outcome"] == outcome.value
            assert document["totals"][COUNTER.get(outcome, outcome.value)] == 1
            assert document["complete"] is (outcome not in INCOMPLETE)
        else:
            assert "team/api" in text(rendered, 200)


def test_scanned_meanwhile_has_its_column_and_its_words() -> None:
    result = result_of(Outcome.SCANNED_MEANWHILE)
    render = FORMATTERS[RescanResult][Format.TABLE]
    wide = text(render(result, View("rescan")), 200)
    assert "scanned" in wide and "meanwhile" in wide  # its own column, when not zero
    narrow = text(render(result, View("rescan")), 80)
    assert "1 scanned meanwhile" in narrow  # in words, in the "also" column
    quiet = text(render(result_of(Outcome.STARTED), View("rescan")), 200)
    assert "meanwhile" not in quiet  # no column when nothing was scanned meanwhile
