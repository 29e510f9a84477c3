"""The read-only ``status`` of an AppConfig in the API (derived in ``persistence.keystatus``)."""

from __future__ import annotations

from typing import Any

from api.web.apicontext import ApiContext
from persistence import reading
from persistence.keystatus import derive_status
from persistence.tables import AppConfigRow


def current_status(ctx: ApiContext, row: AppConfigRow) -> dict[str, Any]:
    """The status of ``row`` from what the targets have reported so far."""
    reports = reading.sync_status_rows(ctx.engine, namespace=row.namespace, name=row.name)
    return derive_status(
        row,
        reports,
        targets=ctx.targets,
        kinds=ctx.target_kinds,
        routes=ctx.routes,
        ui_url=ctx.ui_url,
        temporal_namespace=ctx.temporal_namespace,
    )
