"""Failure classification for activities: permanent errors stop retrying at once.

Transient errors (timeouts, 5xx, 429, 409 conflicts, connection errors) are raised as they
are, so Temporal retries them with backoff. Permanent ones (422, 403, bad config) become
``ApplicationError(non_retryable=True)``. Every failed attempt is recorded in the status
table (lastError, attempts) so the API shows a sync that keeps failing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.provenancing import note
from activities.syncmetrics import SYNC_FAILURES
from persistence import provenance, syncstatus

logger = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT = "transient"
PERMANENT = "permanent"


async def guarded(
    operation: Callable[[], Awaitable[T]],
    *,
    engine: Engine,
    namespace: str,
    name: str,
    target: str,
    version: int,
    classify: Callable[[BaseException], str],
) -> T:
    """Run one target operation for ``version``; on failure record the attempt (fenced on
    ``version``), then re-raise it classified."""
    try:
        return await operation()
    except asyncio.CancelledError:
        raise
    except Exception as err:
        kind = classify(err)
        attempt = activity.info().attempt
        message = str(err) or type(err).__name__
        SYNC_FAILURES.labels(target, kind).inc()
        logger.warning(
            "%s attempt %d for %s/%s failed (%s)", target, attempt, namespace, name, kind
        )
        try:
            await asyncio.to_thread(
                syncstatus.record_attempt_error,
                engine,
                namespace=namespace,
                name=name,
                target=target,
                version=version,
                attempt=attempt,
                error=message,
            )
        except Exception:
            logger.exception("could not record the failed attempt")
        await note(
            engine,
            namespace=namespace,
            name=name,
            seq=version,
            stage=target,
            outcome=provenance.FAILED if kind == PERMANENT else provenance.RETRYING,
            detail={"error": message, "permanent": kind == PERMANENT},
        )
        if kind == PERMANENT:
            raise ApplicationError(message, type=type(err).__name__, non_retryable=True) from err
        raise
