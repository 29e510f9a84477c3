"""The frame every apply activity shares: skip superseded versions, run the target
operation with failures recorded and classified, then record what the target holds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine

from activities.failures import guarded
from activities.freshness import superseded
from activities.metrics import observe_applied
from api.persistence import syncstatus
from workflows.contracts import ApplyRequest, TargetResult


async def run_apply(
    operation: Callable[[], Awaitable[TargetResult]],
    *,
    engine: Engine,
    request: ApplyRequest,
    target: str,
    classify: Callable[[BaseException], str],
) -> TargetResult:
    image = request.image
    if await superseded(engine, image):
        return TargetResult(
            target=target, version=image.seq, detail="superseded", skipped_newer=True
        )
    result = await guarded(
        operation,
        engine=engine,
        namespace=image.namespace,
        name=image.name,
        target=target,
        version=image.seq,
        classify=classify,
    )
    await asyncio.to_thread(
        syncstatus.record_applied,
        engine,
        namespace=image.namespace,
        name=image.name,
        target=target,
        version=result.version,
        detail=result.detail,
    )
    observe_applied(target, request.committed_at_ms)
    return result
