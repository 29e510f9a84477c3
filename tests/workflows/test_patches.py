"""A new run asks one patch, the generation, instead of one per patch of the code; runs
recorded before ask theirs one by one (``tests/workflows/test_stored_histories.py`` replays
them)."""

from __future__ import annotations

import json

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import SyncDriver
from worker.temporalworker import WORKFLOW_RUNNER
from workflows import AppConfigSync, patches

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_new_run_records_one_patch_marker_and_replays(
    sync: SyncDriver, fake: FakeActivities
) -> None:
    await sync.upsert(1)
    await sync.wait_synced(1)
    await sync.upsert(2)
    await sync.wait_synced(2)

    history = await sync.handle.fetch_history()
    markers = [
        e.marker_recorded_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    patch_ids = [json.loads(m.details["patch-data"].payloads[0].data)["id"] for m in markers]
    assert patch_ids == [patches.GENERATION]
    change_versions = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        and "TemporalChangeVersion"
        in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    ]
    assert len(change_versions) == 1
    replayer = Replayer(workflows=[AppConfigSync], workflow_runner=WORKFLOW_RUNNER)
    assert (await replayer.replay_workflow(history)).replay_failure is None
