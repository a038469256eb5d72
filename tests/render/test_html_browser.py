"""The html report and ``fixes``'s page in a real browser: headless chromium (Debian's
``chromium`` package) opens the file at a desktop and at a phone's size and must make no
request but the file itself, log nothing on its console, throw nothing, fit the width,
and run its script (under the page's own Content-Security-Policy): the filter and the
sorting work.  Screenshots go to pytest's temporary directory, never into the tree.
Where chromium is not installed the test skips, saying how to install it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ecrscan.core.view import View
from ecrscan.render.fixes_html import fixes_html
from ecrscan.render.html import report_html
from tests.support.browser import Browser, find_chromium
from tests.support.fix_samples import ORDER, fix_plan, hostile_plan
from tests.support.report_samples import hostile_result, sample_result

pytestmark = pytest.mark.slow

CHROMIUM = find_chromium()
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}

ROWS = "Array.from(document.querySelectorAll('#image-table tbody tr'))"
CHECKS = {
    "filter shown": "!document.getElementById('image-filter').hidden",
    "overflow": "document.documentElement.scrollWidth - window.innerWidth",
    "charts": "Array.from(document.querySelectorAll('svg.chart'))"
    ".map(s => Math.round(s.getBoundingClientRect().width))",
    "width": "window.innerWidth",
    "filtered": "(() => { const t = document.getElementById('filter-text');"
    " t.value = 'WORKER'; t.dispatchEvent(new Event('input'));"
    f" const shown = {ROWS}.filter(r => !r.hidden).map(r => r.cells[0].textContent);"
    " const said = document.getElementById('filter-count').textContent;"
    " t.value = ''; t.dispatchEvent(new Event('input'));"
    " return [shown, said]; })()",
    "sorted": "(() => { const b = document.querySelector('#image-table th button');"
    f" b.click(); const up = {ROWS}.map(r => r.cells[0].textContent);"
    f" b.click(); const down = {ROWS}.map(r => r.cells[0].textContent);"
    " return [up, down]; })()",
    "broken": "typeof window.pwned",
}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    chromium = Browser(CHROMIUM, tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_the_report_renders_in_chromium(browser: Browser, tmp_path: Path, size: str) -> None:
    page = tmp_path / "report.html"
    page.write_text(report_html(sample_result()), encoding="utf-8")
    width, height = SIZES[size]
    visit = browser.visit(page.as_uri(), width, height, CHECKS, tmp_path / f"{size}.png")
    assert visit.requests == [page.as_uri()]  # the file itself, nothing else
    assert visit.console == []
    assert visit.exceptions == []
    values = visit.values
    assert values["width"] == width
    assert values["filter shown"] is True  # the script ran under the page's policy
    assert values["overflow"] <= 0  # nothing wider than the screen: tables scroll inside
    assert len(values["charts"]) == 2 and all(0 < w <= width for w in values["charts"])
    assert values["filtered"] == [["team/worker:stable"], "1 of 5 shown"]
    up, down = values["sorted"]
    assert up[0] == "legacy/app" and up[-1] == "team/worker:stable"
    assert down == list(reversed(up))
    assert values["broken"] == "undefined"
    assert visit.screenshot is not None and visit.screenshot.stat().st_size > 10_000


def test_hostile_values_stay_text_in_chromium(browser: Browser, tmp_path: Path) -> None:
    """Markup in a repository name, a tag, a finding or an AWS message neither runs nor
    loads anything: it is text on the page."""
    page = tmp_path / "hostile.html"
    page.write_text(report_html(hostile_result()), encoding="utf-8")
    checks = {
        "broken": "typeof window.pwned",
        "images": "document.images.length",
        "scripts": "document.scripts.length",
        "text": "document.body.innerText.includes('<script>window.pwned=1</script>team/app')",
    }
    visit = browser.visit(page.as_uri(), 1280, 800, checks, tmp_path / "hostile.png")
    assert visit.requests == [page.as_uri()]
    assert visit.console == [] and visit.exceptions == []
    assert visit.values == {"broken": "undefined", "images": 0, "scripts": 1, "text": True}


FIX_ROWS = "Array.from(document.querySelectorAll('#fix-table tbody tr'))"
FIX_CHECKS = {
    "overflow": "document.documentElement.scrollWidth - window.innerWidth",
    "width": "window.innerWidth",
    "rows": f"{FIX_ROWS}.map(r => r.cells[1].textContent)",
    "sorted": "(() => { const b = document.querySelectorAll('#fix-table th button')[1];"
    f" b.click(); const up = {FIX_ROWS}.map(r => r.cells[1].textContent);"
    f" b.click(); const down = {FIX_ROWS}.map(r => r.cells[1].textContent);"
    " return [up, down]; })()",
    "images": "document.querySelectorAll('details').length",
    "broken": "typeof window.pwned",
}


@pytest.mark.parametrize("size", list(SIZES))
def test_the_fix_plan_renders_in_chromium(browser: Browser, tmp_path: Path, size: str) -> None:
    """``fixes --format html``: no request but the file, nothing on the console, no wider
    than the screen, its rows in rank order and sortable by their headings."""
    page = tmp_path / "fixes.html"
    page.write_text(fixes_html(fix_plan(), View(command="fixes")), encoding="utf-8")
    width, height = SIZES[size]
    visit = browser.visit(page.as_uri(), width, height, FIX_CHECKS, tmp_path / f"fixes-{size}.png")
    assert visit.requests == [page.as_uri()]
    assert visit.console == []
    assert visit.exceptions == []
    values = visit.values
    assert values["width"] == width
    assert values["overflow"] <= 0
    assert values["rows"] == ORDER
    up, down = values["sorted"]  # by package name: the script ran under the page's policy
    assert up == sorted(ORDER) and down == sorted(ORDER, reverse=True)
    assert values["images"] == len(ORDER)
    assert values["broken"] == "undefined"
    assert visit.screenshot is not None and visit.screenshot.stat().st_size > 10_000


def test_hostile_fix_rows_stay_text_in_chromium(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "hostile-fixes.html"
    page.write_text(fixes_html(hostile_plan(), View(command="fixes")), encoding="utf-8")
    checks = {
        "broken": "typeof window.pwned",
        "images": "document.images.length",
        "scripts": "document.scripts.length",
        "text": "document.body.innerText.includes('<pkg onload=x>')",
    }
    visit = browser.visit(page.as_uri(), 1280, 800, checks, tmp_path / "hostile-fixes.png")
    assert visit.requests == [page.as_uri()]
    assert visit.console == [] and visit.exceptions == []
    assert visit.values == {"broken": "undefined", "images": 0, "scripts": 1, "text": True}
