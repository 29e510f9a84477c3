"""Driving the ``rendersync`` CLI in-process from async tests, and pipeline observations."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rendersync.cli import main
from tests.support.builders import body
from tests.support.pipeline import Pipeline, version_in_yaml
from tests.support.waiting import eventually
from workflows.contracts import SyncOptions


def sync_env(options: SyncOptions) -> dict[str, str]:
    """The RENDERSYNC_SYNC__* variables that reproduce ``options``."""
    return {
        "RENDERSYNC_SYNC__ACTIVITY_START_TO_CLOSE_S": str(options.start_to_close_s),
        "RENDERSYNC_SYNC__RETRY_INITIAL_INTERVAL_S": str(options.retry_initial_interval_s),
        "RENDERSYNC_SYNC__RETRY_BACKOFF": str(options.retry_backoff),
        "RENDERSYNC_SYNC__RETRY_MAX_INTERVAL_S": str(options.retry_max_interval_s),
        "RENDERSYNC_SYNC__HEARTBEAT_TIMEOUT_S": str(options.heartbeat_timeout_s),
    }


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str = ""

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs ``rendersync ARGS --state-dir DIR`` in a thread (it runs its own event loop)
    while the test's loop keeps the pipeline going; returns the exit status and stdout."""

    state_dir: Path
    capsys: pytest.CaptureFixture[str]

    async def __call__(self, *args: str) -> Result:
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        self.capsys.readouterr()
        try:
            code = await asyncio.to_thread(main, [*args, "--state-dir", str(self.state_dir)])
        finally:
            root.handlers[:], root.level = handlers, level
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


async def create(pipe: Pipeline, name: str, **spec: Any) -> int:
    """POST an AppConfig; its version."""
    created = await pipe.api.post(pipe.base, json=body(name, **spec))
    assert created.status_code == 201, created.text
    return int(created.json()["metadata"]["resourceVersion"])


async def synced(pipe: Pipeline, name: str, version: int) -> bool:
    """Both targets hold ``version`` of ``name``."""
    cr = await pipe.live_cr(name)
    text = pipe.git_file(name)
    if cr is None or text is None:
        return False
    live = int(cr["metadata"]["annotations"]["rendersync.dev/version"])
    return live == version and version_in_yaml(text) == version


async def wait_synced(pipe: Pipeline, name: str, version: int) -> None:
    await eventually(lambda: synced(pipe, name, version), what=f"{name} v{version} on both")


async def wait_phase(pipe: Pipeline, name: str, phase: str) -> None:
    async def reached() -> bool:
        status = (await pipe.api.get(f"{pipe.base}/{name}")).json()["status"]
        return bool(status["phase"] == phase)

    await eventually(reached, what=f"{name} {phase}")


def fail_applies(pipe: Pipeline, name: str) -> None:
    """Make the cluster reject ``name`` as invalid (422: permanent) until cleared."""
    pipe.emulator.faults.add(
        method="PATCH",
        path_regex=f"/namespaces/{pipe.ns}/appconfigs/{name}",
        status=422,
        message="spec: Invalid value: rejected by an admission policy",
    )
