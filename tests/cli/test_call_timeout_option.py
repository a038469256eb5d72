"""``--call-timeout`` / ``ECRSCAN_CALL_TIMEOUT``: a global option, before or after the
command, checked before any AWS call (issue 18).  What it bounds:
tests/aws/test_call_timeout.py and tests/e2e/test_call_timeout.py."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ecrscan.cli import cli
from ecrscan.cli.app import AppContext
from tests.support.cli_sessions import no_aws


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[AppContext, object]:
    app = AppContext(session_factory=no_aws)
    return app, CliRunner().invoke(cli, args, env=env, obj=app)


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--call-timeout", "7", "repos"], None),
        (["repos", "--call-timeout", "7"], None),
        (["--call-timeout", "60", "repos", "--call-timeout", "7"], None),
        (["repos"], {"ECRSCAN_CALL_TIMEOUT": "7"}),
    ],
)
def test_the_value_reaches_the_runs_timeouts(args: list[str], env: dict[str, str] | None) -> None:
    app, _ = invoke(args, env)
    assert app.timeouts.call == 7.0
    assert app.connections().timeouts.call == 7.0


def test_the_default_is_two_minutes() -> None:
    app, _ = invoke(["repos"])
    assert app.timeouts.call == 120.0


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["--call-timeout", "0", "repos"], None, "'--call-timeout': 0 is not between"),
        (["repos", "--call-timeout", "-1"], None, "'--call-timeout'"),
        (["--call-timeout", "3601", "repos"], None, "'--call-timeout'"),
        (["--call-timeout", "soon", "repos"], None, "'--call-timeout'"),
        # the entry point names the variable too: tests/e2e/test_bad_input.py
        (["repos"], {"ECRSCAN_CALL_TIMEOUT": "soon"}, "'--call-timeout': 'soon'"),
    ],
)
def test_a_bad_value_is_a_usage_error_before_any_call(
    args: list[str], env: dict[str, str] | None, names: str
) -> None:
    _, result = invoke(args, env)
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert names in result.stderr  # type: ignore[attr-defined]
