"""Lint, format and types are part of the suite: ruff (lint and format) over the whole
tree, mypy as configured in pyproject.toml (strict on ecrscan.core and ecrscan.aws)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # subprocesses: `pytest -m "not slow"` leaves these out

ROOT = Path(__file__).resolve().parents[1]
TREES = ["ecrscan", "tests", "benchmarks"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_lint_is_clean() -> None:
    proc = run("ruff", "check", *TREES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean() -> None:
    proc = run("ruff", "format", "--check", *TREES)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean() -> None:
    proc = run("mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout


def test_mypy_is_strict_on_the_core_and_aws(tmp_path: Path) -> None:
    """An untyped function in ecrscan.core would fail: the strict section is in force.
    The probe module lives in a temporary copy of the package path, never in ecrscan/."""
    package = tmp_path / "ecrscan" / "core"
    package.mkdir(parents=True)
    for init in (tmp_path / "ecrscan" / "__init__.py", package / "__init__.py"):
        init.write_text("", encoding="utf-8")
    probe = package / "_strict_probe.py"
    probe.write_text("def untyped(x):\n    return x\n", encoding="utf-8")
    config = ["--config-file", str(ROOT / "pyproject.toml")]
    cache = ["--cache-dir", str(tmp_path / ".mypy_cache")]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", *config, *cache, str(probe.relative_to(tmp_path))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode == 0:
        pytest.fail("mypy accepted an untyped function in ecrscan.core:\n" + proc.stdout)
    assert "ecrscan/core/_strict_probe.py" in proc.stdout, proc.stdout + proc.stderr
    assert "no-untyped-def" in proc.stdout or "type annotation" in proc.stdout
