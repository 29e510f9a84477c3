"""The database decides whether a version is still worth applying.

After a delete has been compensated (and its tombstone purged), a redelivered older upsert
would start a new workflow run and recreate the resource: the version fence cannot stop it,
because nothing is left at the target to compare with. So before applying, an activity
checks the row: a version that is no longer the row's (superseded, deleted or purged) is
skipped; the newer change reaches the workflow on its own.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import Engine

from api.persistence.reading import get_row
from workflows.contracts import AppConfigImage


async def superseded(engine: Engine, image: AppConfigImage) -> bool:
    row = await asyncio.to_thread(get_row, engine, namespace=image.namespace, name=image.name)
    return row is None or row.deleted or row.seq > image.seq
