"""Start-up time of `ecrscan --help` and `ecrscan --version` (issue 21, item 5).

Runs each command `--runs` times (default 10), each in a new interpreter
(`python -m ecrscan ...`, the interpreter running this script), and prints the median and
best wall time. One more run under `-X importtime` counts the modules imported and says
whether boto3 or botocore was among them: how many of their modules, and the sum of
those modules' own import times. With `--before REV`, the same for ecrscan at that git
revision (exported with `git archive`, first on PYTHONPATH), the runs of the two
alternating so that the machine's load weighs on both alike. Run from the repository
root, with ecrscan installed in the interpreter's environment (one run of each tree
first, not timed, writes its bytecode):

    python3 benchmarks/cli_startup.py [--before ca0cb31] [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = [["--help"], ["--version"], ["rescan", "--help"]]
AWS_SDK = ("boto3", "botocore")


def environment(tree: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def wall(arguments: list[str], tree: Path | None) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ecrscan", *arguments],
        capture_output=True,
        check=True,
        env=environment(tree),
        cwd=tempfile.gettempdir(),  # `-m` puts the working directory first on sys.path
    )
    return time.perf_counter() - start


def imported(arguments: list[str], tree: Path | None) -> dict[str, int]:
    """Every module the command imports, and its own import time in µs (without the
    modules it imports)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ecrscan", *arguments],
        capture_output=True,
        text=True,
        check=True,
        env=environment(tree),
        cwd=tempfile.gettempdir(),
    )
    modules = {}
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            own, _, name = line.removeprefix("import time:").split("|")
            modules[name.strip()] = int(own)
    return modules


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        sys.exit(archive.stderr.decode())
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def line(name: str, arguments: list[str], times: list[float], tree: Path | None) -> str:
    modules = imported(arguments, tree)
    sdk = [m for m in modules if m.split(".")[0] in AWS_SDK]
    sdk_ms = sum(modules[m] for m in sdk) / 1000
    return (
        f"{name:<7} ecrscan {' '.join(arguments):<14}"
        f" median {statistics.median(times) * 1000:5.0f} ms   best {min(times) * 1000:5.0f} ms"
        f"   modules {len(modules)}"
        f"   boto3/botocore: {f'{len(sdk)} modules, {sdk_ms:.0f} ms' if sdk else 'none'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="a git revision to measure too")
    parser.add_argument("--runs", type=int, default=10, help="runs of each command")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ecrscan-startup-"))
    try:
        trees: dict[str, Path | None] = {"after": None}
        if args.before:
            trees = {"before": export(args.before, work), **trees}
        for tree in trees.values():
            wall(["--help"], tree)  # not timed: writes the exported tree's bytecode
        print(f"{sys.executable}, {args.runs} runs each")
        for arguments in COMMANDS:
            times: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.runs):
                for name, tree in trees.items():
                    times[name].append(wall(arguments, tree))
            for name, tree in trees.items():
                print(line(name, arguments, times[name], tree))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
