"""Issue 20, items 3 and 4, through Click's CliRunner on moto: ``fixes --format html``
writes the plan's page to a file or a pipe and is refused on a terminal before any AWS
call; ``report --format html`` shows the same plan's top rows as its "Top fixes"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecrscan.cli import output
from ecrscan.cli.app import AppContext
from tests.support.cli_report import CountingSessions, invoke
from tests.support.fix_world import ALONE, TOGETHER, seed
from tests.support.html_page import parse
from tests.support.registry import FakeRegistry


def codes_after(document: str, section: str) -> list[str]:
    page = parse(document)
    start = page.elements.index(page.by_id(section))
    return [e.text for e in page.elements[start:] if e.tag == "code"]


def test_fixes_html_to_a_file(registry: FakeRegistry, tmp_path: Path) -> None:
    seed(registry)
    out = tmp_path / "f.html"
    result = invoke(["fixes", "--fail-on", "HIGH", "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    document = out.read_text()
    assert document.startswith("<!DOCTYPE html>") and document.endswith("</html>\n")
    headline = f"3 package upgrades; {ALONE} of {ALONE + TOGETHER} breaching images cleared"
    assert headline in parse(document).text
    assert codes_after(document, "fix-table")[::2][:3] == ["openssl", "bash", "zlib"]
    assert '<a href="https://nvd.nist.gov/vuln/detail/CVE-2026-1001"' in document
    assert headline in result.stderr  # the plan's line, as for the other files


def test_fixes_html_from_the_environment_to_a_pipe(registry: FakeRegistry) -> None:
    seed(registry)
    result = invoke(["fixes", "--fail-on", "HIGH"], env={"ECRSCAN_FIXES_FORMAT": "html"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!DOCTYPE html>")  # CliRunner's stdout is no terminal


@pytest.mark.parametrize(
    ("args", "env"),
    [(["fixes", "--format", "html"], {}), (["fixes"], {"ECRSCAN_FIXES_FORMAT": "html"})],
)
def test_fixes_html_on_a_terminal_is_a_usage_error_before_any_call(
    args: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "stdout_is_terminal", lambda: True)
    sessions = CountingSessions()
    result = invoke(args, env=env, app=AppContext(session_factory=sessions))
    assert result.exit_code == 2, result.output
    assert "--format html writes a page for a browser, not for a terminal" in result.stderr
    assert sessions.created == 0


def test_the_report_page_shows_the_plans_top_fixes(registry: FakeRegistry, tmp_path: Path) -> None:
    seed(registry)
    out = tmp_path / "r.html"
    result = invoke(["report", "--fail-on", "HIGH", "--format", "html", "-o", str(out)])
    assert result.exit_code == 1, result.output  # report is the gate
    document = out.read_text()
    packages = codes_after(document, "top-fixes")[:6:2]
    assert packages == ["openssl", "bash", "zlib"]  # the plan's order
    row = re.search(r"<td><code>openssl</code>.*?</tr>", document)
    assert row is not None
    numbers = re.findall(r'<td class="num">([^<]*)</td>', row.group(0))
    assert numbers == [str(ALONE), str(ALONE + TOGETHER), ""]
