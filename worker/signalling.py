"""Signal-with-start of the AppConfigSync workflow, retried until Temporal accepts it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from vocabulary import workflow_id_for
from workflows.contracts import (
    SEARCH_ATTRIBUTE_KEY,
    SIGNAL_CHANGE,
    WORKFLOW_TYPE,
    ChangeEvent,
    SyncInput,
    SyncOptions,
)

logger = logging.getLogger(__name__)
APP_CONFIG_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_KEY)


class Signaller:
    """Hands change events to their key's workflow (starting it when needed)."""

    def __init__(
        self, client: Client, *, task_queue: str, options: SyncOptions, max_backoff_s: float = 10.0
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.options = options
        self.max_backoff_s = max_backoff_s

    async def signal_with_start(self, event: ChangeEvent) -> None:
        """One attempt. Idempotent for the workflow: a repeated event is deduped by seq."""
        attributes = TypedSearchAttributes([SearchAttributePair(APP_CONFIG_KEY, event.key)])
        await self.client.start_workflow(
            WORKFLOW_TYPE,
            SyncInput(key=event.key, options=self.options),
            id=workflow_id_for(event.key),
            task_queue=self.task_queue,
            start_signal=SIGNAL_CHANGE,
            start_signal_args=[event],
            search_attributes=attributes if self.options.search_attributes else None,
        )

    async def deliver(self, event: ChangeEvent, *, stop: asyncio.Event) -> bool:
        """Retry with exponential backoff until accepted or ``stop``; True if accepted."""
        delay = 0.2
        while not stop.is_set():
            try:
                await self.signal_with_start(event)
                return True
            except Exception as err:  # any failure: Temporal has not taken the event
                logger.warning("signal for %s@%d failed (%s); retrying", event.key, event.seq, err)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, self.max_backoff_s)
        return False
