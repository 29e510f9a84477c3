"""Per-key order: duplicates and out-of-order events are dropped, bursts coalesce to the newest."""

from __future__ import annotations

import pytest

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import SyncDriver
from workflows.declarations import GIT, KUBERNETES

pytestmark = pytest.mark.asyncio(loop_scope="session")

TARGET_ACTIVITIES = (KUBERNETES.apply.name, GIT.apply.name)


def assert_non_decreasing(fake: FakeActivities) -> None:
    for name in TARGET_ACTIVITIES:
        versions = fake.versions(name)
        assert versions == sorted(versions), f"{name} went back: {versions}"


async def test_burst_while_applying_ends_at_newest_without_waiting(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    gate = fake.block(KUBERNETES.apply.name)  # v1's attempt hangs and is never released
    await sync.upsert(1)
    await gate.wait_entered()
    await sync.upsert(2, 3, 4)

    state = await sync.wait_synced(4)

    # v1's attempt was cancelled, not waited for; whatever of v2, v3 started before the next
    # event arrived was cancelled or finished in order; v1 never reached Git.
    assert not gate.released.is_set()
    kubernetes = fake.versions(KUBERNETES.apply.name)
    assert (kubernetes[0], kubernetes[-1]) == (1, 4)
    assert kubernetes == sorted(kubernetes)
    git = fake.versions(GIT.apply.name)
    assert git[-1] == 4
    assert git == sorted(git)
    assert 1 not in git
    assert state.events_seen == 4


async def test_duplicates_are_ignored(sync: SyncDriver, fake: FakeActivities) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)

    await sync.upsert(1, 1)
    await sync.wait_state(lambda s: s.events_seen == 3, "duplicates received")
    await sync.upsert(2)
    await sync.wait_synced(2)

    assert fake.versions(KUBERNETES.apply.name) == [1, 2]
    assert fake.versions(GIT.apply.name) == [1, 2]


async def test_out_of_order_events_never_regress_a_target(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(5)
    await sync.wait_synced(5)

    await sync.upsert(3, 4, 5, 2)
    await sync.wait_state(lambda s: s.events_seen == 5, "stale events received")
    await sync.upsert(7, 6)
    state = await sync.wait_synced(7)

    assert state.desired_version == 7
    assert fake.versions(KUBERNETES.apply.name) == [5, 7]
    assert fake.versions(GIT.apply.name) == [5, 7]
    assert_non_decreasing(fake)


async def test_interleaved_stream_is_non_decreasing_and_ends_at_newest(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sent = [1, 3, 2, 3, 6, 4, 5, 8, 7, 8, 9]
    for seq in sent:
        await sync.upsert(seq)

    await sync.wait_synced(9)

    assert_non_decreasing(fake)
    for name in TARGET_ACTIVITIES:
        assert fake.versions(name)[-1] == 9


async def test_older_event_arriving_late_does_not_replace_the_newest(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    gate = fake.block(GIT.apply.name)
    await sync.upsert(1)
    await gate.wait_entered()
    await sync.upsert(4, 3, 2, 4)
    await sync.wait_state(lambda s: s.events_seen == 5, "late events received")

    gate.release()
    state = await sync.wait_synced(4)

    assert state.desired_version == 4
    assert fake.versions(KUBERNETES.apply.name) == [1, 4]
    assert fake.versions(GIT.apply.name) == [1, 4]
