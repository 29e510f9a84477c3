"""One line per sync: what the database recorded, merged with Temporal's view of failures.

The database (appconfigs + sync_status, as the REST API derives its ``status``) knows every
key; Temporal's visibility knows which running workflows are ``SyncState="Failed"``, also
when the failure could not be written back to the database. ``source`` says who reported it.

Given a target, only the keys routed to it are listed, each with its status on that target
alone; Temporal's view then only confirms the database's failures there (visibility does
not say which target a workflow failed on).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, replace

from temporalio.client import WorkflowExecution
from temporalio.common import SearchAttributeKey

from persistence.keystatus import key_status, workflow_url
from persistence.reading import all_rows
from persistence.syncstatus import list_status
from persistence.tables import SyncStatusRow
from rendersync.ops.context import Ops
from vocabulary import PHASE_FAILED, workflow_id_for
from workflows.contracts import SEARCH_ATTRIBUTE_KEY, SEARCH_ATTRIBUTE_STATE, WORKFLOW_TYPE

APP_CONFIG_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_KEY)
#: Running workflows whose sync stopped retrying (a closed run's attributes are history).
FAILED_QUERY = (
    f'WorkflowType="{WORKFLOW_TYPE}" AND {SEARCH_ATTRIBUTE_STATE}="{PHASE_FAILED}" '
    'AND ExecutionStatus="Running"'
)
SOURCE_DB = "db"
SOURCE_TEMPORAL = "temporal"
SOURCE_BOTH = "db+temporal"

COLUMNS = (
    ("KEY", "key"),
    ("PHASE", "phase"),
    ("DESIRED", "desired_version"),
    ("APPLIED", "applied_version"),
    ("ATTEMPTS", "attempts"),
    ("LAST ERROR", "last_error"),
    ("WORKFLOW", "workflow_url"),
)


@dataclass(frozen=True)
class SyncSummary:
    key: str
    phase: str
    desired_version: int
    applied_version: int
    attempts: int
    last_error: str
    workflow_id: str
    workflow_url: str
    source: str = SOURCE_DB


def _link(ops: Ops, key: str) -> tuple[str, str]:
    temporal = ops.settings.temporal
    workflow_id = workflow_id_for(key)
    return workflow_id, workflow_url(temporal.ui_url, temporal.namespace, workflow_id)


def from_database(
    ops: Ops, *, namespace: str | None, target: str | None = None
) -> list[SyncSummary]:
    """Every key of the database (tombstones too), ordered by key; given ``target``, those
    routed to it, with their status there."""
    reports: dict[tuple[str, str], list[SyncStatusRow]] = defaultdict(list)
    for report in list_status(ops.engine, namespace=namespace):
        if target is None or report.target == target:
            reports[report.namespace, report.name].append(report)
    temporal = ops.settings.temporal
    found = []
    for row in all_rows(ops.engine, namespace=namespace):
        if not ops.routes_to(row, target):
            continue
        status = key_status(
            row,
            reports[row.namespace, row.name],
            targets=ops.targets if target is None else (target,),
            kinds=ops.options.target_kinds,
            routes=ops.settings.route_rules(),
            ui_url=temporal.ui_url,
            temporal_namespace=temporal.namespace,
        )
        found.append(
            SyncSummary(
                key=f"{row.namespace}/{row.name}",
                phase=status.phase,
                desired_version=status.desired_version,
                applied_version=status.applied_version,
                attempts=status.attempts,
                last_error=status.last_error,
                workflow_id=status.workflow_id,
                workflow_url=status.workflow_url,
            )
        )
    return found


def key_of(execution: WorkflowExecution) -> str:
    key = execution.typed_search_attributes.get(APP_CONFIG_KEY)
    return key or execution.id.removeprefix(workflow_id_for(""))


async def failed(
    ops: Ops, *, namespace: str | None, target: str | None = None
) -> list[SyncSummary]:
    """Failed syncs: the database's, merged with running workflows Temporal lists Failed
    (given ``target``: the database's failures on it, confirmed by Temporal's)."""
    listed = await asyncio.to_thread(from_database, ops, namespace=namespace, target=target)
    known = {s.key: s for s in listed}
    result = {k: s for k, s in known.items() if s.phase == PHASE_FAILED}
    client = await ops.client()
    async for execution in client.list_workflows(FAILED_QUERY):
        key = key_of(execution)
        if namespace is not None and not key.startswith(f"{namespace}/"):
            continue
        if target is not None and key not in result:
            continue
        if key in result:
            result[key] = replace(result[key], source=SOURCE_BOTH)
            continue
        workflow_id, url = _link(ops, key)
        base = known.get(key) or SyncSummary(key, PHASE_FAILED, 0, 0, 0, "", workflow_id, url)
        result[key] = replace(base, phase=PHASE_FAILED, source=SOURCE_TEMPORAL)
    return sorted(result.values(), key=lambda s: s.key)
