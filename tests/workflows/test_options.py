"""Running workflows act on the worker's current settings, not on those of their first start."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import FAST_RETRIES, SyncDriver, change
from vocabulary import PHASE_SYNCED, TARGET_GIT, TARGET_KUBERNETES
from workflows.declarations import GIT, KUBERNETES

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_target_added_to_the_settings_reaches_a_running_workflow(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = replace(FAST_RETRIES, targets=(TARGET_KUBERNETES,))
    await sync.upsert(1)
    await sync.wait_synced(1)
    assert fake.versions(GIT.apply.name) == []

    sync.options = FAST_RETRIES  # the worker now also renders into Git
    await sync.send(replace(change(sync.key, 1), force=True))  # anti-entropy's re-drive
    await sync.wait_state(
        lambda s: s.phase == PHASE_SYNCED and TARGET_GIT in s.targets, "Git written"
    )
    await sync.upsert(2)
    state = await sync.wait_synced(2)

    assert fake.versions(GIT.apply.name) == [1, 2]
    assert state.targets[TARGET_GIT].applied_version == 2


async def test_a_target_removed_from_the_settings_is_no_longer_written(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)

    sync.options = replace(FAST_RETRIES, targets=(TARGET_KUBERNETES,))
    await sync.upsert(2)
    await sync.wait_synced(2)

    assert fake.versions(KUBERNETES.apply.name) == [1, 2]
    assert fake.versions(GIT.apply.name) == [1]
