"""The Lambda package with and without the CLI's libraries (issue 21, item 3).

Builds the functions' package with the Makefile's `build-ImagesFunction` target twice
for each source tree: once as `sam build` does (wheels for python3.12 on Linux x86_64),
for the sizes, and once for the interpreter running this script (`LAMBDA_PLATFORM=`),
to import the three handlers from it. The source trees are a git revision (`--before`,
exported with `git archive`) and the working tree (`--after`, the default).

For each package it prints the files, the bytes, the deflated zip `sam deploy` uploads,
which of rich, pygments, click, markdown_it and mdurl it holds, and each handler's cold
import time: a new `python -I -S` whose only import path besides the standard library is
the package, timed around `import <handler module>`, median and best of `--runs`, the
two packages' runs alternating. pip reaches the package index (its cache helps). Run
from the repository root:

    python3 benchmarks/lambda_cli_split.py --before ca0cb31 [--runs 10]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI_LIBRARIES = ["rich", "pygments", "click", "markdown_it", "mdurl"]
NOT_COPIED = [".git", ".aws-sam", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"]
NOT_COPIED += ["__pycache__", "*.egg-info", "build"]
IMPORT = """\
import sys, time
sys.path.insert(0, {package!r})
start = time.perf_counter()
import {module}
print(time.perf_counter() - start)
"""


def run(*command: str, cwd: Path = ROOT) -> str:
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc.stdout


def source(revision: str | None, into: Path) -> Path:
    """The repository at ``revision`` (the working tree for None), as SAM copies it."""
    if revision is None:
        shutil.copytree(ROOT, into, ignore=shutil.ignore_patterns(*NOT_COPIED))
        return into
    into.mkdir()
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        sys.exit(archive.stderr.decode())
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def build(tree: Path, artifact: Path, *assignments: str) -> Path:
    artifact.mkdir()
    make = ["make", "--no-print-directory", "build-ImagesFunction", f"PYTHON={sys.executable}"]
    run(*make, f"ARTIFACTS_DIR={artifact}", *assignments, cwd=tree)
    return artifact


def handlers(tree: Path) -> list[str]:
    text = (tree / "template.yaml").read_text(encoding="utf-8")
    return [h.rpartition(".")[0] for h in re.findall(r"Handler: (\S+)", text)]


def cold_import(package: Path, module: str, runs: int) -> list[float]:
    code = IMPORT.format(package=str(package), module=module)
    return [float(run(sys.executable, "-I", "-S", "-c", code)) for _ in range(runs)]


def size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def zipped(artifact: Path, into: Path) -> int:
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(artifact.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(artifact))
    return into.stat().st_size


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def measure(name: str, revision: str | None, work: Path) -> tuple[Path, list[str]]:
    """Build the tree's packages and print their sizes; the host package and handlers."""
    tree = source(revision, work / f"{name}-source")
    package = build(tree, work / f"{name}-lambda")
    host = build(tree, work / f"{name}-host", "LAMBDA_PLATFORM=")
    files = sum(1 for p in package.rglob("*") if p.is_file())
    libraries = [n for n in CLI_LIBRARIES if (package / n).exists()]
    print(f"\n== {name}: {revision or 'the working tree'}")
    print(f"files {files:,}   bytes {size(package):,} ({mib(size(package))})", end="   ")
    print(f"zip {mib(zipped(package, work / f'{name}.zip'))}")
    for library in libraries:
        print(f"  {library:<12} {size(package / library):>10,} bytes")
    print(f"CLI libraries: {', '.join(libraries) or 'none'}")
    return host, handlers(tree)


def timings(hosts: dict[str, Path], modules: list[str], runs: int) -> None:
    """Each handler's cold imports, the packages' runs alternating (the load of the
    machine weighs on each alike)."""
    print(f"\n== cold import, {runs} runs each (median, best)")
    for module in modules:
        times: dict[str, list[float]] = {name: [] for name in hosts}
        for _ in range(runs):
            for name, host in hosts.items():
                times[name] += cold_import(host, module, 1)
        cells = [
            f"{name} {statistics.median(t) * 1000:6.1f} ms, {min(t) * 1000:6.1f} ms"
            for name, t in times.items()
        ]
        print(f"{module:<30} " + "   ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="a git revision to measure first")
    parser.add_argument("--runs", type=int, default=10, help="cold imports per handler")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ecrscan-cli-split-"))
    try:
        hosts = {}
        if args.before:
            hosts["before"], _ = measure("before", args.before, work)
        hosts["after"], modules = measure("after", None, work)
        timings(hosts, modules, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
