"""``syncs replay``: re-drive failed syncs, through ``worker.redriving`` (the API's replay
route takes the same path)."""

from __future__ import annotations

from rendersync.ops.context import Ops
from rendersync.ops.inspecting import split_key
from worker.redriving import (
    ACTION_NOTHING,
    ACTION_RESTARTED,
    ACTION_RETRIED,
    Replayed,
    replay_key,
)

__all__ = ["ACTION_NOTHING", "ACTION_RESTARTED", "ACTION_RETRIED", "REASON", "Replayed", "replay"]

REASON = "rendersync syncs replay"


async def replay(ops: Ops, key: str) -> Replayed:
    """Re-drive ``key``: retry its running workflow, or restart it from its row."""
    namespace, name = split_key(key)
    return await replay_key(
        client=await ops.client(),
        engine=ops.engine,
        namespace=namespace,
        name=name,
        task_queue=ops.task_queue,
        options=ops.options,
        reason=REASON,
    )
