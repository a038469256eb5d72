"""``--epss-file`` and ``--kev-file``: the exploit catalogues a user downloads (ecrscan
downloads nothing), read with a bound and parsed while the options are parsed, so a
missing, unreadable, oversized or malformed file is a usage error (exit 2) before any
AWS call.  The parsing is :mod:`ecrscan.core.feeds`."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import click

from ecrscan.cli.options import checked, env_option
from ecrscan.core.feeds import (
    EPSS_MAX_BYTES,
    KEV_MAX_BYTES,
    EpssTable,
    FeedError,
    KevCatalog,
    decode_feed,
    parse_epss,
    parse_kev,
)
from ecrscan.core.judge import Gates

T = TypeVar("T")


def read_bounded(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path`` (a larger file is refused, before reading
    it when its size is known); :class:`FeedError` when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise FeedError(f"larger than {limit} bytes ({info.st_size} bytes)")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise FeedError(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise FeedError(f"larger than {limit} bytes")
    return data


def _loader(label: str, limit: int, parse: Callable[[str], T]) -> Callable[[Path | None], T | None]:
    def load(path: Path | None) -> T | None:
        if path is None:
            return None
        try:
            return parse(decode_feed(read_bounded(path, limit), limit))
        except FeedError as exc:
            raise FeedError(f"{label} {path}: {exc}") from None

    return load


load_epss: Callable[[Path | None], EpssTable | None] = _loader(
    "EPSS file", EPSS_MAX_BYTES, parse_epss
)
load_kev: Callable[[Path | None], KevCatalog | None] = _loader("KEV file", KEV_MAX_BYTES, parse_kev)

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


def parse_min_epss(text: str | None) -> float | None:
    """``--min-epss``: a probability, 0 to 1 (``None``: not given)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:  # NaN too
        raise ValueError(f"{text!r} is not a number from 0 to 1")
    return value


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
