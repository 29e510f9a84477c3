"""Activity options of the AppConfigSync workflow: timeouts and retries of its steps.

A target step is one attempt per call: the workflow retries transient failures itself, with
the exponential backoff ``SyncOptions`` says (capped at ``retry_max_interval_s``), forever.
Activities raise ``ApplicationError(non_retryable=True)`` for permanent errors, which fail
the sync at once. Short status writes (recording a failure, undoing a failed first apply)
retry a few times on their own instead.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from workflows.contracts import SyncOptions

#: Attempts of a status write or compensation step before it counts as failed.
BOUNDED_ATTEMPTS = 5
#: Backoff exponents beyond this are capped anyway; keeps the power finite.
MAX_EXPONENT = 64


def bounded_policy(options: SyncOptions) -> RetryPolicy:
    """The sync's backoff for a few attempts, for steps that must not hold the sync up."""
    return step_policy(options, BOUNDED_ATTEMPTS)


def step_policy(options: SyncOptions, attempts: int) -> RetryPolicy:
    """One attempt when ``attempts`` is 1 (the workflow retries the step itself, so Temporal
    makes exactly one attempt per call), otherwise ``attempts`` at the sync's backoff. A new
    policy each call: a policy is mutable, and workflow instances share module state."""
    if attempts == 1:
        return RetryPolicy(maximum_attempts=1)
    return RetryPolicy(
        initial_interval=timedelta(seconds=options.retry_initial_interval_s),
        backoff_coefficient=options.retry_backoff,
        maximum_interval=timedelta(seconds=options.retry_max_interval_s),
        maximum_attempts=attempts,
    )


def retry_delay(options: SyncOptions, attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt: exponential, capped."""
    exponent = min(max(attempts - 1, 0), MAX_EXPONENT)
    delay = options.retry_initial_interval_s * options.retry_backoff**exponent
    return timedelta(seconds=min(delay, options.retry_max_interval_s))


def start_to_close(options: SyncOptions) -> timedelta:
    """How long one activity attempt may run before it counts as failed."""
    return timedelta(seconds=options.start_to_close_s)


def heartbeat_timeout(options: SyncOptions) -> timedelta | None:
    """How long an attempt may go without a heartbeat (so a cancellation reaches it and a
    dead worker's attempt is retried early); None when off."""
    if options.heartbeat_timeout_s <= 0:
        return None
    return timedelta(seconds=options.heartbeat_timeout_s)
