"""Determinism: histories of real runs replay cleanly against the current workflow code."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.worker import Replayer

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import WAIT_S, SyncDriver
from vocabulary import PHASE_FAILED
from worker.temporalworker import WORKFLOW_RUNNER
from workflows import AppConfigSync
from workflows.declarations import GIT, KUBERNETES

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_full_lifecycle_history_replays(sync: SyncDriver, fake: FakeActivities) -> None:
    gate = fake.block(KUBERNETES.apply.name)
    await sync.upsert(1)
    await gate.wait_entered()
    await sync.upsert(3, 2)
    gate.release()
    await sync.wait_synced(3)
    fake.fail(GIT.apply.name, permanent=True)
    await sync.upsert(4)
    await sync.wait_state(lambda s: s.phase == PHASE_FAILED, "Failed")
    await sync.retry()
    await sync.wait_synced(4)
    await sync.delete(5)
    await asyncio.wait_for(sync.handle.result(), WAIT_S)

    history = await sync.handle.fetch_history()
    result = await Replayer(
        workflows=[AppConfigSync], workflow_runner=WORKFLOW_RUNNER
    ).replay_workflow(history)

    assert result.replay_failure is None
