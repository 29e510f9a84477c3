"""The ``status`` of an AppConfig key, derived from what the sync recorded per target: the
API's read-only ``status`` and the ops commands' sync lines.

Phase: Failed when a target failed for good on the current version; Retrying when a target's
last attempt at the current version failed (also a re-drive of the version it holds; the
workflow retries it without end); Deleting for a tombstone; Synced when every configured
target holds the current version; Syncing when a target has reported for the key but not yet
at this version; Pending before any report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from persistence.tables import AppConfigRow, SyncStatusRow
from workflows.contracts import (
    PHASE_DELETING,
    PHASE_FAILED,
    PHASE_PENDING,
    PHASE_RETRYING,
    PHASE_SYNCED,
    PHASE_SYNCING,
    TARGET_GIT,
    TARGET_KUBERNETES,
    workflow_id_for,
)


def workflow_url(ui_url: str, temporal_namespace: str, workflow_id: str) -> str:
    base = ui_url.rstrip("/")
    return f"{base}/namespaces/{temporal_namespace}/workflows/{quote(workflow_id, safe='')}"


def _target_detail(status: SyncStatusRow) -> dict[str, Any]:
    detail_key = {TARGET_KUBERNETES: "resourceVersion", TARGET_GIT: "commit"}.get(
        status.target, "detail"
    )
    return {
        "appliedVersion": status.applied_version,
        detail_key: status.detail,
        "lastError": status.last_error,
        "attempts": status.attempts,
        "failedVersion": status.failed_version,
    }


def phase_of(row: AppConfigRow, reports: Sequence[SyncStatusRow], targets: Sequence[str]) -> str:
    by_target = {r.target: r for r in reports}
    if any(r.failed_version >= row.seq for r in reports):
        return PHASE_FAILED
    if any(r.last_error and r.error_version >= row.seq for r in reports):
        return PHASE_RETRYING  # the current version's last attempt failed; it is retried
    if row.deleted:
        return PHASE_DELETING
    if targets and all(t in by_target and by_target[t].applied_version >= row.seq for t in targets):
        return PHASE_SYNCED
    return PHASE_SYNCING if reports else PHASE_PENDING


def derive_status(
    row: AppConfigRow,
    reports: Sequence[SyncStatusRow],
    *,
    targets: Sequence[str],
    ui_url: str,
    temporal_namespace: str,
) -> dict[str, Any]:
    by_target = {r.target: r for r in reports}
    applied = [by_target[t].applied_version if t in by_target else 0 for t in targets]
    errors = [r.last_error for r in reports if r.last_error]
    workflow_id = workflow_id_for(f"{row.namespace}/{row.name}")
    return {
        "phase": phase_of(row, reports, targets),
        "desiredVersion": row.seq,
        "appliedVersion": min(applied) if applied else 0,
        "targets": {r.target: _target_detail(r) for r in reports},
        "lastError": errors[0] if errors else "",
        "attempts": max((r.attempts for r in reports), default=0),
        "workflowId": workflow_id,
        "workflowUrl": workflow_url(ui_url, temporal_namespace, workflow_id),
    }
