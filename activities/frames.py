"""The frames every target activity shares: heartbeats while it works, the row check that
fences its write, failures recorded and classified, then what the target holds recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError

from activities.failures import guarded
from activities.freshness import apply_check, removal_check
from activities.heartbeating import heartbeating
from activities.provenancing import note, note_in, origin
from activities.syncmetrics import observe_applied
from persistence import provenance, syncstatus
from persistence.db import write_session
from persistence.provenance import Origin, Record
from vocabulary import RowCheck
from workflows.contracts import ApplyRequest, DeleteRequest, TargetResult

T = TypeVar("T")
C = TypeVar("C")

#: ``TargetResult.detail`` of a write the row check refused.
SUPERSEDED = "superseded"


def configured(targets: Mapping[str, C], target: str) -> C:
    """What this worker holds for the target named ``target``; a target it was not
    configured with fails the step for good (its workers disagree on the settings: fixed by
    configuring them alike, then ``retry``)."""
    try:
        return targets[target]
    except KeyError:
        raise ApplicationError(
            f"target {target!r} is not configured on this worker; known: {sorted(targets)}",
            type="UnknownTarget",
            non_retryable=True,
        ) from None


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
    writes) under heartbeats. That check is the apply's one read of the row: a superseded
    version is refused there, before anything is written. What the target now holds (or why
    it holds nothing new) is then recorded in one write transaction: the provenance notes
    and, for a version the target holds, the applied status."""
    image = request.image
    async with heartbeating():
        result = await guarded(
            lambda: operation(apply_check(engine, image)),
            engine=engine,
            namespace=image.namespace,
            name=image.name,
            target=target,
            version=image.seq,
            classify=classify,
        )
        await asyncio.to_thread(record_result, engine, request, result, origin())
    if not result.skipped_newer:
        observe_applied(target, request.committed_at_ms)
    return result


def record_result(engine: Engine, request: ApplyRequest, result: TargetResult, by: Origin) -> None:
    """What the apply of ``request`` wrote to its target, or why it wrote nothing; a written
    version also settles the versions the workflow coalesced into it and is the target's
    applied status. One write transaction."""
    image = request.image
    detail: dict[str, Any]
    if not result.skipped_newer:
        outcome, detail = provenance.APPLIED, {"version": result.version}
    elif result.detail == SUPERSEDED:
        outcome, detail = provenance.SUPERSEDED, {"reason": "no longer the row's version"}
    else:
        outcome, detail = provenance.SKIPPED_NEWER, {"heldVersion": result.version}
    detail["detail"] = result.detail
    applied = outcome == provenance.APPLIED
    entry = Record(
        image.namespace, image.name, image.seq, result.target, outcome, detail, by,
        result.object_uid if applied else "",
    )  # fmt: skip
    with write_session(engine) as session:
        note_in(session, entry, coalesced_after=request.coalesced_after if applied else None)
        if applied:
            syncstatus.applied_in(
                session,
                namespace=image.namespace,
                name=image.name,
                target=result.target,
                version=result.version,
                detail=result.detail,
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
    if request.leave:
        await asyncio.to_thread(
            syncstatus.forget_target,
            engine,
            namespace=request.namespace,
            name=request.name,
            target=target,
            version=request.seq,
        )
    return result
