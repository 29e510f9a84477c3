"""Activity options of the AppConfigSync workflow: timeouts, retries and per-target activities.

Transient failures retry with exponential backoff as ``SyncOptions`` says; activities raise
``ApplicationError(non_retryable=True)`` for permanent ones, which stops retrying at once.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from workflows.contracts import (
    ACTIVITY_APPLY_GIT,
    ACTIVITY_APPLY_KUBERNETES,
    ACTIVITY_DELETE_KUBERNETES,
    ACTIVITY_REMOVE_GIT,
    TARGET_GIT,
    TARGET_KUBERNETES,
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


def unknown_targets(options: SyncOptions) -> list[str]:
    """Targets in ``options`` that no activity serves (a configuration error)."""
    return [t for t in options.targets if t not in APPLY_ACTIVITIES or t not in REMOVE_ACTIVITIES]


def retry_policy(options: SyncOptions) -> RetryPolicy:
    """Exponential backoff; ``retry_max_attempts`` 0 retries transient failures forever."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=options.retry_initial_interval_s),
        backoff_coefficient=options.retry_backoff,
        maximum_interval=timedelta(seconds=options.retry_max_interval_s),
        maximum_attempts=max(options.retry_max_attempts, 0),
    )


def start_to_close(options: SyncOptions) -> timedelta:
    """How long one activity attempt may run before it is retried."""
    return timedelta(seconds=options.start_to_close_s)
