"""Run the benchmark's stages one after the other, keeping what each one measured.

A stage fills its own part of the result as its scenarios finish, and the result file is
rewritten after every scenario and every stage, so a run that is interrupted or crashes later
keeps what it measured. A stage that raises is recorded (``error``, logged) and the next
stage still runs: one stack that fails to start does not cost the others' results.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

logger = logging.getLogger(__name__)

#: Writes the result as it stands (the partial result file).
Save = Callable[[], None]
#: A stage: fills the dict it is given, calling ``save`` after each scenario it finished.
Stage = Callable[[dict[str, Any], Save], Awaitable[None]]


async def run_stages(
    plan: Sequence[tuple[str, Stage]], result: dict[str, Any], save: Save
) -> list[str]:
    """Run every stage of ``plan`` into ``result[name]``; return the names of those that
    failed. Each stage's part gets ``wall_s`` and, when it raised, ``error`` and ``trace``."""
    failed = []
    for name, stage in plan:
        part: dict[str, Any] = result.setdefault(name, {})
        started = time.monotonic()
        logger.info("running %s", name)
        try:
            await stage(part, save)
        except Exception as exc:
            failed.append(name)
            part["error"] = f"{type(exc).__name__}: {exc}"
            part["trace"] = traceback.format_exc(limit=8)
            logger.error("stage %s failed, the next stages still run: %s", name, part["error"])
        finally:
            part["wall_s"] = round(time.monotonic() - started, 1)
            save()
    return failed
