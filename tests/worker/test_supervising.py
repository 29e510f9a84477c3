"""The helper-loop supervisor: restarts after errors and early returns, with a capped
exponential backoff, a log line naming the error and a restart counter per loop."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prometheus_client import REGISTRY

from worker.helperloops import run_every, supervise


def restarts(loop: str) -> float:
    return REGISTRY.get_sample_value("rendersync_loop_restarts_total", {"loop": loop}) or 0.0


async def test_a_failing_loop_is_restarted_with_capped_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    calls = 0

    async def flaky(stop: asyncio.Event) -> None:
        nonlocal calls
        calls += 1
        if calls <= 4:
            raise RuntimeError(f"boom {calls}")
        if calls == 5:
            return  # an early return is restarted too
        stop.set()

    with caplog.at_level(logging.ERROR, logger="worker.helperloops"):
        await asyncio.wait_for(
            supervise("flaky", flaky, stop=stop, backoff_initial_s=0.01, backoff_max_s=0.04),
            timeout=10,
        )

    assert calls == 6
    assert restarts("flaky") == 5
    delays = [record.args[-1] for record in caplog.records]  # type: ignore[index]
    assert delays == [0.01, 0.02, 0.04, 0.04, 0.04]
    assert "boom 1" in caplog.records[0].getMessage()
    assert "ended unexpectedly" in caplog.records[-1].getMessage()


async def test_stop_ends_supervision_without_a_restart() -> None:
    stop = asyncio.Event()

    async def fails_on_stop(stop: asyncio.Event) -> None:
        await stop.wait()
        raise RuntimeError("shutting down")

    task = asyncio.create_task(supervise("stopping", fails_on_stop, stop=stop))
    await asyncio.sleep(0)
    stop.set()
    await asyncio.wait_for(task, timeout=5)

    assert restarts("stopping") == 0
    assert REGISTRY.get_sample_value("rendersync_loop_restarts_total", {"loop": "stopping"}) == 0


async def test_a_failing_pass_ends_the_periodic_loop() -> None:
    stop = asyncio.Event()

    async def one_pass() -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        await asyncio.wait_for(run_every(0.01, one_pass, stop=stop), timeout=5)
