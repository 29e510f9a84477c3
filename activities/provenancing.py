"""Provenance notes the activities write as they report their results (see
``persistence.provenance``).

Each note names the workflow run and activity attempt that wrote it, from
``activity.info()``: workflow id, run id, activity id, type and attempt. temporalio 1.35
does not expose the history event id of the activity (its ``ActivityTaskScheduled``); the
activity id is unique within a run and is that event's ``activity_id``, so the event is
found from it. A note is best effort: a database error while writing one is logged and
never fails the sync whose result it describes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from temporalio import activity

from persistence import provenance
from persistence.provenance import Origin, Record

logger = logging.getLogger(__name__)


def origin() -> Origin:
    """The running activity attempt, or a blank origin outside one."""
    try:
        info = activity.info()
    except RuntimeError:
        return Origin()
    return Origin(
        workflow_id=info.workflow_id or "",
        run_id=info.workflow_run_id or "",
        activity_id=info.activity_id,
        activity_type=info.activity_type,
        attempt=info.attempt,
    )


async def note(
    engine: Engine,
    *,
    namespace: str,
    name: str,
    seq: int,
    stage: str,
    outcome: str,
    detail: dict[str, Any] | None = None,
    object_uid: str = "",
) -> None:
    """Record one stage of version ``seq``, by the current activity attempt."""
    entry = Record(namespace, name, seq, stage, outcome, detail or {}, origin(), object_uid)
    try:
        await asyncio.to_thread(provenance.record, engine, entry)
    except Exception:
        logger.exception("could not record the provenance of %s/%s v%d", namespace, name, seq)


async def note_coalesced(
    engine: Engine, *, namespace: str, name: str, after: int, into: int
) -> None:
    """Versions between ``after`` and ``into`` the workflow never handled: coalesced."""
    if after < 0:
        return  # a run recorded before provenance existed does not say what it handled
    try:
        await asyncio.to_thread(
            provenance.record_coalesced,
            engine,
            namespace=namespace,
            name=name,
            after=after,
            into=into,
            origin=origin(),
        )
    except Exception:
        logger.exception(
            "could not record the versions coalesced into %s/%s v%d", namespace, name, into
        )


def note_in(session: Session, entry: Record, *, coalesced_after: int | None = None) -> None:
    """``entry`` (and, given ``coalesced_after``, the versions coalesced into it) inside the
    caller's write transaction, under a savepoint: a database error while writing the notes
    is logged and rolls back only them, never the status written in the same transaction."""
    try:
        with session.begin_nested():
            provenance.upsert(session, [entry])
            if coalesced_after is not None and coalesced_after >= 0:
                provenance.coalesced_in(
                    session,
                    namespace=entry.namespace,
                    name=entry.name,
                    after=coalesced_after,
                    into=entry.seq,
                    origin=entry.origin,
                )
    except Exception:
        logger.exception(
            "could not record the provenance of %s/%s v%d", entry.namespace, entry.name, entry.seq
        )
