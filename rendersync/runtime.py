"""Running a long-lived async component until SIGINT/SIGTERM, with a metrics endpoint."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from prometheus_client import start_http_server

logger = logging.getLogger(__name__)


def run_until_signalled(
    main: Callable[[asyncio.Event], Awaitable[None]],
    *,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> int:
    """Run ``main(stop)``; the first SIGINT/SIGTERM sets ``stop`` for a graceful exit."""
    if metrics_port:
        start_http_server(metrics_port, addr=metrics_host)
        logger.info("metrics on http://%s:%d/metrics", metrics_host, metrics_port)

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())
    return 0
