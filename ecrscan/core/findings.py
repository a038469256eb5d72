"""Findings: pure conversion of ``DescribeImageScanFindings`` pages into :class:`Finding`.

Basic scans put their findings in ``imageScanFindings.findings`` (name, severity, uri,
description and ``attributes`` such as ``package_name``, ``package_version`` and the CVSS
scores); enhanced scans (Amazon Inspector) put theirs in
``imageScanFindings.enhancedFindings`` (finding ARN, severity, score, title,
``fixAvailable``, ``exploitAvailable``, ``remediation`` and
``packageVulnerabilityDetails``, whose first vulnerable package gives the package, its
installed version and ``fixedInVersion``).  Both become the same record.  EPSS and KEV
come from elsewhere (:mod:`ecrscan.core.facts`), except an ``epss.score`` where a
finding carries one (Inspector's ``ListFindings`` shape).

Responses are read defensively: a missing field gives an empty value, an unknown severity
becomes ``UNDEFINED``; nothing here raises ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ecrscan.core.model import Finding
from ecrscan.core.severity import Severity

# Inspector writes this where a package has no fixed version.
_NOT_AVAILABLE = {"notavailable", "not available", "n/a", "none"}


def findings_from_page(page: Mapping[str, Any]) -> list[Finding]:
    """The findings of one ``DescribeImageScanFindings`` response page, basic then
    enhanced, in AWS's order."""
    body = _mapping(page.get("imageScanFindings"))
    basic = [_basic(item) for item in _items(body.get("findings"))]
    enhanced = [_enhanced(item) for item in _items(body.get("enhancedFindings"))]
    return basic + enhanced


def count_findings(findings: Iterable[Finding], include_ignored: bool = False) -> dict[str, int]:
    """Severity name -> number of findings, most severe first; levels without findings
    are left out (as in AWS's ``findingSeverityCounts``).  Ignored findings are not
    counted unless ``include_ignored``."""
    counts = {s.value: 0 for s in Severity}
    for finding in findings:
        if include_ignored or finding.ignored is None:
            counts[finding.severity.value] += 1
    return {name: n for name, n in counts.items() if n}


def parse_severity(value: Any) -> Severity:
    """AWS's severity string as a :class:`Severity`; anything unknown is ``UNDEFINED``."""
    if not isinstance(value, str):
        return Severity.UNDEFINED
    try:
        return Severity.parse(value)
    except ValueError:
        return Severity.UNDEFINED


# -- basic ---------------------------------------------------------------------------


def _basic(item: Mapping[str, Any]) -> Finding:
    attributes = _attributes(item.get("attributes"))
    score = _score(attributes.get("CVSS3_SCORE"))
    if score is None:
        score = _score(attributes.get("CVSS2_SCORE"))
    return Finding(
        id=_text(item.get("name")),
        severity=parse_severity(item.get("severity")),
        package=attributes.get("package_name", ""),
        version=attributes.get("package_version", ""),
        score=score,
        url=_text(item.get("uri")),
        description=_text(item.get("description")),
    )


def _attributes(value: Any) -> dict[str, str]:
    result: dict[str, str] = {}
    for attribute in _items(value):
        key = attribute.get("key")
        if isinstance(key, str) and key not in result:
            result[key] = _text(attribute.get("value"))
    return result


# -- enhanced ------------------------------------------------------------------------


def _enhanced(item: Mapping[str, Any]) -> Finding:
    details = _mapping(item.get("packageVulnerabilityDetails"))
    packages = _items(details.get("vulnerablePackages"))
    package = packages[0] if packages else {}
    arn = _text(item.get("findingArn"))
    title = _text(item.get("title"))
    fixed_in = _fixed_in(package.get("fixedInVersion"))
    epss = _score(_mapping(item.get("epss")).get("score"))  # Inspector's ListFindings shape
    return Finding(
        id=_text(details.get("vulnerabilityId")) or title or arn,
        severity=parse_severity(item.get("severity")),
        package=_text(package.get("name")),
        version=_full_version(package),
        fixed_in=fixed_in,
        score=_enhanced_score(item, details),
        fix_available=_text(item.get("fixAvailable")).upper() or ("YES" if fixed_in else ""),
        title=title,
        url=_text(details.get("sourceUrl")),
        description=_text(item.get("description")),
        arn=arn,
        exploit_available=_text(item.get("exploitAvailable")).upper(),
        epss=epss if epss is not None and 0.0 <= epss <= 1.0 else None,
        remediation=_remediation(item, package),
    )


def _remediation(item: Mapping[str, Any], package: Mapping[str, Any]) -> str:
    """The package's ``remediation`` (Inspector's command, e.g. ``pip install ...``),
    else the finding's ``remediation.recommendation.text``; "None Provided" is none."""
    text = _text(package.get("remediation"))
    if not text:
        text = _text(_mapping(_mapping(item.get("remediation")).get("recommendation")).get("text"))
    return "" if text.lower() in _NOT_AVAILABLE | {"none provided"} else text


def _full_version(package: Mapping[str, Any]) -> str:
    """``version``, with ``-release`` and ``epoch:`` as the package managers write them
    (Inspector splits them; its ``fixedInVersion`` keeps them together)."""
    version = _text(package.get("version"))
    if not version:
        return ""
    release = _text(package.get("release"))
    if release:
        version = f"{version}-{release}"
    epoch = package.get("epoch")
    if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch != 0:
        version = f"{epoch}:{version}"
    return version


def _fixed_in(value: Any) -> str:
    text = _text(value)
    return "" if text.lower() in _NOT_AVAILABLE else text


def _enhanced_score(item: Mapping[str, Any], details: Mapping[str, Any]) -> float | None:
    """Inspector's ``score``; else ``scoreDetails.cvss.score``; else the base score of the
    newest CVSS version in the vulnerability details."""
    score = _score(item.get("score"))
    if score is not None:
        return score
    score = _score(_mapping(_mapping(item.get("scoreDetails")).get("cvss")).get("score"))
    if score is not None:
        return score
    best: tuple[float, float] | None = None
    for cvss in _items(details.get("cvss")):
        base = _score(cvss.get("baseScore"))
        if base is None:
            continue
        version = _score(cvss.get("version")) or 0.0
        if best is None or version > best[0]:
            best = (version, base)
    return best[1] if best else None


# -- tolerant readers ----------------------------------------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def _score(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    return score if score == score else None  # NaN is no score
