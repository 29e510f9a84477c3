"""Fixtures for the operations CLI: the whole pipeline on real services (from the pipeline
harness), a dev-stack state directory pointing at it, and the CLI run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from rendersync.statedir import write_endpoints
from tests.ops.helpers import Cli, sync_env
from tests.support.pipeline import Pipeline


@pytest.fixture
def cli(pipe: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``await cli("syncs", "list")`` runs ``rendersync`` against ``pipe`` (via --state-dir)."""
    env = {**pipe.stack.rendersync_env(), **sync_env(pipe.options)}
    state_dir = tmp_path / "state"
    write_endpoints(state_dir, env=env, urls={})
    return Cli(state_dir, capsys)
