"""The GitHub Action (action.yml): every input reaches a real ``scan`` option, no
expression sits inside shell code, and the scan step's own script, run with bash the way
the runner runs it, gates an image on moto's server and sets the outputs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from ecrscan.cli.scan import scan_cmd
from tests.support.env import REGION, ecrscan_command
from tests.support.registry import FakeRegistry

ROOT = Path(__file__).resolve().parent.parent
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@pytest.fixture(scope="module")
def action() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def steps(action: dict[str, Any]) -> list[dict[str, Any]]:
    assert action["runs"]["using"] == "composite"
    return list(action["runs"]["steps"])


def step(action: dict[str, Any], step_id: str) -> dict[str, Any]:
    [found] = [s for s in steps(action) if s.get("id") == step_id]
    return found


def scan_options() -> dict[str, click.Parameter]:
    """Each environment variable of ``scan`` → its parameter."""
    options = {}
    for param in scan_cmd.params:
        names = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or ())
        for name in names:
            options[name] = param
    return options


def test_no_expression_inside_shell_code(action: dict[str, Any]) -> None:
    runs = [s["run"] for s in steps(action) if "run" in s]
    assert len(runs) == 2
    for script in runs:
        assert "${{" not in script, script
    for s in steps(action):
        assert "run" not in s or s["shell"] == "bash"


def test_every_input_reaches_a_real_scan_option(action: dict[str, Any]) -> None:
    scan_env = step(action, "scan")["env"]
    wired = {}
    for variable, value in scan_env.items():
        match = EXPRESSION.fullmatch(str(value))
        assert match, f"{variable}: {value!r} is not one expression"
        if match.group(1).startswith("inputs."):
            wired[match.group(1).removeprefix("inputs.")] = variable
    options = scan_options()
    script = step(action, "scan")["run"]
    for name, spec in action["inputs"].items():
        if name == "python-version":
            python = step(action, "python")["with"]["python-version"]
            assert python == "${{ inputs.python-version }}"
            continue
        named = re.search(r"scan's (REF|--[a-z-]+)", " ".join(spec["description"].split()))
        assert named, f"input {name} does not say which option it sets"
        variable = wired[name]
        if variable == "INPUT_REGION":  # passed as an argument: a region has no own variable
            assert '--region "$INPUT_REGION"' in script
            assert any("--region" in p.opts for p in scan_cmd.params)
            continue
        param = options[variable]  # KeyError: the variable is no option of scan
        option = named.group(1)
        assert option in param.opts or (option == "REF" and param.name == "images"), name
    assert set(wired) == set(action["inputs"]) - {"python-version"}


def test_outputs_come_from_the_scan_step(action: dict[str, Any]) -> None:
    script = step(action, "scan")["run"]
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.scan.outputs.{name} }}}}"
        assert f'echo "{name}=' in script


# -- the scan step's script, run as the runner runs it --------------------------------------


def evaluate(value: str, context: dict[str, str]) -> str:
    """The runner's substitution of ``${{ a.b }}`` (property lookups only: the action
    uses nothing else; anything else fails the test)."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        assert re.fullmatch(r"[a-z]+(\.[a-z0-9_-]+)+", name), f"unsupported expression {name}"
        return context[name]

    return EXPRESSION.sub(lookup, value)


def run_scan_step(
    action: dict[str, Any], inputs: dict[str, str], base_env: dict[str, str], workdir: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    context = {f"inputs.{k}": str(v.get("default", "")) for k, v in action["inputs"].items()}
    context.update({f"inputs.{k}": v for k, v in inputs.items()})
    context["steps.install.outputs.bin"] = str(Path(ecrscan_command()).parent)
    scan = step(action, "scan")
    outputs = workdir / "github_output"
    outputs.write_text("")
    env = {**base_env, "GITHUB_OUTPUT": str(outputs)}
    env.update({k: evaluate(str(v), context) for k, v in scan["env"].items()})
    proc = subprocess.run(
        ["bash", "-e", "-c", scan["run"]],  # the runner's `bash -e {0}`
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return proc, written


@pytest.fixture
def registry(server_registry: FakeRegistry) -> FakeRegistry:
    registry = server_registry
    registry.create_repo("team/api")
    registry.push("team/api", "v1")
    registry.create_repo("team/web")
    registry.push("team/web", "v2")
    return registry


@pytest.mark.slow
def test_the_action_gates_on_a_breach_and_writes_sarif(
    action: dict[str, Any], registry: FakeRegistry, server_env: dict[str, str], tmp_path: Path
) -> None:
    images = "team/api:v1\nteam/web:v2\n"  # one per line, as a YAML block gives them
    proc, outputs = run_scan_step(action, {"images": images}, server_env, tmp_path)
    assert proc.returncode == 1, proc.stderr  # moto's fake HIGH finding breaches
    assert outputs == {
        "report": "ecrscan-report.sarif",
        "verdict": "breach",
        "exit-code": "1",
    }
    sarif = json.loads((tmp_path / "ecrscan-report.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert "ecrscan: verdict breach (exit 1), report ecrscan-report.sarif" in proc.stdout
    assert "team/web:v2: scan started" in proc.stderr


@pytest.mark.slow
def test_the_action_passes_what_the_thresholds_allow(
    action: dict[str, Any], registry: FakeRegistry, server_env: dict[str, str], tmp_path: Path
) -> None:
    inputs = {
        "images": "team/api:v1",
        "fail-on": "CRITICAL",
        "thresholds": "HIGH=1",
        "format": "json",
        "output": "out/report.json",
        "region": REGION,
    }
    (tmp_path / "out").mkdir()
    proc, outputs = run_scan_step(action, inputs, server_env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert outputs == {"report": "out/report.json", "verdict": "pass", "exit-code": "0"}
    doc = json.loads((tmp_path / "out/report.json").read_text())
    assert [i["status"] for i in doc["images"]] == ["ok"]


@pytest.mark.slow
def test_a_bad_input_is_an_error_verdict_and_no_report(
    action: dict[str, Any], registry: FakeRegistry, server_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "ecrscan-report.sarif").write_text("{}")  # left by an earlier step
    proc, outputs = run_scan_step(
        action, {"images": "team/api:v1", "fail-on": "SEVERE"}, server_env, tmp_path
    )
    assert not (tmp_path / "ecrscan-report.sarif").exists()
    assert proc.returncode == 2
    assert outputs == {"report": "", "verdict": "error", "exit-code": "2"}
    assert "ECRSCAN_FAIL_ON" in proc.stderr  # the error names the variable the input set
