"""Re-drive one key's sync: the code path of ``rendersync syncs replay`` and of the API's
``.../replay`` route (the user-facing verb is "replay"; in code, "replay" is only Temporal's
history replay, so this is a re-drive).

A running workflow gets the ``retry`` signal (it re-drives a ``Failed`` sync with the event
that failed, a forced one too; makes a ``Retrying`` sync's next attempt now; and ignores the
signal otherwise). A key whose workflow is closed, or was never started, is restarted from
the database: signal-with-start with the row's forced change event, exactly as ``resync``
does for every key.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from persistence.reading import get_row
from vocabulary import workflow_id_for
from worker.changeevents import forced_event
from worker.signalling import Signaller
from workflows.contracts import SIGNAL_RETRY, RetryRequest, SyncOptions

ACTION_RETRIED = "retry signalled"
ACTION_RESTARTED = "restarted from the database"
ACTION_NOTHING = "nothing to replay"


@dataclass(frozen=True)
class Redriven:
    key: str
    action: str
    version: int = 0

    @property
    def ok(self) -> bool:
        return self.action != ACTION_NOTHING


async def signal_retry(client: Client, key: str, *, reason: str) -> bool:
    """Send ``retry`` to the running workflow of ``key``; False when none is running."""
    handle = client.get_workflow_handle(workflow_id_for(key))
    try:
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            return False
        await handle.signal(SIGNAL_RETRY, RetryRequest(reason=reason))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # never started, or closed meanwhile
            return False
        raise
    return True


async def redrive_key(
    *,
    client: Client,
    engine: Engine,
    namespace: str,
    name: str,
    task_queue: str,
    options: SyncOptions,
    reason: str,
) -> Redriven:
    """Re-drive ``namespace/name``: retry its running workflow, or restart it from its row
    (nothing when no row backs the key). Idempotent: the workflow dedupes by version."""
    key = f"{namespace}/{name}"
    if await signal_retry(client, key, reason=reason):
        return Redriven(key, ACTION_RETRIED)
    row = await asyncio.to_thread(get_row, engine, namespace=namespace, name=name)
    if row is None:
        return Redriven(key, ACTION_NOTHING)
    event = forced_event(row)
    await Signaller(client, task_queue=task_queue, options=options).signal_with_start(event)
    return Redriven(key, ACTION_RESTARTED, event.seq)
