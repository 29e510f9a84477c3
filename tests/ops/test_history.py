"""``history replay``: stored histories replay against the current workflow code; a history
recorded by a different shape of the workflow makes it exit 1 naming the workflow."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from rendersync.devstack.services.temporal import TemporalDevServer
from rendersync.statedir import write_endpoints
from tests.ops.helpers import Cli, create, wait_synced
from tests.support.pipeline import Pipeline
from vocabulary import workflow_id_for
from workflows.contracts import WORKFLOW_TYPE, SyncInput, SyncState


@workflow.defn(name=WORKFLOW_TYPE, sandboxed=False)
class EarlierAppConfigSync:
    """A different shape of the workflow: it waits on a timer before anything else, where
    the current code publishes its search attributes first."""

    @workflow.run
    async def run(self, input: SyncInput) -> SyncState:
        await workflow.sleep(timedelta(milliseconds=10))
        return SyncState(key=input.key)


@pytest.fixture
def temporal_cli(
    temporal_server: TemporalDevServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """The CLI against the Temporal server only."""
    env = {"RENDERSYNC_TEMPORAL__ADDRESS": temporal_server.address}
    write_endpoints(tmp_path / "state", env=env, urls={})
    return Cli(tmp_path / "state", capsys)


async def record_drifted_history(client: Client, key: str) -> str:
    """Run the earlier workflow shape to completion under ``key``'s workflow id."""
    task_queue = f"drifted-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, workflows=[EarlierAppConfigSync]):
        handle = await client.start_workflow(
            EarlierAppConfigSync.run,
            SyncInput(key=key),
            id=workflow_id_for(key),
            task_queue=task_queue,
        )
        await asyncio.wait_for(handle.result(), 30)
    return handle.id


async def test_diverging_history_fails_the_replay(
    temporal_client: Client, temporal_cli: Cli, tmp_path: Path
) -> None:
    workflow_id = await record_drifted_history(temporal_client, f"h-{uuid.uuid4().hex[:8]}/x")

    from_server = await temporal_cli("history", "replay", "--query", f'WorkflowId="{workflow_id}"')

    assert from_server.code == 1
    assert f"FAILED {workflow_id}" in from_server.out
    assert "Nondeterminism" in from_server.out
    assert "replayed 1 history(ies), 1 failed" in from_server.out

    history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
    stored = tmp_path / "drifted.json"
    stored.write_text(history.to_json())
    from_file = await temporal_cli(
        "history", "replay", "--file", str(stored), "--workflow-id", workflow_id, "-o", "json"
    )

    assert from_file.code == 1
    report = from_file.json()
    assert report["replayed"] == 1
    assert [f["workflowId"] for f in report["failures"]] == [workflow_id]


async def test_histories_of_the_pipeline_replay(pipe: Pipeline, cli: Cli, tmp_path: Path) -> None:
    version = await create(pipe, "web")
    await wait_synced(pipe, "web", version)
    await pipe.api.patch(
        f"{pipe.base}/web",
        json={"spec": {"replicas": 3}},
        headers={"content-type": "application/merge-patch+json"},
    )
    await pipe.api.delete(f"{pipe.base}/web")
    handle = pipe.client.get_workflow_handle(workflow_id_for(f"{pipe.ns}/web"))
    await asyncio.wait_for(handle.result(), 60)

    replayed = await cli("history", "replay", "--query", f'WorkflowId="{handle.id}"')

    assert replayed.code == 0, replayed.out
    assert "replayed 1 history(ies), 0 failed" in replayed.out
    stored = tmp_path / "web.json"
    stored.write_text((await handle.fetch_history()).to_json())
    from_file = await cli("history", "replay", "--file", str(stored))
    assert from_file.code == 0, from_file.out
