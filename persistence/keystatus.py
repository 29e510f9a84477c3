"""The ``status`` of an AppConfig key, derived from what the sync recorded per target: the
API's read-only ``status`` and the ops commands' sync lines.

Phase: Failed when a target failed for good on the current version; Retrying when a target's
last attempt at the current version failed (also a re-drive of the version it holds; the
workflow retries it without end); Deleting for a tombstone; Synced when every configured
target holds the current version; Syncing when a target has reported for the key but not yet
at this version; Pending before any report.

Routing (``vocabulary.routing``) decides which targets count: a row's status shows and weighs
the targets it routes to, each under its name (one that has not reported yet with version 0),
and the reports that are not a configured target's (the relay's, the workflow's ``routing``
and ``status`` steps). A configured target the row is not routed to is left out (the key is
leaving it, and the workflow drops that report when it has), unless it reports an error about
the current version: then the failure it explains is shown. A live row no rule routes (the
rules changed after it was written) is Failed with the reason as ``lastError``: the workflow
refuses to sync it and keeps what the targets hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from persistence.tables import AppConfigRow, SyncStatusRow
from vocabulary import (
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
from vocabulary.routing import Route, environment_of, routed, unrouted_reason


def workflow_url(ui_url: str, temporal_namespace: str, workflow_id: str) -> str:
    base = ui_url.rstrip("/")
    return f"{base}/namespaces/{temporal_namespace}/workflows/{quote(workflow_id, safe='')}"


def _detail_key(target: str, kinds: Mapping[str, str]) -> str:
    """What a target's detail is, by its kind (``kinds``: the kind of each target not named
    after it, as ``SyncOptions.target_kinds``): a Kubernetes resourceVersion, a Git commit."""
    kind = kinds.get(target, target)
    return {TARGET_KUBERNETES: "resourceVersion", TARGET_GIT: "commit"}.get(kind, "detail")


def _target_detail(status: SyncStatusRow, kinds: Mapping[str, str]) -> dict[str, Any]:
    return {
        "appliedVersion": status.applied_version,
        _detail_key(status.target, kinds): status.detail,
        "lastError": status.last_error,
        "attempts": status.attempts,
        "failedVersion": status.failed_version,
    }


def _unreported(target: str, kinds: Mapping[str, str]) -> dict[str, Any]:
    """A routed target's entry before it reports for the key."""
    return {
        "appliedVersion": 0,
        _detail_key(target, kinds): "",
        "lastError": "",
        "attempts": 0,
        "failedVersion": 0,
    }


def phase_of(row: AppConfigRow, reports: Sequence[SyncStatusRow], targets: Sequence[str]) -> str:
    """The phase of ``row`` from ``reports``, Synced when each of ``targets`` (the routed
    ones) holds its version."""
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


def _shown(
    row: AppConfigRow,
    reports: Sequence[SyncStatusRow],
    configured: Sequence[str],
    targets: Sequence[str],
) -> list[SyncStatusRow]:
    """The reports of ``targets`` (the routed ones) and those no configured target makes;
    another target's only when it reports an error about the current version."""
    return [
        r
        for r in reports
        if r.target in targets
        or r.target not in configured
        or (r.last_error and r.error_version >= row.seq)
    ]


@dataclass(frozen=True)
class KeyStatus:
    """A key's status: its phase, the row's version and the lowest version the targets it
    routes to hold, per-target results, the first error, the most attempts, its workflow."""

    phase: str
    desired_version: int
    applied_version: int
    targets: dict[str, dict[str, Any]]
    last_error: str
    attempts: int
    workflow_id: str
    workflow_url: str

    def as_resource(self) -> dict[str, Any]:
        """The AppConfig's ``status`` as the API shows it (and ``syncs show`` prints it)."""
        return {
            "phase": self.phase,
            "desiredVersion": self.desired_version,
            "appliedVersion": self.applied_version,
            "targets": self.targets,
            "lastError": self.last_error,
            "attempts": self.attempts,
            "workflowId": self.workflow_id,
            "workflowUrl": self.workflow_url,
        }


def key_status(
    row: AppConfigRow,
    reports: Sequence[SyncStatusRow],
    *,
    targets: Sequence[str],
    kinds: Mapping[str, str] | None = None,
    routes: Sequence[Route] = (),
    ui_url: str,
    temporal_namespace: str,
) -> KeyStatus:
    """The status of ``row`` from its ``reports`` (its sync_status rows), over the configured
    ``targets`` it is routed to by ``routes`` (none: every target); the workflow link points
    into the Temporal UI at ``ui_url``. ``kinds`` gives the kind of each target not named
    after its kind (``SyncOptions.target_kinds``)."""
    kinds = kinds or {}
    route = routed(
        targets,
        routes,
        environment=environment_of(row),
        namespace=row.namespace,
        labels=row.labels,
    )
    unrouted = route is None and not row.deleted
    # Unrouted, a tombstone is removed from whatever holds it; a live row goes nowhere.
    weighed = route if route is not None else tuple(targets) if row.deleted else ()
    shown = _shown(row, reports, targets, weighed)
    by_target = {r.target: r for r in shown}
    applied = [by_target[t].applied_version if t in by_target else 0 for t in weighed]
    errors = [r.last_error for r in shown if r.last_error]
    if unrouted:
        errors.insert(0, unrouted_reason(row))
    details = {
        t: _target_detail(by_target[t], kinds) if t in by_target else _unreported(t, kinds)
        for t in weighed
    }
    details |= {r.target: _target_detail(r, kinds) for r in shown if r.target not in details}
    workflow_id = workflow_id_for(f"{row.namespace}/{row.name}")
    return KeyStatus(
        phase=PHASE_FAILED if unrouted else phase_of(row, shown, weighed),
        desired_version=row.seq,
        applied_version=min(applied) if applied else 0,
        targets=details,
        last_error=errors[0] if errors else "",
        attempts=max((r.attempts for r in shown), default=0),
        workflow_id=workflow_id,
        workflow_url=workflow_url(ui_url, temporal_namespace, workflow_id),
    )


def derive_status(
    row: AppConfigRow,
    reports: Sequence[SyncStatusRow],
    *,
    targets: Sequence[str],
    kinds: Mapping[str, str] | None = None,
    routes: Sequence[Route] = (),
    ui_url: str,
    temporal_namespace: str,
) -> dict[str, Any]:
    """``key_status`` as the AppConfig's ``status`` object."""
    status = key_status(
        row,
        reports,
        targets=targets,
        kinds=kinds,
        routes=routes,
        ui_url=ui_url,
        temporal_namespace=temporal_namespace,
    )
    return status.as_resource()
