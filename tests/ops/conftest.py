"""Fixtures for the operations CLI: the whole pipeline on real services (from the pipeline
harness), a dev-stack state directory pointing at it, and the CLI run in-process; and the
same with two named Kubernetes targets routed by environment (``tests.ops.twoclusters``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from rendersync.devstack.services.temporal import TemporalDevServer
from rendersync.statedir import settings_for, write_endpoints
from rendersync.wiring import sync_options
from tests.ops.helpers import Cli, sync_env
from tests.ops.twoclusters import TwoClusters, two_clusters
from tests.support.pipeline import Pipeline


@pytest.fixture
def cli(pipe: Pipeline, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """``await cli("syncs", "list")`` runs ``rendersync`` against ``pipe`` (via --state-dir)."""
    env = {**pipe.stack.rendersync_env(), **sync_env(pipe.options)}
    state_dir = tmp_path / "state"
    write_endpoints(state_dir, env=env, urls={})
    return Cli(state_dir, capsys)


@pytest_asyncio.fixture
async def clusters_pipe(
    db_url: str,
    temporal_server: TemporalDevServer,
    kafka_broker: str,
    git_remote: Path,
    tmp_path: Path,
) -> AsyncIterator[TwoClusters]:
    async with two_clusters(
        db_url=db_url,
        temporal_address=temporal_server.address,
        bootstrap=kafka_broker,
        remote=git_remote,
        tmp_path=tmp_path,
    ) as running:
        yield running


@pytest.fixture
def targets_cli(
    clusters_pipe: TwoClusters, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """``rendersync`` against ``clusters_pipe``, configured with its two targets and routes."""
    pipe = clusters_pipe
    env = {**pipe.stack.rendersync_env(), **sync_env(pipe.options), **pipe.targets_env()}
    state_dir = tmp_path / "targets-state"
    write_endpoints(state_dir, env=env, urls={})
    options = sync_options(settings_for(state_dir))
    assert (options.targets, options.routes) == (pipe.options.targets, pipe.options.routes)
    return Cli(state_dir, capsys)
