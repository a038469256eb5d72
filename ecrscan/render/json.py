"""JSON documents of every command.  The shapes are documented in docs/json-output.md
and are stable: fields are only ever added, and ``schema_version`` changes when that
promise is broken.

Shape of the ``report`` document (``schema_version`` 1)::

    {
      "schema_version": 1, "command": "report" | "scan",
      "generated_at": ISO-8601, "region": str | null,
      "complete": bool, "exit_code": 0 | 1 | 3, "details": bool,
      "publish_error": {"code", "message"} | null,          # --publish refused
      "thresholds": {SEVERITY: int | null, ...},          # null = off
      "totals": {"images", "ok", "breach", "no_scan", "pending", "scan_failed", "error",
                 "counts": {SEVERITY: int}, "raw_counts": {SEVERITY: int}, "ignored": int},
      "notices": [str],
      "repository_errors": [{"repository", "code", "message"}],
      "account": str | null,                               # when one account
      "targets": [{"account", "region", "role_arn", "complete",
                   "errors": [{"stage", "code", "message"}],
                   "totals": {"images", "ok", "breach", "not_assessed"}}] | null,  # null: --image
      "scope": {"in_use", "pulled_within", "task_definitions", "listed", "excluded",
                "not_in_use", "never_pulled", "not_pulled_recently", "skipped",
                "out_of_scope", "unmatched", "unreadable_task_definitions",
                "repositories"} | null,
      "images": [{
        "repository", "registry_id", "region", "reference", "uri", "digest", "tags",
        "pushed_at", "last_scan_at", "scan_status", "scan_status_description",
        "status", "verdict", "counts", "raw_counts",
        "breaches": [{"severity", "count", "threshold"}],
        "reasons": [str],   # why it breaches: "HIGH 3 > 0", "KEV: CVE-…, due …"
        "error": {"code", "message"} | null,
        "findings": [{"id", "severity", "package", "version", "fixed_in", "score",
                      "fix_available", "title", "description", "url", "arn",
                      "ignored", "installed_version", "fixed_version",
                      "exploit_available", "epss", "epss_percentile",
                      "kev": {"date_added", "due_date", "ransomware"} | null,
                      "remediation"}] | null,     # null: findings were not read
        "account", "platform", "index_digest"   # "" unless one platform of an index
      }],
      "artifacts": {KIND: int},    # not images: "signature", "sbom", "helm-chart" ...
      "reason": str | null, "listing": {...}
    }
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ecrscan.core.artifacts import Kind
from ecrscan.core.feeds import KevEntry
from ecrscan.core.manifests import artifact_counts
from ecrscan.core.model import (
    Finding,
    ImageReport,
    ImageResult,
    ImageStatus,
    QueuedJobs,
    ReportResult,
    RepositoryListing,
    RescanResult,
)
from ecrscan.core.summary import summarize, summary_row
from ecrscan.core.view import DEFAULT_VIEW, View, complete, exit_code
from ecrscan.render.common import (
    ignored_count,
    image_uri,
    incomplete_reason,
    listed_findings,
    listed_images,
    severity_counts,
    status_totals,
    total_counts,
    unlisted_count,
    verdict_reasons,
    verdict_text,
)
from ecrscan.render.coverage import (
    scope_document,
    scope_record,
    single_account,
    targets_document,
)
from ecrscan.render.notices import all_notices
from ecrscan.render.targets import report_totals, rescan_totals

SCHEMA_VERSION = 1


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def dumps(document: dict[str, Any]) -> str:
    return _json.dumps(document, indent=2, sort_keys=False) + "\n"


def repositories_document(listing: RepositoryListing, view: View) -> dict[str, Any]:
    repositories = listing.repositories
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "repos",
        "region": listing.region,
        "count": len(repositories),
        "repositories": [
            {
                "name": r.name,
                "registry_id": r.registry_id,
                "arn": r.arn,
                "uri": r.uri,
                "created_at": iso(r.created_at),
                "scan_on_push": r.scan_on_push,
            }
            for r in repositories
        ],
        "exit_code": exit_code(listing, view),
    }


def image_record(result: ImageResult, region: str | None = None) -> dict[str, Any]:
    image, state = result.image, result.state
    return {
        "repository": image.repository,
        "registry_id": image.registry_id,
        "digest": image.digest,
        "tags": list(image.tags),
        "pushed_at": iso(image.pushed_at),
        "last_scan_at": iso(state.completed_at) if state else None,
        "status": (state.status or "NEVER_SCANNED") if state else None,
        "decision": result.verdict.decision.value,
        "reason": result.verdict.reason,
        "outcome": result.outcome.value if result.outcome else None,
        "detail": result.detail or None,
        "account": image.registry_id or None,
        "region": region,
        "platform": image.platform,
        "index_digest": image.index_digest,
    }


def rescan_document(result: RescanResult, view: View) -> dict[str, Any]:
    summary = summarize(result)
    scopes = {(s.registry_id, s.region, s.repository): s for s in result.scopes}
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "rescan",
        "generated_at": iso(result.started_at),
        "region": result.region,
        "expiry": result.expiry,
        "dry_run": result.dry_run,
        "scan_type": result.scan_type.value,
        "complete": complete(result, view),
        "exit_code": exit_code(result, view),
        "notices": list(all_notices(result)),
        "totals": summary["TOTAL"],
        "repositories": [
            {
                "name": repo.repository.name,
                "registry_id": repo.repository.registry_id,
                "counts": summary_row(repo),
                "error": (
                    {"code": repo.error.code, "message": repo.error.message} if repo.error else None
                ),
                "account": repo.repository.registry_id or None,
                "region": repo.region or result.region,
                "scope": scope_record(
                    scopes.get((repo.repository.registry_id, repo.region, repo.repository.name))
                ),
            }
            for repo in result.repositories
        ],
        "images": [
            image_record(r, repo.region or result.region)
            for repo in result.repositories
            for r in repo.images
        ],
        "account": single_account(result.coverage),
        "targets": targets_document(result.coverage, rescan_totals(result)),
        "scope": scope_document(result.coverage, result.scopes),
        "artifacts": artifacts_document(result.artifacts),
        "reason": incomplete_reason(result, view),  # why "complete" is false; null when true
        "cache": (  # the scan-date cache (issue 21): appended after "reason"
            {"reads_saved": result.cache.reads_saved, "path": result.cache.location}
            if result.cache is not None
            else None
        ),
    }


# -- report --------------------------------------------------------------------------


def report_document(result: ReportResult, view: View) -> dict[str, Any]:
    totals: dict[str, Any] = status_totals(result)
    totals["counts"] = total_counts(result)
    totals["raw_counts"] = total_counts(result, raw=True)
    totals["ignored"] = sum(ignored_count(r) for r in result.images)
    return {
        "schema_version": SCHEMA_VERSION,
        "command": view.command,
        "generated_at": iso(result.generated_at),
        "region": result.region,
        "complete": complete(result, view),
        "exit_code": exit_code(result, view),
        "details": result.details,
        "publish_error": (
            {"code": result.publish_error.code, "message": result.publish_error.message}
            if result.publish_error is not None
            else None
        ),
        "thresholds": result.thresholds.describe(),
        "totals": totals,
        "notices": list(all_notices(result)),
        "repository_errors": [
            {"repository": name, "code": problem.code, "message": problem.message}
            for name, problem in result.repository_errors
        ],
        "images": [
            report_image_record(report, result, view) for report in listed_images(result, view)
        ],
        "account": single_account(result.coverage),
        "targets": targets_document(result.coverage, report_totals(result)),
        "scope": scope_document(result.coverage, result.scopes, per_repository=True),
        "artifacts": artifacts_document(result.artifacts),
        "reason": incomplete_reason(result, view),  # why "complete" is false; null when true
        "listing": {  # what "images" and their "findings" list; totals cover every image
            "only_breaches": view.only_breaches,
            "min_severity": view.min_severity.value if view.min_severity else None,
            "unlisted_images": unlisted_count(result, view),
        },
    }


def report_image_record(report: ImageReport, result: ReportResult, view: View) -> dict[str, Any]:
    image, state = report.image, report.state
    default_region = result.region
    return {
        "repository": image.repository,
        "registry_id": image.registry_id,
        "region": report.region or default_region,
        "reference": report.reference or None,
        "uri": image_uri(report, default_region),
        "digest": image.digest,
        "tags": list(image.tags),
        "pushed_at": iso(image.pushed_at),
        "last_scan_at": iso(state.completed_at) if state else None,
        "scan_status": (state.status or "NEVER_SCANNED") if state else None,
        "scan_status_description": (state.description or None) if state else None,
        "status": report.status.value,
        "verdict": verdict_text(report),
        "counts": severity_counts(report.counts),
        "raw_counts": severity_counts(report.raw_counts),
        "breaches": [
            {"severity": b.severity.value, "count": b.count, "threshold": b.threshold}
            for b in report.breaches
        ],
        "reasons": list(verdict_reasons(report)) if report.status is ImageStatus.BREACH else [],
        "error": (
            {"code": report.error.code, "message": report.error.message} if report.error else None
        ),
        "findings": (
            [finding_record(f) for f in listed_findings(view, report)]
            if report.findings is not None
            else None
        ),
        "account": report.account or image.registry_id or None,
        "platform": image.platform,
        "index_digest": image.index_digest,
    }


def artifacts_document(counts: Mapping[Kind, int]) -> dict[str, int]:
    """The manifests counted apart (not images), by kind; zero counts left out."""
    return {kind.value: n for kind, n in artifact_counts(counts)}


def finding_record(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "severity": finding.severity.value,
        "package": finding.package or None,
        "version": finding.version or None,
        "fixed_in": finding.fixed_in or None,
        "score": finding.score,
        "fix_available": finding.fix_available or None,
        "title": finding.title or None,
        "description": finding.description or None,
        "url": finding.url or None,
        "arn": finding.arn or None,
        "ignored": finding.ignored,
        # the facts of what matters (docs/json-output.md#finding-facts)
        "installed_version": finding.version or None,
        "fixed_version": finding.fixed_in or None,
        "exploit_available": finding.exploit_available or None,
        "epss": finding.epss,
        "epss_percentile": finding.epss_percentile,
        "kev": kev_record(finding.kev),
        "remediation": finding.remediation or None,
    }


def kev_record(entry: KevEntry | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "date_added": entry.date_added.isoformat(),
        "due_date": entry.due_date.isoformat(),
        "ransomware": entry.ransomware,
    }


def report_json(result: ReportResult, view: View = DEFAULT_VIEW) -> str:
    return dumps(report_document(result, view))


def rescan_json(result: RescanResult, view: View = DEFAULT_VIEW) -> str:
    return dumps(rescan_document(result, view))


def repositories_json(listing: RepositoryListing, view: View = DEFAULT_VIEW) -> str:
    return dumps(repositories_document(listing, view))


def queued_json(queued: QueuedJobs, view: View = DEFAULT_VIEW) -> str:
    """``rescan --via-queue``: what was sent where."""
    return dumps(
        {
            "schema_version": SCHEMA_VERSION,
            "command": "rescan",
            "via_queue": queued.queue_url,
            "region": queued.region,
            "expiry": queued.expiry,
            "repositories": queued.repositories,
            "queued": queued.sent,
            "retried": queued.retried,
            "failed": [
                {"repository": repository, "code": code, "message": message}
                for repository, code, message in queued.failed
            ],
            "failed_targets": [
                {"target": target, "code": code, "message": message}
                for target, code, message in queued.failed_targets
            ],
            "exit_code": exit_code(queued, view),
        }
    )
