"""Activity options of the AppConfigSync workflow: timeouts, retries and per-target activities.

A target step is one attempt per call: the workflow retries transient failures itself, with
the exponential backoff ``SyncOptions`` says (capped at ``retry_max_interval_s``), forever.
Activities raise ``ApplicationError(non_retryable=True)`` for permanent errors, which fail
the sync at once. Short status writes (recording a failure, undoing a failed first apply)
retry a few times on their own instead.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from vocabulary import TARGET_GIT, TARGET_KUBERNETES
from workflows.contracts import (
    ACTIVITY_APPLY_GIT,
    ACTIVITY_APPLY_KUBERNETES,
    ACTIVITY_DELETE_KUBERNETES,
    ACTIVITY_REMOVE_GIT,
    SyncOptions,
)

#: Target name -> activity that applies an ``ApplyRequest`` to it.
APPLY_ACTIVITIES: dict[str, str] = {
    TARGET_KUBERNETES: ACTIVITY_APPLY_KUBERNETES,
    TARGET_GIT: ACTIVITY_APPLY_GIT,
}

#: Target name -> activity that undoes the sync for a ``DeleteRequest``.
REMOVE_ACTIVITIES: dict[str, str] = {
    TARGET_KUBERNETES: ACTIVITY_DELETE_KUBERNETES,
    TARGET_GIT: ACTIVITY_REMOVE_GIT,
}

#: A step the workflow retries itself: Temporal makes exactly one attempt per call.
ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)
#: Attempts of a status write or compensation step before it counts as failed.
BOUNDED_ATTEMPTS = 5
#: Backoff exponents beyond this are capped anyway; keeps the power finite.
MAX_EXPONENT = 64


def unknown_targets(options: SyncOptions) -> list[str]:
    """Targets in ``options`` that no activity serves (a configuration error)."""
    return [t for t in options.targets if t not in APPLY_ACTIVITIES or t not in REMOVE_ACTIVITIES]


def bounded_policy(options: SyncOptions) -> RetryPolicy:
    """The sync's backoff for a few attempts, for steps that must not hold the sync up."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=options.retry_initial_interval_s),
        backoff_coefficient=options.retry_backoff,
        maximum_interval=timedelta(seconds=options.retry_max_interval_s),
        maximum_attempts=BOUNDED_ATTEMPTS,
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
