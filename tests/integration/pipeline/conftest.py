"""Fixtures for pipeline tests: the whole path from API to targets on real services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from rendersync.stack.temporal import TemporalDevServer
from tests.integration.pipeline.harness import Pipeline, pipeline


@pytest_asyncio.fixture
async def pipe(
    db_url: str,
    temporal_server: TemporalDevServer,
    kafka_broker: str,
    git_remote: Path,
    tmp_path: Path,
) -> AsyncIterator[Pipeline]:
    async with pipeline(
        db_url=db_url,
        temporal_address=temporal_server.address,
        bootstrap=kafka_broker,
        remote=git_remote,
        tmp_path=tmp_path,
    ) as running:
        yield running
