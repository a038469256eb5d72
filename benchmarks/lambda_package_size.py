"""The Lambda functions' package, before and after the Makefile build (issue 12).

before: what `sam build` made while template.yaml gave every function `CodeUri: .` and
        SAM's Python builder: the repository directory copied with that builder's
        exclusions (below), plus the runtime dependencies (requirements.txt, the same list
        as pyproject.toml's) pip-installed for python3.12 on manylinux2014 x86_64, which
        is what the builder fetches when the building Python is not the runtime's.
after:  the Makefile's `build-ImagesFunction` target, run in a scratch copy of the
        repository (without .git and .aws-sam) as SAM's makefile builder runs it.

For each it prints the files, the bytes, `du -sh`, the size of the zip `sam deploy`
uploads (deflate), the largest entries and the ecrscan.__version__ the package reports,
then what the old package had that the new one does not. Both builds fetch from the
package index (pip's cache helps). Run from the repository root:

    python3 benchmarks/lambda_package_size.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What SAM's Python (pip) builder leaves out when it copies the CodeUri directory
# (aws-lambda-builders, workflows/python_pip/workflow.py, EXCLUDED_FILES).
PIP_BUILDER_EXCLUDES = [
    *[".aws-sam", ".chalice", ".git", ".gitignore", "*.pyc", "__pycache__", "*.so"],
    *[".Python", "*.egg-info", "*.egg", "pip-log.txt", "pip-delete-this-directory.txt"],
    *["htmlcov", ".tox", ".nox", ".coverage", ".cache", ".pytest_cache", ".python-version"],
    *[".mypy_cache", ".dmypy.json", ".pyre", ".env", ".venv", "venv", "venv.bak"],
    *["env.bak", "ENV", "env", ".vscode", ".idea"],
]
# What SAM's makefile builder leaves out of its scratch copy.
MAKE_BUILDER_EXCLUDES = [".aws-sam", ".git"]
LAMBDA_WHEELS = [
    *["--platform", "manylinux2014_x86_64", "--implementation", "cp"],
    *["--python-version", "3.12", "--only-binary=:all:"],
]


def run(*command: str, cwd: Path = ROOT) -> None:
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")


def build_before(work: Path) -> Path:
    """The old artifact: the repository as SAM's pip builder copied it, and the deps."""
    artifact = work / "before"
    shutil.copytree(ROOT, artifact, ignore=shutil.ignore_patterns(*PIP_BUILDER_EXCLUDES))
    requirements = work / "requirements.txt"
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements.write_text("\n".join(dependencies["dependencies"]) + "\n")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"]
    run(
        *pip,
        "--no-warn-conflicts",
        *LAMBDA_WHEELS,
        "--target",
        str(artifact),
        "-r",
        str(requirements),
    )
    return artifact


def build_after(work: Path) -> Path:
    """The new artifact: the Makefile's target in a scratch copy, as `sam build` runs it."""
    scratch, artifact = work / "scratch", work / "after"
    shutil.copytree(ROOT, scratch, ignore=shutil.ignore_patterns(*MAKE_BUILDER_EXCLUDES))
    artifact.mkdir()
    make = ["make", "--no-print-directory", "build-ImagesFunction", f"PYTHON={sys.executable}"]
    run(*make, f"ARTIFACTS_DIR={artifact}", cwd=scratch)
    return artifact


def size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def zipped(artifact: Path, into: Path) -> int:
    """The zip `sam deploy` uploads: every file, deflated."""
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(artifact.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(artifact))
    return into.stat().st_size


def version(artifact: Path) -> str:
    """What `import ecrscan` reports with the package as the only import path (-I -S)."""
    code = f"import sys; sys.path.insert(0, {str(artifact)!r}); import ecrscan\n"
    code += "print(ecrscan.__version__)"
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True)
    return proc.stdout.strip() or proc.stderr.strip().splitlines()[-1]


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def report(name: str, artifact: Path, work: Path) -> None:
    files = sum(1 for p in artifact.rglob("*") if p.is_file())
    du = subprocess.run(["du", "-sh", str(artifact)], capture_output=True, text=True).stdout
    print(f"\n== {name}: {artifact}")
    print(f"files {files:,}   bytes {size(artifact):,} ({mib(size(artifact))})")
    print(f"du -sh {du.split()[0]}   zip {mib(zipped(artifact, work / f'{name}.zip'))}")
    print(f"ecrscan.__version__ from the package alone: {version(artifact)}")
    entries = sorted(artifact.iterdir(), key=size, reverse=True)
    print("largest: " + ", ".join(f"{p.name} {mib(size(p))}" for p in entries[:6]))


def installed(artifact: Path) -> set[str]:
    """The top-level entries pip installed (from the distributions' RECORD files)."""
    names = set()
    for record in artifact.glob("*.dist-info/RECORD"):
        for line in record.read_text().splitlines():
            path = line.split(",")[0]
            # console scripts: pip --target records them as ../../bin/<name>
            names.add("bin" if path.startswith("../") else path.split("/")[0])
    return names


def compare(before: Path, after: Path) -> None:
    """What the old package had and the new one has not: repository files, and the
    dependencies' entries that differ (the builds may pick other wheels)."""
    only = [p for p in before.iterdir() if not (after / p.name).exists()]
    for kind, entries in (
        ("repository files", [p for p in only if p.name not in installed(before)]),
        ("dependency entries", [p for p in only if p.name in installed(before)]),
    ):
        entries.sort(key=size, reverse=True)
        print(f"\n== only in before, {kind}: {sum(size(p) for p in entries):,} bytes")
        for path in entries:
            print(f"  {path.name:<40} {size(path):>12,}")
    ours = [sum(size(p) for p in d.glob("ecrscan*")) for d in (before, after)]
    print("\necrscan and its metadata: before {:,} bytes, after {:,} bytes".format(*ours))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="build in this new directory, and keep it")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True)  # a new directory: the builds must start empty
    work = args.keep or Path(tempfile.mkdtemp(prefix="ecrscan-size-"))
    try:
        du = subprocess.run(["du", "-sh", str(ROOT)], capture_output=True, text=True).stdout
        print(f"the repository directory as it is (du -sh): {du.split()[0]}")
        before, after = build_before(work), build_after(work)
        report("before", before, work)
        report("after", after, work)
        compare(before, after)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
