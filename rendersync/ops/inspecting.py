"""``syncs show``: one key's status, its workflow and the workflow's recent history."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from persistence.keystatus import derive_status, workflow_url
from persistence.reading import get_row, sync_status_rows
from rendersync.ops import output
from rendersync.ops.context import Ops, OpsError
from vocabulary import workflow_id_for
from workflows.contracts import QUERY_STATE, SyncState

#: How many of the newest history events ``show`` lists.
RECENT_EVENTS = 20
QUERY_TIMEOUT = timedelta(seconds=5)


def split_key(key: str) -> tuple[str, str]:
    """``NS/NAME`` → (namespace, name); OpsError when it is not of that shape."""
    namespace, _, name = key.partition("/")
    if not namespace or not name or "/" in name:
        raise OpsError(f"expected NAMESPACE/NAME, got {key!r}")
    return namespace, name


def _database_status(ops: Ops, namespace: str, name: str) -> dict[str, Any] | None:
    row = get_row(ops.engine, namespace=namespace, name=name)
    if row is None:
        return None
    temporal = ops.settings.temporal
    return derive_status(
        row,
        sync_status_rows(ops.engine, namespace=namespace, name=name),
        targets=ops.targets,
        kinds=ops.options.target_kinds,
        routes=ops.settings.route_rules(),
        ui_url=temporal.ui_url,
        temporal_namespace=temporal.namespace,
    )


def _detail(event: HistoryEvent) -> str:
    """The signal, activity or workflow type of an event, or its failure message."""
    attributes = event.WhichOneof("attributes")
    if attributes is None:
        return ""
    fields = getattr(event, attributes)
    names = fields.DESCRIPTOR.fields_by_name
    if "signal_name" in names:
        return str(fields.signal_name)
    for typed in ("activity_type", "workflow_type"):
        if typed in names:
            return str(getattr(fields, typed).name)
    if "failure" in names and fields.HasField("failure"):
        return str(fields.failure.message)
    return ""


def event_summary(event: HistoryEvent) -> dict[str, Any]:
    """Id, time, type (``WorkflowExecutionSignaled``, ...) and the most telling detail."""
    kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return {
        "id": event.event_id,
        "time": event.event_time.ToDatetime().isoformat() + "Z",
        "type": "".join(part.capitalize() for part in kind.split("_")),
        "detail": _detail(event),
    }


async def _workflow(
    handle: WorkflowHandle[Any, Any],
) -> tuple[WorkflowExecutionDescription | None, list[dict[str, Any]]]:
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None, []
        raise
    history = await handle.fetch_history()
    return description, [event_summary(e) for e in history.events[-RECENT_EVENTS:]]


async def _state(handle: WorkflowHandle[Any, Any]) -> dict[str, Any] | None:
    try:
        state = await handle.query(QUERY_STATE, result_type=SyncState, rpc_timeout=QUERY_TIMEOUT)
    except Exception:  # no worker polling, or the run is just continuing as new
        return None
    return asdict(state)


async def show(ops: Ops, key: str) -> dict[str, Any]:
    """Everything ``syncs show`` prints, as one JSON-ready mapping."""
    namespace, name = split_key(key)
    status = await asyncio.to_thread(_database_status, ops, namespace, name)
    workflow_id = workflow_id_for(key)
    handle = (await ops.client()).get_workflow_handle(workflow_id)
    description, events = await _workflow(handle)
    if status is None and description is None:
        raise OpsError(f"no AppConfig and no workflow for {key}")
    workflow: dict[str, Any] | None = None
    state = None
    if description is not None:
        running = description.status == WorkflowExecutionStatus.RUNNING
        state = await _state(handle) if running else None
        temporal = ops.settings.temporal
        workflow = {
            "id": workflow_id,
            "runId": description.run_id,
            "status": description.status.name if description.status else "",
            "started": description.start_time.isoformat(),
            "closed": description.close_time.isoformat() if description.close_time else None,
            "url": workflow_url(temporal.ui_url, temporal.namespace, workflow_id),
        }
    return {"key": key, "status": status, "workflow": workflow, "state": state, "events": events}


TARGET_COLUMNS = (
    ("TARGET", "target"),
    ("APPLIED", "appliedVersion"),
    ("FAILED", "failedVersion"),
    ("ATTEMPTS", "attempts"),
    ("LAST ERROR", "lastError"),
)
EVENT_COLUMNS = (("ID", "id"), ("TIME", "time"), ("TYPE", "type"), ("DETAIL", "detail"))


def render(shown: dict[str, Any]) -> str:
    """``show``'s result as plain text: fields, per-target results, recent events."""
    status, workflow, state = shown["status"], shown["workflow"], shown["state"]
    lines = [f"Key:       {shown['key']}"]
    if status is None:
        lines.append("Database:  no row (deleted and purged, or never created)")
    else:
        lines += [
            f"Phase:     {status['phase']}",
            f"Desired:   v{status['desiredVersion']}",
            f"Applied:   v{status['appliedVersion']}",
            f"Attempts:  {status['attempts']}",
            f"Error:     {status['lastError'] or '-'}",
        ]
    if workflow is None:
        lines.append("Workflow:  none")
    else:
        lines += [
            f"Workflow:  {workflow['id']} ({workflow['status']}, run {workflow['runId']})",
            f"Link:      {workflow['url']}",
        ]
    if state is not None:
        lines.append(
            f"State:     {state['phase']}, handled v{state['handled_version']} "
            f"of v{state['desired_version']}, {state['events_seen']} event(s) seen"
        )
    if status is not None and status["targets"]:
        targets = [{"target": t, **d} for t, d in sorted(status["targets"].items())]
        lines += ["", output.table(targets, TARGET_COLUMNS)]
    if shown["events"]:
        lines += ["", f"Recent events ({len(shown['events'])}):"]
        lines.append(output.table(shown["events"], EVENT_COLUMNS))
    return "\n".join(lines)
