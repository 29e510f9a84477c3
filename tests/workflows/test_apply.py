"""Applying upserts: both targets in order, the state query and the SyncState attribute."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowFailureError

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import WAIT_S, SyncDriver
from vocabulary import PHASE_SYNCED, PHASE_SYNCING, TARGET_GIT, TARGET_KUBERNETES
from workflows.contracts import QUERY_STATE, SyncOptions, SyncState, TargetState
from workflows.declarations import GIT, KUBERNETES

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_create_applies_kubernetes_then_git(sync: SyncDriver, fake: FakeActivities) -> None:
    await sync.upsert(1)

    state = await sync.wait_synced(1)

    assert fake.names() == [KUBERNETES.apply.name, GIT.apply.name]
    assert fake.versions(KUBERNETES.apply.name) == [1]
    assert state.key == sync.key
    assert state.desired_version == 1
    assert state.targets == {
        TARGET_KUBERNETES: TargetState(1, f"{TARGET_KUBERNETES}@1"),
        TARGET_GIT: TargetState(1, f"{TARGET_GIT}@1"),
    }
    assert state.last_error == ""
    assert await sync.sync_state_attribute() == PHASE_SYNCED


async def test_targets_follow_the_configured_order(sync: SyncDriver, fake: FakeActivities) -> None:
    sync.options = SyncOptions(targets=(TARGET_GIT, TARGET_KUBERNETES))
    await sync.upsert(3)

    await sync.wait_synced(3)

    assert fake.names() == [GIT.apply.name, KUBERNETES.apply.name]


async def test_state_query_shows_syncing_while_applying(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    gate = fake.block(GIT.apply.name)
    await sync.upsert(1)
    await gate.wait_entered()

    state = await sync.state()
    assert state.phase == PHASE_SYNCING
    assert state.desired_version == 1
    assert state.handled_version == 0
    assert state.targets == {TARGET_KUBERNETES: TargetState(1, f"{TARGET_KUBERNETES}@1")}
    assert state.events_seen == 1
    assert await sync.sync_state_attribute() == PHASE_SYNCING

    gate.release()
    await sync.wait_synced(1)


async def test_later_update_applies_to_every_target(sync: SyncDriver, fake: FakeActivities) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    await sync.upsert(2)

    state = await sync.wait_synced(2)

    assert fake.versions(KUBERNETES.apply.name) == [1, 2]
    assert fake.versions(GIT.apply.name) == [1, 2]
    assert state.events_seen == 2


async def test_state_query_answers_under_its_contract_name(sync: SyncDriver) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)

    state = await sync.handle.query(QUERY_STATE, result_type=SyncState)

    assert state == await sync.state()
    assert state.phase == PHASE_SYNCED


async def test_unknown_target_fails_the_workflow_fast(sync: SyncDriver) -> None:
    sync.options = SyncOptions(targets=(TARGET_KUBERNETES, "svn"))
    await sync.upsert(1)

    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(sync.handle.result(), WAIT_S)

    assert "unknown sync targets" in str(failure.value.cause)
