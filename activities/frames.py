"""The frames every target activity shares: heartbeats while it works, the row check that
fences its write, failures recorded and classified, then what the target holds recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Engine

from activities.failures import guarded
from activities.freshness import apply_check, removal_check
from activities.heartbeating import heartbeating
from activities.provenancing import note, note_coalesced
from activities.syncmetrics import observe_applied
from persistence import provenance, syncstatus
from vocabulary import RowCheck
from workflows.contracts import ApplyRequest, DeleteRequest, TargetResult

T = TypeVar("T")

#: ``TargetResult.detail`` of a write the row check refused.
SUPERSEDED = "superseded"


def superseded(target: str, version: int) -> TargetResult:
    """The result of a version that is no longer the row's: nothing was written."""
    return TargetResult(target=target, version=version, detail=SUPERSEDED, skipped_newer=True)


async def run_apply(
    operation: Callable[[RowCheck], Awaitable[TargetResult]],
    *,
    engine: Engine,
    request: ApplyRequest,
    target: str,
    classify: Callable[[BaseException], str],
) -> TargetResult:
    """Run ``operation`` (the fenced write, given the row check to evaluate right before it
    writes) under heartbeats. The row is also checked first, so a superseded version costs
    no target call. Only a version the target now holds is recorded as applied."""
    image = request.image
    check = apply_check(engine, image)
    async with heartbeating():
        if await check() is None:
            await _note_result(engine, request, superseded(target, image.seq))
            return superseded(target, image.seq)
        result = await guarded(
            lambda: operation(check),
            engine=engine,
            namespace=image.namespace,
            name=image.name,
            target=target,
            version=image.seq,
            classify=classify,
        )
        await _note_result(engine, request, result)
        if result.skipped_newer:
            return result
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


async def _note_result(engine: Engine, request: ApplyRequest, result: TargetResult) -> None:
    """What the apply of ``request`` wrote to its target, or why it wrote nothing; a written
    version also settles the versions the workflow coalesced into it."""
    image = request.image
    detail: dict[str, Any]
    if not result.skipped_newer:
        outcome, detail = provenance.APPLIED, {"version": result.version}
    elif result.detail == SUPERSEDED:
        outcome, detail = provenance.SUPERSEDED, {"reason": "no longer the row's version"}
    else:
        outcome, detail = provenance.SKIPPED_NEWER, {"heldVersion": result.version}
    detail["detail"] = result.detail
    await note(
        engine,
        namespace=image.namespace,
        name=image.name,
        seq=image.seq,
        stage=result.target,
        outcome=outcome,
        detail=detail,
        object_uid=result.object_uid if outcome == provenance.APPLIED else "",
    )
    if outcome == provenance.APPLIED:
        await note_coalesced(
            engine,
            namespace=image.namespace,
            name=image.name,
            after=request.coalesced_after,
            into=image.seq,
        )


async def run_removal(
    operation: Callable[[RowCheck], Awaitable[T]],
    *,
    engine: Engine,
    request: DeleteRequest,
    target: str,
    classify: Callable[[BaseException], str],
) -> T:
    """Run one compensation step under heartbeats; ``operation`` gets the row check that
    bounds which live versions count as newer incarnations (see ``removal_check``)."""
    check = removal_check(engine, request)
    async with heartbeating():
        result = await guarded(
            lambda: operation(check),
            engine=engine,
            namespace=request.namespace,
            name=request.name,
            target=target,
            version=request.seq,
            classify=classify,
        )
    await note(
        engine,
        namespace=request.namespace,
        name=request.name,
        seq=request.seq,
        stage=target,
        outcome=provenance.REMOVED,
        detail={"detail": result.detail if isinstance(result, TargetResult) else str(result)},
    )
    return result
