"""JSON documents.  The shapes are documented in the README ("JSON output") and are
stable: fields are only ever added, and ``schema_version`` changes when that promise
is broken."""

from __future__ import annotations

import json as _json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ecrscan.engine import summarize, summary_row
from ecrscan.model import ImageResult, Repository, RescanResult
from ecrscan.render.coverage import (
    scope_document,
    scope_record,
    single_account,
    targets_document,
)

SCHEMA_VERSION = 1


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def dumps(document: dict[str, Any]) -> str:
    return _json.dumps(document, indent=2, sort_keys=False) + "\n"


def repositories_document(repositories: Sequence[Repository], region: str | None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "repos",
        "region": region,
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
    }


def rescan_document(result: RescanResult) -> dict[str, Any]:
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
        "complete": not result.incomplete,
        "notices": list(result.notices),
        "totals": summary["TOTAL"],
        "repositories": [
            {
                "name": repo.repository.name,
                "registry_id": repo.repository.registry_id,
                "counts": summary_row(repo),
                "error": (
                    {"code": repo.error.code, "message": repo.error.message}
                    if repo.error
                    else None
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
        "targets": targets_document(result.coverage),
        "scope": scope_document(result.coverage, result.scopes),
    }
