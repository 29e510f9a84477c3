"""SyncState/AppConfigKey search attributes on a real dev server: failed syncs are listable,
and a value is upserted only when it changes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.converter import decode_search_attributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.support.waiting import eventually
from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import FAST_RETRIES, WAIT_S, SyncDriver, new_key, server_binary
from vocabulary import PHASE_DELETED, PHASE_FAILED, PHASE_SYNCED, PHASE_SYNCING
from worker.temporalworker import WORKFLOW_RUNNER
from workflows import AppConfigSync
from workflows.contracts import SEARCH_ATTRIBUTE_KEY, SEARCH_ATTRIBUTE_STATE
from workflows.declarations import GIT

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal"),
        search_attributes=[
            SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_KEY),
            SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_STATE),
        ],
    )
    async with environment:
        yield environment


@pytest_asyncio.fixture(loop_scope="session")
async def dev_sync(dev_env: WorkflowEnvironment, fake: FakeActivities) -> AsyncIterator[SyncDriver]:
    task_queue = f"sync-{uuid.uuid4().hex}"
    async with Worker(
        dev_env.client,
        task_queue=task_queue,
        workflows=[AppConfigSync],
        activities=fake.activities(),
        workflow_runner=WORKFLOW_RUNNER,
    ):
        driver = SyncDriver(dev_env.client, task_queue, new_key(), FAST_RETRIES)
        fake.current_options = lambda: driver.options
        yield driver


async def listed(client: Client, query: str) -> list[str]:
    return [execution.id async for execution in client.list_workflows(query)]


async def wait_listed(client: Client, query: str, workflow_id: str) -> None:
    """Visibility is eventually consistent: poll the list query until the workflow shows."""

    async def shows() -> bool:
        return workflow_id in await listed(client, query)

    await eventually(shows, timeout_s=WAIT_S, what=f"{workflow_id} listed by {query!r}")


async def upserted(driver: SyncDriver) -> list[dict[str, str]]:
    """The AppConfigKey/SyncState values of each upsert in the history, in order (the SDK's
    own upserts of ``TemporalChangeVersion`` for patches are left out)."""
    history = await driver.handle.fetch_history()
    upsert = EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ours = (SEARCH_ATTRIBUTE_KEY, SEARCH_ATTRIBUTE_STATE)
    found: list[dict[str, str]] = []
    for event in history.events:
        if event.event_type != upsert:
            continue
        upserts = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        decoded = decode_search_attributes(upserts)
        values = {name: str(decoded[name][0]) for name in ours if name in decoded}
        if values:
            found.append(values)
    return found


async def test_changes_that_sync_again_upsert_no_search_attribute(sync: SyncDriver) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    first = await upserted(sync)
    for seq in (2, 3, 4, 5):
        await sync.upsert(seq)
        await sync.wait_synced(seq)

    states = [values.get(SEARCH_ATTRIBUTE_STATE) for values in await upserted(sync)]
    assert states == [PHASE_SYNCING, PHASE_SYNCED]  # Synced → Synced: the value never changed
    assert [values.get(SEARCH_ATTRIBUTE_STATE) for values in first] == states
    assert first[0][SEARCH_ATTRIBUTE_KEY] == sync.key
    assert await sync.sync_state_attribute() == PHASE_SYNCED


async def test_failed_sync_is_found_by_sync_state_and_key(
    dev_sync: SyncDriver, fake: FakeActivities
) -> None:
    fake.fail(GIT.apply.name, permanent=True)
    await dev_sync.upsert(1)
    await dev_sync.wait_state(lambda s: s.phase == PHASE_FAILED, "Failed")

    by_key = f'{SEARCH_ATTRIBUTE_KEY}="{dev_sync.key}"'
    await wait_listed(
        dev_sync.client, f'{SEARCH_ATTRIBUTE_STATE}="{PHASE_FAILED}"', dev_sync.workflow_id
    )
    await wait_listed(
        dev_sync.client,
        f'{by_key} AND {SEARCH_ATTRIBUTE_STATE}="{PHASE_FAILED}"',
        dev_sync.workflow_id,
    )

    await dev_sync.retry()
    await dev_sync.wait_synced(1)
    await wait_listed(
        dev_sync.client,
        f'{by_key} AND {SEARCH_ATTRIBUTE_STATE}="{PHASE_SYNCED}"',
        dev_sync.workflow_id,
    )
    assert dev_sync.workflow_id not in await listed(
        dev_sync.client, f'{by_key} AND {SEARCH_ATTRIBUTE_STATE}="{PHASE_FAILED}"'
    )


async def test_deleted_sync_completes_with_sync_state_deleted(dev_sync: SyncDriver) -> None:
    await dev_sync.upsert(1)
    await dev_sync.wait_synced(1)
    await dev_sync.delete(2)

    final = await asyncio.wait_for(dev_sync.handle.result(), WAIT_S)

    assert final.phase == PHASE_DELETED
    assert await dev_sync.sync_state_attribute() == PHASE_DELETED
