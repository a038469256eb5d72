"""``ecrscan repos``: the region's repositories, filtered by regular expressions."""

from __future__ import annotations

from pathlib import Path

import click

from ecrscan.cli.app import AppContext, aws_errors
from ecrscan.cli.options import filter_options, output_options
from ecrscan.cli.output import emit, log_calls
from ecrscan.core.model import RepositoryListing
from ecrscan.core.policy import RepositoryFilter
from ecrscan.engine.registry import list_repositories
from ecrscan.render.formats import formats_for, render


@click.command()
@filter_options
@output_options(
    formats_for(RepositoryListing),
    format_help="Output format: a table for people, JSON (documented schema) for machines.",
)
@click.pass_obj
@aws_errors
def repos(
    app: AppContext, include: str | None, exclude: tuple[str, ...], fmt: str, output: Path | None
) -> None:
    """List the region's repositories (every page), filtered by regular expressions.

    IAM: ecr:DescribeRepositories.
    """
    if len(app.regions) > 1:
        raise click.UsageError("repos lists one region: give --region once")
    repo_filter = RepositoryFilter.compile(include, exclude)
    gateway = app.gateway()
    repositories = list_repositories(gateway, repo_filter)
    log_calls([gateway])
    emit(output, render(fmt.lower(), RepositoryListing(tuple(repositories), gateway.region)))
