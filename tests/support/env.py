"""The test run's region and the installed ecrscan command."""

from __future__ import annotations

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
