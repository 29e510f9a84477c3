"""The Temporal worker's build: its workflow cache follows the settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from rendersync.settings import Settings
from worker.temporalworker import build_worker
from workflows.declarations import DECLARATION_ATTR, Declared, required

pytestmark = pytest.mark.asyncio(loop_scope="session")


def stub(declared: Declared) -> Callable[..., Any]:
    """An activity implementing ``declared`` that is never called."""

    async def run(*args: Any) -> None:
        raise NotImplementedError

    setattr(run, DECLARATION_ATTR, declared)
    return activity.defn(name=declared.name)(run)


async def test_the_worker_caches_as_many_workflows_as_set(
    time_skipping_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RENDERSYNC_SYNC__MAX_CACHED_WORKFLOWS", "2345")
    settings = Settings()
    worker = build_worker(
        time_skipping_env.client,
        task_queue="cache-size",
        activities=[stub(declared) for declared in required([])],
        kinds=[],
        max_cached_workflows=settings.sync.max_cached_workflows,
    )
    assert worker.config()["max_cached_workflows"] == 2345
