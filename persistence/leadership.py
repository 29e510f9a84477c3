"""A single active relay: a PostgreSQL advisory lock, or a lock file next to a SQLite file.

A standby relay waits until the leader's lock is released (its process or connection gone)
and then takes over; publishing is idempotent, so overlap at hand-over only repeats events.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from persistence.db import psycopg_conninfo

logger = logging.getLogger(__name__)

#: Advisory lock id of the relay ("rsrelay" as a number).
RELAY_LOCK_ID = 0x7273_7265_6C61_79


@asynccontextmanager
async def relay_leadership(db_url: str, *, retry_s: float = 1.0) -> AsyncIterator[None]:
    """Hold the relay's lock for the duration of the block (waits until it is free)."""
    if make_url(db_url).get_backend_name() == "postgresql":
        async with _advisory_lock(psycopg_conninfo(db_url), retry_s=retry_s):
            yield
    else:
        database = make_url(db_url).database or "rendersync.db"
        async with _file_lock(Path(f"{database}.relay.lock"), retry_s=retry_s):
            yield


@asynccontextmanager
async def _advisory_lock(conninfo: str, *, retry_s: float) -> AsyncIterator[None]:
    conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    try:
        while True:
            cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (RELAY_LOCK_ID,))
            row = await cursor.fetchone()
            if row is not None and row[0]:
                break
            logger.info("another relay is active; standing by")
            await asyncio.sleep(retry_s)
        logger.info("relay leadership acquired (advisory lock)")
        yield
    finally:
        await conn.close()  # closing the session releases the advisory lock


@asynccontextmanager
async def _file_lock(path: Path, *, retry_s: float) -> AsyncIterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                logger.info("another relay holds %s; standing by", path)
                await asyncio.sleep(retry_s)
        logger.info("relay leadership acquired (%s)", path)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
