"""Hostile or mistyped input is a one-line usage error (exit 2) before any AWS call.

The installed command runs with ``AWS_ENDPOINT_URL`` pointing at a local TCP listener
that only counts connections: a case that reached AWS would show up there.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import ecrscan_command, isolated_env
from tests.support.listener import Listener
from tests.support.streams import endless_fifo

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out


@pytest.fixture
def sentinel() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def run(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = isolated_env(tmp_path, AWS_MAX_ATTEMPTS="1", **env)
    return subprocess.run(
        [ecrscan_command(), *args], env=base, capture_output=True, text=True, timeout=60
    )


def event_file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def ignore_file(tmp_path: Path, pattern: str) -> str:
    body = f'[[ignore]]\nid = "CVE-1"\nreason = "r"\nrepository = {json.dumps(pattern)}\n'
    return event_file(tmp_path, "ignore.toml", body)


# (case, arguments (a callable of tmp_path), extra environment, text the error names)
CASES = [
    (
        "control character in --image",
        lambda p: ["report", "--image", "team/api\n:v1"],
        {},
        "control character",
    ),
    (
        "escape in --image",
        lambda p: ["report", "--image", "team/api\x1b[31m:v1"],
        {},
        "control character",
    ),
    (
        "fullwidth digit in --threshold",
        lambda p: ["report", "--threshold", "HIGH=１"],
        {},
        "--threshold",
    ),
    (
        "Arabic-Indic digit in --timeout",
        lambda p: ["report", "--wait", "--timeout", "٣"],
        {},
        "--timeout",
    ),
    (
        "Arabic-Indic digit in --read-timeout",
        lambda p: ["--read-timeout", "٣", "repos"],
        {},
        "--read-timeout",
    ),
    ("zero --call-timeout", lambda p: ["--call-timeout", "0", "repos"], {}, "--call-timeout"),
    (
        "negative --call-timeout after the command",
        lambda p: ["repos", "--call-timeout", "-5"],
        {},
        "--call-timeout",
    ),
    (
        "a word in ECRSCAN_CALL_TIMEOUT",
        lambda p: ["repos"],
        {"ECRSCAN_CALL_TIMEOUT": "forever"},
        "ECRSCAN_CALL_TIMEOUT",
    ),
    (
        "minutes written as months in --timeout",
        lambda p: ["report", "--wait", "--timeout", "30m"],
        {},
        "write min for minutes",
    ),
    (
        "5,001-digit integer in --event",
        lambda p: ["report", "--event", event_file(p, "big.json", '{"a": ' + "9" * 5001 + "}")],
        {},
        "--event",
    ),
    (
        "100,000 nested [ in --event",
        lambda p: ["report", "--event", event_file(p, "deep.json", "[" * 100_000)],
        {},
        "nested too deeply",
    ),
    (
        "AWS_ENDPOINT_URL without a scheme",
        lambda p: ["repos"],
        {"AWS_ENDPOINT_URL": "127.0.0.1:5123"},
        "AWS_ENDPOINT_URL",
    ),
    (
        "--endpoint-url that is no URL",
        lambda p: ["--endpoint-url", "notaurl", "repos"],
        {},
        "--endpoint-url",
    ),
    (
        "backreference in --filter",
        lambda p: ["repos", "--filter", r"(a)\1"],
        {},
        "backreferences or lookaround",
    ),
    ("lookahead in --exclude", lambda p: ["rescan", "--exclude", "(?=x)y"], {}, "--exclude"),
    (
        "lookbehind in the ignore file's repository",
        lambda p: ["report", "--ignore-file", ignore_file(p, "(?<=team)/api")],
        {},
        "'repository'",
    ),
    (
        "100,000 nested [ in the ignore file",
        lambda p: ["report", "--ignore-file", event_file(p, "deep.toml", "a = " + "[" * 100_000)],
        {},
        "nested deeper than 32 levels",
    ),
    (
        "an ignore file over 1 MiB",
        lambda p: ["report", "--ignore-file", event_file(p, "big.toml", "#\n" * 600_000)],
        {},
        "larger than 1 MiB",
    ),
    ("negative --threshold", lambda p: ["report", "--threshold", "HIGH=-1"], {}, ">= 0"),
    ("none as a --threshold", lambda p: ["report", "--threshold", "HIGH=none"], {}, "'none'"),
    (
        "disabled in ECRSCAN_THRESHOLD",
        lambda p: ["report"],
        {"ECRSCAN_THRESHOLD": "LOW=disabled"},
        "ECRSCAN_THRESHOLD",
    ),
    ("- in HIGH", lambda p: ["scan", "team/api:v1"], {"HIGH": "-"}, "HIGH environment variable"),
    ("empty --region", lambda p: ["--region", "", "repos"], {}, "'--region'"),
    (
        "unclosed IPv6 address in --endpoint-url",
        lambda p: ["--endpoint-url", "http://[::1", "repos"],
        {},
        "'--endpoint-url'",
    ),
    (
        "a command in AWS_REGION",
        lambda p: ["repos"],
        {"AWS_REGION": "us-east-1; rm -rf /"},
        "AWS_REGION",
    ),
]


@pytest.mark.parametrize(("case", "args", "env", "names"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_no_aws_call(
    case: str, args, env: dict[str, str], names: str, sentinel: Listener, tmp_path: Path
) -> None:
    proc = run(args(tmp_path), {"AWS_ENDPOINT_URL": sentinel.url, **env}, tmp_path)
    assert proc.returncode == 2, (case, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(("ecrscan: usage error: ", "ecrscan: configuration error: "))
    assert names in lines[0], lines[0]
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert sentinel.connections == 0, f"{case}: an AWS call was made"


def test_an_endless_ignore_file_is_one_line_exit_2_and_no_aws_call(
    sentinel: Listener, tmp_path: Path
) -> None:
    """``--ignore-file /dev/zero``: a FIFO fed without end stands in for the device."""
    with endless_fifo(tmp_path / "zero") as (path, _):
        proc = run(
            ["report", "--ignore-file", str(path)], {"AWS_ENDPOINT_URL": sentinel.url}, tmp_path
        )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        f"ecrscan: usage error: Invalid value for '--ignore-file': ignore file {path}: "
        "larger than 1 MiB (1048576 bytes) (see 'ecrscan report --help')"
    ]
    assert sentinel.connections == 0


def test_the_sentinel_sees_a_call(sentinel: Listener, tmp_path: Path) -> None:
    """The check above can fail: a valid command does reach the endpoint."""
    proc = run(["repos"], {"AWS_ENDPOINT_URL": sentinel.url}, tmp_path)
    assert proc.returncode == 3
    assert sentinel.connections >= 1
