"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

One rule per vulnerability id; one result per finding and image, located at the image's
pull reference (an ``artifactLocation`` URI) and a logical location naming the image.
Levels: CRITICAL and HIGH are ``error``, MEDIUM ``warning``, the rest ``note``.  Rules
carry GitHub's ``security-severity`` (the highest score seen, or a value standing for
the severity when no score is known).  Ignored findings are results with an external,
accepted suppression whose justification is the ignore-file reason.  Images that could
not be assessed appear as tool execution notifications.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from ecrscan import __version__
from ecrscan.core.model import Finding, ImageReport, ImageStatus, ReportResult
from ecrscan.core.severity import Severity
from ecrscan.core.view import DEFAULT_VIEW, View, complete
from ecrscan.render.common import (
    image_label,
    image_uri,
    incomplete_reason,
    listed_findings,
    listed_images,
    unlisted_count,
    verdict_text,
)

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFORMATIONAL: "note",
    Severity.UNDEFINED: "note",
    Severity.UNTRIAGED: "note",
}

# GitHub maps security-severity to critical >= 9.0, high >= 7.0, medium >= 4.0, low > 0.
# Used when no finding of a rule has a score.
FALLBACK_SECURITY_SEVERITY = {
    Severity.CRITICAL: 9.0,
    Severity.HIGH: 7.0,
    Severity.MEDIUM: 4.0,
    Severity.LOW: 1.0,
}

NOTIFICATION_LEVEL = {
    ImageStatus.NO_SCAN: "warning",
    ImageStatus.PENDING: "warning",
    ImageStatus.SCAN_FAILED: "error",
    ImageStatus.ERROR: "error",
    ImageStatus.NOT_SCANNABLE: "note",
    ImageStatus.NOT_AN_IMAGE: "error",
}


def report_sarif(result: ReportResult, view: View = DEFAULT_VIEW) -> str:
    return json.dumps(sarif_document(result, view), indent=2) + "\n"


def sarif_document(result: ReportResult, view: View) -> dict[str, Any]:
    pairs = [
        (report, finding)
        for report in listed_images(result, view)
        for finding in listed_findings(view, report)
    ]
    rules, index = _rules(finding for _, finding in pairs)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ecrscan",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "invocations": [_invocation(result, view)],
                "results": [
                    _result(report, finding, index[finding.id], result.region)
                    for report, finding in pairs
                ],
                "properties": {
                    "region": result.region,
                    # --only-breaches: images within thresholds, not listed here
                    **({"unlisted": unlisted_count(result, view)} if view.only_breaches else {}),
                },
            }
        ],
    }


def security_severity(findings: Iterable[Finding]) -> float | None:
    findings = list(findings)
    scores = [f.score for f in findings if f.score is not None]
    if scores:
        return max(scores)
    worst = max((f.severity for f in findings), key=lambda s: s.rank)
    return FALLBACK_SECURITY_SEVERITY.get(worst)


def _rules(findings: Iterable[Finding]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    by_id: dict[str, list[Finding]] = {}
    for finding in findings:
        by_id.setdefault(finding.id, []).append(finding)
    rules = []
    index = {}
    for position, rule_id in enumerate(sorted(by_id)):
        index[rule_id] = position
        rules.append(_rule(rule_id, by_id[rule_id]))
    return rules, index


def _rule(rule_id: str, findings: list[Finding]) -> dict[str, Any]:
    worst = max(findings, key=lambda f: f.severity.rank)
    title = next((f.title for f in findings if f.title), "")
    description = next((f.description for f in findings if f.description), "")
    url = next((f.url for f in findings if _is_web(f.url)), "")
    packages = sorted({f.package for f in findings if f.package})
    rule: dict[str, Any] = {
        "id": rule_id,
        "shortDescription": {"text": title or f"{rule_id} ({worst.severity.value})"},
        "fullDescription": {"text": description or title or rule_id},
        "defaultConfiguration": {"level": LEVEL[worst.severity]},
        "help": {
            "text": _help_text(rule_id, worst, packages, url),
            "markdown": _help_markdown(rule_id, worst, packages, url),
        },
        "properties": {
            "tags": ["security", "vulnerability", "container", worst.severity.value.lower()],
            "precision": "very-high",
        },
    }
    if url:
        rule["helpUri"] = url
    score = security_severity(findings)
    if score is not None:
        rule["properties"]["security-severity"] = f"{score:.1f}"
    return rule


def _help_text(rule_id: str, finding: Finding, packages: list[str], url: str) -> str:
    lines = [f"{rule_id}: severity {finding.severity.value}."]
    if packages:
        lines.append(f"Package(s): {', '.join(packages)}.")
    if url:
        lines.append(f"More: {url}")
    return " ".join(lines)


def _help_markdown(rule_id: str, finding: Finding, packages: list[str], url: str) -> str:
    name = f"[{rule_id}]({url})" if url else f"**{rule_id}**"
    text = f"{name}: severity **{finding.severity.value}**."
    if packages:
        text += " Package(s): " + ", ".join(f"`{p}`" for p in packages) + "."
    return text


def _result(
    report: ImageReport, finding: Finding, rule_index: int, region: str | None
) -> dict[str, Any]:
    label = image_label(report)
    uri = image_uri(report, region)
    result: dict[str, Any] = {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": LEVEL[finding.severity],
        "message": {"text": _message(finding, label)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": 1},
                },
                "logicalLocations": [
                    {
                        "name": label,
                        "fullyQualifiedName": f"{report.image.repository}@{report.image.digest}",
                        "kind": "resource",
                    }
                ],
            }
        ],
        "partialFingerprints": {"ecrscanFinding/v1": _fingerprint(report, finding)},
        "properties": {
            "severity": finding.severity.value,
            "repository": report.image.repository,
            "digest": report.image.digest,
            "tags": list(report.image.tags),
            "package": finding.package,
            "version": finding.version,
            "fixedIn": finding.fixed_in,
            "score": finding.score,
        },
    }
    if finding.ignored is not None:
        result["suppressions"] = [
            {"kind": "external", "status": "accepted", "justification": finding.ignored}
        ]
    return result


def _message(finding: Finding, label: str) -> str:
    score = f", score {finding.score:g}" if finding.score is not None else ""
    text = f"{finding.id} ({finding.severity.value}{score})"
    if finding.package:
        text += f" in {finding.package} {finding.version}".rstrip()
    text += f" in image {label}"
    if finding.fixed_in:
        text += f"; fixed in {finding.fixed_in}"
    if finding.title and finding.title != finding.id:
        text += f": {finding.title}"
    return text


def _fingerprint(report: ImageReport, finding: Finding) -> str:
    key = "\0".join(
        (report.image.repository, report.image.digest, finding.id, finding.package, finding.version)
    )
    return hashlib.sha256(key.encode()).hexdigest()


def _invocation(result: ReportResult, view: View) -> dict[str, Any]:
    notifications = []
    for report in result.images:
        level = NOTIFICATION_LEVEL.get(report.status)
        if level is None:
            continue
        notifications.append(
            {
                "level": level,
                "message": {"text": f"{image_label(report)}: {verdict_text(report)}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": image_uri(report, result.region)}
                        }
                    }
                ],
            }
        )
    for repository, problem in result.repository_errors:
        notifications.append(
            {"level": "error", "message": {"text": f"repository {repository}: {problem}"}}
        )
    reason = incomplete_reason(result, view)
    if reason is not None and (result.nothing_reported or result.interrupted):
        notifications.append({"level": "error", "message": {"text": reason}})
    generated = result.generated_at
    if generated.tzinfo is not None:
        generated = generated.astimezone(UTC)
    invocation: dict[str, Any] = {
        "executionSuccessful": complete(result, view),
        "endTimeUtc": generated.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _is_web(url: str) -> bool:
    return url.startswith(("https://", "http://")) and " " not in url
