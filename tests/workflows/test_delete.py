"""Deletes: compensation in reverse order of apply, completion, recreates and races with updates."""

from __future__ import annotations

import asyncio

import pytest

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import WAIT_S, SyncDriver
from vocabulary import PHASE_DELETED, PHASE_DELETING
from workflows.contracts import SyncState
from workflows.declarations import FINISH_DELETE, GIT, KUBERNETES

pytestmark = pytest.mark.asyncio(loop_scope="session")

APPLY = [KUBERNETES.apply.name, GIT.apply.name]
COMPENSATE = [GIT.remove.name, KUBERNETES.remove.name, FINISH_DELETE.name]


async def result(sync: SyncDriver) -> SyncState:
    return await asyncio.wait_for(sync.handle.result(), WAIT_S)


async def test_delete_compensates_in_reverse_and_completes(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    await sync.delete(2)

    final = await result(sync)

    assert fake.names() == APPLY + COMPENSATE
    assert fake.versions(FINISH_DELETE.name) == [2]
    assert final.phase == PHASE_DELETED
    assert final.handled_version == 2
    assert final.targets == {}


async def test_delete_of_unknown_key_still_cleans_every_target(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.delete(5)

    final = await result(sync)

    assert fake.names() == COMPENSATE
    assert final.phase == PHASE_DELETED


async def test_recreate_during_delete_applies_after_compensation(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    gate = fake.block(GIT.remove.name)
    await sync.delete(2)
    await gate.wait_entered()
    assert (await sync.state()).phase == PHASE_DELETING
    assert await sync.sync_state_attribute() == PHASE_DELETING

    await sync.upsert(3)
    await sync.wait_state(lambda s: s.desired_version == 3, "recreate seen")
    gate.release()
    state = await sync.wait_synced(3)

    assert fake.names() == APPLY + COMPENSATE + APPLY
    assert fake.versions(GIT.apply.name) == [1, 3]
    assert set(state.targets) == {"kubernetes", "git"}


async def test_recreate_after_completed_delete_starts_a_new_run(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    await sync.delete(2)
    await result(sync)
    first_run = (await sync.handle.describe()).run_id

    await sync.upsert(3)
    state = await sync.wait_synced(3)

    assert (await sync.handle.describe()).run_id != first_run
    assert fake.names() == APPLY + COMPENSATE + APPLY
    assert state.events_seen == 1


async def test_delete_racing_with_updates(sync: SyncDriver, fake: FakeActivities) -> None:
    gate = fake.block(KUBERNETES.apply.name)
    await sync.upsert(1)
    await gate.wait_entered()
    await sync.upsert(2)
    await sync.delete(3)
    await sync.upsert(4, 5)
    await sync.wait_state(lambda s: s.desired_version == 5, "v5 seen")

    gate.release()
    await sync.wait_synced(5)

    # v1's attempt is cancelled by the newer events; the delete is never coalesced away: its
    # compensation runs after every apply of the old incarnation and before the recreate.
    assert fake.versions(GIT.remove.name) == [3]
    assert_compensation_between(fake, old_below=3, new_above=3)
    assert fake.versions(KUBERNETES.apply.name)[-1] == 5


async def test_updates_then_delete_skip_superseded_updates_and_complete(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    gate = fake.block(KUBERNETES.apply.name)
    await sync.upsert(1)
    await gate.wait_entered()
    await sync.upsert(2, 3)
    await sync.delete(4)
    await sync.upsert(3)  # a redelivered older update must not resurrect the key

    gate.release()
    final = await result(sync)

    assert fake.names()[-3:] == COMPENSATE
    assert fake.versions(GIT.remove.name) == [4]
    assert_compensation_between(fake, old_below=4, new_above=4)
    assert final.handled_version == 4
    assert final.events_seen == 5


def assert_compensation_between(fake: FakeActivities, *, old_below: int, new_above: int) -> None:
    """Every apply before the compensation is of an older version, every one after of a newer
    (a recreate): the delete was neither skipped nor overtaken."""
    names = fake.names()
    start = names.index(GIT.remove.name)
    applies = {KUBERNETES.apply.name, GIT.apply.name}
    before = [c.seq for c in fake.calls[:start] if c.activity in applies]
    after = [c.seq for c in fake.calls[start:] if c.activity in applies]
    assert all(seq < old_below for seq in before), fake.calls
    assert all(seq > new_above for seq in after), fake.calls
