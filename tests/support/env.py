"""The test run's region and the installed ecrscan command."""

from __future__ import annotations

import os
from pathlib import Path

REGION = "us-east-1"


def ecrscan_command() -> str:
    """The installed console script next to this interpreter (not a module run)."""
    import shutil
    import sys
    from pathlib import Path

    candidate = Path(sys.executable).parent / "ecrscan"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("ecrscan")
    if not found:
        raise RuntimeError("the ecrscan command is not installed: pip install -e '.[test]'")
    return found


def fake_credentials(region: str = REGION) -> dict[str, str]:
    """Test credentials, ``region``, and no AWS config or credentials file."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an installed-command run that reaches no real AWS: this
    process's variables without AWS_* and ECRSCAN_*, test credentials, no config or
    credentials file, ``home`` as HOME, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECRSCAN_"))}
    env.update(fake_credentials(), HOME=str(home))
    env.update(extra)
    return env


def fake_aws_environment(region: str = REGION) -> None:
    """This process's environment made one that reaches no real AWS (the benchmarks):
    none of the developer's AWS_* variables, test credentials, ``region``."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(fake_credentials(region))
