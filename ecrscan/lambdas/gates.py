"""The gates on what matters in the reporter function (docs/what-matters.md).

``ECRSCAN_FAIL_ON_KEV``, ``ECRSCAN_MIN_EPSS`` and ``ECRSCAN_EXPLOITABLE`` are the
command line's ``--fail-on-kev``, ``--min-epss`` and ``--exploitable``.  With one of
them set, the reporter reads the image's findings (DescribeImageScanFindings, all
pages) and judges them with :func:`ecrscan.core.judge.judge`; without, it judges the
event's counts and reads nothing.

ecrscan downloads nothing: ``ECRSCAN_KEV_FILE`` and ``ECRSCAN_EPSS_FILE`` are paths to
CISA's catalogue and FIRST's CSV in the function (a layer's ``/opt/kev.json``), read
with a bound and parsed once per warm container.  A file that cannot be read or parsed
is a :class:`~ecrscan.lambdas.runtime.ConfigurationError` naming its variable, before
any AWS call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from ecrscan.core.events import ScanEvent
from ecrscan.core.facts import NO_FACTS, Facts
from ecrscan.core.feeds import FeedError, load_epss, load_kev
from ecrscan.core.judge import NO_GATES, Gates, judge, parse_min_epss, unknown_facts
from ecrscan.core.model import ImageReport, ImageStatus
from ecrscan.core.thresholds import Thresholds
from ecrscan.lambdas import runtime
from ecrscan.lambdas.runtime import ConfigurationError

GATE_VARIABLES = ("ECRSCAN_FAIL_ON_KEV", "ECRSCAN_MIN_EPSS", "ECRSCAN_EXPLOITABLE")
FILE_VARIABLES = ("ECRSCAN_KEV_FILE", "ECRSCAN_EPSS_FILE")
T = TypeVar("T")


@dataclass(frozen=True)
class GateSettings:
    """The gates the function's environment sets, and the catalogues it names."""

    gates: Gates = NO_GATES
    facts: Facts = NO_FACTS

    def __bool__(self) -> bool:
        return bool(self.gates)


def gate_settings(env: Mapping[str, str]) -> GateSettings:
    """Read and check the gate variables and the catalogue files (each variable is
    read, a file whenever its variable is set, so a bad value fails before it
    matters)."""
    fail_on_kev = runtime.flag(env.get("ECRSCAN_FAIL_ON_KEV"), "ECRSCAN_FAIL_ON_KEV")
    exploitable = runtime.flag(env.get("ECRSCAN_EXPLOITABLE"), "ECRSCAN_EXPLOITABLE")
    raw = (env.get("ECRSCAN_MIN_EPSS") or "").strip()
    try:
        min_epss = parse_min_epss(raw) if raw else None
    except ValueError as exc:
        raise ConfigurationError(f"ECRSCAN_MIN_EPSS: {exc}") from None
    kev = _catalogue(env, "ECRSCAN_KEV_FILE", load_kev)
    epss = _catalogue(env, "ECRSCAN_EPSS_FILE", load_epss)
    if fail_on_kev and kev is None:
        raise ConfigurationError(
            "ECRSCAN_FAIL_ON_KEV needs CISA's catalogue: set ECRSCAN_KEV_FILE to its path "
            "in the function (a layer's /opt/kev.json; docs/lambda.md)"
        )
    return GateSettings(Gates(fail_on_kev, min_epss, exploitable), Facts(epss, kev))


# Per warm container: variable -> (the path it named, the catalogue parsed from it).
_LOADED: dict[str, tuple[str, Any]] = {}


def _catalogue(
    env: Mapping[str, str], name: str, load: Callable[[Path | None], T | None]
) -> T | None:
    path = (env.get(name) or "").strip()
    if not path:
        return None
    cached = _LOADED.get(name)
    if cached is not None and cached[0] == path:
        return cached[1]  # type: ignore[no-any-return]
    try:
        loaded = load(Path(path))
    except FeedError as exc:
        raise ConfigurationError(f"{name}: {exc}") from None
    _LOADED[name] = (path, loaded)
    return loaded


def judged(
    scan: ScanEvent, report: ImageReport, thresholds: Thresholds, settings: GateSettings
) -> tuple[ImageReport, tuple[str, ...]]:
    """With a gate, ``report`` judged again on the image's findings (read through the
    ECR gateway, with the catalogues' facts) and the notices of facts the findings do
    not give; without one, or for a scan that did not complete, ``report`` as it is.
    A failed read raises (the invocation fails and Lambda retries it): a verdict
    without the gates asked for would be a wrong one."""
    if not settings or report.status not in (ImageStatus.BREACH, ImageStatus.OK):
        return report, ()
    connections = runtime.connections
    target = connections.home(scan.region or None)
    gateway = connections.ecr(target, scan.registry_id or None)
    findings, _ = gateway.findings(report.image)
    if settings.facts:
        findings = settings.facts.findings(findings)
    verdict = judge(thresholds, settings.gates, findings=findings, counts=scan.counts or None)
    rejudged = replace(
        report,
        status=ImageStatus.BREACH if verdict.breached else ImageStatus.OK,
        counts=verdict.counts,
        raw_counts=verdict.raw_counts,
        findings=verdict.findings,
        breaches=verdict.breaches,
        reasons=verdict.reasons,
    )
    return rejudged, unknown_facts(settings.gates, verdict.findings or ())
