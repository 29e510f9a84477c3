"""Fixtures for the operations CLI: the whole pipeline on real services (from the pipeline
harness), a dev-stack state directory pointing at it, and the CLI run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from rendersync.devstack.services.temporal import TemporalDevServer
from rendersync.statedir import write_endpoints
from tests.integration.pipeline.harness import Pipeline
from tests.ops.helpers import Cli, sync_env


@pytest.fixture
def cli(
    pipe: Pipeline,
    db_url: str,
    temporal_server: TemporalDevServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Cli:
    """``await cli("syncs", "list")`` runs ``rendersync`` against ``pipe`` (via --state-dir)."""
    env = {
        "RENDERSYNC_DB__URL": db_url,
        "RENDERSYNC_TEMPORAL__ADDRESS": temporal_server.address,
        "RENDERSYNC_TEMPORAL__TASK_QUEUE": pipe.task_queue,
        "RENDERSYNC_TEMPORAL__UI_URL": "http://ui.test",
        "RENDERSYNC_KUBERNETES__KUBECONFIG": str(tmp_path / "kubeconfig"),
        "RENDERSYNC_GIT__REMOTE": str(pipe.remote),
        **sync_env(pipe.options),
    }
    state_dir = tmp_path / "state"
    write_endpoints(state_dir, env=env, urls={})
    return Cli(state_dir, capsys)
