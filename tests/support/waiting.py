"""Waiting on a condition with a deadline: the one poll loop the tests share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]],
    *,
    timeout_s: float = 60,
    what: str = "",
    interval_s: float = 0.1,
) -> None:
    """Poll ``check()`` until it is true; fail naming ``what`` after ``timeout_s``.
    ``check`` may itself raise to fail early (a process that died, say)."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or check}")
        await asyncio.sleep(interval_s)


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout_s: float = 10,
    what: str = "",
    interval_s: float = 0.02,
) -> None:
    """The same for synchronous code."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or predicate}")
        time.sleep(interval_s)
