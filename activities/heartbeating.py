"""Heartbeats for activities that can outlive their timeout.

Temporal tells a running attempt that it was timed out or cancelled (a newer change
superseded it, or its start-to-close or heartbeat timeout passed) only in the answer to a
heartbeat. An attempt that does not heartbeat therefore keeps running as a zombie and may
write after its successor. While :func:`heartbeating` is active the attempt heartbeats, so
the cancellation arrives as ``asyncio.CancelledError`` at whatever it awaits (the Git
repository lock, an API call), before it writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity

#: Heartbeats per heartbeat timeout: one lost or late heartbeat must not time the attempt out.
BEATS_PER_TIMEOUT = 3


def heartbeat_interval_s() -> float | None:
    """Seconds between heartbeats for the running attempt; None when the caller set no
    heartbeat timeout (then no heartbeat is needed: nothing times the attempt out by it)."""
    timeout = activity.info().heartbeat_timeout
    if not timeout:
        return None
    return timeout.total_seconds() / BEATS_PER_TIMEOUT


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat at :func:`heartbeat_interval_s` while the block runs. Must be entered inside
    an activity. The SDK sends the heartbeats (throttled) and cancels the attempt's task when
    the server answers that the attempt is cancelled or no longer current."""
    interval = heartbeat_interval_s()
    if interval is None:
        yield
        return

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(interval)

    beating = asyncio.create_task(beat(), name=f"heartbeat {activity.info().activity_id}")
    try:
        yield
    finally:
        # Not awaited: a cancellation of the attempt itself must not be swallowed here.
        beating.cancel()
