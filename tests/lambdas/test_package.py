"""The Lambda package: what `sam build` puts into each function's artifact and that the
functions work from it alone.

template.yaml builds every function with the Makefile (``BuildMethod: makefile``): SAM
copies the CodeUri directory to a scratch directory and runs ``make build-<LogicalId>``
there with ARTIFACTS_DIR set. These tests do the same without SAM: they copy the
repository (without .git and .aws-sam, as SAM's makefile builder, and without the tool
caches, which only cost time), run the target, and look at the artifact. pip reaches the
package index for the dependencies, as it does under ``sam build``.

The package leaves out the libraries only the command line imports (issue 21, item 3):
the Makefile installs the ecrscan wheel without its dependencies, and then the runtime
dependencies it lists (LAMBDA_REQUIREMENTS: pyproject.toml's but for click and rich).

One build is the real one (wheels for python3.12 on Linux x86_64, whatever runs the
tests); a second installs for the interpreter running the tests (``LAMBDA_PLATFORM=``)
so the handlers can be imported from it.
"""

from __future__ import annotations

import email.parser
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.template import FUNCTIONS, ROOT, TEMPLATE, function_property

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None, reason="no make here (sam build's makefile builder needs it)"
)

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSION = PYPROJECT["version"]
# What pip calls the architectures a Lambda function may declare.
PIP_ARCHITECTURE = {"x86_64": "x86_64", "arm64": "aarch64"}
# The runtime's glibc (python3.12: Amazon Linux 2023, glibc 2.34) bounds the manylinux tags.
GLIBC_MINORS = range(17, 35)
# The environment of the Lambda runtime, for the dependencies' environment markers.
LAMBDA_MARKERS = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "extra": "",
}
# What only the command line needs: pyproject.toml's dependencies the package leaves out,
# and the importable packages they bring (rich brings pygments and markdown-it-py, which
# brings mdurl).
CLI_ONLY = {"click", "rich"}
CLI_LIBRARIES = ["click", "rich", "pygments", "markdown_it", "mdurl"]
# Not copied to the scratch directory: what SAM leaves out, and caches the tests write to.
NOT_COPIED = [".git", ".aws-sam", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"]
NOT_COPIED += ["__pycache__"]
# Files and directories of the repository that must not reach the package.
REPOSITORY_ONLY = [
    "tests",
    "benchmarks",
    "docs",
    "build",
    "bin",
    "ecrscan.egg-info",
    "template.yaml",
    "Makefile",
    "Dockerfile",
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "requirements.txt",
    "mkdocs.yml",
    "action.yml",
]


def make(cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *arguments, f"PYTHON={sys.executable}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def dry_run(function: str = "ImagesFunction") -> str:
    """The commands of the function's target, variables expanded, continuations joined."""
    proc = make(ROOT, "-n", f"build-{function}", "ARTIFACTS_DIR=/artifacts")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.replace("\\\n", " ")


def pip_installs(commands: str) -> list[list[str]]:
    """The arguments of each of the target's ``pip install``: the runtime dependencies,
    then the ecrscan wheel without its dependencies."""
    return [shlex.split(found) for found in re.findall(r"-m pip install (.*?);", commands, re.S)]


def positional(arguments: list[str]) -> list[str]:
    """What pip installs: the arguments that are neither options nor their values."""
    valued = {"--platform", "--implementation", "--python-version", "--target"}
    return [
        a
        for i, a in enumerate(arguments)
        if not a.startswith("-") and (i == 0 or arguments[i - 1] not in valued)
    ]


def requirement_names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


def option_values(arguments: list[str], option: str) -> list[str]:
    return [arguments[i + 1] for i, a in enumerate(arguments) if a == option]


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in directory.rglob("*")
    }


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return cfn_yaml.load(str(TEMPLATE))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> tuple[Path, dict[str, tuple[int, int]]]:
    """A copy of the repository as SAM's makefile builder makes one, and its listing."""
    source = tmp_path_factory.mktemp("scratch") / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_COPIED))
    return source, snapshot(source)


def build(scratch, tmp_path_factory, *assignments: str) -> Path:
    source, _ = scratch
    artifacts = tmp_path_factory.mktemp("artifacts")
    proc = make(source, "build-ImagesFunction", f"ARTIFACTS_DIR={artifacts}", *assignments)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return artifacts


@pytest.fixture(scope="module")
def lambda_package(scratch, tmp_path_factory) -> Path:
    """The artifact exactly as `sam build` makes it: wheels for the Lambda runtime."""
    return build(scratch, tmp_path_factory)


@pytest.fixture(scope="module")
def host_package(scratch, tmp_path_factory) -> Path:
    """The same build, with wheels for the interpreter running the tests."""
    return build(scratch, tmp_path_factory, "LAMBDA_PLATFORM=")


def distributions(package: Path) -> dict[str, Path]:
    return {
        canonicalize_name(d.name.removesuffix(".dist-info").rpartition("-")[0]): d
        for d in package.glob("*.dist-info")
    }


def runtime_closure(package: Path) -> set[str]:
    """ecrscan and every distribution it needs on the Lambda runtime, from the metadata,
    but for what only the command line needs (and what only that needs)."""
    dists = distributions(package)
    needed, todo = set(), ["ecrscan"]
    while todo:
        name = todo.pop()
        if name in needed or name in CLI_ONLY:
            continue
        needed.add(name)
        metadata = email.parser.Parser().parsestr((dists[name] / "METADATA").read_text())
        for line in metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            marker = requirement.marker or Marker("python_version >= '3'")
            if marker.evaluate(LAMBDA_MARKERS):
                todo.append(canonicalize_name(requirement.name))
    return needed


def recorded(package: Path) -> Iterator[str]:
    for record in package.glob("*.dist-info/RECORD"):
        for line in record.read_text().splitlines():
            yield line.rpartition(",")[0].rpartition(",")[0]


def run_isolated(package: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Python with the package as its only import path besides the standard library:
    -I (no environment variables, no user site) and -S (no site-packages), so the
    development install cannot stand in for anything the package lacks."""
    prelude = f"import sys; sys.path.insert(0, {str(package)!r})\n"
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- template.yaml and the Makefile agree -------------------------------------------------


def test_every_function_is_built_by_the_makefile(template):
    functions = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert set(functions) == set(FUNCTIONS)
    for name, resource in functions.items():
        assert resource.get("Metadata", {}).get("BuildMethod") == "makefile", name
        code = (ROOT / function_property(template, name, "CodeUri")).resolve()
        assert code == ROOT and (code / "Makefile").is_file(), name
        proc = make(code, "-n", f"build-{name}", "ARTIFACTS_DIR=/artifacts")
        assert proc.returncode == 0, f"no target build-{name}: {proc.stderr}"


def test_the_wheels_are_picked_for_the_runtime_and_architecture_of_each_function(template):
    for name in FUNCTIONS:
        runtime = function_property(template, name, "Runtime")
        (architecture,) = function_property(template, name, "Architectures") or ["x86_64"]
        installs = pip_installs(dry_run(name))
        assert len(installs) == 2  # the runtime dependencies, then ecrscan
        for arguments in installs:
            check_platform(arguments, runtime, architecture)


def check_platform(arguments: list[str], runtime: str, architecture: str) -> None:
    assert option_values(arguments, "--python-version") == [runtime.removeprefix("python")]
    assert option_values(arguments, "--implementation") == ["cp"]
    platforms = option_values(arguments, "--platform")
    assert platforms == [f"manylinux2014_{PIP_ARCHITECTURE[architecture]}"] + [
        f"manylinux_2_{minor}_{PIP_ARCHITECTURE[architecture]}" for minor in GLIBC_MINORS
    ]


def test_the_target_installs_a_wheel_of_the_package_sources_alone():
    commands = dry_run()
    for arguments in pip_installs(commands):
        assert "--only-binary=:all:" in arguments  # no sdist built for the machine that builds
        assert "--no-compile" in arguments
        assert option_values(arguments, "--target") == ["/artifacts"]
    _, ecrscan = pip_installs(commands)
    assert ecrscan[-1].endswith("/wheel/ecrscan-*.whl")  # the wheel, not the source tree
    assert "--no-deps" in ecrscan  # its dependencies are the Makefile's list
    assert re.search(r"cp -R pyproject\.toml README\.md ecrscan \S+;", commands)
    assert re.search(r"-m pip wheel .*--no-deps ", commands)


def test_the_runtime_dependencies_are_pyprojects_but_the_clis():
    """The Makefile lists pyproject.toml's dependencies, specifiers and all, without
    click and rich; a dependency added to one list and not the other fails here."""
    requirements, _ = pip_installs(dry_run())
    assert "--no-deps" not in requirements  # their own dependencies come with them
    listed = positional(requirements)
    assert listed == [r for r in PYPROJECT["dependencies"] if requirement_names([r]) - CLI_ONLY]
    assert requirement_names(PYPROJECT["dependencies"]) - requirement_names(listed) == CLI_ONLY


def test_the_targets_refuse_to_run_without_an_artifacts_directory():
    proc = make(ROOT, "build-ReporterFunction", "ARTIFACTS_DIR=")
    assert proc.returncode != 0
    assert "ARTIFACTS_DIR is not set" in proc.stderr


# -- the package itself ------------------------------------------------------------------


@pytest.mark.slow
def test_the_package_holds_ecrscan_with_its_metadata(lambda_package):
    for module in ("__init__", "images", "repositories", "reporter", "runtime"):
        assert (lambda_package / "ecrscan" / "lambdas" / f"{module}.py").is_file(), module
    assert [d.name for d in lambda_package.glob("ecrscan-*.dist-info")] == [
        f"ecrscan-{VERSION}.dist-info"
    ]


@pytest.mark.slow
def test_nothing_of_the_repository_but_the_package_gets_in(lambda_package):
    present = [name for name in REPOSITORY_ONLY if (lambda_package / name).exists()]
    assert present == []
    assert not list(lambda_package.rglob("*.egg-info"))
    assert not list(lambda_package.rglob("__pycache__")) and not list(lambda_package.rglob("*.pyc"))
    files = {str(p.relative_to(lambda_package)) for p in lambda_package.rglob("*") if p.is_file()}
    assert files - set(recorded(lambda_package)) == set(), "files no distribution installed"


@pytest.mark.slow
def test_the_distributions_are_ecrscan_and_its_runtime_dependencies(lambda_package, host_package):
    installed = set(distributions(lambda_package))
    assert installed == runtime_closure(lambda_package)
    assert requirement_names(PYPROJECT["dependencies"]) - CLI_ONLY < installed
    assert not installed & {"pytest", "moto", "cfn-lint", "mypy", "ruff", "pip", "setuptools"}
    assert set(distributions(host_package)) == installed  # the import test's build is the same


@pytest.mark.slow
def test_the_package_leaves_out_the_command_lines_libraries(lambda_package, host_package):
    for package in (lambda_package, host_package):
        assert [n for n in CLI_LIBRARIES if (package / n).exists()] == []
        names = {"click", "rich", "pygments", "markdown-it-py", "mdurl"}
        assert set(distributions(package)) & names == set()
        assert (package / "ecrscan" / "cli").is_dir()  # the code is there, unused


@pytest.mark.slow
def test_compiled_dependencies_are_built_for_python_312_on_linux_x86_64(lambda_package):
    extensions = [p.name for p in lambda_package.rglob("*.so")]
    assert extensions, "google-re2 is compiled: its extension module must be there"
    assert all(".cpython-312-x86_64-linux-gnu.so" in n or ".abi3.so" in n for n in extensions)
    tags = {
        line.removeprefix("Tag: ")
        for wheel in lambda_package.glob("*.dist-info/WHEEL")
        for line in wheel.read_text().splitlines()
        if line.startswith("Tag: ")
    }
    pure = re.compile(r"(py2|py3|py2\.py3)-none-any")
    linux = re.compile(r"cp312-(cp312|abi3)-manylinux(1|2010|2014|_2_(\d+))_x86_64")
    for tag in tags:
        match = linux.fullmatch(tag)
        assert pure.fullmatch(tag) or match, tag
        assert not match or not match[3] or int(match[3]) <= max(GLIBC_MINORS), tag
    assert any(tag.startswith("cp312-cp312-manylinux") for tag in tags)


@pytest.mark.slow
def test_ecrscan_version_read_from_the_package_is_the_release(lambda_package):
    proc = run_isolated(
        lambda_package, "import ecrscan; print(ecrscan.__version__, ecrscan.__file__)"
    )
    assert proc.returncode == 0, proc.stderr
    version, path = proc.stdout.split()
    assert version == VERSION != "0.0.0+unknown"
    assert Path(path).is_relative_to(lambda_package)


@pytest.mark.slow
@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_handler_imports_from_the_package_alone(template, host_package, function):
    module, _, attribute = function_property(template, function, "Handler").rpartition(".")
    code = (
        "import importlib, importlib.util, json, sysconfig\n"
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "assert callable(handler)\n"
        "stdlib = (sysconfig.get_paths()['stdlib'], sysconfig.get_paths()['platstdlib'])\n"
        "files = [getattr(m, '__file__', None) for m in list(sys.modules.values())]\n"
        "outside = [f for f in files if f and not f.startswith((sys.path[0], *stdlib))]\n"
        f"absent = [n for n in {CLI_LIBRARIES!r} if importlib.util.find_spec(n) is None]\n"
        "print(json.dumps([outside, absent, sorted(sys.modules)]))"
    )
    proc = run_isolated(host_package, code)
    assert proc.returncode == 0, proc.stderr
    outside, absent, loaded = json.loads(proc.stdout)
    assert outside == [], "modules loaded from outside the package"
    assert absent == CLI_LIBRARIES  # not in the package, nor anywhere else on the path
    assert module in loaded and not [m for m in loaded if m.startswith("ecrscan.cli")]


@pytest.mark.slow
def test_the_build_leaves_its_directory_as_it_was(scratch, lambda_package, host_package):
    source, before = scratch
    assert snapshot(source) == before  # no build/, no *.egg-info, nothing rewritten
