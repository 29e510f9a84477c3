"""The database decides whether a version may still be written: the fence's row checks.

Events are hints; the row decides. After a delete has been compensated (and its tombstone
purged), an older upsert (redelivered, or an attempt that outlived its timeout) would
recreate the resource: the version fence at the target cannot stop it, because nothing is
left there to compare with. So every write re-checks the row as close to the write as the
target allows (see :data:`vocabulary.RowCheck`): immediately before the Kubernetes call,
and under the Git repository lock when the change is staged. A version that is no longer
the row's is skipped as superseded; the newer change reaches the workflow on its own.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from persistence.reading import get_row
from vocabulary import RowCheck
from workflows.contracts import AppConfigImage, DeleteRequest


def apply_check(engine: Engine, image: AppConfigImage) -> RowCheck:
    """For writing ``image``: admitted while the row is live at exactly ``image.seq``; None
    when the row is absent (purged), a tombstone, or at another version (newer, or one it
    never had: a forged or corrupt seq is not the row's)."""

    async def check() -> int | None:
        row = await asyncio.to_thread(get_row, engine, namespace=image.namespace, name=image.name)
        if row is None or row.deleted or row.seq != image.seq:
            return None
        return row.seq

    return check


def removal_check(engine: Engine, request: DeleteRequest) -> RowCheck:
    """For the compensation of the delete at ``request.seq``: never refuses; gives the row's
    version (a recreate's, or the tombstone's, at least ``request.seq``), so a target holding
    a version above every version the row had is removed as drift, while a newer incarnation
    within it is kept."""

    async def check() -> int | None:
        row = await asyncio.to_thread(
            get_row, engine, namespace=request.namespace, name=request.name
        )
        return max(request.seq, 0 if row is None else row.seq)

    return check
