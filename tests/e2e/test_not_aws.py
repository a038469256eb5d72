"""A 200 answer that is not AWS's (a proxy's HTML page, a JSON ``{}``) fails the run with
one line and exit 3, never an empty registry (issue 18)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import ecrscan_command, isolated_env
from tests.support.listener import Answering

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out


def run(args: list[str], url: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = isolated_env(home)
    command = [ecrscan_command(), "--endpoint-url", url, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


PAGE = b"<html><body><h1>Proxy login</h1></body></html>"


@pytest.fixture(
    params=[
        (PAGE, "text/html; charset=utf-8", "text/html"),
        (b"{}", "application/x-amz-json-1.1", "no 'repositories'"),
    ],
    ids=["html", "empty-json"],
)
def proxy(request: pytest.FixtureRequest) -> Iterator[tuple[Answering, str]]:
    body, content_type, said = request.param
    answering = Answering(body, content_type)
    yield answering, said
    answering.close()


def test_repos_against_an_answer_not_aws_fails_with_one_line(
    proxy: tuple[Answering, str], tmp_path: Path
) -> None:
    answering, said = proxy
    proc = run(["repos", "--format", "json"], answering.url, tmp_path)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert '"count"' not in proc.stdout  # never an empty registry
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ecrscan: error: ")
    assert "the endpoint did not answer like AWS" in lines[0] and said in lines[0]
    assert answering.requests == 1  # not retried: it cannot succeed later


def test_a_report_against_a_proxy_page_is_not_an_empty_report(tmp_path: Path) -> None:
    answering = Answering(PAGE, "text/html")
    try:
        out = tmp_path / "report.json"
        proc = run(["report", "--format", "json", "-o", str(out)], answering.url, tmp_path)
    finally:
        answering.close()
    assert proc.returncode == 3, proc.stderr
    assert "did not answer like AWS: text/html" in proc.stderr
    assert not out.exists() or json.loads(out.read_text()).get("images") != []
