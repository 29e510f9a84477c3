"""Temporal launchers: the dev server (search attributes, UI, persistence) and SDK test servers."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio import workflow
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from rendersync.devstack.services.childprocesses import pid_exists, port_accepts
from rendersync.devstack.services.temporal import (
    SEARCH_ATTRIBUTES,
    TemporalDevServer,
    ensure_search_attributes,
    start_local_env,
    start_temporal_dev_server,
    start_time_skipping_env,
)
from tests.support.waiting import eventually

SYNC_STATE = SearchAttributeKey.for_keyword("SyncState")
APP_CONFIG_KEY = SearchAttributeKey.for_keyword("AppConfigKey")


@workflow.defn(sandboxed=False)
class MarkFailed:
    """Sets SyncState=Failed, as a failed sync would, so visibility queries can find it."""

    @workflow.run
    async def run(self) -> str:
        workflow.upsert_search_attributes([SYNC_STATE.value_set("Failed")])
        return "done"


@workflow.defn(sandboxed=False)
class SleepADay:
    @workflow.run
    async def run(self) -> str:
        await asyncio.sleep(timedelta(days=1).total_seconds())
        return "woke"


async def custom_attributes(client: Client) -> dict[str, int]:
    request = ListSearchAttributesRequest(namespace=client.namespace)
    response = await client.operator_service.list_search_attributes(request)
    return dict(response.custom_attributes)


async def test_dev_server_has_the_search_attributes(temporal_client: Client) -> None:
    attributes = await custom_attributes(temporal_client)
    for name, kind in SEARCH_ATTRIBUTES.items():
        assert attributes[name] == kind
    await ensure_search_attributes(temporal_client, temporal_client.namespace)  # idempotent


async def test_failed_syncs_are_found_by_search_attribute(temporal_client: Client) -> None:
    queue = f"q-{uuid.uuid4().hex}"
    key = f"ns/{uuid.uuid4().hex}"
    async with Worker(
        temporal_client,
        task_queue=queue,
        workflows=[MarkFailed],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        result = await temporal_client.execute_workflow(
            MarkFailed.run,
            id=f"appconfig:{key}",
            task_queue=queue,
            search_attributes=TypedSearchAttributes([SearchAttributePair(APP_CONFIG_KEY, key)]),
        )
    assert result == "done"
    query = f'AppConfigKey="{key}" AND SyncState="Failed"'

    async def listed() -> bool:
        return bool([wf async for wf in temporal_client.list_workflows(query)])

    await eventually(listed, timeout_s=20, what="visibility to show the failed workflow")


async def test_own_dev_server_with_ui_and_file_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "state" / "temporal.db"
    server = await start_temporal_dev_server(db_filename=db, log_path=tmp_path / "t.log")
    try:
        assert server.ui_url is not None
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(server.ui_url)).status_code == 200
        client = await Client.connect(server.address)
        handle = await client.start_workflow("NoSuchWorker", id="kept", task_queue="none")
    finally:
        await server.astop()
    assert_gone(server)
    assert db.exists()

    again = await start_temporal_dev_server(db_filename=db, headless=True)
    try:
        assert again.ui_url is None
        client = await Client.connect(again.address)
        description = await client.get_workflow_handle(handle.id).describe()
        assert description.run_id == handle.result_run_id
        assert set(SEARCH_ATTRIBUTES) <= set(await custom_attributes(client))
    finally:
        await again.astop()
    assert_gone(again)


def assert_gone(server: TemporalDevServer) -> None:
    assert not server.process.alive
    assert not pid_exists(server.pid)
    host, port = server.address.rsplit(":", 1)
    assert not port_accepts(host, int(port))


async def test_time_skipping_env_skips_a_day(time_skipping_env: WorkflowEnvironment) -> None:
    queue = f"q-{uuid.uuid4().hex}"
    client = time_skipping_env.client
    started = time.monotonic()
    async with Worker(client, task_queue=queue, workflows=[SleepADay]):
        result = await client.execute_workflow(SleepADay.run, id=queue, task_queue=queue)
    assert result == "woke"
    assert time.monotonic() - started < 30


async def test_sdk_environments_start_from_installed_binaries(tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for start in (start_time_skipping_env, start_local_env):
        env = await start(download_dest_dir=str(downloads))
        try:
            await env.client.service_client.check_health()
        finally:
            await env.shutdown()
    local = await start_local_env()
    try:
        assert set(SEARCH_ATTRIBUTES) <= set(await custom_attributes(local.client))
    finally:
        await local.shutdown()
    assert list(downloads.iterdir()) == []
