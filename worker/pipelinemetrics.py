"""Prometheus metrics of the relay, the bridge and the worker's helper loops (the sync metrics
are in activities)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_PUBLISHED = Counter(
    "rendersync_events_published", "Change events the relay published to Kafka"
)
EVENTS_CONSUMED = Counter(
    "rendersync_events_consumed", "Change events the bridge handed to Temporal"
)
EVENTS_COALESCED = Counter(
    "rendersync_events_coalesced",
    "Events the bridge skipped for a newer one of the same key in the same batch",
)
EVENTS_SET_ASIDE = Counter(
    "rendersync_events_set_aside",
    "Change events the relay set aside because the producer or broker refused them for good",
)
DLQ_MESSAGES = Counter(
    "rendersync_dlq_messages", "Messages sent to the DLQ (unparseable, or backed by no row)"
)
EVENTS_RESOLVED = Counter(
    "rendersync_events_resolved",
    "Events the bridge replaced by the row's current version (reason: beyond-sequence, "
    "unavailable-columns)",
    ["reason"],
)
RELAY_LAG = Gauge(
    "rendersync_relay_lag_seconds", "Age of the oldest unpublished outbox row (0 when none)"
)
LOOP_RESTARTS = Counter(
    "rendersync_loop_restarts",
    "Restarts of a worker helper loop (drift, anti-entropy, orphans) after an error",
    ["loop"],
)
DRIFT_EVENTS = Counter(
    "rendersync_drift_events",
    "Watch events drift repair handled, by target and outcome: own (a state this worker wrote, "
    "not checked), checked (compared with the database, no drift), drift (re-driven)",
    ["target", "outcome"],
)
ORPHANS_REMOVED = Counter(
    "rendersync_orphans_removed",
    "Managed objects (kind cr or git) that no row backed, removed by orphan collection",
    ["kind"],
)
