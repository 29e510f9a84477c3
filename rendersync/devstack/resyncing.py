"""The anti-entropy resync after start-up, run as ``rendersync resync`` with the stack's env.

The emulator keeps its objects in memory, so after a restart it is empty while the database
and Git still hold everything. ``rendersync resync`` signals every live key with its current
database state, which re-applies it. Running the command (rather than calling its code)
keeps the dev stack to the CLI's contract; where the command is missing, this says so and
the emulator fills up only with new changes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from rendersync.devstack.description import rendersync_argv
from rendersync.devstack.services.childprocesses import ManagedProcess

logger = logging.getLogger(__name__)

#: argparse's exit status for an unknown subcommand (among other usage errors).
_USAGE_ERROR = 2


async def resync(*, env: Mapping[str, str], timeout_s: float = 300.0) -> bool:
    """Run ``rendersync resync`` to completion (or the deadline); True if it succeeded.

    Never raises for a failed resync: the stack keeps running and the log says what
    happened. Cancelling stops the resync process.
    """
    process = ManagedProcess(rendersync_argv("resync"), name="resync", env=env).start()
    try:
        finished = await _until_exit(process, timeout_s)
    finally:
        # Also waits for the last of its output, which _outcome reads.
        await process.astop(grace_s=5.0)
    return finished and _outcome(process)


async def _until_exit(process: ManagedProcess, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while process.alive:
        if time.monotonic() >= deadline:
            logger.error("resync did not finish within %.0fs; stopping it", timeout_s)
            return False
        await asyncio.sleep(0.2)
    return True


def finished_before_crash(output: str) -> bool:
    """Whether a process died only while the interpreter was finalizing, its work done.

    Short-lived processes holding a Temporal client can abort at exit while the SDK's
    native threads are still running (temporalio/sdk-python#300).
    """
    return "Fatal Python error" in output and "Python runtime state: finalizing" in output


def _outcome(process: ManagedProcess) -> bool:
    if process.returncode == _USAGE_ERROR and "invalid choice: 'resync'" in process.output_tail():
        logger.warning(
            "anti-entropy resync is not available (this rendersync has no `resync` command): "
            "the Kubernetes emulator starts empty and is filled only by new changes"
        )
        return False
    if process.returncode != 0 and not finished_before_crash(process.output_tail()):
        logger.error("resync failed with status %s", process.returncode)
        return False
    logger.info("resync finished: every AppConfig was re-driven to its targets")
    return True
