"""``?wait=synced&timeout=10s``: answer once the write reached every target, or time out.

200 when the sync applied this write's version (or a newer one) everywhere — for a delete,
when its compensation finished — and 202 with the current status after the timeout.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.web.apicontext import ApiContext
from api.web.httperrors import HttpError
from api.web.resources import render
from api.web.status import current_status
from persistence import reading
from persistence.tables import AppConfigRow
from vocabulary import PHASE_DELETED

MAX_WAIT_S = 60.0
POLL_S = 0.05
#: ASCII digits only (Python's ``\d`` admits every Unicode digit; the documented pattern not).
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$")
WAIT_VALUES = ("synced",)


@dataclass(frozen=True)
class WaitSpec:
    timeout_s: float


def parse_duration(text: str) -> float:
    match = _DURATION.fullmatch(text)
    if not match:
        raise HttpError(400, f"timeout: {text!r} is not a duration such as 10s or 500ms")
    value = float(match.group(1))
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match.group(2)]


def wait_spec(
    wait: Annotated[
        str | None,
        Query(
            description="'synced': answer once the sync finished (or 202 after timeout)",
            json_schema_extra={"enum": list(WAIT_VALUES)},
        ),
    ] = None,
    timeout: Annotated[
        str,
        Query(
            description=f"how long to wait, e.g. 10s or 500ms; at most {MAX_WAIT_S:.0f}s",
            json_schema_extra={"pattern": _DURATION.pattern},
        ),
    ] = "10s",
) -> WaitSpec | None:
    timeout_s = parse_duration(timeout)  # malformed is refused, even when unused
    if wait is None:
        return None
    if wait not in WAIT_VALUES:
        raise HttpError(400, f"wait: only 'synced' is supported, got {wait!r}")
    return WaitSpec(min(timeout_s, MAX_WAIT_S))


WaitDep = Annotated[WaitSpec | None, Depends(wait_spec)]


def _snapshot(ctx: ApiContext, row: AppConfigRow) -> tuple[bool, dict[str, Any]]:
    """Whether the write of ``row`` has been synced, and ``row`` with its status now.

    The body is always the object as this request wrote (or read) it; its status says how
    far the sync of that version got (a newer applied version counts as done)."""
    if row.deleted:
        current = reading.get_row(ctx.engine, namespace=row.namespace, name=row.name)
        if current is None or current.seq > row.seq:
            return True, render(row, {"phase": PHASE_DELETED, "desiredVersion": row.seq})
    status = current_status(ctx, row)
    done = not row.deleted and status["appliedVersion"] >= row.seq
    return done, render(row, status)


async def finish(
    response: Response, ctx: ApiContext, row: AppConfigRow, wait: WaitSpec | None
) -> dict[str, Any]:
    """The answer to a write or read of ``row``, after waiting for its sync if asked."""
    response.headers["ETag"] = f'"{row.seq}"'
    deadline = time.monotonic() + (wait.timeout_s if wait else 0.0)
    while True:
        done, body = await run_in_threadpool(_snapshot, ctx, row)
        if wait is None:
            return body
        if done:
            response.status_code = 200
            return body
        if time.monotonic() >= deadline:
            response.status_code = 202
            return body
        await asyncio.sleep(POLL_S)
