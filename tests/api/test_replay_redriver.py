"""The re-drive behind the API's replay route, as the API process builds it
(``rendersync.wiring.api_redriver``): it loads and connects the Temporal client on its first
use (the API starts without them, see ``tests/worker/test_process_imports.py``) and restarts a
key without a running workflow from its row."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine
from temporalio.client import Client

from persistence.writing import Content, create_appconfig
from rendersync.devstack.services.temporal import TemporalDevServer
from rendersync.settings import Settings, TemporalSettings
from rendersync.wiring import api_redriver
from vocabulary import workflow_id_for
from worker.redriving import ACTION_RESTARTED

NS = "team-a"


async def test_a_replay_connects_on_first_use_and_restarts_the_key_from_its_row(
    sqlite_engine: Engine, temporal_server: TemporalDevServer, temporal_client: Client
) -> None:
    temporal = TemporalSettings(
        address=temporal_server.address,
        namespace=temporal_server.namespace,
        task_queue=f"replay-{uuid.uuid4().hex[:8]}",  # no worker polls it: the run just waits
    )
    redrive = api_redriver(Settings(temporal=temporal), sqlite_engine)
    content = Content(spec={"app": "web", "environment": "dev"}, labels={}, annotations={})
    row = create_appconfig(sqlite_engine, namespace=NS, name="web", content=content, actor="t")

    action, version = await redrive(NS, "web", "replayed by a test")

    assert (action, version) == (ACTION_RESTARTED, row.seq)
    handle = temporal_client.get_workflow_handle(workflow_id_for(f"{NS}/web"))
    described = await handle.describe()
    assert described.task_queue == temporal.task_queue
    await handle.terminate("test done")
