"""``--help`` of the group and of every command: at most 90 lines within 80 columns at
any terminal width (and without a terminal), wrapped between words only, naming every
option's environment variable and default, three examples and the docs page; ``ecrscan``
alone prints the short help on stdout and exits 0 (as pip does)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ecrscan.aws import permissions
from ecrscan.cli import cli
from ecrscan.cli.helptext import wrap

COMMANDS = ("repos", "rescan", "report", "scan", "fixes")
ACTION = re.compile(r"\b[a-z0-9-]+:[A-Z][A-Za-z]+\b")
# A line ending in a hyphen after a letter or digit: a word or value cut in two.
CUT_AT_HYPHEN = re.compile(r"[A-Za-z0-9]-$")
# COLUMNS as a terminal would set it; None: unset (no terminal, as in CI).
WIDTHS = ("80", "40", "200", None)


def help_of(args: list[str], columns: str | None = "80") -> Any:
    result = CliRunner().invoke(cli, [*args, "--help"], env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    return result


def command(name: str) -> click.Command:
    found = cli.commands[name] if name else cli
    assert isinstance(found, click.Command)
    return found


def names(envvar: str | Sequence[str] | None) -> list[str]:
    return [envvar] if isinstance(envvar, str) else list(envvar or ())


def records(name: str) -> list[tuple[click.Parameter, str, Any]]:
    """Each option shown in ``name``'s help with its help text (on one line) and its
    default."""
    cmd = command(name)
    ctx = click.Context(cmd, info_name=name or "ecrscan")
    shown = []
    for param in cmd.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None:
            default = param.get_default(ctx, call=False)
            shown.append((param, " ".join(record[1].split()), default))
    return shown


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_help_fits_90_lines_of_80_columns(name: str, columns: str | None) -> None:
    lines = help_of([name] if name else [], columns).output.splitlines()
    assert len(lines) <= 90, f"{name or 'ecrscan'} --help: {len(lines)} lines"
    wide = [line for line in lines if len(line) > 80]
    assert wide == [], f"{name or 'ecrscan'} --help at COLUMNS={columns}: lines over 80"
    cut = [line for line in lines if CUT_AT_HYPHEN.search(line)]
    assert cut == [], f"{name or 'ecrscan'} --help cuts a word at a hyphen"


def test_the_wrap_never_cuts_at_a_hyphen_or_inside_a_note() -> None:
    text = "Audit eu-west-1 and ap-southeast-2 with --max-concurrency now  [default: 64; x]"
    for width in range(12, 60):
        lines = wrap(text, width).splitlines()
        words = " ".join(lines).split()
        assert words == text.split()  # nothing cut, nothing lost
        assert not any(CUT_AT_HYPHEN.search(line) for line in lines)
        assert any("[default: 64; x]" in line for line in lines)


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_help_names_every_environment_variable_and_default(name: str) -> None:
    shown = records(name)
    assert shown
    text = " ".join(help_of([name] if name else []).output.split())
    for param, help_text, default in shown:
        for envvar in names(param.envvar):
            assert envvar in help_text, f"{name} {param.opts}: {envvar} not in its help"
            assert envvar in text
        if isinstance(default, str | int | float) and not isinstance(default, bool) and default:
            assert str(default) in help_text, f"{name} {param.opts}: default not named"
    # An option without a variable of its own is a global option given after the
    # command (the group reads the variables): its help names the group's.
    group = {tuple(p.opts): names(p.envvar) for p in cli.params}
    for param, help_text, _ in shown:
        if param.envvar or param.name in ("help", "version"):
            continue
        assert tuple(param.opts) in group, f"{name} {param.opts}: no environment variable"
        assert all(envvar in help_text for envvar in group[tuple(param.opts)])


def test_the_check_reads_envvars_and_defaults_from_the_help() -> None:
    shown = {tuple(p.opts): text for p, text, _ in records("report")}
    assert "Env: ECRSCAN_STATE_TTL, else NOTIFY_STATE_TTL." in shown[("--state-ttl",)]
    assert "[default: 30d]" in shown[("--state-ttl",)]
    assert "table (default)" in shown[("--format",)]


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_three_examples_and_points_to_the_docs(name: str) -> None:
    output = help_of([name]).output
    examples = output.split("\nExamples:\n")[1].split("\n\n")[0].splitlines()
    assert len(examples) == 3
    assert all(line.startswith(f"  ecrscan {name}") for line in examples)
    text = " ".join(output.split())
    assert f"docs/commands/{name}.md" in text
    assert "docs/iam.md" in text and "docs/exit-codes.md" in text
    assert "ecrscan --help" in text  # where the global options are


@pytest.mark.parametrize("name", COMMANDS)
def test_iam_lives_in_the_docs_not_in_the_help(name: str) -> None:
    """The help names no IAM action (docs/iam.md lists them, checked against
    ecrscan.aws.permissions by tests/docs/test_iam_page.py)."""
    assert permissions.command_actions(name)
    assert ACTION.findall(help_of([name]).output) == []


def test_the_command_list_says_each_first_sentence_in_full() -> None:
    output = help_of([]).output
    listing = " ".join(output.split("\nCommands:\n")[1].split())
    for name in COMMANDS:
        sentence = command(name).get_short_help_str(limit=1000)
        assert f"{name} {sentence}" in listing
    assert "..." not in listing


def test_global_options_after_the_command_stay_out_of_its_help() -> None:
    """They are the group's, listed once in ``ecrscan --help``; repos and scan show
    --region, which they read after the command too."""
    assert "--profile" in help_of([]).output
    for name in COMMANDS:
        assert "--profile" not in help_of([name]).output
    assert "--region REGION" in help_of(["repos"]).output


def test_region_help_does_not_speak_of_other_commands() -> None:
    text = " ".join(help_of(["repos"]).output.split())
    assert "The AWS region. Env: AWS_REGION, AWS_DEFAULT_REGION." in text
    assert "rescan and report" not in text


def test_no_arguments_prints_the_short_help_and_exits_0() -> None:
    result = CliRunner().invoke(cli, [], prog_name="ecrscan")
    assert result.exit_code == 0
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "Usage: ecrscan [OPTIONS] COMMAND [ARGS]..."
    assert all(f"  {name} " in result.stdout for name in COMMANDS)
    assert "'ecrscan --help'" in result.stdout
    assert "Options:" not in result.stdout
    assert len(lines) < len(help_of([]).output.splitlines())


def test_a_flag_variable_error_says_what_is_accepted() -> None:
    result = CliRunner().invoke(cli, ["report"], env={"ECRSCAN_LATEST": "maybe"})
    assert result.exit_code == 2
    assert "'maybe' is not on or off: use 1, true, yes, on or 0, false, no, off" in result.stderr
    assert "Recognized values" not in result.stderr
    quiet = CliRunner().invoke(cli, ["repos"], env={"ECRSCAN_QUIET": "loud"})
    assert quiet.exit_code == 2
    assert "'loud' is not on or off" in quiet.stderr


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_a_flag_variable_still_accepts_its_words(value: str) -> None:
    ctx = command("report").make_context("report", [], obj=None)
    assert ctx is not None
    flag = next(p for p in command("report").params if p.name == "latest")
    assert flag.type.convert(value, flag, ctx) is True


@pytest.mark.parametrize(
    ("option", "variable", "value", "expected"),
    [
        ("regions", "ECRSCAN_REGIONS", "eu-west-1,us-east-1 ap-south-1", 3),
        ("ous", "ECRSCAN_OUS", "ou-ab12-cdefgh12, r-ab12", 2),
    ],
)
def test_list_variables_take_commas_or_spaces_as_their_help_says(
    option: str, variable: str, value: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    ctx = command("rescan").make_context("rescan", [])
    assert len(ctx.params[option]) == expected
    (help_text,) = [text for p, text, _ in records("rescan") if p.name == option]
    assert f"Env: {variable} (commas or spaces)." in help_text


@pytest.mark.parametrize("name", ["report", "scan"])
def test_help_says_which_options_list_findings_as_details_does(name: str) -> None:
    helps = {p.name: text for p, text, _ in records(name)}
    for option in ("ignore_file", "ignore_unfixed"):
        assert "lists" in helps[option] and "--details" in helps[option]
