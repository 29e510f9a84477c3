"""One run of the dev stack: start, announce, resync, supervise, and stop on a signal.

SIGINT/SIGTERM (Ctrl-C) at any point stops every child the stack started and returns 0;
a part that cannot start, or dies for good, stops the stack with a :class:`StackError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine, Mapping
from typing import Any

from rendersync.devstack.banner import ready_block
from rendersync.devstack.resyncing import resync
from rendersync.devstack.stack import DevConfig, Ports, dev_stack, stack_urls
from rendersync.devstack.starting import start_stack
from rendersync.devstack.supervising import Supervisor
from rendersync.settings import Settings
from rendersync.statedir import write_endpoints

logger = logging.getLogger(__name__)


def child_environment(config: DevConfig, ports: Ports) -> dict[str, str]:
    """The children's environment: the caller's, with the stack's endpoints on top."""
    return {**dev_stack(config, ports).child_env(), "PYTHONUNBUFFERED": "1"}


async def run_dev(config: DevConfig, ports: Ports, settings: Settings) -> int:
    """Run the stack until a signal (return 0) or a fatal failure (raise StackError)."""
    env = child_environment(config, ports)
    sup = Supervisor(state_dir=config.state_dir, env=env)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal, sup, sig)
    background: asyncio.Task[bool] | None = None
    try:
        if not await _unless_stopped(start_stack(sup, config, ports, settings), sup.stopping):
            return 0
        _announce(config, ports, env, namespace=settings.temporal.namespace)
        background = asyncio.create_task(resync(env=env), name="resync")
        await sup.watch()
        return 0
    finally:
        if background is not None:
            background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await background
        logger.info("stopping the stack")
        await sup.shutdown()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        logger.info("stack stopped")


def _on_signal(sup: Supervisor, sig: signal.Signals) -> None:
    if sup.stopping.is_set():
        logger.info("%s again: already stopping", sig.name)
        return
    logger.info("%s received: stopping the stack", sig.name)
    sup.stopping.set()


async def _unless_stopped(starting: Coroutine[Any, Any, None], stopping: asyncio.Event) -> bool:
    """Run the start-up; False if ``stopping`` was set first (start-up is then cancelled)."""
    start = asyncio.create_task(starting, name="start-up")
    stop = asyncio.create_task(stopping.wait())
    try:
        await asyncio.wait({start, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if start.done():
        start.result()
        return True
    start.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await start
    return False


def _announce(config: DevConfig, ports: Ports, env: Mapping[str, str], *, namespace: str) -> None:
    urls = stack_urls(config, ports, namespace=namespace)
    recorded = {k: v for k, v in env.items() if k.startswith("RENDERSYNC_")}
    write_endpoints(config.state_dir, env=recorded, urls=urls)
    print(ready_block(config, urls), flush=True)  # the user-facing ready block
