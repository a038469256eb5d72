"""``--epss-file`` and ``--kev-file``: the exploit catalogues a user downloads (ecrscan
downloads nothing), read with a bound and parsed while the options are parsed, so a
missing, unreadable, oversized or malformed file is a usage error (exit 2) before any
AWS call.  The reading and parsing are :mod:`ecrscan.core.feeds`'s."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import click

from ecrscan.cli.options import checked, env_option
from ecrscan.core.feeds import KevCatalog, load_epss, load_kev
from ecrscan.core.judge import Gates, parse_min_epss

_FILE = click.Path(dir_okay=False, path_type=Path)

# Reach the command as ``epss_table`` and ``kev_catalog`` (parsed), not as paths.
FACT_OPTIONS = (
    env_option(
        "--epss-file",
        "epss_table",
        env="ECRSCAN_EPSS_FILE",
        type=_FILE,
        metavar="FILE",
        callback=checked(load_epss),
        help="FIRST's EPSS CSV (docs/what-matters.md); reads every finding.",
    ),
    env_option(
        "--kev-file",
        "kev_catalog",
        env="ECRSCAN_KEV_FILE",
        type=_FILE,
        metavar="FILE",
        callback=checked(load_kev),
        help="CISA's KEV catalogue (JSON); reads every finding.",
    ),
)


class _Judged(Protocol):
    @property
    def ignore_unfixed(self) -> bool: ...

    @property
    def kev_catalog(self) -> KevCatalog | None: ...


def gates_of(
    fail_on_kev: bool, min_epss: float | None, exploitable: bool, options: _Judged
) -> Gates:
    """The gates on what matters; ``--fail-on-kev`` without a ``--kev-file`` is a
    usage error (checked before any AWS call)."""
    if fail_on_kev and options.kev_catalog is None:
        raise click.UsageError(
            "--fail-on-kev needs CISA's catalogue: pass --kev-file (or set ECRSCAN_KEV_FILE)"
        )
    return Gates(fail_on_kev, min_epss, exploitable, options.ignore_unfixed)


# The gates on what matters (docs/what-matters.md).
GATE_OPTIONS = (
    env_option(
        "--fail-on-kev",
        env="ECRSCAN_FAIL_ON_KEV",
        is_flag=True,
        help="Any KEV finding breaches.",
    ),
    env_option(
        "--min-epss",
        env="ECRSCAN_MIN_EPSS",
        metavar="X",
        callback=checked(parse_min_epss),
        help="EPSS below X does not count.",
    ),
    env_option(
        "--exploitable",
        env="ECRSCAN_EXPLOITABLE",
        is_flag=True,
        help="Count only exploitable.",
    ),
)
