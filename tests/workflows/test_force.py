"""Forced events (anti-entropy resync): a re-apply at the handled version, exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace

import pytest
from temporalio.worker import Replayer

from tests.support.waiting import eventually
from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import WAIT_S, SyncDriver, change
from vocabulary import OP_DELETE, OP_UPSERT, PHASE_DELETED, PHASE_FAILED
from worker.temporalworker import WORKFLOW_RUNNER
from workflows import AppConfigSync
from workflows.contracts import ChangeEvent, SyncState
from workflows.declarations import FINISH_DELETE, GIT, KUBERNETES

pytestmark = pytest.mark.asyncio(loop_scope="session")

APPLY = [KUBERNETES.apply.name, GIT.apply.name]
COMPENSATE = [GIT.remove.name, KUBERNETES.remove.name, FINISH_DELETE.name]


def forced(key: str, seq: int, op: str = OP_UPSERT) -> ChangeEvent:
    return replace(change(key, seq, op), force=True)


def catch_up(key: str, seq: int, op: str = OP_UPSERT) -> ChangeEvent:
    """What periodic anti-entropy sends (``worker.changeevents.catch_up_event``)."""
    return replace(forced(key, seq, op), catch_up=True)


async def seen(sync: SyncDriver, count: int) -> SyncState:
    """Wait until the workflow has taken ``count`` change signals."""
    return await sync.wait_state(lambda s: s.events_seen >= count, f"{count} events seen")


@pytest.mark.parametrize("redrive", [forced, catch_up], ids=["forced", "catch-up"])
async def test_forced_event_at_handled_version_reapplies_once(
    sync: SyncDriver, fake: FakeActivities, redrive: Callable[[str, int], ChangeEvent]
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)

    await sync.send(redrive(sync.key, 1))
    await sync.wait_state(lambda s: len(fake.calls) == 4 and s.phase == "Synced", "re-applied")
    await sync.upsert(1)  # an ordinary duplicate is still dropped
    await sync.upsert(2)
    state = await sync.wait_synced(2)

    assert fake.names() == APPLY * 3
    assert fake.versions(KUBERNETES.apply.name) == [1, 1, 2]
    assert state.events_seen == 4


async def test_forced_event_older_than_newest_is_ignored(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    await sync.upsert(2)
    await sync.wait_synced(2)

    await sync.send(forced(sync.key, 1))
    await seen(sync, 3)
    await sync.upsert(3)
    await sync.wait_synced(3)

    assert fake.versions(KUBERNETES.apply.name) == [1, 2, 3]


async def test_forced_event_with_newer_version_is_a_normal_change(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.send(forced(sync.key, 5))
    state = await sync.wait_synced(5)

    assert fake.names() == APPLY
    assert state.desired_version == 5


async def during_the_apply_of_v1(
    sync: SyncDriver, fake: FakeActivities, event: ChangeEvent
) -> None:
    """Upsert v1 and send ``event`` while v1's Kubernetes apply runs; then let it finish."""
    gate = fake.block(KUBERNETES.apply.name)
    await sync.upsert(1)
    await gate.wait_entered()
    await sync.send(event)
    await seen(sync, 2)
    gate.release()


async def test_forced_event_during_its_apply_reapplies_after_it(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await during_the_apply_of_v1(sync, fake, forced(sync.key, 1))
    await sync.wait_state(lambda s: len(fake.calls) == 4 and s.phase == "Synced", "re-applied")

    assert fake.names() == APPLY * 2


async def test_a_catch_up_during_its_apply_adds_nothing(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    """Anti-entropy re-drives keys that lag behind their row; in a backlog that is every key
    whose change still waits or runs. Its event must not apply that change a second time."""
    await during_the_apply_of_v1(sync, fake, catch_up(sync.key, 1))
    await sync.wait_synced(1)
    await sync.upsert(2)
    await sync.wait_synced(2)

    assert fake.versions(KUBERNETES.apply.name) == [1, 2]
    assert fake.versions(GIT.apply.name) == [1, 2]


async def test_forced_event_for_a_pending_version_adds_nothing(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    gate = fake.block(GIT.remove.name)  # the delete's compensation holds the recreate back
    await sync.delete(2)
    await gate.wait_entered()
    await sync.upsert(3)
    await sync.send(forced(sync.key, 3))
    await seen(sync, 4)

    gate.release()
    await sync.wait_synced(3)
    await sync.upsert(4)
    await sync.wait_synced(4)

    # v3 was pending behind the delete: it runs once, the forced v3 folded into it.
    assert fake.versions(KUBERNETES.apply.name) == [1, 3, 4]
    assert fake.versions(GIT.apply.name) == [1, 3, 4]


async def test_forced_delete_reruns_the_compensation(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    gate = fake.block(FINISH_DELETE.name)
    await sync.delete(2)
    await gate.wait_entered()
    await sync.send(forced(sync.key, 2, OP_DELETE))
    await seen(sync, 3)

    gate.release()
    final = await asyncio.wait_for(sync.handle.result(), WAIT_S)

    assert fake.names() == APPLY + COMPENSATE + COMPENSATE
    assert final.phase == PHASE_DELETED


async def test_forced_delete_after_completion_runs_the_compensation_again(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    await sync.delete(2)
    await asyncio.wait_for(sync.handle.result(), WAIT_S)

    await sync.send(forced(sync.key, 2, OP_DELETE))
    final = await asyncio.wait_for(sync.handle.result(), WAIT_S)

    assert fake.names() == APPLY + COMPENSATE + COMPENSATE
    assert final.phase == PHASE_DELETED


async def test_forced_event_does_not_lift_failed(sync: SyncDriver, fake: FakeActivities) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    fake.fail(GIT.apply.name, permanent=True)
    await sync.upsert(2)
    await sync.wait_state(lambda s: s.phase == PHASE_FAILED and len(fake.reports) == 1, "Failed")
    calls = len(fake.calls)

    await sync.send(forced(sync.key, 2))
    state = await seen(sync, 3)
    assert state.phase == PHASE_FAILED
    assert len(fake.calls) == calls

    await sync.retry()
    await sync.wait_synced(2)
    assert fake.versions(GIT.apply.name) == [1, 2, 2]


async def test_history_with_forced_events_replays(sync: SyncDriver, fake: FakeActivities) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    await sync.send(forced(sync.key, 1))
    await sync.wait_state(lambda s: len(fake.calls) == 4, "re-applied")
    await sync.delete(2)
    await asyncio.wait_for(sync.handle.result(), WAIT_S)

    history = await sync.handle.fetch_history()
    result = await Replayer(
        workflows=[AppConfigSync], workflow_runner=WORKFLOW_RUNNER
    ).replay_workflow(history)

    assert result.replay_failure is None


async def test_failed_forced_redrive_is_redriven_by_retry(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    fake.fail(GIT.apply.name, permanent=True)

    await sync.send(forced(sync.key, 1))
    await sync.wait_state(
        lambda s: s.phase == PHASE_FAILED and s.failed_version == 1, "forced v1 Failed"
    )
    await sync.retry()
    state = await sync.wait_state(
        lambda s: s.phase == "Synced" and len(fake.versions(GIT.apply.name)) == 3,
        "forced v1 re-driven",
    )

    assert fake.versions(GIT.apply.name) == [1, 1, 1]
    assert (state.failed_version, state.last_error) == (0, "")


async def test_failed_forced_redrive_is_carried_across_continue_as_new(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = replace(sync.options, continue_as_new_after=3)
    await sync.upsert(1)
    await sync.wait_synced(1)
    first_run = (await sync.handle.describe()).run_id
    fake.fail(GIT.apply.name, times=2, permanent=True)
    await sync.send(forced(sync.key, 1))
    await sync.wait_state(lambda s: s.phase == PHASE_FAILED, "forced v1 Failed")
    await sync.retry()  # fails again: still Failed, and nothing may block continue-as-new
    await sync.wait_state(
        lambda s: s.phase == PHASE_FAILED and len(fake.versions(GIT.apply.name)) == 3,
        "re-drive failed again",
    )

    await sync.upsert(1)  # the third event of the run: the idle failed run continues as new
    await sync.wait_state(
        lambda s: s.events_seen == 3 and s.phase == PHASE_FAILED, "duplicate received"
    )
    await eventually(
        lambda: new_run(sync, first_run), timeout_s=WAIT_S, what="a new run", interval_s=0.05
    )
    await sync.retry()
    await sync.wait_state(
        lambda s: s.phase == "Synced" and len(fake.versions(GIT.apply.name)) == 4,
        "forced v1 re-driven in the new run",
    )


async def new_run(sync: SyncDriver, old_run: str) -> bool:
    return (await sync.handle.describe()).run_id != old_run
