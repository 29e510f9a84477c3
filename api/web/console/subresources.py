"""Two subresources the console uses: ``POST .../{name}/replay`` (verb ``replay``, the admin
role) and ``GET .../{name}/timeline`` (verb ``history``).

The replay route re-drives the key's sync on the code path of ``rendersync syncs replay``
(``worker.redriving``), handed in as a :data:`Redriver` by the process that builds the app
(it owns the Temporal connection): the running workflow gets the ``retry`` signal, a closed
one is restarted from the row. 503 when this API has no Temporal connection configured. The
route, its verb and its ``ReplayResult`` keep the user-facing word; the handler's name is the
OpenAPI operation id, so it stays ``replay`` too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.web.apicontext import ContextDep
from api.web.bodies import actor_of
from api.web.httperrors import HttpError
from api.web.models import AppConfigTimeline, NamespacePath, ReplayResult, error_responses
from api.web.resources import timestamp
from persistence import reading
from persistence.tables import AppConfigRow, Revision, SyncStatusRow
from vocabulary import API_VERSION

#: (namespace, name, reason) -> (what was done, the version re-driven or 0)
Redriver = Callable[[str, str, str], Awaitable[tuple[str, int]]]
ITEM = "/namespaces/{namespace}/appconfigs/{name}"
router = APIRouter(prefix="/api/v1", tags=["console"])


@router.post(
    ITEM + "/replay", response_model=ReplayResult, responses=error_responses(404, 422, 503)
)
async def replay(
    namespace: NamespacePath, name: str, request: Request, ctx: ContextDep
) -> dict[str, Any]:
    """Re-drive the sync of the key (a Failed one, or a Retrying one's next attempt now)."""
    row = await run_in_threadpool(reading.get_row, ctx.engine, namespace=namespace, name=name)
    if row is None:
        raise HttpError(404, f'appconfigs "{name}" not found in namespace "{namespace}"', name=name)
    redriver: Redriver | None = request.app.state.console.redriver
    if redriver is None:
        raise HttpError(503, "replay is not available: this API has no Temporal connection")
    reason = f"replayed from the API by {actor_of(request)}"
    try:
        action, version = await redriver(namespace, name, reason)
    except Exception as err:
        raise HttpError(503, f"replay failed: Temporal: {type(err).__name__}") from None
    return {
        "apiVersion": API_VERSION,
        "kind": "Replay",
        "key": f"{namespace}/{name}",
        "action": action,
        "version": version,
    }


def _timeline(
    row: AppConfigRow | None, revisions: list[Revision], reports: list[SyncStatusRow]
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "AppConfigTimeline",
        "desiredVersion": row.seq if row else 0,
        "versions": [
            {"version": r.seq, "op": r.op, "actor": r.actor, "time": timestamp(r.created_at)}
            for r in reversed(revisions)
        ],
        "targets": [
            {
                "target": s.target,
                "appliedVersion": s.applied_version,
                "failedVersion": s.failed_version,
                "errorVersion": s.error_version if s.last_error else 0,
                "reportedAt": timestamp(s.updated_at),
            }
            for s in sorted(reports, key=lambda s: s.target)
        ],
    }


@router.get(
    ITEM + "/timeline", response_model=AppConfigTimeline, responses=error_responses(404, 422)
)
async def timeline(namespace: NamespacePath, name: str, ctx: ContextDep) -> dict[str, Any]:
    """When each version was committed (and by whom), and when each target last reported
    the version it holds: the data of the console's timeline picture."""

    def load() -> dict[str, Any]:
        revisions = reading.list_revisions(ctx.engine, namespace=namespace, name=name)
        if not revisions:
            raise HttpError(404, f'appconfigs "{name}" has no history', name=name)
        row = reading.get_row(ctx.engine, namespace=namespace, name=name)
        reports = reading.sync_status_rows(ctx.engine, namespace=namespace, name=name)
        return _timeline(row, revisions, reports)

    return await run_in_threadpool(load)
