"""Where the latency goes: time per stage of the pipeline for the latency scenario's changes.

Stages per change (seq): commit → published (relay; outbox ``created_at``/``published_at``),
published → signalled (Kafka + bridge; the ``WorkflowExecutionSignaled`` event time),
signalled → activity scheduled (a workflow task), scheduled → started (task queue wait),
started → completed (the activity), and the hop between the Kubernetes and the Git activity
(another workflow task). Workflow histories of a sample of keys are read after the run; all
clocks are this machine's.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from bench import load
from bench.session import Session
from bench.stats import summary_ms
from vocabulary import workflow_id_for
from workflows.declarations import GIT, KUBERNETES

SAMPLE_KEYS = 150
_SHORT = {KUBERNETES.apply.name: "k8s", GIT.apply.name: "git"}


def _at(event: HistoryEvent) -> float:
    return event.event_time.seconds + event.event_time.nanos / 1e9


def _payload_json(payloads: Any) -> Any:
    return json.loads(payloads.payloads[0].data) if payloads.payloads else None


def _timeline(events: list[HistoryEvent]) -> tuple[dict[int, dict[str, float]], Counter[str]]:
    """Per seq: signalled, <k8s|git>_scheduled/_started/_completed times; event counts."""
    per_seq: dict[int, dict[str, float]] = {}
    scheduled: dict[int, tuple[int, str]] = {}
    kinds: Counter[str] = Counter()
    for event in events:
        kinds[EventType.Name(event.event_type)] += 1
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            seq = int(
                _payload_json(event.workflow_execution_signaled_event_attributes.input)["seq"]
            )
            per_seq.setdefault(seq, {}).setdefault("signalled", _at(event))
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            short = _SHORT.get(attrs.activity_type.name)
            if short is not None:
                seq = int(_payload_json(attrs.input)["image"]["seq"])
                scheduled[event.event_id] = (seq, short)
                per_seq.setdefault(seq, {})[f"{short}_scheduled"] = _at(event)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            found = scheduled.get(event.activity_task_started_event_attributes.scheduled_event_id)
            if found is not None:
                per_seq[found[0]][f"{found[1]}_started"] = _at(event)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            found = scheduled.get(event.activity_task_completed_event_attributes.scheduled_event_id)
            if found is not None:
                per_seq[found[0]][f"{found[1]}_completed"] = _at(event)
    return per_seq, kinds


_STAGES = (
    ("bridge: published -> signalled", "published", "signalled"),
    ("workflow task: signalled -> k8s scheduled", "signalled", "k8s_scheduled"),
    ("k8s activity queue wait", "k8s_scheduled", "k8s_started"),
    ("k8s activity run", "k8s_started", "k8s_completed"),
    ("k8s write landed after activity start", "k8s_started", "k8s_arrived"),
    ("workflow task: k8s completed -> git scheduled", "k8s_completed", "git_scheduled"),
    ("git activity queue wait", "git_scheduled", "git_started"),
    ("git activity run", "git_started", "git_completed"),
    ("git push landed after activity start", "git_started", "git_arrived"),
)


def _stage_table(marks: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    table = {}
    for label, start, end in _STAGES:
        values = [m[end] - m[start] for m in marks if start in m and end in m]
        table[label] = summary_ms(values)
    return table


async def stages(current: Session, latency: dict[str, Any]) -> dict[str, Any]:
    """Stage breakdown for the highest-rate phase of ``latency``, from sampled histories."""
    if current.stack.temporal is None or not latency.get("rates"):
        return {}
    phase = max(latency["rates"].values(), key=lambda p: p["rate_per_s"])
    if not phase["seqs"]:
        return {}
    low, high = phase["seqs"]
    outbox = load.outbox_times(current.stack.engine, low, high)
    client = await Client.connect(current.stack.temporal.address)
    marks: list[dict[str, float]] = []
    kinds: Counter[str] = Counter()
    arrivals = current.targets.by_name()
    sampled = min(SAMPLE_KEYS, int(latency["preload"]["keys"]))
    for name in load.keys("lat", sampled):
        key = f"{load.NAMESPACE}/{name}"
        history = await client.get_workflow_handle(workflow_id_for(key)).fetch_history()
        per_seq, counted = _timeline(list(history.events))
        kinds += counted
        for seq, mark in per_seq.items():
            if low <= seq <= high and seq in outbox:
                mark["published"] = outbox[seq].published or 0.0
                for target, got in arrivals.items():
                    landed = got.first_at_least(key, seq)
                    if landed is not None:
                        mark[f"{'k8s' if target == 'kubernetes' else target}_arrived"] = landed
                marks.append(mark)
    relay = [t.published - t.committed for t in outbox.values() if t.published]
    signals = kinds["EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED"] or 1
    return {
        "rate_per_s": phase["rate_per_s"],
        "sampled_keys": sampled,
        "changes_sampled": len(marks),
        "stages": {"relay: commit -> published": summary_ms(relay), **_stage_table(marks)},
        "history_events_per_signal": {
            kind: round(n / signals, 2) for kind, n in sorted(kinds.items())
        },
    }
