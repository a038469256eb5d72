"""The documentation site (MkDocs, Material theme) and the short README that points to it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"

INSTALL_AND_RUN = "pip install . && ecrscan rescan --expiry 7d"
TEST_COMMAND = "python3 -m pip install -q -e '.[test]' && python3 -m pytest"

README_MAX_LINES = 250


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads MkDocs' custom tags (``!!python/name:``, ``!ENV``, …) as
    plain values instead of failing, so the nav can be read without importing anything."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


_TolerantLoader.add_multi_constructor("!", _any_tag)
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _any_tag)


def _mkdocs_config() -> dict[str, Any]:
    text = MKDOCS_YML.read_text(encoding="utf-8")
    try:
        config = yaml.safe_load(text)
    except yaml.constructor.ConstructorError:
        config = yaml.load(text, Loader=_TolerantLoader)
    assert isinstance(config, dict)
    return config


def _nav_pages(nav: Any) -> list[str]:
    """Every page path in an MkDocs ``nav`` (nested sections, titled or bare entries)."""
    if isinstance(nav, str):
        return [] if re.match(r"^[a-z]+://", nav) else [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def _sh_blocks(markdown: str) -> list[str]:
    """The contents of the ```sh fenced blocks, in order."""
    return [
        m.group(1).strip("\n") for m in re.finditer(r"^```sh\n(.*?)^```", markdown, re.M | re.S)
    ]


def _relative_links(markdown: str) -> list[str]:
    """Targets of inline Markdown links that are neither absolute URLs nor pure anchors."""
    without_code = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    targets = re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", without_code)
    return [t for t in targets if not re.match(r"^([a-z][a-z0-9+.-]*:|#)", t, re.I)]


@pytest.mark.slow
def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    if result.returncode != 0:
        print(output)
    assert result.returncode == 0, output
    assert (tmp_path / "site" / "index.html").is_file()


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_readme_starts_with_the_install_and_test_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.startswith("# ecrscan\n")
    blocks = _sh_blocks(text)
    assert blocks[:2] == [INSTALL_AND_RUN, TEST_COMMAND]
    # they come first: nothing but the title and one short paragraph before them
    before = text[: text.index("```sh")]
    assert "```" not in before and "\n#" not in before.removeprefix("# ecrscan")
    assert len(before.splitlines()) <= 8


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_links_into_docs_name_existing_files() -> None:
    links = [
        link
        for link in _relative_links(README.read_text(encoding="utf-8"))
        if link.split("#", 1)[0].startswith(("docs/", "./docs/"))
    ]
    assert links, "README.md links to no page in docs/"
    missing = [link for link in links if not (ROOT / link.split("#", 1)[0]).is_file()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_readme_links_every_command_reference() -> None:
    text = README.read_text(encoding="utf-8")
    for page in ("repos", "rescan", "report", "report-event", "scan", "fixes"):
        assert f"(docs/commands/{page}.md)" in text


def test_readme_points_to_prioritise_and_fix() -> None:
    """Issue 20, item 5: three lines on the gates, the files, the fix plan and the html
    page, pointing to the page that explains them."""
    text = README.read_text(encoding="utf-8")
    start = text.index("[docs/what-matters.md](docs/what-matters.md)")
    paragraph = text[text.rindex("\n\n", 0, start) : text.index("\n\n", start)].strip()
    assert len(paragraph.splitlines()) == 3, paragraph
    for name in (
        "--fail-on-kev",
        "--min-epss",
        "--exploitable",
        "--kev-file",
        "--epss-file",
        "ecrscan fixes",
        "--format html",
    ):
        assert f"`{name}" in paragraph, name
    assert "## The fix plan" in (DOCS / "what-matters.md").read_text(encoding="utf-8")
    assert "(commands/fixes.md)" in (DOCS / "what-matters.md").read_text(encoding="utf-8")


def test_every_docs_page_is_in_the_nav() -> None:
    config = _mkdocs_config()
    assert config.get("site_name") == "ecrscan"
    assert config.get("docs_dir", "docs") == "docs"
    theme = config.get("theme")
    assert (theme.get("name") if isinstance(theme, dict) else theme) == "material"
    nav = _nav_pages(config.get("nav"))
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert pages, "docs/ has no pages"
    assert sorted(set(nav)) == sorted(nav), "a page is listed twice in the nav"
    assert sorted(set(pages) - set(nav)) == [], "pages missing from mkdocs.yml's nav"
    assert sorted(set(nav) - set(pages)) == [], "nav entries without a page"


# A timeout written with the unit m (months) is refused: examples must say min.
_TIMEOUT_IN_M = re.compile(r"(--timeout[ =]|_TIMEOUT=|timeout: )[\"']?[0-9]+m\b")


def _fenced_blocks(markdown: str) -> list[str]:
    """The contents of every fenced code block, whatever its language."""
    return [m.group(1) for m in re.finditer(r"^\s*```[^\n]*\n(.*?)^\s*```", markdown, re.M | re.S)]


def test_no_example_gives_a_timeout_in_m() -> None:
    pages = [README, *sorted(DOCS.rglob("*.md"))]
    wrong = [
        f"{page.relative_to(ROOT)}: {match.group(0)}"
        for page in pages
        for block in _fenced_blocks(page.read_text(encoding="utf-8"))
        for match in _TIMEOUT_IN_M.finditer(block)
    ]
    assert not wrong, f"timeouts take min for minutes ('m' means months): {wrong}"


@pytest.mark.parametrize(
    "text, wrong",
    [
        ("ecrscan report --wait --timeout 15m --fail-on HIGH", True),
        ("ECRSCAN_SCAN_TIMEOUT=5m ecrscan scan x", True),
        ("    timeout: '30m'", True),
        ("ecrscan scan x --timeout 15min", False),
        ("ecrscan report --timeout 90s; --expiry 1m2w", False),
    ],
)
def test_timeout_in_m_pattern(text: str, wrong: bool) -> None:
    assert bool(_TIMEOUT_IN_M.search(text)) is wrong


@pytest.mark.parametrize(
    "link, expected",
    [
        ("see [x](docs/a.md) and [y](https://example.com)", ["docs/a.md"]),
        ("[a](#anchor) [b](docs/b.md#part)", ["docs/b.md#part"]),
        ("```sh\n[c](docs/c.md)\n```\n", []),
    ],
)
def test_relative_link_helper(link: str, expected: list[str]) -> None:
    assert _relative_links(link) == expected
