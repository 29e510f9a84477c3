"""Continue-as-new: after ``continue_as_new_after`` events the run restarts carrying its state."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.client import WorkflowExecutionStatus

from tests.support.waiting import eventually
from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import FAST_RETRIES, WAIT_S, SyncDriver
from vocabulary import PHASE_FAILED, PHASE_SYNCED, TARGET_GIT, TARGET_KUBERNETES
from workflows.declarations import GIT, KUBERNETES

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def run_id(sync: SyncDriver) -> str:
    return (await sync.handle.describe()).run_id


async def wait_continued(sync: SyncDriver, run: str) -> None:
    """Poll until run ``run`` has continued as new; fail after WAIT_S."""
    handle = sync.client.get_workflow_handle(sync.workflow_id, run_id=run)

    async def continued() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW

    await eventually(
        continued, timeout_s=WAIT_S, what=f"run {run} to continue as new", interval_s=0.05
    )


async def test_continues_as_new_carrying_state_and_pending_event(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = dataclasses.replace(FAST_RETRIES, continue_as_new_after=3)
    await sync.upsert(1)
    await sync.wait_synced(1)
    first_run = await run_id(sync)
    await sync.upsert(2)
    await sync.wait_synced(2)

    await sync.upsert(3)  # the third event of the run: carried to the next run and applied there
    state = await sync.wait_state(
        lambda s: s.handled_version == 3 and s.phase == PHASE_SYNCED, "v3 synced"
    )

    assert await run_id(sync) != first_run
    await wait_continued(sync, first_run)
    assert state.events_seen == 3
    assert state.desired_version == 3
    assert state.targets[TARGET_KUBERNETES].applied_version == 3
    assert state.targets[TARGET_GIT].applied_version == 3
    assert fake.versions(KUBERNETES.apply.name) == [1, 2, 3]

    await sync.upsert(3, 2)  # dedupe survives the new run
    await sync.upsert(4)
    await sync.wait_synced(4)
    assert fake.versions(GIT.apply.name) == [1, 2, 3, 4]


async def test_failed_state_survives_continue_as_new(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = dataclasses.replace(FAST_RETRIES, continue_as_new_after=3)
    await sync.upsert(1)
    await sync.wait_synced(1)
    first_run = await run_id(sync)
    fake.fail(GIT.apply.name, permanent=True)
    await sync.upsert(2)
    await sync.wait_state(lambda s: s.phase == PHASE_FAILED, "Failed")

    await sync.upsert(2)  # third event: the idle failed run continues as new
    await sync.wait_state(lambda s: s.events_seen == 3, "duplicate received")
    await wait_continued(sync, first_run)
    state = await sync.state()
    assert (state.phase, state.failed_version, state.handled_version) == (PHASE_FAILED, 2, 1)
    assert await sync.sync_state_attribute() == PHASE_FAILED

    await sync.retry()
    await sync.wait_synced(2)
    assert fake.versions(GIT.apply.name) == [1, 2, 2]
