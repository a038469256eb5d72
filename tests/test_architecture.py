"""The house rules, checked on the code itself: layers that import only downwards, no
import circles, small modules and functions, and AWS SDK imports in ``ecrscan/aws`` only.

Imports are read with :mod:`ast` (every ``import``, also inside functions), so a lazy
import cannot hide an arrow.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ecrscan"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60  # the body without its docstring; an option table is the signature

# layer -> the ecrscan layers it may import ("" is the package's own __init__: version)
ALLOWED = {
    "core": {"", "core"},
    "aws": {"", "core", "aws"},
    "engine": {"", "core", "engine"},  # AWS through the protocols of engine/ports.py
    "render": {"", "core", "render"},
    "cli": {"", "core", "aws", "engine", "render", "cli"},
    "lambdas": {"", "core", "aws", "engine", "render", "lambdas"},
}
# third-party packages each layer may not import
FORBIDDEN = {
    "core": {"boto3", "botocore", "click", "rich"},
    "aws": {"click", "rich"},
    "engine": {"boto3", "botocore", "click", "rich"},
    "render": {"boto3", "botocore", "click"},
    "cli": {"boto3", "botocore"},
    "lambdas": {"boto3", "botocore", "click", "rich"},
}


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def imports(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [
                        *package.split(".")[: len(package.split(".")) - node.level + 1],
                        *([base] if base else []),
                    ]
                )
            found.add(base)
            # `from ecrscan.lambdas import runtime` imports a module too
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else ""


ALL = dict(modules())
GRAPH = {
    name: {i for i in imports(path, name) if i in ALL and i != name} for name, path in ALL.items()
}


def test_the_layers_are_the_packages_we_think() -> None:
    layers = {layer(m) for m in ALL}
    assert layers == {"", *ALLOWED}


@pytest.mark.parametrize("name", sorted(ALL))
def test_imports_point_down_only(name: str) -> None:
    own = layer(name)
    if not own:
        return  # ecrscan, ecrscan.__main__
    wrong = sorted(i for i in GRAPH[name] if layer(i) not in ALLOWED[own])
    assert not wrong, f"{name} ({own}) must not import {wrong}"
    third_party = {i.split(".")[0] for i in imports(ALL[name], name)}
    assert not third_party & FORBIDDEN[own], f"{name} imports {third_party & FORBIDDEN[own]}"


def find_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every loop a depth-first walk of ``graph`` meets, as a path back to its start."""
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return circles


def test_no_import_circles() -> None:
    assert find_circles(GRAPH) == []


def test_the_circle_finder_finds_circles() -> None:
    assert find_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_circles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_is_read() -> None:
    """The CLI reaches the core through the engine; lazy imports count too."""
    assert "ecrscan.engine.rescan" in GRAPH["ecrscan.cli.rescan"]
    assert "ecrscan.core.model" in GRAPH["ecrscan.engine.rescan"]
    assert "ecrscan.lambdas.runtime" in GRAPH["ecrscan.lambdas.images"]


# -- the Lambda functions' import closure (issue 21, item 3) ------------------------

# What the command line alone needs: the Lambda package leaves these libraries out
# (the Makefile's LAMBDA_REQUIREMENTS; tests/lambdas/test_package.py builds it).
CLI_LIBRARIES = {"click", "rich", "pygments", "markdown_it", "mdurl"}
LAMBDAS = sorted(name for name in ALL if layer(name) == "lambdas")


def closure(start: str, graph: dict[str, set[str]]) -> set[str]:
    """``start`` and every module it imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def terminal_only(module: str) -> bool:
    """The command line and its terminal output (``render/table``)."""
    return layer(module) == "cli" or module.startswith("ecrscan.render.table")


@pytest.mark.parametrize("name", LAMBDAS)
def test_the_lambda_handlers_reach_neither_the_cli_nor_its_libraries(name: str) -> None:
    reached = closure(name, GRAPH)
    assert sorted(m for m in reached if terminal_only(m)) == []
    libraries = {
        module: found
        for module in sorted(reached)
        if (found := {i.split(".")[0] for i in imports(ALL[module], module)} & CLI_LIBRARIES)
    }
    assert libraries == {}, f"{name} reaches the CLI's libraries through {libraries}"


def test_the_closure_check_can_fail() -> None:
    graph = {"a": {"b"}, "b": {"ecrscan.cli.app"}, "ecrscan.cli.app": set()}
    assert "ecrscan.cli.app" in closure("a", graph)
    assert terminal_only("ecrscan.cli.app") and terminal_only("ecrscan.render.table.report")
    assert not terminal_only("ecrscan.render.sns")
    assert set(LAMBDAS) >= {f"ecrscan.lambdas.{m}" for m in ("images", "repositories", "reporter")}
    # the command line does reach them: the check looks where they are
    assert "ecrscan.render.table" in closure("ecrscan.cli.main", GRAPH)


@pytest.mark.parametrize("name", sorted(ALL))
def test_modules_are_small(name: str) -> None:
    lines = ALL[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name}: {lines} lines"


def function_bodies(path: Path) -> Iterator[tuple[str, int]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            first = body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
                and len(body) > 1
            ):
                first = body[1]
            yield node.name, (node.end_lineno or node.lineno) - first.lineno + 1


@pytest.mark.parametrize("name", sorted(ALL))
def test_functions_are_short(name: str) -> None:
    long = [(f, n) for f, n in function_bodies(ALL[name]) if n > MAX_FUNCTION_LINES]
    assert not long, f"{name}: {long}"


# -- the seam between the engine and AWS ---------------------------------------------

# names of what the engine gets from AWS: gateways, sessions, stores, connections
AWS_HANDLE = re.compile(r"gateway|session|ecr|ecs|inspector|store|connections", re.IGNORECASE)
# the modules allowed to build boto3/botocore sessions (aws/clients.py's helpers), and
# the one that calls those helpers for a run (the connections object)
SESSION_FACTORY = "ecrscan.aws.clients"
SESSION_OWNERS = {"ecrscan.aws.connections", SESSION_FACTORY}
SESSION_HELPERS = {"new_session"}
ENGINE = sorted(name for name in ALL if layer(name) == "engine")


def any_handles(path: Path) -> Iterator[str]:
    """Parameters and attributes named like an AWS handle but annotated ``Any``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            for arg in every:
                if AWS_HANDLE.search(arg.arg) and _is_any(arg.annotation):
                    yield f"{getattr(node, 'name', 'lambda')}({arg.arg}: Any)"
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and AWS_HANDLE.search(node.target.id)
            and _is_any(node.annotation)
        ):
            yield f"{node.target.id}: Any"


def _is_any(annotation: ast.expr | None) -> bool:
    return annotation is not None and "Any" in re.findall(r"\w+", ast.unparse(annotation))


def probes(path: Path) -> Iterator[str]:
    """``hasattr``/``getattr`` calls (the engine reads what its protocols declare)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("hasattr", "getattr")
        ):
            yield f"line {node.lineno}: {ast.unparse(node)}"


def session_builders(path: Path) -> Iterator[str]:
    """Where ``path`` builds a boto3/botocore session or calls the session helpers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = ast.unparse(node.func)
            if called.endswith(("boto3.Session", "boto3.session.Session", "get_session")):
                yield f"line {node.lineno}: {called}("
            if called in ("botocore.session.Session", *SESSION_HELPERS):
                yield f"line {node.lineno}: {called}("
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names]
            module = getattr(node, "module", None) or ""
            if "botocore.session" in names or module in ("botocore.session", "boto3.session"):
                yield f"line {node.lineno}: imports a session module"


@pytest.mark.parametrize("name", ENGINE)
def test_the_engine_takes_no_untyped_gateway(name: str) -> None:
    found = list(any_handles(ALL[name]))
    assert not found, f"{name}: annotate with a protocol of ecrscan.engine.ports: {found}"


@pytest.mark.parametrize("name", ENGINE)
def test_the_engine_does_not_probe_what_it_is_given(name: str) -> None:
    found = list(probes(ALL[name]))
    assert not found, f"{name}: {found}"


def test_sessions_are_built_in_one_module() -> None:
    found = {
        name: built
        for name, path in ALL.items()
        if name not in SESSION_OWNERS and (built := list(session_builders(path)))
    }
    assert found == {}
    owners = {name for name in SESSION_OWNERS if list(session_builders(ALL[name]))}
    assert owners == SESSION_OWNERS  # the checks see what they look for


def test_the_seam_checks_can_fail(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import boto3\n"
        "from typing import Any\n"
        "def run(gateway: Any, n: int) -> None:\n"
        "    if hasattr(gateway, 'inspector'):\n"
        "        boto3.Session(region_name='x')\n",
        encoding="utf-8",
    )
    assert list(any_handles(probe)) == ["run(gateway: Any)"]
    assert list(probes(probe)) == ["line 4: hasattr(gateway, 'inspector')"]
    assert list(session_builders(probe)) == ["line 5: boto3.Session("]


TESTS = PACKAGE.parent / "tests"


def test_tests_share_helpers_through_tests_support_only() -> None:
    """A test module imports shared helpers from ``tests.support``, never from another
    test module or from ``conftest.py`` (pytest loads those itself)."""
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        name = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        for imported in imports(path, name):
            last = imported.rsplit(".", 1)[-1]
            if imported.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                offenders.append(f"{path.relative_to(TESTS.parent)} imports {imported}")
    assert not offenders, offenders
