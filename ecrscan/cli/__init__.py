"""The command line: thin adapters over the engine, one module per command."""

from ecrscan.cli.main import cli, main

__all__ = ["cli", "main"]
