"""``ecrscan --help`` and ``--version`` start without the AWS SDK: boto3 and botocore
are imported only where a command calls AWS (issue 21, item 5).

Each command runs in a new interpreter under ``-X importtime``, which names every module
imported on stderr; none may be boto3's or botocore's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ecrscan import __version__
from ecrscan.aws.errors import SetupKind
from ecrscan.cli.app import _SETUP_WORDS

AWS_SDK = {"boto3", "botocore"}


def imported(*arguments: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ecrscan", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "80"},
    )
    modules = {
        line.rpartition("|")[2].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    return proc, modules


@pytest.mark.slow
@pytest.mark.parametrize(
    "arguments",
    [
        ("--help",),
        ("--version",),
        ("repos", "--help"),
        ("rescan", "--help"),
        ("report", "--help"),
        ("scan", "--help"),
    ],
)
def test_help_and_version_import_no_aws_sdk(arguments):
    proc, modules = imported(*arguments)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = __version__ if arguments == ("--version",) else "Usage: ecrscan"
    assert expected in proc.stdout
    # the check sees the command line's imports (every command is registered at start-up)
    assert {"ecrscan.cli.main", "ecrscan.cli.rescan", "click"} <= modules
    sdk = sorted(m for m in modules if m.split(".")[0] in AWS_SDK)
    assert sdk == [], f"imported at start-up: {sdk[:10]}"


def test_every_setup_failure_has_words():
    """The words for a failure to reach AWS are keyed by name (the CLI imports
    ecrscan.aws.errors, and botocore with it, only when a command fails)."""
    assert set(_SETUP_WORDS) == {kind.name for kind in SetupKind}
