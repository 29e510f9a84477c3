"""Fixtures for the workflow tests: one Temporal dev server (in memory) for the session,
and per test a worker on its own task queue with scripted fake activities."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import FAST_RETRIES, SyncDriver, new_key, server_binary
from worker.temporalworker import WORKFLOW_RUNNER
from workflows import AppConfigSync
from workflows.contracts import SEARCH_ATTRIBUTE_KEY, SEARCH_ATTRIBUTE_STATE


async def register_search_attributes(client: Client) -> None:
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={SEARCH_ATTRIBUTE_KEY: keyword, SEARCH_ATTRIBUTE_STATE: keyword},
        )
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    # The dev server, not the time-skipping test server: the latter rejects the cancellation
    # of a running activity (ACTIVITY_UNKNOWN, temporalio/sdk-java#2391), which the workflow
    # sends when a newer event supersedes an attempt. The tests' retries are fast real time.
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal")
    )
    async with environment:
        await register_search_attributes(environment.client)
        yield environment


@pytest.fixture
def fake() -> FakeActivities:
    return FakeActivities()


@pytest_asyncio.fixture(loop_scope="session")
async def sync(env: WorkflowEnvironment, fake: FakeActivities) -> AsyncIterator[SyncDriver]:
    """A worker with the fake activities and a driver for one fresh key."""
    task_queue = f"sync-{uuid.uuid4().hex}"
    driver = SyncDriver(env.client, task_queue, new_key(), FAST_RETRIES)
    fake.current_options = lambda: driver.options  # the worker's settings follow the driver's
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[AppConfigSync],
        activities=fake.activities(),
        workflow_runner=WORKFLOW_RUNNER,
    ):
        yield driver
        fake.release_all()
        await terminate_if_running(driver)


async def terminate_if_running(driver: SyncDriver) -> None:
    with contextlib.suppress(Exception):
        description = await driver.handle.describe()
        if description.status == WorkflowExecutionStatus.RUNNING:
            await driver.handle.terminate("test finished")
