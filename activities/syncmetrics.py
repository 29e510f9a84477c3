"""Prometheus metrics of the sync activities."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram

SYNC_LATENCY = Histogram(
    "rendersync_sync_latency_seconds",
    "Time from the database commit to the change applied at a target",
    ["target"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
SYNC_FAILURES = Counter(
    "rendersync_sync_failures", "Failed target operations by class", ["target", "kind"]
)


def observe_applied(target: str, committed_at_ms: int) -> None:
    if committed_at_ms > 0:
        SYNC_LATENCY.labels(target).observe(max(0.0, time.time() - committed_at_ms / 1000))
