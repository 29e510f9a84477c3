"""``syncs replay``: re-drive failed syncs.

A running workflow gets the ``retry`` signal (it re-drives a ``Failed`` sync with the event
that failed, a forced one too; makes a ``Retrying`` sync's next attempt now; and ignores the
signal otherwise). A key whose workflow is closed, or was never
started, is restarted from the database: signal-with-start with the row's forced change
event, exactly as ``resync`` does for every key.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api.persistence.reading import get_row
from rendersync.ops.context import Ops
from rendersync.ops.inspecting import split_key
from worker.resyncing import forced_event
from worker.signalling import Signaller
from workflows.contracts import SIGNAL_RETRY, RetryRequest, workflow_id_for

ACTION_RETRIED = "retry signalled"
ACTION_RESTARTED = "restarted from the database"
ACTION_NOTHING = "nothing to replay"
REASON = "rendersync syncs replay"


@dataclass(frozen=True)
class Replayed:
    key: str
    action: str
    version: int = 0

    @property
    def ok(self) -> bool:
        return self.action != ACTION_NOTHING


async def _signal_retry(ops: Ops, key: str) -> bool:
    """Send ``retry`` to the running workflow; False when none is running."""
    handle = (await ops.client()).get_workflow_handle(workflow_id_for(key))
    try:
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            return False
        await handle.signal(SIGNAL_RETRY, RetryRequest(reason=REASON))
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # never started, or closed meanwhile
            return False
        raise
    return True


async def replay(ops: Ops, key: str) -> Replayed:
    """Re-drive ``key``: retry its running workflow, or restart it from its row."""
    namespace, name = split_key(key)
    if await _signal_retry(ops, key):
        return Replayed(key, ACTION_RETRIED)
    row = await asyncio.to_thread(get_row, ops.engine, namespace=namespace, name=name)
    if row is None:
        return Replayed(key, ACTION_NOTHING)
    signaller = Signaller(await ops.client(), task_queue=ops.task_queue, options=ops.options)
    event = forced_event(row)
    await signaller.signal_with_start(event)
    return Replayed(key, ACTION_RESTARTED, event.seq)
