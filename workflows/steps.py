"""One step of a sync: a single activity call that a newer event can cut short.

Each call is one attempt (Temporal retries nothing on its own): the workflow sees every
failure, so it can show ``Retrying`` with its attempts and last error and choose its own
backoff, which a newer event interrupts. While the attempt runs, the workflow also waits for
a newer event; when one arrives first, the attempt is cancelled (its heartbeat carries the
cancellation to it) and the step ends as :class:`SupersededError`, so a newer change never waits
behind an older one. Deterministic: only workflow APIs, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import patches
    from workflows.contracts import SyncOptions
    from workflows.declarations import (
        SYNC_OPTIONS,
        Activity,
        execute_local,
        unknown_targets,
    )
    from workflows.policies import heartbeat_timeout, start_to_close, step_policy

A = TypeVar("A")
R = TypeVar("R")


class StepError(Exception):
    """One step failed; ``permanent`` when retrying it cannot help (422, 403, bad config)."""

    def __init__(self, target: str, error: str, *, permanent: bool) -> None:
        super().__init__(target, error)
        self.target = target
        self.error = error
        self.permanent = permanent

    def __str__(self) -> str:
        return f"{self.target}: {self.error}"


class SupersededError(Exception):
    """A newer event arrived while the step ran; its attempt was cancelled."""


def never() -> bool:
    return False


async def run_step(
    declared: Activity[A, R],
    arg: A,
    *,
    options: SyncOptions,
    target: str,
    summary: str,
    retry_policy: RetryPolicy | None = None,
    superseded: Callable[[], bool] = never,
) -> R:
    """Run the step ``declared`` as many times as it declares (or ``retry_policy`` says), with
    the timeouts of ``options``; its result, :class:`StepError` when it failed, or
    :class:`SupersededError` when ``superseded()`` turned true first."""
    handle = workflow.start_activity(
        declared.name,
        arg,
        result_type=declared.result,
        start_to_close_timeout=start_to_close(options),
        heartbeat_timeout=heartbeat_timeout(options),
        retry_policy=retry_policy or step_policy(options, declared.attempts),
        summary=summary,
    )
    await workflow.wait_condition(lambda: handle.done() or superseded())
    if not handle.done() and patches.patched(patches.CANCEL_SUPERSEDED):
        handle.cancel()
        try:
            return cast(R, await handle)  # it finished before the cancellation reached it
        except ActivityError as err:
            raise SupersededError(declared.name) from err
    try:
        return cast(R, await handle)
    except ActivityError as err:
        raise StepError(target, str(err.cause or err), permanent=is_permanent(err)) from err


def is_permanent(err: ActivityError) -> bool:
    """Non-retryable errors are permanent; anything else (a transient error, a timeout) is
    retried, except in runs recorded before retrying without end existed."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        return True
    return not patches.patched(patches.RETRYING)


async def current_options(options: SyncOptions, *, key: str) -> SyncOptions:
    """The worker's current options (local activity ``sync_options``); ``options`` when the
    worker cannot tell (an older worker, say) or answers with unknown targets."""
    if not patches.patched(patches.WORKER_OPTIONS):
        return options  # a run recorded before: its options are its input's
    try:
        fresh = await execute_local(SYNC_OPTIONS)
    except ActivityError as err:
        workflow.logger.warning("%s: keeping the last sync options (%s)", key, err)
        return options
    bad = unknown_targets(fresh)
    if bad:
        workflow.logger.error("%s: ignoring options with unknown targets %s", key, bad)
        return options
    return fresh
