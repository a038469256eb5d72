"""``ecrscan repos``: the region's repositories, filtered by regular expressions."""

from __future__ import annotations

from pathlib import Path

import click

from ecrscan.cli.app import AppContext, conclude
from ecrscan.cli.group import command_setup, region_option
from ecrscan.cli.helptext import Command
from ecrscan.cli.options import output_options
from ecrscan.cli.output import emit, log_calls
from ecrscan.cli.selection import filter_options
from ecrscan.core.model import RepositoryListing
from ecrscan.core.policy import RepositoryFilter
from ecrscan.core.view import View, exit_code
from ecrscan.engine.registry import list_repositories
from ecrscan.render.formats import render


@click.command(
    cls=Command,
    examples=(
        "ecrscan repos",
        "ecrscan repos --filter '^team-a/' --exclude sandbox",
        "ecrscan repos --region eu-west-1 --format json -o repos.json",
    ),
    docs="docs/commands/repos.md",
)
@filter_options
@region_option
@output_options(RepositoryListing, "repos")
@command_setup
def repos(
    app: AppContext, include: str | None, exclude: tuple[str, ...], fmt: str, output: Path | None
) -> None:
    """List the region's repositories, filtered by regular expressions."""
    if len(app.regions) > 1:
        raise click.UsageError("repos lists one region: give --region once")
    repo_filter = RepositoryFilter.compile(include, exclude)
    gateway = app.gateway()
    repositories = list_repositories(gateway, repo_filter)
    log_calls([gateway])
    listing = RepositoryListing(tuple(repositories), gateway.region)
    emit(output, render(fmt.lower(), listing))
    conclude(exit_code(listing, View()))
