"""What the docs state about the SAM template and the environment, against the template
and the CLI: the patterns and parameters the pages name (docs/lambda.md's parameter
tables, every "`AllowedPattern` is ..." sentence), and the variables of
docs/environment.md against the options' environment variables, both ways, with the
commands that read each."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest
from cfnlint.decode import cfn_yaml

from ecrscan.cli import cli
from ecrscan.core.thresholds import ENV_VARS as THRESHOLD_VARIABLES
from tests.support.template import ROOT, TEMPLATE

DOCS = ROOT / "docs"
TICKED = re.compile(r"`([^`]+)`")
FENCE = re.compile(r"^\s*```.*?^\s*```", re.MULTILINE | re.DOTALL)
# A duration as the docs write one: 7d, 1mo2w, 90min.
DURATION = re.compile(r"(\d+[a-z]+)+")
UNITS = ("mo", "m", "w", "d", "h", "min", "s", "y")
COMMANDS = ("repos", "rescan", "report", "scan", "fixes")
MARK_COLUMNS = {"P": "repos", "R": "rescan", "T": "report", "S": "scan", "F": "fixes"}


def parameters() -> dict[str, dict[str, Any]]:
    return dict(cfn_yaml.load(str(TEMPLATE))["Parameters"])


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of every row of the tables whose header row starts with ``header``."""
    rows: list[list[str]] = []
    inside = False
    for line in text.splitlines():
        if line.startswith(header):
            inside = True
        elif inside and line.startswith("|") and not line.startswith("| ---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif not line.startswith("|"):
            inside = False
    return rows


def parameter_rows() -> dict[str, list[str]]:
    """docs/lambda.md's parameter tables: each parameter named in a first cell -> its row."""
    text = (DOCS / "lambda.md").read_text(encoding="utf-8")
    rows = {}
    for cells in table_rows(text, "| parameter |"):
        for name in TICKED.findall(cells[0]):
            rows[name] = cells
    return rows


def accepted_units(pattern: str) -> set[str]:
    return {unit for unit in UNITS if re.fullmatch(pattern, f"1{unit}")}


def test_the_parameter_tables_name_every_template_parameter_and_no_other() -> None:
    documented, defined = set(parameter_rows()), set(parameters())
    assert sorted(defined - documented) == [], "template parameters docs/lambda.md omits"
    assert sorted(documented - defined) == [], "docs/lambda.md names unknown parameters"


@pytest.mark.parametrize("name", sorted(parameters()))
def test_each_documented_default_is_the_templates(name: str) -> None:
    default = str(parameters()[name].get("Default", ""))
    cell = parameter_rows()[name][1]
    if default == "":
        assert cell.startswith("empty"), f"{name}: the template's default is empty"
    else:
        assert TICKED.findall(cell)[:1] == [default], f"{name}: {cell!r} vs {default!r}"


DURATION_PARAMETERS = sorted(
    name
    for name, spec in parameters().items()
    if "AllowedPattern" in spec
    and accepted_units(str(spec["AllowedPattern"]))
    and not re.fullmatch(str(spec["AllowedPattern"]), "x")  # a role name is no duration
)


def test_the_duration_parameters_are_found() -> None:
    assert {"ScanExpiryDuration", "NotifyReminderPeriod"} <= set(DURATION_PARAMETERS)


@pytest.mark.parametrize("name", DURATION_PARAMETERS)
def test_a_duration_parameter_row_names_each_unit_and_valid_examples(name: str) -> None:
    pattern = str(parameters()[name]["AllowedPattern"])
    row = " | ".join(parameter_rows()[name][1:])
    ticked = set(TICKED.findall(row))
    assert sorted(accepted_units(pattern) - ticked) == [], f"{name}: units not named"
    examples = [word for word in ticked if DURATION.fullmatch(word)]
    assert examples, f"{name}: no example"
    for example in examples:
        assert re.fullmatch(pattern, example), f"{name}: the template refuses {example!r}"


def pattern_statements() -> list[tuple[str, str]]:
    """(page, paragraph) of every paragraph outside code blocks that states an
    ``AllowedPattern``."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        for paragraph in re.split(r"\n\s*\n", text):
            if "`AllowedPattern`" in paragraph:
                found.append((page.name, paragraph))
    return found


def test_the_pattern_statements_are_found() -> None:
    assert "durations.md" in {page for page, _ in pattern_statements()}


@pytest.mark.parametrize(("page", "paragraph"), pattern_statements())
def test_each_stated_pattern_is_the_templates(page: str, paragraph: str) -> None:
    spec = parameters()
    names = [n for n in TICKED.findall(paragraph) if n in spec]
    stated = re.findall(r"`AllowedPattern`\s+is\s+`([^`]+)`", " ".join(paragraph.split()))
    assert names and stated, f"{page}: a pattern statement without its parameter or pattern"
    for name in names:
        assert str(spec[name].get("AllowedPattern")) in stated, f"{page}: {name}"


# -- docs/environment.md against the options ------------------------------------------


def variables_of(param: click.Parameter) -> list[str]:
    envvar = param.envvar
    return [envvar] if isinstance(envvar, str) else list(envvar or ())


def cli_variables() -> tuple[set[str], dict[str, set[str]]]:
    """The group's variables, and each command's variable -> the commands reading it."""
    group = {v for p in cli.params for v in variables_of(p)}
    per_command: dict[str, set[str]] = {}
    for name in COMMANDS:
        for param in cli.commands[name].params:
            for variable in variables_of(param):
                per_command.setdefault(variable, set()).add(name)
    return group, per_command


def environment_page() -> tuple[set[str], dict[str, set[str]], set[str]]:
    """docs/environment.md: the global variables, each per-command variable -> the
    commands marked, and the variables whose option is "–" (read without an option)."""
    text = (DOCS / "environment.md").read_text(encoding="utf-8")
    global_part, _, command_part = text.partition("## Per command")
    group, per_command, no_option = set(), {}, set()
    for cells in table_rows(global_part, "| variable |"):
        names = set(TICKED.findall(cells[0]))
        group |= names
        if cells[1] == "–":
            no_option |= names
    for cells in table_rows(command_part, "| variable |"):
        names = set(TICKED.findall(cells[0]))
        marks = {MARK_COLUMNS[c] for c, cell in zip("PRTSF", cells[2:7], strict=True) if cell}
        for name in names:
            per_command[name] = marks
        if cells[1] == "–":
            no_option |= names
    return group, per_command, no_option


def test_the_page_names_every_global_variable_and_no_other() -> None:
    documented, _, no_option = environment_page()
    group, _ = cli_variables()
    assert sorted(group - documented) == []
    assert sorted(documented - group - no_option) == []
    assert no_option & documented == {"ECRSCAN_DEBUG"}
    assert '"ECRSCAN_DEBUG"' in (ROOT / "ecrscan" / "cli" / "main.py").read_text()


def test_the_page_names_every_command_variable_with_its_commands() -> None:
    _, documented, no_option = environment_page()
    _, read = cli_variables()
    assert sorted(set(read) - set(documented)) == [], "variables docs/environment.md omits"
    assert sorted(set(documented) - set(read) - no_option) == [], "variables no option reads"
    wrong = {v: (documented[v], read[v]) for v in read if documented.get(v) != read[v]}
    assert wrong == {}, "documented commands (left) differ from the commands reading it"
    assert {v for v in no_option if v in documented} == set(THRESHOLD_VARIABLES)


def test_the_page_check_reads_the_tables() -> None:
    group, documented, _ = environment_page()
    assert "AWS_PROFILE" in group
    assert documented["ECRSCAN_CONCURRENCY"] == {"rescan", "report", "scan", "fixes"}
    assert documented["ECRSCAN_REPOS_FORMAT"] == {"repos"}


def test_the_environment_example_writes_each_file_in_its_format() -> None:
    """A shell example that sets ``ECRSCAN_<COMMAND>_OUTPUT`` to a file with a format's
    extension sets that command's format to it (not JSON into ``ecrscan.sarif``)."""
    text = (DOCS / "environment.md").read_text(encoding="utf-8")
    exports = dict(re.findall(r"export (\w+)=(\S+)", text))
    assert exports
    for variable, value in exports.items():
        match = re.fullmatch(r"ECRSCAN_(\w+)_OUTPUT", variable)
        extension = Path(value).suffix.lstrip(".")
        if match and extension in {"json", "sarif", "csv", "xml", "md"}:
            command = match.group(1)
            fmt = exports.get(f"ECRSCAN_{command}_FORMAT", exports.get("ECRSCAN_FORMAT"))
            wanted = {"xml": "junit", "md": "markdown"}.get(extension, extension)
            assert fmt == wanted, f"{variable}={value} gets {fmt}"
