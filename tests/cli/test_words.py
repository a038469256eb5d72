"""Words a value must be (issue 18): a threshold is a whole number or ``off``; a region
looks like a region; an endpoint parses as a URL.  Anything else is one usage line,
exit 2, naming the option or the variable, before any AWS session is made."""

from __future__ import annotations

import importlib
import sys

import pytest

from ecrscan.cli.app import AppContext
from ecrscan.cli.main import main
from tests.support.cli_sessions import no_aws

MAIN = importlib.import_module("ecrscan.cli.main")  # the module: the package exports main()


def run_main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
) -> tuple[object, str]:
    monkeypatch.setattr(MAIN, "AppContext", lambda: AppContext(session_factory=no_aws))
    monkeypatch.setattr(sys, "argv", ["ecrscan", *args])
    for name in ("ECRSCAN_THRESHOLD", "CRITICAL", "HIGH", "MEDIUM", "LOW"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as info:
        main()
    return info.value.code, capsys.readouterr().err


WORDS = ["none", "disabled", "-", "no", "null", "never"]

# (arguments, environment, what the one line names)
CASES = [
    *[(["report", "--threshold", f"HIGH={w}"], {}, "'--threshold'") for w in WORDS],
    *[(["report"], {"HIGH": w}, "HIGH environment variable") for w in WORDS],
    *[(["scan", "team/api:v1"], {"LOW": w}, "LOW environment variable") for w in WORDS[:2]],
    *[
        (["report"], {"ECRSCAN_THRESHOLD": f"HIGH={w}"}, "environment variable ECRSCAN_THRESHOLD")
        for w in WORDS
    ],
    (["report"], {"ECRSCAN_THRESHOLD": "HIGH=x"}, "environment variable ECRSCAN_THRESHOLD"),
    (["--region", "", "repos"], {}, "'--region'"),
    (["repos", "--region", " "], {}, "'--region'"),
    (["--endpoint-url", "http://[::1", "repos"], {}, "'--endpoint-url'"),
    (["repos", "--endpoint-url", "http://[::1"], {}, "'--endpoint-url'"),
    (["repos"], {"AWS_ENDPOINT_URL": "http://[::1"}, "AWS_ENDPOINT_URL"),
    (["repos"], {"AWS_REGION": "us-east-1; rm -rf /"}, "AWS_REGION"),
    (["report"], {"AWS_REGION": "us-east-1;"}, "AWS_REGION"),
    (["repos"], {"AWS_REGION": "", "AWS_DEFAULT_REGION": "eu$(id)"}, "AWS_DEFAULT_REGION"),
]


@pytest.mark.parametrize(("args", "env", "names"), CASES)
def test_a_bad_word_is_one_usage_line_and_no_aws_session(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
    names: str,
) -> None:
    code, err = run_main(monkeypatch, capsys, args, env)
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(("ecrscan: usage error: ", "ecrscan: configuration error: "))
    assert names in lines[0], lines[0]
    assert "internal error" not in err and "AWS session" not in err


@pytest.mark.parametrize("word", ["off", "OFF", " off "])
def test_off_is_still_the_word(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], word: str
) -> None:
    """The check above can fail: ``off`` passes and reaches the (forbidden) session."""
    code, err = run_main(monkeypatch, capsys, ["report", "--threshold", f"HIGH={word}"], {})
    assert code == 3 and "an AWS session was created" in err
    code, err = run_main(monkeypatch, capsys, ["report"], {"HIGH": word})
    assert code == 3 and "an AWS session was created" in err
