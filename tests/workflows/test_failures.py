"""Failure classification: transient retries, permanent failures, Failed state and its cures."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import FAST_RETRIES, SyncDriver
from vocabulary import PHASE_FAILED, PHASE_RETRYING, TARGET_GIT, TARGET_KUBERNETES, workflow_id_for
from workflows.contracts import FailureReport, SyncState
from workflows.declarations import FINISH_DELETE, GIT, KUBERNETES, RECORD_FAILURE

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def wait_failed(sync: SyncDriver, seq: int) -> SyncState:
    return await sync.wait_state(
        lambda s: s.phase == PHASE_FAILED and s.failed_version == seq, f"Failed at v{seq}"
    )


async def test_transient_failures_are_retried_to_success(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    fake.fail(GIT.apply.name, times=2)

    await sync.upsert(1)
    await sync.wait_synced(1)

    assert fake.versions(GIT.apply.name) == [1, 1, 1]
    # Each failed attempt is recorded as Retrying (never Failed), with its count.
    assert [(r.permanent, r.attempts) for r in fake.reports] == [(False, 1), (False, 2)]
    assert (await sync.state()).attempts == 0


async def test_transient_failures_retry_without_end_and_show_retrying(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    fake.fail(KUBERNETES.apply.name, times=12)  # far beyond the old 8-attempt budget

    await sync.upsert(2)
    state = await sync.wait_state(
        lambda s: s.phase == PHASE_RETRYING and s.attempts >= 3, "Retrying, 3 attempts"
    )
    assert state.retrying_version == 2
    assert "apply_kubernetes v2 failed" in state.last_error
    assert state.failed_version == 0
    assert await sync.sync_state_attribute() == PHASE_RETRYING

    state = await sync.wait_synced(2)
    assert fake.versions(KUBERNETES.apply.name) == [1] + [2] * 13
    assert (state.attempts, state.retrying_version, state.last_error) == (0, 0, "")
    assert all(not r.permanent for r in fake.reports)


async def test_newer_change_interrupts_the_backoff_of_a_retrying_one(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = replace(FAST_RETRIES, retry_initial_interval_s=600, retry_max_interval_s=600)
    fake.fail(GIT.apply.name, times=1)
    await sync.upsert(1)
    await sync.wait_state(lambda s: s.phase == PHASE_RETRYING, "v1 Retrying")

    await sync.upsert(2)  # must not wait ten minutes behind v1
    await sync.wait_synced(2)

    assert fake.versions(GIT.apply.name) == [1, 2]


async def test_newer_change_cancels_a_hanging_attempt(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    gate = fake.block(GIT.apply.name)  # v2's Git write hangs (a stuck push, say)
    await sync.upsert(2)
    await gate.wait_entered()

    await sync.upsert(3)
    state = await sync.wait_synced(3)

    assert fake.versions(GIT.apply.name) == [1, 2, 3]
    assert state.targets[TARGET_GIT].applied_version == 3


async def test_retry_signal_cuts_the_backoff_short(sync: SyncDriver, fake: FakeActivities) -> None:
    sync.options = replace(FAST_RETRIES, retry_initial_interval_s=600, retry_max_interval_s=600)
    fake.fail(KUBERNETES.apply.name, times=1)
    await sync.upsert(1)
    await sync.wait_state(lambda s: s.phase == PHASE_RETRYING, "Retrying")

    await sync.retry()
    await sync.wait_synced(1)

    assert fake.versions(KUBERNETES.apply.name) == [1, 1]


async def test_a_retrying_sync_continues_as_new_and_keeps_retrying(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    sync.options = replace(FAST_RETRIES, continue_as_new_after=3)
    fake.fail(GIT.apply.name, times=6)
    await sync.upsert(1)
    first_run = (await sync.handle.describe()).run_id

    state = await sync.wait_synced(1)

    assert (await sync.handle.describe()).run_id != first_run
    assert fake.versions(GIT.apply.name) == [1] * 7
    assert state.events_seen == 1


async def test_permanent_failure_is_failed_and_recorded(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    fake.fail(GIT.apply.name, permanent=True)

    await sync.upsert(2)
    state = await wait_failed(sync, 2)
    await sync.wait_state(lambda s: len(fake.reports) == 1, "failure recorded")

    assert fake.versions(GIT.apply.name) == [1, 2]  # not retried
    assert state.targets[TARGET_KUBERNETES].applied_version == 2  # not a first apply: kept
    assert "apply_git v2 failed" in state.last_error
    assert await sync.sync_state_attribute() == PHASE_FAILED
    namespace, name = sync.key.split("/")
    report = fake.reports[0]
    assert report == FailureReport(
        namespace, name, 2, TARGET_GIT, report.error, workflow_id_for(sync.key)
    )
    assert "apply_git v2 failed" in report.error


async def test_failed_sync_waits_and_retry_signal_cures_it(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    fake.fail(GIT.apply.name, permanent=True)
    await sync.upsert(2)
    await wait_failed(sync, 2)

    await sync.upsert(2)  # a redelivered duplicate does not re-drive a failed sync
    await sync.wait_state(lambda s: s.events_seen == 3, "duplicate received")
    assert (await sync.state()).phase == PHASE_FAILED
    assert fake.versions(GIT.apply.name) == [1, 2]

    await sync.retry()
    state = await sync.wait_synced(2)

    assert fake.versions(GIT.apply.name) == [1, 2, 2]
    assert state.last_error == ""
    assert state.failed_version == 0


async def test_newer_change_cures_a_failed_sync(sync: SyncDriver, fake: FakeActivities) -> None:
    fake.fail(KUBERNETES.apply.name, permanent=True)
    await sync.upsert(1)
    await wait_failed(sync, 1)

    await sync.upsert(2)
    await sync.wait_synced(2)

    assert fake.versions(KUBERNETES.apply.name) == [1, 2]
    assert fake.versions(GIT.apply.name) == [2]


async def test_retry_when_not_failed_is_ignored(sync: SyncDriver, fake: FakeActivities) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)

    await sync.retry()
    await sync.upsert(2)
    await sync.wait_synced(2)

    assert fake.versions(KUBERNETES.apply.name) == [1, 2]


async def test_first_apply_failing_on_git_compensates_kubernetes(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    fake.fail(GIT.apply.name, permanent=True)

    await sync.upsert(1)
    state = await wait_failed(sync, 1)
    await sync.wait_state(lambda s: len(fake.reports) == 1, "failure recorded")

    assert fake.names() == [
        KUBERNETES.apply.name,
        GIT.apply.name,
        KUBERNETES.remove.name,
        RECORD_FAILURE.name,
    ]
    assert fake.versions(KUBERNETES.remove.name) == [1]
    assert state.targets == {}

    await sync.retry()
    await sync.wait_synced(1)
    assert fake.versions(KUBERNETES.apply.name) == [1, 1]


async def test_failed_compensation_is_visible(sync: SyncDriver, fake: FakeActivities) -> None:
    fake.fail(GIT.apply.name, permanent=True)
    fake.fail(KUBERNETES.remove.name, permanent=True)

    await sync.upsert(1)
    state = await wait_failed(sync, 1)

    assert "compensation failed on kubernetes" in state.last_error
    assert state.targets[TARGET_KUBERNETES].applied_version == 1


async def test_failed_delete_holds_back_a_recreate_until_retried(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    fake.fail(KUBERNETES.remove.name, permanent=True)
    await sync.delete(2)
    await wait_failed(sync, 2)

    await sync.upsert(3)
    state = await sync.wait_state(lambda s: s.desired_version == 3, "recreate seen")
    assert state.phase == PHASE_FAILED
    assert FINISH_DELETE.name not in fake.names()

    await sync.retry()
    await sync.wait_synced(3)

    assert fake.names()[-5:] == [
        GIT.remove.name,
        KUBERNETES.remove.name,
        FINISH_DELETE.name,
        KUBERNETES.apply.name,
        GIT.apply.name,
    ]


async def test_skipped_results_do_not_count_as_applied(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    # v1 is superseded in the database before any target writes it: nothing is applied.
    fake.skip(KUBERNETES.apply.name)
    fake.skip(GIT.apply.name)
    await sync.upsert(1)
    state = await sync.wait_synced(1)
    assert state.targets == {}

    # v2 is therefore still the first apply: its permanent failure on Git is compensated.
    fake.fail(GIT.apply.name, permanent=True)
    await sync.upsert(2)
    state = await wait_failed(sync, 2)

    assert fake.versions(KUBERNETES.remove.name) == [2]
    assert state.targets == {}
