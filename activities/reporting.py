"""Activities that write the sync's outcome back to the database."""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from activities.provenancing import note, note_coalesced
from persistence import provenance, syncstatus
from workflows.contracts import DeleteRequest, FailureReport
from workflows.declarations import FINISH_DELETE, RECORD_FAILURE, implements


class StatusActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @implements(RECORD_FAILURE)
    async def record_failure(self, report: FailureReport) -> None:
        """Mark the sync of ``report.seq`` Failed on its target, or, for a transient failure,
        Retrying with its attempts and error (idempotent)."""
        await asyncio.to_thread(
            syncstatus.record_failure,
            self.engine,
            namespace=report.namespace,
            name=report.name,
            target=report.target,
            version=report.seq,
            error=report.error,
            permanent=report.permanent,
            attempts=report.attempts,
        )
        await note(
            self.engine,
            namespace=report.namespace,
            name=report.name,
            seq=report.seq,
            stage=provenance.STAGE_SYNC,
            outcome=provenance.FAILED if report.permanent else provenance.RETRYING,
            detail={"target": report.target, "error": report.error, "attempts": report.attempts},
        )

    @implements(FINISH_DELETE)
    async def finish_delete(self, request: DeleteRequest) -> None:
        """Clean the status and purge the tombstone of a compensated delete (idempotent)."""
        done = await asyncio.to_thread(
            syncstatus.finish_delete,
            self.engine,
            namespace=request.namespace,
            name=request.name,
            version=request.seq,
        )
        if not done:
            return  # recreated or deleted again since: that version's sync goes on
        await note(
            self.engine,
            namespace=request.namespace,
            name=request.name,
            seq=request.seq,
            stage=provenance.STAGE_SYNC,
            outcome=provenance.DELETED,
        )
        await note_coalesced(
            self.engine,
            namespace=request.namespace,
            name=request.name,
            after=request.coalesced_after,
            into=request.seq,
        )
