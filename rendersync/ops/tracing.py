"""``rendersync syncs trace NS/NAME [--version N]``: where each version of a key went, read
from the revisions and ``sync_provenance`` tables (no Temporal call)."""

from __future__ import annotations

from typing import Any

from persistence import provenance, reading
from rendersync.ops.context import Ops, OpsError

COLUMNS = (
    ("VERSION", "version"),
    ("OP", "op"),
    ("ACTOR", "actor"),
    ("COMMITTED", "committed"),
    ("OUTCOME", "outcome"),
    ("WHERE IT WENT", "links"),
)


def _links(rows: list[provenance.ProvenanceRow]) -> str:
    parts = []
    for row in rows:
        d = row.detail
        if row.stage == provenance.STAGE_PUBLISH and "offset" in d:
            parts.append(f"kafka {d['topic']}/{d['partition']}@{d['offset']}")
        elif row.outcome == provenance.COALESCED:
            parts.append(f"coalesced into v{d.get('into')}")
        elif row.stage != provenance.STAGE_PUBLISH:
            where = f"{row.stage} {row.outcome}"
            if d.get("detail"):
                where += f" {d['detail']}"
            if row.activity_id:
                where += f" ({row.run_id[:8]} activity {row.activity_id}#{row.attempt})"
            if d.get("error"):
                where += f": {d['error']}"
            parts.append(where)
    return "; ".join(parts)


def trace(ops: Ops, key: str, version: int | None = None) -> list[dict[str, Any]]:
    """One row per version of ``key`` (newest first), or only ``version``."""
    namespace, _, name = key.partition("/")
    if not namespace or not name:
        raise OpsError(f"{key!r} is not NAMESPACE/NAME")
    revisions = reading.list_revisions(ops.engine, namespace=namespace, name=name)
    if version is not None:
        revisions = [r for r in revisions if r.seq == version]
    if not revisions:
        raise OpsError(f"{key} has no version {version}" if version else f"{key} has no history")
    stages = provenance.of_key(ops.engine, namespace=namespace, name=name)
    targets = ops.targets
    return [
        {
            "version": r.seq,
            "op": r.op,
            "actor": r.actor,
            "committed": r.created_at.isoformat(),
            "outcome": provenance.summarize(stages.get(r.seq, []), targets, r.op),
            "links": _links(stages.get(r.seq, [])),
        }
        for r in revisions
    ]
