"""The container image: the Dockerfile's rules (slim base, unprivileged user, ``ecrscan``
as the entry point, runtime dependencies only), the wheel its build stage makes from the
files it copies, and, where a Docker engine answers, the image itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    parsed = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            parsed.append((keyword.upper(), " ".join(rest.split())))
    assert parsed
    return parsed


def final_stage() -> list[tuple[str, str]]:
    parsed = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(parsed) if keyword == "FROM")
    return parsed[last_from:]


def test_every_stage_starts_from_a_slim_python() -> None:
    args = {k: v for k, v in instructions() if k == "ARG"}
    assert args["ARG"].startswith("PYTHON_VERSION=3.1")
    bases = [v.split()[0] for k, v in instructions() if k == "FROM"]
    assert len(bases) == 2
    assert all(base == "python:${PYTHON_VERSION}-slim" for base in bases)


def test_the_runtime_runs_as_an_unprivileged_user_with_ecrscan_as_entry_point() -> None:
    stage = final_stage()
    keywords = [k for k, _ in stage]
    users = [v for k, v in stage if k == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    [entrypoint] = [v for k, v in stage if k == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["ecrscan"]  # exec form: signals reach ecrscan


def test_the_runtime_installs_the_wheel_and_nothing_for_tests() -> None:
    runs = " ".join(v for k, v in final_stage() if k == "RUN")
    assert "pip install --no-cache-dir /wheels/*.whl" in runs
    assert "[test]" not in runs and " -e " not in runs and "requirements" not in runs
    copies = [v for k, v in final_stage() if k == "COPY"]
    assert copies == ["--from=build /wheels /wheels"]  # no sources in the runtime


def copied_sources(into: Path) -> None:
    """What the build stage's COPY lines copy, where .dockerignore lets it through."""
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ignore[:1] == ["#"] or "*" in ignore
    for keyword, value in instructions():
        if keyword == "COPY" and not value.startswith("--from"):
            *sources, _ = value.split()
            for source in sources:
                assert f"!{source}" in ignore or f"!{source}/" in ignore, source
                path = ROOT / source
                if path.is_dir():
                    skip = shutil.ignore_patterns("__pycache__")
                    shutil.copytree(path, into / source, ignore=skip)
                else:
                    shutil.copy(path, into / source)


@pytest.mark.slow
def test_the_build_stage_makes_a_wheel_of_the_package_alone(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    copied_sources(source)
    wheels = str(tmp_path / "wheels")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    [wheel] = (tmp_path / "wheels").glob("ecrscan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "ecrscan/cli/scan.py" in names and "ecrscan/__main__.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "docs/"))]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    requires = [
        line for line in metadata.decode().splitlines() if line.startswith("Requires-Dist:")
    ]
    runtime = [line for line in requires if "extra ==" not in line]
    assert {line.split()[1].split(">")[0].lower() for line in runtime} == {
        "boto3",
        "botocore",
        "click",
        "rich",
        "python-dateutil",
        "google-re2",
    }


def docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.slow
@pytest.mark.skipif(not docker_engine(), reason="no Docker engine answers here")
def test_the_image_builds_and_runs_ecrscan_unprivileged() -> None:
    tag = "ecrscan-test:latest"
    build = subprocess.run(
        ["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=900
    )
    assert build.returncode == 0, build.stderr[-2000:]
    version = subprocess.run(
        ["docker", "run", "--rm", tag, "--version"], capture_output=True, text=True, timeout=120
    )
    assert version.returncode == 0 and version.stdout.startswith("ecrscan, version")
    uid = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert uid.stdout.strip() == "10001"
    listed = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "python", tag, "-m", "pip", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "moto" not in listed.stdout and "pytest" not in listed.stdout
